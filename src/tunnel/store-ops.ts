/**
 * What shared state costs, as the wind tunnel measures it: every store operation a strategy makes
 * (exchange, config poll and heartbeat, lease call), counted by the key it lands on, and the store
 * seen through virtual time (a request reaches the store half a round trip after it is sent, and
 * its answer comes back a whole round trip after). docs/sync.md has the cost model these figures
 * check.
 *
 * Keys follow the Durable Object layout, which is the stricter one: an exchange is one operation
 * on each route's object (`route:ID`), a config poll one on the config object (`config`), a lease
 * call one on its route's object. On Upstash an exchange of any number of routes is one script
 * call, so the Upstash total is at most the figure here.
 *
 * @module
 */

import { setImmediate } from 'node:timers'
import type { ConfigStore, IsolateInfo } from '../contract/config-store.ts'
import type {
  ExchangeResult,
  LeaseGrant,
  RouteDelta,
  RouteView,
  TelemetryStore,
} from '../contract/telemetry-store.ts'
import type { Timers } from '../governor/timeout.ts'

/** A strategy's store cost over one run. */
export interface StoreOps {
  /** Store operations of the whole run, all keys. */
  total: number
  /** total per 1,000 attempts the strategy decided. */
  per1kRequests: number
  /** The most operations any one key saw within one virtual second. */
  peakPerSPerKey: number
  /** The key of that peak. */
  peakKey: string | null
}

/** Counts operations per key and per virtual second. */
export class OpCounter {
  total = 0
  private peak = 0
  private peakKey: string | null = null
  private readonly keys = new Map<string, { second: number; count: number }>()

  /** One operation on `key` at virtual time `atMs`. */
  add(key: string, atMs: number): void {
    this.total++
    const second = Math.floor(atMs / 1000)
    let k = this.keys.get(key)
    if (k === undefined) {
      k = { second, count: 0 }
      this.keys.set(key, k)
    }
    // Operations reach the store in time order, so a key's seconds only move forward.
    if (k.second !== second) {
      k.second = second
      k.count = 0
    }
    k.count++
    if (k.count > this.peak) {
      this.peak = k.count
      this.peakKey = key
    }
  }

  /** The figures for a run of `attempts` decided attempts. */
  result(attempts: number): StoreOps {
    return {
      total: this.total,
      per1kRequests: attempts > 0 ? (this.total / attempts) * 1000 : 0,
      peakPerSPerKey: this.peak,
      peakKey: this.peakKey,
    }
  }
}

/** Runs a task at a virtual time (the simulator's `schedule`). */
export type Schedule = (atMs: number, task: () => void | Promise<void>) => void

/** Timers that never fire: in virtual time a store answers within its round trip, always. */
export const NO_TIMERS: Timers = { setTimeout: () => 0, clearTimeout: () => {} }

// The simulator awaits a task's promise before its next event: waiting for the macrotask queue
// lets every continuation of the answer (the syncer applying it) run first, in order.
const drain = () => new Promise<void>((resolve) => setImmediate(resolve))

/**
 * A store in virtual time: each call counted, applied to `inner` half a round trip after it is
 * sent and answered a round trip after. `now` sets the clock the caller reads when it resumes.
 */
export class SimulatedStore implements TelemetryStore {
  readonly kind = 'memory' as const
  readonly carriesConfigVersion: boolean
  private readonly inner: TelemetryStore
  private readonly counter: OpCounter
  private readonly schedule: Schedule
  private readonly latencyMs: number
  private readonly setNow: (ms: number) => void

  constructor(
    inner: TelemetryStore,
    counter: OpCounter,
    schedule: Schedule,
    latencyMs: number,
    setNow: (ms: number) => void,
  ) {
    this.inner = inner
    this.counter = counter
    this.schedule = schedule
    this.latencyMs = latencyMs
    this.setNow = setNow
    this.carriesConfigVersion = inner.carriesConfigVersion === true
  }

  /** Runs `call` on the store at send + latency/2, answers at send + latency, counting `keys`. */
  call<T>(keys: string[], sendMs: number, call: (storeMs: number) => Promise<T>): Promise<T> {
    const storeMs = sendMs + this.latencyMs / 2
    const answerMs = sendMs + this.latencyMs
    return new Promise<T>((resolve, reject) => {
      let outcome: { ok: true; value: T } | { ok: false; error: unknown } | undefined
      this.schedule(storeMs, async () => {
        for (const key of keys) this.counter.add(key, storeMs)
        try {
          outcome = { ok: true, value: await call(storeMs) }
        } catch (error) {
          outcome = { ok: false, error }
        }
      })
      this.schedule(answerMs, () => {
        this.setNow(answerMs)
        const o = outcome as NonNullable<typeof outcome>
        if (o.ok) resolve(o.value)
        else reject(o.error)
        return drain()
      })
    })
  }

  exchange(isolateId: string, deltas: RouteDelta[], nowMs: number): Promise<ExchangeResult> {
    const keys = [...new Set(deltas.map((d) => `route:${d.route}`))]
    return this.call(keys, nowMs, (at) => this.inner.exchange(isolateId, deltas, at))
  }

  acquireLease(
    route: string,
    leaseId: string,
    ttlMs: number,
    maxActive: number,
    nowMs: number,
  ): Promise<LeaseGrant> {
    return this.call(
      [`route:${route}`],
      nowMs,
      (at) => this.inner.acquireLease(route, leaseId, ttlMs, maxActive, at),
    )
  }

  heartbeatLease(route: string, leaseId: string, ttlMs: number, nowMs: number): Promise<boolean> {
    return this.call(
      [`route:${route}`],
      nowMs,
      (at) => this.inner.heartbeatLease(route, leaseId, ttlMs, at),
    )
  }

  releaseLease(route: string, leaseId: string, nowMs: number): Promise<boolean> {
    return this.call([`route:${route}`], nowMs, (at) => this.inner.releaseLease(route, leaseId, at))
  }

  snapshot(route: string, nowMs: number): Promise<RouteView> {
    return this.call([`route:${route}`], nowMs, (at) => this.inner.snapshot(route, at))
  }

  /** An isolate's config heartbeat, on the config object. */
  heartbeat(config: ConfigStore, info: IsolateInfo, nowMs: number): Promise<number> {
    return this.call(
      ['config'],
      nowMs,
      async (at) => (await config.heartbeat({ ...info, lastSeenMs: at }, at)).version,
    )
  }
}
