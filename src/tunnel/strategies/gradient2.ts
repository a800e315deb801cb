/**
 * The `gradient2` baseline: Netflix concurrency-limits' `Gradient2Limit.newDefault()` behind a
 * `SimpleLimiter`, one per isolate. It limits requests in flight, not the rate, and adjusts the
 * limit from the ratio of a long-term RTT average to the latest RTT. Priority-blind, as published.
 *
 * @module
 */

import type { Scenario } from '../scenario.ts'
import type { Strategy, StrategyDecision, StrategyInstance } from '../strategy.ts'

/** Gradient2Limit.Builder defaults (concurrency-limits-core, Gradient2Limit.java). */
export const GRADIENT2_DEFAULTS = {
  initialLimit: 20,
  minLimit: 20,
  maxConcurrency: 200,
  smoothing: 0.2,
  /** The default queueSize function returns 4 whatever the limit. */
  queueSize: 4,
  longWindow: 600,
  /** Samples averaged plainly before the long RTT becomes an exponential average. */
  longWarmup: 10,
  /** "a 2x increase in latency is acceptable" at 2.0; the default accepts 1.5x. */
  rttTolerance: 1.5,
} as const

/** One nanosecond, the resolution of the Java clock the samples come from. */
const MIN_RTT_MS = 1e-6

/** The limit algorithm alone, for one isolate: what `_update` keeps between samples. */
export interface Gradient2State {
  estimatedLimit: number
  longRttMs: number
  /** Samples seen by the long RTT measurement (counts up to the warm-up window only). */
  longCount: number
  longSum: number
  lastRttMs: number
}

/** A fresh limit at the defaults. */
export function gradient2State(): Gradient2State {
  return {
    estimatedLimit: GRADIENT2_DEFAULTS.initialLimit,
    longRttMs: 0,
    longCount: 0,
    longSum: 0,
    lastRttMs: 0,
  }
}

/**
 * One sample into the limit, as `Gradient2Limit._update` does it: the latest RTT is the short
 * measurement; the long one is a plain mean over the first 10 samples, then an exponential average
 * with factor 2/(longWindow + 1), and is cut by 5% whenever it exceeds twice the short one (the
 * fast way back after a long overload). An app-limited sample (inflight below half the limit)
 * changes nothing more. Otherwise gradient = clamp(tolerance·long/short, 0.5, 1),
 * target = limit·gradient + queueSize, and the limit moves a `smoothing` fraction of the way there,
 * clamped to [minLimit, maxConcurrency].
 *
 * @param s The isolate's limit state, updated in place.
 * @param rttMs The request's time from admission to answer.
 * @param inflight Requests in flight when the sampled request was admitted, itself included.
 * @returns The new limit (the integer part of the estimate, as the Java code returns it).
 * @example Usage
 * ```ts
 * const s = gradient2State()
 * gradient2Sample(s, 40, 20) // 20 → 20.8: healthy and not app-limited, grows toward limit + 4
 * ```
 */
export function gradient2Sample(s: Gradient2State, rttMs: number, inflight: number): number {
  const d = GRADIENT2_DEFAULTS
  // Java samples in nanoseconds, never 0; a 0 ms answer here would make long/short 0/0.
  rttMs = Math.max(rttMs, MIN_RTT_MS)
  s.lastRttMs = rttMs
  if (s.longCount < d.longWarmup) {
    s.longCount++
    s.longSum += rttMs
    s.longRttMs = s.longSum / s.longCount
  } else {
    const factor = 2 / (d.longWindow + 1)
    s.longRttMs = s.longRttMs * (1 - factor) + rttMs * factor
  }
  const longRtt = s.longRttMs
  if (longRtt / rttMs > 2) s.longRttMs *= 0.95
  if (inflight < s.estimatedLimit / 2) return Math.trunc(s.estimatedLimit)
  const gradient = Math.max(0.5, Math.min(1, (d.rttTolerance * longRtt) / rttMs))
  const target = s.estimatedLimit * gradient + d.queueSize
  const next = s.estimatedLimit * (1 - d.smoothing) + target * d.smoothing
  s.estimatedLimit = Math.max(d.minLimit, Math.min(d.maxConcurrency, next))
  return Math.trunc(s.estimatedLimit)
}

interface Isolate {
  limit: Gradient2State
  inflight: number
}

/**
 * Per isolate, a `SimpleLimiter`: a request is admitted while fewer than the integer limit are in
 * flight, and records the in-flight count (itself included) it was admitted at. Every completion
 * is a sample with its `latencyMs` as RTT: successes as `onSuccess`, failures (5xx, refusals,
 * timeouts) as `onDropped`, which Gradient2 treats the same; nothing is ignored.
 */
export const gradient2: Strategy = {
  name: 'gradient2',
  source: 'Netflix concurrency-limits Gradient2Limit.newDefault() (initialLimit 20, minLimit 20, ' +
    'maxConcurrency 200, smoothing 0.2, queueSize 4, longWindow 600, rttTolerance 1.5) in a ' +
    'SimpleLimiter, per isolate',
  create(scenario: Scenario): StrategyInstance {
    const isolates: Isolate[] = Array.from({ length: scenario.isolates }, () => ({
      limit: gradient2State(),
      inflight: 0,
    }))
    const deny: StrategyDecision = { allow: false, handle: undefined }
    return {
      admit(isolate) {
        const s = isolates[isolate] as Isolate
        if (s.inflight >= Math.trunc(s.limit.estimatedLimit)) return deny
        s.inflight++
        return { allow: true, handle: s.inflight }
      },
      complete(isolate, handle, outcome) {
        const s = isolates[isolate] as Isolate
        s.inflight--
        gradient2Sample(s.limit, outcome.latencyMs, handle as number)
      },
    }
  },
}
