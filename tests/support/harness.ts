// Test harness for physics properties: a governor per engine on a virtual clock, and drivers that
// send evenly spaced requests whose outcomes are given as functions of time.
import {
  createGovernor,
  type Decision,
  type Governor,
  type GovernorConfigInput,
  type Ticket,
} from '../../src/adapter/node/mod.ts'
import type { EngineKind } from '../../src/engine/types.ts'

export const ENGINES: readonly EngineKind[] = ['ts', 'wasm']

/** A virtual clock in ms. */
export interface VirtualClock {
  now: number
  read: () => number
}

export function virtualClock(start = 0): VirtualClock {
  const clock: VirtualClock = { now: start, read: () => clock.now }
  return clock
}

export interface Rig {
  gov: Governor
  clock: VirtualClock
}

export function rig(engine: EngineKind, config: GovernorConfigInput = {}, start = 0): Rig {
  const clock = virtualClock(start)
  const gov = createGovernor({ engine, config, clock: clock.read, logger: { warn() {} } })
  if (gov.engineKind !== engine) throw new Error(`wanted engine ${engine}, got ${gov.engineKind}`)
  return { gov, clock }
}

export interface DriveOptions {
  route?: string
  rps: number
  seconds: number
  /** Latency of a request started at time t (ms since the drive began). */
  latencyMs: (t: number, i: number) => number
  /** Whether a request started at time t succeeds. */
  ok?: (t: number, i: number) => boolean
  /** Priority of request i. */
  priority?: (i: number) => string
  /** Called after every decision. */
  onDecision?: (d: Decision, t: number, i: number) => void
}

/**
 * Sends `rps` evenly spaced requests for `seconds`; each admitted one completes at once with the
 * given latency (the clock does not wait for it, so in-flight stays ~0 unless a test holds
 * tickets itself).
 */
export function drive(r: Rig, o: DriveOptions): { admitted: number; shed: number } {
  const route = o.route ?? 'route'
  const gapMs = 1000 / o.rps
  const total = Math.round(o.rps * o.seconds)
  const start = r.clock.now
  let admitted = 0
  let shed = 0
  for (let i = 0; i < total; i++) {
    const t = i * gapMs
    r.clock.now = start + t
    const d = r.gov.admit(route, { priority: o.priority?.(i) })
    o.onDecision?.(d, t, i)
    if (d.ticket) {
      admitted++
      r.gov.complete(d.ticket, { latencyMs: o.latencyMs(t, i), ok: o.ok?.(t, i) ?? true })
    } else {
      shed++
    }
  }
  r.clock.now = start + total * gapMs
  return { admitted, shed }
}

/** Healthy traffic until the route has learned and left BOOTSTRAP. */
export function warmUp(r: Rig, route = 'route', latencyMs = 50, seconds = 20): void {
  drive(r, { route, rps: 50, seconds, latencyMs: () => latencyMs })
}

export const PRIORITIES = ['critical', 'normal', 'low'] as const
export const mixed = (i: number): string => PRIORITIES[i % 3] as string

/** What the origin model does with a request started at time t (ms since the run began). */
export interface OriginModel {
  /** Servers at time t. */
  servers: (t: number) => number
  /** Service time of a request that starts service at t, ms. */
  serviceMs: (t: number) => number
  /** Status of a request served at t: 200 by default. */
  status?: (t: number, i: number) => number
  /** True while the origin answers nothing (a black hole): requests time out. */
  blackhole?: (t: number) => boolean
  /** The client's timeout, ms (a timed-out request completes with no status). @default 5000 */
  timeoutMs?: number
}

export interface ServeResult {
  /**
   * Per second of the run: admitted, good (200) answers, those of them within `sloMs` (all of them
   * without one) and the mode at its end.
   */
  seconds: {
    admitted: number
    good: number
    onTime: number
    mode: string
    byClass: Record<string, number>
  }[]
  admitted: Record<string, number>
  offered: Record<string, number>
}

/**
 * A queueing origin in front of the governor: `servers` in parallel behind an unbounded FIFO
 * queue, evenly spaced arrivals, every admitted request completed at its answer time with its
 * status (a black hole's requests complete at the timeout without one).
 */
