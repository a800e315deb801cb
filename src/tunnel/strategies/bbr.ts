/**
 * The `bbr` baseline: the BBR-style limit of Alibaba Sentinel's system protection
 * (`SystemRuleManager.checkBbr`) as go-kratos/aegis `ratelimit/bbr` implements it, one per
 * isolate. Requests in flight may not exceed the bandwidth-delay product the origin has shown:
 * the most answers it delivered in one bucket × the lowest mean latency of a bucket, over a
 * 10-second window. Both libraries apply the limit only while the server's own CPU (Kratos, 80%)
 * or load (Sentinel) is above a threshold. The edge cannot see the origin's CPU: here the gate is
 * the origin's own overload signal instead, an overload answer (429, 503, 504) or a timeout in the
 * last second. Every completion counts as a pass with its latency, as in Kratos (its DoneFunc
 * ignores errors). Priority-blind.
 *
 * @module
 */

import { isOverloadStatus } from '../metrics.ts'
import type { Scenario } from '../scenario.ts'
import type { Strategy, StrategyDecision, StrategyInstance, StrategyProbe } from '../strategy.ts'

/** Kratos `NewLimiter` defaults: a 10 s window of 100 buckets; the 1 s cool-down after a drop. */
export const BBR_DEFAULTS = {
  windowMs: 10_000,
  buckets: 100,
  coolDownMs: 1000,
  /** The edge's stand-in for "CPU above the threshold": an overload answer this recently, ms. */
  overloadMemoryMs: 1000,
} as const

/**
 * The limit: ⌊maxPass · minRT · bucketsPerSecond / 1000⌋ (Kratos adds 0.5 after the floor and
 * truncates, which leaves the floor).
 *
 * @param maxPass Most completions in one bucket (at least 1).
 * @param minRtMs Lowest mean latency of a bucket, whole ms (at least 1).
 * @param bucketsPerSecond 10 at the defaults.
 * @returns Requests in flight the limit allows.
 * @example Usage
 * ```ts
 * // 130 answers per 100 ms × 48 ms: 62.4 in flight, floored.
 * if (bbrMaxInFlight(130, 48, 10) !== 62) throw new Error('expected 62')
 * ```
 */
export function bbrMaxInFlight(maxPass: number, minRtMs: number, bucketsPerSecond: number): number {
  return Math.floor((maxPass * minRtMs * bucketsPerSecond) / 1000)
}

/** One isolate's limiter. */
export class BbrLimiter {
  inflight = 0
  private readonly bucketMs = BBR_DEFAULTS.windowMs / BBR_DEFAULTS.buckets
  private readonly pass = new Float64Array(BBR_DEFAULTS.buckets)
  private readonly rtSum = new Float64Array(BBR_DEFAULTS.buckets)
  private readonly rtCount = new Float64Array(BBR_DEFAULTS.buckets)
  private bucket = 0
  /** Start of the current run of drops; NaN when not dropping. */
  private prevDropMs = NaN
  private lastOverloadMs = -Infinity
  /** maxPass and minRT are computed once per bucket, as Kratos caches them. */
  private cachedBucket = -1
  private cachedLimit = 0

  /** The limit now: maxPass × minRT over the window, without the current bucket. */
  maxInFlight(nowMs: number): number {
    this.roll(nowMs)
    if (this.cachedBucket === this.bucket) return this.cachedLimit
    const n = BBR_DEFAULTS.buckets
    let maxPass = 1
    let minRt = Infinity
    for (let k = 1; k < n && this.bucket - k >= 0; k++) {
      const i = (this.bucket - k) % n
      maxPass = Math.max(maxPass, this.pass[i] as number)
      const count = this.rtCount[i] as number
      if (count > 0) minRt = Math.min(minRt, (this.rtSum[i] as number) / count)
    }
    const rt = minRt === Infinity ? 1 : Math.max(1, Math.ceil(minRt))
    this.cachedBucket = this.bucket
    this.cachedLimit = bbrMaxInFlight(maxPass, rt, 1000 / this.bucketMs)
    return this.cachedLimit
  }

  /** The stand-in for Kratos's CPU gate: an overload answer or a timeout within the last second. */
  overloaded(nowMs: number): boolean {
    return nowMs - this.lastOverloadMs <= BBR_DEFAULTS.overloadMemoryMs
  }

  /** Kratos `shouldDrop`, with the gate above in place of the CPU. */
  shouldDrop(nowMs: number): boolean {
    const over = () => this.inflight > 1 && this.inflight > this.maxInFlight(nowMs)
    if (!this.overloaded(nowMs)) {
      if (this.prevDropMs !== this.prevDropMs) return false
      if (nowMs - this.prevDropMs <= BBR_DEFAULTS.coolDownMs) return over()
      this.prevDropMs = NaN
      return false
    }
    const drop = over()
    if (drop && this.prevDropMs !== this.prevDropMs) this.prevDropMs = nowMs
    return drop
  }

  admit(nowMs: number): boolean {
    if (this.shouldDrop(nowMs)) return false
    this.inflight++
    return true
  }

  /** Every completion passes and gives its latency, whole ms (Kratos ignores DoneInfo). */
  complete(latencyMs: number, status: number | undefined, nowMs: number): void {
    this.roll(nowMs)
    this.inflight--
    if (status === undefined || isOverloadStatus(status)) this.lastOverloadMs = nowMs
    const i = this.bucket % BBR_DEFAULTS.buckets
    this.pass[i] = (this.pass[i] as number) + 1
    this.rtSum[i] = (this.rtSum[i] as number) + Math.trunc(latencyMs)
    this.rtCount[i] = (this.rtCount[i] as number) + 1
  }

  private roll(nowMs: number): void {
    const b = Math.floor(nowMs / this.bucketMs)
    const n = BBR_DEFAULTS.buckets
    for (let next = Math.max(this.bucket + 1, b - n + 1); next <= b; next++) {
      const i = next % n
      this.pass[i] = 0
      this.rtSum[i] = 0
      this.rtCount[i] = 0
    }
    if (b > this.bucket) this.bucket = b
  }
}

/** Per isolate, one BBR limiter. */
export const bbr: Strategy = {
  name: 'bbr',
  source: 'Sentinel checkBbr / go-kratos aegis ratelimit/bbr: in flight ≤ maxPass × minRT over ' +
    '10 s of 100 buckets, 1 s cool-down; gated by an overload answer (429/503/504) or timeout ' +
    'in the last second instead of the server CPU, per isolate',
  create(scenario: Scenario): StrategyInstance {
    const limiters = Array.from({ length: scenario.isolates }, () => new BbrLimiter())
    const allow: StrategyDecision = { allow: true, handle: undefined }
    const deny: StrategyDecision = { allow: false, handle: undefined }
    return {
      admit(isolate, _cls, nowMs) {
        return (limiters[isolate] as BbrLimiter).admit(nowMs) ? allow : deny
      },
      complete(isolate, _handle, outcome, nowMs) {
        ;(limiters[isolate] as BbrLimiter).complete(outcome.latencyMs, outcome.status, nowMs)
      },
      probe(nowMs): StrategyProbe {
        const l = limiters[0] as BbrLimiter
        return { mode: l.overloaded(nowMs) ? 'LIMITING' : 'OPEN' }
      },
    }
  },
}
