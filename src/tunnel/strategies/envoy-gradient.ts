/**
 * The `envoy-gradient` baseline: Envoy's adaptive concurrency filter with its gradient controller
 * (`source/extensions/filters/http/adaptive_concurrency/controller/gradient_controller.cc`), one
 * per isolate. It measures the origin's minRTT by pinning the concurrency to a small value until
 * enough samples arrive, then every update interval sets the limit from the ratio of that minRTT
 * (plus a buffer) to the interval's median latency, with √limit of burst headroom. Priority-blind.
 *
 * @module
 */

import { createRandom, type Random } from '../random.ts'
import type { Scenario } from '../scenario.ts'
import type { Strategy, StrategyDecision, StrategyInstance, StrategyProbe } from '../strategy.ts'

/**
 * The controller's parameters: the proto defaults where Envoy has one (jitter 15%, max 1000,
 * request_count 50, p50, min_concurrency 3, buffer 25%). The two intervals have no default (the
 * fields are required); the values are those of Envoy's own documentation example
 * (`concurrency_update_interval: 0.1s`, `interval: 60s`).
 */
export const ENVOY_GRADIENT_DEFAULTS = {
  updateIntervalMs: 100,
  minRttIntervalMs: 60_000,
  jitter: 0.15,
  maxConcurrencyLimit: 1000,
  minRttRequestCount: 50,
  percentile: 0.5,
  minConcurrency: 3,
  buffer: 0.25,
  /** Windows in a row at the minimum that trigger a new minRTT measurement. */
  stuckWindows: 5,
} as const

/** Random stream of the minRTT jitter (the simulator's arrivals use 0 and 1). */
const ENVOY_STREAM = 102

/**
 * `calculateNewLimit`: gradient = clamp(minRTT·(1 + buffer)/sampleRTT, 0.5, 2), then
 * limit·gradient + √(limit·gradient), truncated and clamped to [min_concurrency, max].
 *
 * @param limit The current limit.
 * @param minRttMs The measured minRTT.
 * @param sampleRttMs The update window's aggregate (its median).
 * @returns The new limit.
 * @example Usage
 * ```ts
 * // At the minRTT the gradient is 1.25: 125 + √125 = 136.2 → 136.
 * if (envoyGradientLimit(100, 40, 40) !== 136) throw new Error('expected 136')
 * ```
 */
export function envoyGradientLimit(limit: number, minRttMs: number, sampleRttMs: number): number {
  const d = ENVOY_GRADIENT_DEFAULTS
  const gradient = Math.max(0.5, Math.min(2, (minRttMs * (1 + d.buffer)) / sampleRttMs))
  const scaled = limit * gradient
  const next = Math.trunc(scaled + Math.sqrt(scaled))
  return Math.max(d.minConcurrency, Math.min(d.maxConcurrencyLimit, next))
}

/** Nearest-rank quantile of unsorted samples (Envoy approximates it with a histogram). */
function quantile(samples: number[], q: number): number {
  const sorted = [...samples].sort((a, b) => a - b)
  return sorted[Math.max(0, Math.ceil(q * sorted.length) - 1)] as number
}

/** One isolate's controller; timers run lazily, in time order, before each event. */
export class EnvoyGradientController {
  limit: number = ENVOY_GRADIENT_DEFAULTS.minConcurrency
  inflight = 0
  minRttMs = 0
  /** True while the minRTT is being measured (concurrency pinned to the minimum). */
  measuring = false
  /** minRTT measurements done so far. */
  measurements = 0
  private deferredLimit = 0
  private epochMs = 0
  private samples: number[] = []
  private nextResetMs: number = ENVOY_GRADIENT_DEFAULTS.updateIntervalMs
  private nextMinRttMs = Infinity
  private consecutiveMin = 0
  private readonly rng: Random

  constructor(rng: Random) {
    this.rng = rng
    this.enterMinRtt(0)
  }

