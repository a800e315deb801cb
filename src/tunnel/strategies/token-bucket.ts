/**
 * The `token-bucket` baseline: a static rate limit at the origin's nominal capacity, what
 * `@upstash/ratelimit`'s `tokenBucket` or Cloudflare's rate-limiting binding give a Worker. It is
 * blind to priority and to the origin's health: it admits the same rate whether the origin is
 * fast, slow or failing.
 *
 * @module
 */

import type { Scenario } from '../scenario.ts'
import type { Strategy, StrategyDecision, StrategyInstance } from '../strategy.ts'

/** The standard normal quantile at 0.99: a lognormal's p99 is p50·exp(2.3263·σ). */
const Z_99 = 2.3263

/** Refill checks compare against 1 token with this slack, so 0.05 + … + 0.05 = 1 still admits. */
const EPSILON = 1e-9

/**
 * The origin's nominal capacity: `concurrency` servers each finishing one request per mean service
 * time. The mean of a lognormal with median p50 and 99th percentile p99 is p50·exp(σ²/2) with
 * σ = ln(p99/p50)/2.3263.
 *
 * @param scenario The scenario whose `origin` is measured.
 * @returns Requests per second the origin completes when busy and healthy.
 * @example Usage
 * ```ts
 * // 64 servers, p50 40 ms, p99 160 ms: mean 47.8 ms, about 1,340 req/s
 * const origin = { concurrency: 64, queueLimit: 0, serviceMs: { p50: 40, p99: 160 }, timeoutMs: 1000 }
 * const rps = nominalCapacityRps({ origin })
 * if (Math.abs(rps - 1339) > 1) throw new Error(`expected about 1,339 req/s, got ${rps}`)
 * ```
 */
export function nominalCapacityRps(scenario: Pick<Scenario, 'origin'>): number {
  const { p50, p99 } = scenario.origin.serviceMs
  const sigma = Math.log(Math.max(p99, p50) / p50) / Z_99
  const meanMs = p50 * Math.exp((sigma * sigma) / 2)
  return scenario.origin.concurrency / (meanMs / 1000)
}

/** Burst allowance, in seconds of rate: a bucket holds one second of tokens. */
export const TOKEN_BUCKET_BURST_S = 1

/**
 * A token bucket per isolate, refilled continuously at the origin's nominal capacity divided
 * evenly among the isolates, holding `TOKEN_BUCKET_BURST_S` seconds of tokens and starting full.
 * One token per request, whatever its class.
 */
export const tokenBucket: Strategy = {
  name: 'token-bucket',
  source: '@upstash/ratelimit tokenBucket / Cloudflare rate-limiting binding: a static limit at ' +
    'the nominal capacity (concurrency / lognormal mean service time), split evenly across ' +
    'isolates, burst 1 s of rate',
  create(scenario: Scenario): StrategyInstance {
    const ratePerMs = nominalCapacityRps(scenario) / scenario.isolates / 1000
    const capacity = ratePerMs * 1000 * TOKEN_BUCKET_BURST_S
    const tokens = new Float64Array(scenario.isolates).fill(capacity)
    const refilledAtMs = new Float64Array(scenario.isolates)
    const allow: StrategyDecision = { allow: true, handle: undefined }
    const deny: StrategyDecision = { allow: false, handle: undefined }
    return {
      admit(isolate, _cls, nowMs) {
        const elapsedMs = Math.max(0, nowMs - (refilledAtMs[isolate] as number))
        let t = Math.min(capacity, (tokens[isolate] as number) + elapsedMs * ratePerMs)
        refilledAtMs[isolate] = Math.max(nowMs, refilledAtMs[isolate] as number)
        const ok = t + EPSILON >= 1
        if (ok) t -= 1
        tokens[isolate] = t
        return ok ? allow : deny
      },
      complete() {},
    }
  },
}
