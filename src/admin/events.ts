/**
 * The event stream behind `GET {prefix}/api/events` (Server-Sent Events) and the NDJSON decision
 * log. Both listen to the governor (`governor.watch`) only while someone is listening, so an
 * isolate nobody watches pays one boolean test per decision.
 *
 * Nothing here grows without bound: at most `maxSubscribers` streams; per stream, decision events
 * are capped per second (every mode change is kept) and queue in at most `maxQueue` frames, the
 * excess dropped and counted; a stats frame is taken only when the client is ready to read one.
 *
 * Timers run only inside a request (the stream's own), never at global scope, as Workers require.
 *
 * @module
 */

import type { Governor, GovernorWatcher } from '../governor/governor.ts'
import type { EventCounters } from './stats.ts'

/** Options of the event stream. */
export interface EventStreamOptions {
  /**
   * Streams open at once per isolate; more are refused with 503.
   * @default 16
   */
  maxSubscribers?: number | undefined
  /**
   * Decision events per second per stream (by the governor's clock); the rest are sampled out.
   * @default 20
   */
  maxDecisionsPerS?: number | undefined
  /**
   * Frames queued for a stream that reads slowly; beyond it events are dropped and counted.
   * @default 256
   */
  maxQueue?: number | undefined
  /**
   * Interval of `stats` events, ms; 0 sends only the first.
   * @default 1000
   */
  statsIntervalMs?: number | undefined
  /**
   * Interval of heartbeat comments, ms (they keep proxies from closing a quiet stream).
   * @default 15000
   */
  heartbeatMs?: number | undefined
  /**
   * A stream whose last frame has gone unread this long is closed and its slot released, ms: a
   * runtime that never calls the stream's `cancel` (a dropped HEAD body, a lost disconnect) would
   * otherwise hold the slot for the isolate's life.
   * @default 60000
   */
  maxUnreadMs?: number | undefined
}

/** A decision event's data. */
export interface DecisionEvent {
  t: number
  route: string
  priority: string
  allow: boolean
  mode: string
  resistanceOhm: number
}

/** A mode event's data. */
export interface ModeEvent {
  t: number
  route: string
  from: string
  to: string
  resistanceOhm: number
  /** Mode changes since the last report (more than 1 when one tick passed through a mode). */
  transitions: number
}

const encoder = new TextEncoder()

/** One Server-Sent Events frame. */
export function sseFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`
}

class Subscriber {
  readonly queue: string[] = []
  wake: (() => void) | null = null
  closed = false
  statsDue = true
  heartbeatDue = false
  /** Inside `pull`, waiting for something to send: the reader is keeping up. */
  pulling = false
  /** When the last frame was handed to the reader, ms (wall clock: timers are wall-clock too). */
  sentAt = Date.now()
  private second = NaN
  private budget = 0
  private readonly hub: EventHub

  constructor(hub: EventHub) {
    this.hub = hub
  }

  /** Whether this stream takes one more decision event this second. */
  takesDecision(t: number): boolean {
    const second = Math.floor(t / 1000)
    if (second !== this.second) {
      this.second = second
      this.budget = this.hub.maxDecisionsPerS
    }
    if (this.budget > 0) {
      this.budget--
      return true
    }
    this.hub.sampledOut++
    return false
  }

  offer(frame: string): void {
    if (this.closed) return
    if (this.queue.length >= this.hub.maxQueue) {
      this.hub.dropped++
      return
    }
    this.queue.push(frame)
    this.poke()
  }

  poke(): void {
    const wake = this.wake
    this.wake = null
    wake?.()
  }
}

/**
 * The subscribers of one governor's events.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { EventHub } from './events.ts'
 * const governor = createGovernor({ engine: 'ts' })
 * const hub = new EventHub(governor)
 * const res = hub.stream(async () => ({ hello: 'stats' }))
 * const reader = res!.body!.getReader()
 * const first = new TextDecoder().decode((await reader.read()).value)
 * if (!first.startsWith('event: stats')) throw new Error('stats first')
 * await reader.cancel()
 * ```
 */
export class EventHub {
  readonly maxSubscribers: number
  readonly maxDecisionsPerS: number
  readonly maxQueue: number
  readonly statsIntervalMs: number
  readonly heartbeatMs: number
  readonly maxUnreadMs: number
  dropped = 0
  sampledOut = 0
  private readonly governor: Governor
  private readonly subscribers = new Set<Subscriber>()
  private unwatch: (() => void) | null = null

  constructor(governor: Governor, options: EventStreamOptions = {}) {
    this.governor = governor
    this.maxSubscribers = options.maxSubscribers ?? 16
    this.maxDecisionsPerS = options.maxDecisionsPerS ?? 20
    this.maxQueue = options.maxQueue ?? 256
    this.statsIntervalMs = options.statsIntervalMs ?? 1000
    this.heartbeatMs = options.heartbeatMs ?? 15000
    this.maxUnreadMs = options.maxUnreadMs ?? 60000
  }

  /** Subscribers now, events dropped for slow ones, decisions sampled out. */
  counters(): EventCounters {
    return {
      subscribers: this.subscribers.size,
      dropped: this.dropped,
      sampledOut: this.sampledOut,
    }
  }

