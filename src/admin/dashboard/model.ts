/**
 * The dashboard's data side, free of the DOM: reading the server-sent event stream, the bounded
 * per-route history, and per-second rates from cumulative counters. Runs in the browser (compiled
 * into the page's one module by scripts/dashboard-assets.ts) and in the unit tests.
 *
 * @module
 */

import type { Point } from './chart.ts'

/** One route in a `stats` event (the contract of `GET {prefix}/api/events`). */
export interface RouteStats {
  route: string
  mode: string
  resistanceOhm: number
  inflight: number
  concurrencyLimit?: number | null
  latencyMs?: { p50?: number | null; p99?: number | null }
  /** Cumulative admitted requests per priority. */
  admitted?: Record<string, number>
  /** Cumulative shed requests per priority. */
  shed?: Record<string, number>
}

/** A `stats` event: about one a second. */
export interface StatsEvent {
  t: number
  isolateId?: string
  configVersion?: number
  routes: RouteStats[]
  isolates?: {
    isolateId: string
    configVersion?: number
    lastSeenMs?: number
    syncDegraded?: boolean
  }[]
  sync?: Record<string, unknown>
}

/** A `mode` event: a route changed mode. */
export interface ModeEvent {
  t: number
  route: string
  from: string
  to: string
  resistanceOhm: number
}

/** One server-sent event. */
export interface SseMessage {
  event: string
  data: string
}

/**
 * An incremental reader of `text/event-stream`: feed it text as it arrives, in any chunking, and
 * it returns the events completed so far. Comments (`:`) are skipped; `data` lines are joined
 * with newlines; an event without `event:` is a `message`.
 *
 * @returns `push(text)`, returning the events that text completed.
 *
 * @example Usage
 * ```ts
 * import { sseReader } from './model.ts'
 * const read = sseReader()
 * const first = read('event: stats\ndata: {"t"')
 * const second = read(':1}\n\n: keep-alive\n\n')
 * if (first.length !== 0 || second[0].data !== '{"t":1}') throw new Error('one event')
 * ```
 */
export function sseReader(): (text: string) => SseMessage[] {
  let buffer = ''
  let event = ''
  let data: string[] = []
  return (text) => {
    buffer += text
    const out: SseMessage[] = []
    let nl: number
    while ((nl = buffer.search(/\r\n|\r|\n/)) >= 0) {
      // A CR that ends the text may be the first half of a CRLF split across chunks.
      if (nl === buffer.length - 1 && buffer[nl] === '\r') break
      const line = buffer.slice(0, nl)
      buffer = buffer.slice(nl + (buffer.startsWith('\r\n', nl) ? 2 : 1))
      if (line === '') {
        if (data.length > 0) out.push({ event: event || 'message', data: data.join('\n') })
        event = ''
        data = []
        continue
      }
      if (line.startsWith(':')) continue
      const colon = line.indexOf(':')
      const field = colon < 0 ? line : line.slice(0, colon)
      let value = colon < 0 ? '' : line.slice(colon + 1)
      if (value.startsWith(' ')) value = value.slice(1)
      if (field === 'event') event = value
      else if (field === 'data') data.push(value)
    }
    return out
  }
}

/** One route's sample, as the page keeps it. */
export interface Sample {
  t: number
  mode: string
  resistanceOhm: number
  inflight: number
  concurrencyLimit: number
  p50: number
  p99: number
  admitted: Record<string, number>
  shed: Record<string, number>
}

/** Drops samples older than `windowMs` before the newest; mutates and returns the array. */
export function trim<T extends { t: number }>(samples: T[], windowMs: number): T[] {
  const newest = samples.length > 0 ? samples[samples.length - 1].t : 0
  let drop = 0
  while (drop < samples.length && samples[drop].t < newest - windowMs) drop++
  if (drop > 0) samples.splice(0, drop)
  return samples
}

/**
 * Appends a `stats` event to the per-route histories, keeping `windowMs` of each, and forgets
 * routes the event no longer lists only once their history has aged out.
 *
 * @param history Route id → samples, in time order.
 * @param stats The event.
 * @param windowMs How much history to keep.
 *
 * @example Usage
 * ```ts
 * import { record } from './model.ts'
 * const history = new Map()
 * record(history, { t: 1000, routes: [{ route: 'api', mode: 'OPERATIONAL', resistanceOhm: 1, inflight: 0 }] }, 60_000)
 * if (history.get('api').length !== 1) throw new Error('one sample')
 * ```
 */
export function record(history: Map<string, Sample[]>, stats: StatsEvent, windowMs: number): void {
  for (const r of stats.routes) {
    let samples = history.get(r.route)
    if (samples === undefined) history.set(r.route, samples = [])
    // A reconnect may replay an older tick; history stays in time order.
    if (samples.length > 0 && samples[samples.length - 1].t >= stats.t) continue
    samples.push({
      t: stats.t,
      mode: r.mode,
      resistanceOhm: num(r.resistanceOhm),
      inflight: num(r.inflight),
      concurrencyLimit: num(r.concurrencyLimit),
      p50: num(r.latencyMs?.p50),
      p99: num(r.latencyMs?.p99),
      admitted: { ...r.admitted },
      shed: { ...r.shed },
    })
  }
  for (const [route, samples] of history) {
    trim(samples, windowMs)
    if (samples.length > 0 && samples[samples.length - 1].t < stats.t - windowMs) {
      history.delete(route)
    }
  }
}

function num(v: unknown): number {
  return typeof v === 'number' ? v : NaN
}

/**
 * Per-second rates from a cumulative counter: one point per pair of neighbouring samples, at the
 * later one. A counter that went down (the isolate restarted) gives no rate for that pair.
 *
 * @param samples The history.
 * @param pick The counter of a sample; undefined counts as 0.
 *
 * @example Usage
 * ```ts
 * import { rates } from './model.ts'
 * const r = rates([{ t: 0, n: 0 }, { t: 2000, n: 10 }, { t: 3000, n: 4 }], (s) => s.n)
 * if (r[0][1] !== 5 || !Number.isNaN(r[1][1])) throw new Error('5/s, then a reset')
 * ```
 */
export function rates<T extends { t: number }>(
  samples: readonly T[],
  pick: (sample: T) => number | undefined,
): Point[] {
  const out: Point[] = []
  for (let i = 1; i < samples.length; i++) {
    const dt = (samples[i].t - samples[i - 1].t) / 1000
    const dn = (pick(samples[i]) ?? 0) - (pick(samples[i - 1]) ?? 0)
    out.push([samples[i].t, dt > 0 && dn >= 0 ? dn / dt : NaN])
  }
  return out
}

/**
 * The priorities a route's history has seen requests of (admitted or shed counter above 0), in
 * first-seen order: the counters list every configured priority, most of them idle on a route.
 */
export function prioritiesOf(samples: readonly Sample[]): string[] {
  const seen = new Set<string>()
  for (const s of samples) {
    for (const counts of [s.admitted, s.shed]) {
      for (const [p, n] of Object.entries(counts)) if (n > 0) seen.add(p)
    }
  }
  return [...seen]
}

/** The delay before reconnect attempt `n` (0-based): 1, 2, 4 … s, at most `maxMs`. */
export function backoffMs(n: number, maxMs = 30_000): number {
  return Math.min(maxMs, 1000 * 2 ** Math.min(n, 20))
}
