/**
 * The `sre-throttle` baseline: Google SRE's client-side adaptive throttling (Site Reliability
 * Engineering, chapter "Handling Overload"), one client per isolate. Each client counts, over the
 * last two minutes, the requests its application attempted and those the backend accepted, and
 * refuses a new request locally with probability max(0, (requests − K·accepts)/(requests + 1)),
 * K = 2. Priority-blind.
 *
 * @module
 */

import { isOverloadStatus } from '../metrics.ts'
import { createRandom, type Random } from '../random.ts'
import type { Scenario } from '../scenario.ts'
import type { Outcome, Strategy, StrategyDecision, StrategyInstance } from '../strategy.ts'

/** The book's values: K = 2 and a two-minute history. */
export const SRE_THROTTLE_DEFAULTS = {
  k: 2,
  windowMs: 120_000,
  /** The history is kept in buckets of this length (the book does not say how). */
  bucketMs: 1000,
} as const

/** Random stream of the rejection draws (the simulator's arrivals use 0 and 1). */
const SRE_STREAM = 103

/**
 * The client-side rejection probability.
 *
 * @param requests Requests attempted in the window, locally refused ones included.
 * @param accepts Requests the backend accepted in the window.
 * @param k The multiplier (2).
 * @returns max(0, (requests − k·accepts)/(requests + 1)).
 * @example Usage
 * ```ts
 * // Nothing is refused until accepts fall below half of the requests.
 * if (sreRejectProbability(100, 50, 2) !== 0) throw new Error('expected 0')
 * if (Math.abs(sreRejectProbability(100, 10, 2) - 80 / 101) > 1e-12) throw new Error('expected 0.79')
 * ```
 */
export function sreRejectProbability(requests: number, accepts: number, k: number): number {
  return Math.max(0, (requests - k * accepts) / (requests + 1))
}

/**
 * Whether the backend accepted a request: it answered, and not with an overload status (429,
 * 503, 504). An application error (500) was accepted and processed; a timeout was not.
 */
export function sreAccepted(outcome: Outcome): boolean {
  return outcome.status !== undefined && !isOverloadStatus(outcome.status)
}

/** One client's two-minute history in per-second buckets. */
export class SreThrottle {
  private readonly requests: Float64Array
  private readonly accepts: Float64Array
  private requestSum = 0
  private acceptSum = 0
  private bucket = 0
  private readonly rng: Random

  constructor(rng: Random) {
    const n = SRE_THROTTLE_DEFAULTS.windowMs / SRE_THROTTLE_DEFAULTS.bucketMs
    this.requests = new Float64Array(n)
    this.accepts = new Float64Array(n)
    this.rng = rng
  }

  /** The probability with which the next request is refused at `nowMs`. */
  probability(nowMs: number): number {
    this.roll(nowMs)
    return sreRejectProbability(this.requestSum, this.acceptSum, SRE_THROTTLE_DEFAULTS.k)
  }

  /** Counts a request and decides it. */
  admit(nowMs: number): boolean {
    const p = this.probability(nowMs)
    const i = this.bucket % this.requests.length
    this.requests[i] = (this.requests[i] as number) + 1
    this.requestSum++
    return !(this.rng.next() < p)
  }

  /** Counts an acceptance. */
  accept(nowMs: number): void {
    this.roll(nowMs)
    const i = this.bucket % this.accepts.length
    this.accepts[i] = (this.accepts[i] as number) + 1
    this.acceptSum++
  }

  private roll(nowMs: number): void {
    const b = Math.floor(nowMs / SRE_THROTTLE_DEFAULTS.bucketMs)
    const n = this.requests.length
    // Buckets that left the window are emptied, at most one lap of them.
    for (let next = Math.max(this.bucket + 1, b - n + 1); next <= b; next++) {
      const i = next % n
      this.requestSum -= this.requests[i] as number
      this.acceptSum -= this.accepts[i] as number
      this.requests[i] = 0
      this.accepts[i] = 0
    }
    if (b > this.bucket) this.bucket = b
  }
}

/** Per isolate, one throttling client. */
export const sreThrottle: Strategy = {
  name: 'sre-throttle',
  source: 'Google SRE book, Handling Overload: client-side adaptive throttling, K = 2 over the ' +
    'last 2 minutes, per isolate; accepted = answered without 429/503/504',
  create(scenario: Scenario): StrategyInstance {
    const clients = Array.from(
      { length: scenario.isolates },
      (_, i) => new SreThrottle(createRandom(scenario.seed + i, SRE_STREAM)),
    )
    const allow: StrategyDecision = { allow: true, handle: undefined }
    const deny: StrategyDecision = { allow: false, handle: undefined }
    return {
      admit(isolate, _cls, nowMs) {
        return (clients[isolate] as SreThrottle).admit(nowMs) ? allow : deny
      },
      complete(isolate, _handle, outcome, nowMs) {
        if (sreAccepted(outcome)) (clients[isolate] as SreThrottle).accept(nowMs)
      },
    }
  },
}