export function serve(
  r: Rig,
  o: {
    route?: string
    rps: number
    seconds: number
    origin: OriginModel
    priority?: (i: number) => string
    /** Called after every decision, as drive's: t is ms since the run began. */
    onDecision?: (d: Decision, t: number, i: number) => void
    /** Answers later than this count as good but not on time (`seconds[].onTime`). */
    sloMs?: number
  },
): ServeResult {
  const route = o.route ?? 'route'
  const start = r.clock.now
  const gapMs = 1000 / o.rps
  const total = Math.round(o.rps * o.seconds)
  const timeoutMs = o.origin.timeoutMs ?? 5000
  // Pending completions, kept sorted by time (small runs: insertion is fine).
  const pending: { at: number; ticket: Ticket; latencyMs: number; status: number | undefined }[] =
    []
  const queue: { t: number; ticket: Ticket; i: number }[] = []
  const busyUntil: number[] = []
  const result: ServeResult = { seconds: [], admitted: {}, offered: {} }
  const second = (t: number) => {
    const s = Math.floor(t / 1000)
    while (result.seconds.length <= s) {
      result.seconds.push({ admitted: 0, good: 0, onTime: 0, mode: '', byClass: {} })
    }
    return result.seconds[s] as ServeResult['seconds'][number]
  }
  const push = (e: (typeof pending)[number]) => {
    let k = pending.length
    while (k > 0 && (pending[k - 1] as (typeof pending)[number]).at > e.at) k--
    pending.splice(k, 0, e)
  }
  // Events in time order up to t: a free server takes the next queued request, answers complete.
  const runUntil = (t: number) => {
    for (;;) {
      let freeAt = Infinity
      let server = -1
      if (queue.length > 0) {
        const n = o.origin.servers(r.clock.now - start)
        for (let k = 0; k < n; k++) {
          const b = busyUntil[k] ?? -Infinity
          if (b < freeAt) {
            freeAt = b
            server = k
          }
        }
        freeAt = Math.max(freeAt, (queue[0] as (typeof queue)[number]).t)
      }
      const doneAt = pending[0]?.at ?? Infinity
      if (Math.min(freeAt, doneAt) > t) return
      if (freeAt <= doneAt) {
        const job = queue.shift() as (typeof queue)[number]
        const at = freeAt + o.origin.serviceMs(freeAt - start)
        busyUntil[server] = at
        const status = o.origin.status?.(freeAt - start, job.i) ?? 200
        if (at - job.t > timeoutMs) {
          push({
            at: job.t + timeoutMs,
            ticket: job.ticket,
            latencyMs: timeoutMs,
            status: undefined,
          })
        } else push({ at, ticket: job.ticket, latencyMs: at - job.t, status })
        continue
      }
      const e = pending.shift() as (typeof pending)[number]
      r.clock.now = e.at
      r.gov.complete(e.ticket, { latencyMs: e.latencyMs, ok: e.status === 200, status: e.status })
      if (e.status === 200) {
        const sec = second(e.at - start)
        sec.good++
        if (!(e.latencyMs > (o.sloMs ?? Infinity))) sec.onTime++
      }
    }
  }
  for (let i = 0; i < total; i++) {
    const t = start + i * gapMs
    runUntil(t)
    r.clock.now = t
    const priority = o.priority?.(i) ?? 'normal'
    result.offered[priority] = (result.offered[priority] ?? 0) + 1
    const d = r.gov.admit(route, { priority })
    o.onDecision?.(d, t - start, i)
    const sec = second(t - start)
    sec.mode = d.mode
    if (d.ticket === null) continue
    result.admitted[priority] = (result.admitted[priority] ?? 0) + 1
    sec.admitted++
    sec.byClass[priority] = (sec.byClass[priority] ?? 0) + 1
    if (o.origin.blackhole?.(t - start) === true) {
      push({ at: t + timeoutMs, ticket: d.ticket, latencyMs: timeoutMs, status: undefined })
    } else {
      queue.push({ t, ticket: d.ticket, i })
    }
  }
  runUntil(start + total * gapMs)
  r.clock.now = start + total * gapMs
  return result
}