  /** Runs the sample-reset and minRTT timers due by `nowMs`. */
  advance(nowMs: number): void {
    const d = ENVOY_GRADIENT_DEFAULTS
    for (;;) {
      const t = Math.min(this.nextResetMs, this.nextMinRttMs)
      if (t > nowMs) return
      if (t === this.nextMinRttMs) {
        this.nextMinRttMs = Infinity
        this.enterMinRtt(t)
        continue
      }
      // The sample reset timer gives up while the minRTT is measured; updateMinRtt re-arms it.
      if (this.measuring) {
        this.nextResetMs = Infinity
        continue
      }
      if (this.samples.length > 0) {
        const sampleRtt = quantile(this.samples, d.percentile)
        this.samples = []
        this.setLimit(envoyGradientLimit(this.limit, this.minRttMs, sampleRtt), t)
      }
      this.nextResetMs = t + d.updateIntervalMs
    }
  }

  admit(nowMs: number): boolean {
    this.advance(nowMs)
    if (this.inflight >= this.limit) return false
    this.inflight++
    return true
  }

  /** A response (a timeout is the filter's 504) for a request sent at `sendMs`. */
  complete(sendMs: number, latencyMs: number, nowMs: number): void {
    this.advance(nowMs)
    this.inflight--
    // Requests sent before the current minRTT window are not sampled.
    if (sendMs < this.epochMs) return
    this.samples.push(latencyMs)
    if (this.measuring && this.samples.length >= ENVOY_GRADIENT_DEFAULTS.minRttRequestCount) {
      this.updateMinRtt(nowMs)
    }
  }

  private enterMinRtt(nowMs: number): void {
    if (this.measuring) return
    this.measuring = true
    this.deferredLimit = this.limit
    this.setLimit(ENVOY_GRADIENT_DEFAULTS.minConcurrency, nowMs)
    this.samples = []
    this.epochMs = nowMs
  }

  private updateMinRtt(nowMs: number): void {
    const d = ENVOY_GRADIENT_DEFAULTS
    this.minRttMs = quantile(this.samples, d.percentile)
    this.samples = []
    this.measurements++
    // The limit returns to its value before the measurement, which is still "measuring" here.
    this.setLimit(this.deferredLimit, nowMs)
    this.deferredLimit = 0
    this.measuring = false
    const range = Math.ceil(d.minRttIntervalMs * d.jitter)
    this.nextMinRttMs = nowMs + d.minRttIntervalMs + Math.floor(this.rng.next() * range)
    this.nextResetMs = nowMs + d.updateIntervalMs
  }

  private setLimit(next: number, nowMs: number): void {
    const min = ENVOY_GRADIENT_DEFAULTS.minConcurrency
    const old = this.limit
    this.limit = next
    if (!this.measuring && old === min && next === min) this.consecutiveMin++
    else this.consecutiveMin = 0
    // Five windows in a row at the minimum may mean a wrong minRTT: measure it again now.
    if (this.consecutiveMin >= ENVOY_GRADIENT_DEFAULTS.stuckWindows) this.nextMinRttMs = nowMs
  }
}

/** Per isolate, an adaptive concurrency filter with the gradient controller. */
export const envoyGradient: Strategy = {
  name: 'envoy-gradient',
  source: 'Envoy adaptive concurrency, gradient controller (buffer 25%, p50, min_concurrency 3, ' +
    'minRTT from 50 requests every 60 s + 15% jitter, update every 100 ms, max 1000), per isolate',
  create(scenario: Scenario): StrategyInstance {
    const controllers = Array.from(
      { length: scenario.isolates },
      (_, i) => new EnvoyGradientController(createRandom(scenario.seed + i, ENVOY_STREAM)),
    )
    const deny: StrategyDecision = { allow: false, handle: undefined }
    return {
      admit(isolate, _cls, nowMs) {
        const c = controllers[isolate] as EnvoyGradientController
        return c.admit(nowMs) ? { allow: true, handle: nowMs } : deny
      },
      complete(isolate, handle, outcome, nowMs) {
        ;(controllers[isolate] as EnvoyGradientController).complete(
          handle as number,
          outcome.latencyMs,
          nowMs,
        )
      },
      probe(nowMs): StrategyProbe {
        const c = controllers[0] as EnvoyGradientController
        c.advance(nowMs)
        return { mode: c.measuring ? 'MIN_RTT' : 'GRADIENT' }
      },
    }
  },
}