  /**
   * Opens a stream: a `stats` event at once and every `statsIntervalMs`, decision and mode events
   * as they happen, heartbeat comments. Null when `maxSubscribers` streams are open.
   *
   * @param stats Takes the stats document (called when a stats frame is due and the client reads).
   */
  stream(stats: () => Promise<unknown>): Response | null {
    if (this.subscribers.size >= this.maxSubscribers) return null
    const sub = new Subscriber(this)
    const { statsIntervalMs, heartbeatMs, maxUnreadMs } = this
    this.add(sub)
    const timers: ReturnType<typeof setTimeout>[] = []
    const every = (ms: number, fn: () => void) => {
      if (!(ms > 0)) return
      const arm = () => {
        timers[index] = setTimeout(() => {
          if (sub.closed) return
          fn()
          sub.poke()
          arm()
        }, ms)
      }
      const index = timers.length
      timers.push(undefined as unknown as ReturnType<typeof setTimeout>)
      arm()
    }
    const close = () => {
      if (sub.closed) return
      sub.closed = true
      for (const timer of timers) clearTimeout(timer)
      sub.poke()
      this.remove(sub)
    }
    const body = new ReadableStream<Uint8Array>({
      start() {
        // Armed here, inside the request that opened the stream.
        every(statsIntervalMs, () => (sub.statsDue = true))
        every(heartbeatMs, () => (sub.heartbeatDue = true))
        every(Math.min(maxUnreadMs, 1000), () => {
          if (!sub.pulling && Date.now() - sub.sentAt > maxUnreadMs) close()
        })
      },
      async pull(controller) {
        sub.pulling = true
        try {
          for (;;) {
            if (sub.closed) {
              controller.close()
              return
            }
            let text = ''
            if (sub.statsDue) {
              sub.statsDue = false
              text += sseFrame('stats', await stats())
            }
            if (sub.queue.length > 0) {
              text += sub.queue.join('')
              sub.queue.length = 0
            }
            if (sub.heartbeatDue) {
              sub.heartbeatDue = false
              text += ': heartbeat\n\n'
            }
            if (text !== '') {
              controller.enqueue(encoder.encode(text))
              sub.sentAt = Date.now()
              return
            }
            await new Promise<void>((resolve) => (sub.wake = resolve))
          }
        } catch (error) {
          // A stats document that cannot be built ends the stream, not the slot's release.
          close()
          controller.error(error)
        } finally {
          sub.pulling = false
        }
      },
      cancel: close,
    }, { highWaterMark: 0 })
    return new Response(body, {
      headers: {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-store',
        // Asks proxies (nginx) not to buffer the stream.
        'x-accel-buffering': 'no',
      },
    })
  }

  private add(sub: Subscriber): void {
    this.subscribers.add(sub)
    if (this.unwatch !== null) return
    const subscribers = this.subscribers
    this.unwatch = this.governor.watch({
      decision(route, priority, allow, mode, resistanceOhm, t) {
        let frame: string | undefined
        for (const s of subscribers) {
          if (!s.takesDecision(t)) continue
          frame ??= sseFrame('decision', { t, route, priority, allow, mode, resistanceOhm })
          s.offer(frame)
        }
      },
      mode(route, from, to, resistanceOhm, t, transitions) {
        const frame = sseFrame('mode', { t, route, from, to, resistanceOhm, transitions })
        for (const s of subscribers) s.offer(frame)
      },
    })
  }

  private remove(sub: Subscriber): void {
    this.subscribers.delete(sub)
    if (this.subscribers.size === 0 && this.unwatch !== null) {
      this.unwatch()
      this.unwatch = null
    }
  }
}

/** Options of `watchDecisionLog()`. */
export interface DecisionLogOptions {
  /**
   * Sampled decision lines per second (by the governor's clock); mode changes are all logged.
   * @default 1
   */
  maxDecisionsPerS?: number | undefined
  /** Writes one line. @default console.log (Workers Logs, Deno Deploy logs) */
  log?: ((line: string) => void) | undefined
}

/**
 * Logs one NDJSON line per mode change and per sampled decision:
 * `{"source":"rheostat","event":"mode","t":…,"route":…,"from":…,"to":…,"resistanceOhm":…}` and
 * `{"source":"rheostat","event":"decision","t":…,"route":…,"priority":…,"allow":…,"mode":…,
 * "resistanceOhm":…}`. The config's `decisionLog` turns it on in the Workers and Deno entries.
 *
 * @param governor The governor to watch.
 * @param options Rate and sink.
 * @returns Stops the log.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { watchDecisionLog } from './events.ts'
 * const lines: string[] = []
 * const governor = createGovernor({ engine: 'ts', clock: () => 0 })
 * const stop = watchDecisionLog(governor, { log: (line) => lines.push(line) })
 * governor.admit('checkout')
 * governor.admit('checkout')
 * stop()
 * if (lines.length !== 1) throw new Error('one decision per second')
 * ```
 */
export function watchDecisionLog(governor: Governor, options: DecisionLogOptions = {}): () => void {
  const max = options.maxDecisionsPerS ?? 1
  const log = options.log ?? ((line: string) => console.log(line))
  let second = NaN
  let budget = 0
  const watcher: GovernorWatcher = {
    decision(route, priority, allow, mode, resistanceOhm, t) {
      const s = Math.floor(t / 1000)
      if (s !== second) {
        second = s
        budget = max
      }
      if (budget <= 0) return
      budget--
      log(JSON.stringify({
        source: 'rheostat',
        event: 'decision',
        t,
        route,
        priority,
        allow,
        mode,
        resistanceOhm,
      }))
    },
    mode(route, from, to, resistanceOhm, t, transitions) {
      log(JSON.stringify({
        source: 'rheostat',
        event: 'mode',
        t,
        route,
        from,
        to,
        resistanceOhm,
        transitions,
      }))
    },
  }
  return governor.watch(watcher)
}
