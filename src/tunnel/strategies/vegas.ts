/**
 * The `vegas` baseline: Netflix concurrency-limits' `VegasLimit.newDefault()` behind a
 * `SimpleLimiter`, one per isolate. TCP Vegas applied to requests: the limit L is compared with
 * the queue it implies, L·(1 − rtt_noload/rtt), and grows while that queue is small and shrinks
 * when it is large. Priority-blind, as published.
 *
 * @module
 */

import { createRandom, type Random } from '../random.ts'
import type { Scenario } from '../scenario.ts'
import type { Outcome, Strategy, StrategyDecision, StrategyInstance } from '../strategy.ts'

/** `VegasLimit.Builder` defaults (concurrency-limits-core, VegasLimit.java). */
export const VEGAS_DEFAULTS = {
  initialLimit: 20,
  maxConcurrency: 1000,
  smoothing: 1,
  /** A new no-load RTT is taken every probeMultiplier × limit samples × a jitter in [0.5, 1). */
  probeMultiplier: 30,
} as const

/** One nanosecond, the resolution of the Java clock the samples come from. */
const MIN_RTT_MS = 1e-6

/** Random stream of the probe jitter (the simulator's arrivals use 0 and 1). */
const VEGAS_STREAM = 101

/**
 * The library's `Log10RootFunction` (baseline 0): ⌊log10 n⌋, at least 1, for n < 1000; ⌊√n⌋ from
 * 1000 on.
 *
 * @param n An integer limit.
 * @returns The step the alpha, beta, threshold, increase and decrease functions are built from.
 * @example Usage
 * ```ts
 * if (vegasLog10(20) !== 1 || vegasLog10(150) !== 2) throw new Error('expected 1 and 2')
 * ```
 */
export function vegasLog10(n: number): number {
  return n < 1000 ? Math.max(1, Math.floor(Math.log10(n))) : Math.floor(Math.sqrt(n))
}

/** What `VegasLimit` keeps between samples. */
export interface VegasState {
  estimatedLimit: number
  /** The no-load RTT, ms; 0 before the first sample. */
  rttNoLoadMs: number
  probeCount: number
  probeJitter: number
}

/** A fresh limit at the defaults; the jitter is drawn from `rng`. */
export function vegasState(rng: Random): VegasState {
  return {
    estimatedLimit: VEGAS_DEFAULTS.initialLimit,
    rttNoLoadMs: 0,
    probeCount: 0,
    probeJitter: 0.5 + 0.5 * rng.next(),
  }
}

/**
 * One sample into the limit, as `VegasLimit._update` does it. Every probeMultiplier × limit ×
 * jitter samples the sample becomes the new no-load RTT (the re-probe), and so does any sample
 * below it. Otherwise, with queue = ⌈L·(1 − rtt_noload/rtt)⌉ and s = log10 step of L: a drop
 * decreases L by s; a sample taken below half the limit changes nothing; queue ≤ s adds 6s
 * (beta); queue < 3s (alpha) adds s; queue > 6s subtracts s; L stays within [1, 1000].
 *
 * @param st The isolate's state, updated in place.
 * @param rttMs The request's time from admission to answer.
 * @param inflight In flight when the request was admitted, itself included.
 * @param didDrop The request was dropped (an overload answer or a timeout).
 * @param rng Draws the next probe jitter.
 * @returns The new integer limit.
 * @example Usage
 * ```ts
 * const draws = { next: () => 0.5, nextOpen: () => 0.5, normal: () => 0 }
 * const st = vegasState(draws)
 * vegasSample(st, 40, 20, false, draws) // the first sample is the no-load RTT: still 20
 * // No queue at the no-load RTT: + beta, 6 · log10(20) = 6.
 * if (vegasSample(st, 40, 20, false, draws) !== 26) throw new Error('expected 26')
 * ```
 */
export function vegasSample(
  st: VegasState,
  rttMs: number,
  inflight: number,
  didDrop: boolean,
  rng: Random,
): number {
  const d = VEGAS_DEFAULTS
  rttMs = Math.max(rttMs, MIN_RTT_MS)
  st.probeCount++
  if (st.probeJitter * d.probeMultiplier * st.estimatedLimit <= st.probeCount) {
    st.probeJitter = 0.5 + 0.5 * rng.next()
    st.probeCount = 0
    st.rttNoLoadMs = rttMs
    return Math.trunc(st.estimatedLimit)
  }
  if (st.rttNoLoadMs === 0 || rttMs < st.rttNoLoadMs) {
    st.rttNoLoadMs = rttMs
    return Math.trunc(st.estimatedLimit)
  }
  const limit = st.estimatedLimit
  const queue = Math.ceil(limit * (1 - st.rttNoLoadMs / rttMs))
  const step = vegasLog10(Math.trunc(limit))
  let next: number
  if (didDrop) {
    next = limit - step
  } else if (inflight * 2 < limit) {
    return Math.trunc(limit)
  } else if (queue <= step) {
    next = limit + 6 * step
  } else if (queue < 3 * step) {
    next = limit + step
  } else if (queue > 6 * step) {
    next = limit - step
  } else {
    return Math.trunc(limit)
  }
  next = Math.max(1, Math.min(d.maxConcurrency, next))
  st.estimatedLimit = (1 - d.smoothing) * limit + d.smoothing * next
  return Math.trunc(st.estimatedLimit)
}

/**
 * How a client integration of the library reports an outcome (its gRPC client interceptor: OK is
 * a success, UNAVAILABLE a drop, anything else ignored), in HTTP terms: 2xx a success, 503 a drop,
 * and a timeout a drop as well (VegasLimit's own comment: "any drop (i.e timeout)"); other
 * statuses (500, 429, 504) are ignored, the request's capacity simply returned.
 */
export function vegasOutcome(outcome: Outcome): 'success' | 'drop' | 'ignore' {
  if (outcome.ok) return 'success'
  if (outcome.status === undefined || outcome.status === 503) return 'drop'
  return 'ignore'
}

interface Isolate {
  limit: VegasState
  rng: Random
  inflight: number
}

/** Per isolate, a `SimpleLimiter` around `VegasLimit.newDefault()`. */
export const vegas: Strategy = {
  name: 'vegas',
  source: 'Netflix concurrency-limits VegasLimit.newDefault() (initialLimit 20, maxConcurrency ' +
    '1000, smoothing 1, alpha 3·log10, beta 6·log10, threshold log10, probeMultiplier 30) in a ' +
    'SimpleLimiter, per isolate; 503 and timeouts are drops, other errors ignored',
  create(scenario: Scenario): StrategyInstance {
    const isolates: Isolate[] = Array.from({ length: scenario.isolates }, (_, i) => {
      const rng = createRandom(scenario.seed + i, VEGAS_STREAM)
      return { limit: vegasState(rng), rng, inflight: 0 }
    })
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
        const kind = vegasOutcome(outcome)
        if (kind === 'ignore') return
        vegasSample(s.limit, outcome.latencyMs, handle as number, kind === 'drop', s.rng)
      },
    }
  },
}
