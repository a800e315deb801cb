/**
 * The `ideal` reference: not a baseline (no real governor can do what it does) but the yardstick
 * every strategy's `idealShare` is measured against. It sees the simulator's origin as it is at
 * every instant (`StrategyOptions.oracle`: the active faults, the servers at work, the attempts at
 * the origin) and admits, most important class first, what the origin can answer within each
 * class's SLO. One decision-maker for every isolate: it sees the origin, not an isolate's share.
 *
 * The law, per arriving attempt of class c (docs/wind-tunnel.md, "The ideal"), with S servers now
 * and m the mean time a server holds a request under the active faults (fast failures included):
 *
 * 1. Nothing goes into a blackhole, and nothing to an origin with no servers.
 * 2. **Who fits.** ρ_r is the demand of priority ranks 0..r (most important first) × m / S. The
 *    marginal rank is the first with ρ ≥ 1 (the last when everything fits). Less important ranks
 *    get nothing: strict priority.
 * 3. **The SLO's depth.** With S servers busy, the q-th request waiting starts after about
 *    (q + 1)·m/S; it meets an SLO of L when that plus x99, the 99th percentile of a successful
 *    service under the faults, is within L. So a class may find at most
 *    D(L) = S + max(0, ⌊S·(L − x99)/m⌋) attempts at the origin, never more than S + queueLimit
 *    (a full queue answers 503) and never fewer than S (a free server is never left idle).
 * 4. **The marginal rank's buffer.** A queue only has to keep the servers busy: with every server
 *    busy the queue is a birth–death chain whose arrivals are ρ times its departures, so it runs
 *    dry with probability about ρ^−(b+1) after b waiting. The marginal rank may fill the origin to
 *    S + b with the smallest b that makes that ≤ 1% (its SLO's depth if smaller; no limit but the
 *    SLO at ρ ≤ 1). A shallow queue keeps latency, and so SLO misses, down.
 * 5. **Headroom for the more important.** Above a rank's depth only the more important ranks are
 *    admitted; their excess is a birth–death chain with ratio ρ_r, which passes n with probability
 *    ρ_rⁿ. Each more important rank gets n = ⌈ln 0.01 / ln ρ_r⌉ more (at least 1), within its own
 *    SLO's depth, and a rank whose SLO allows less still keeps its headroom above the ranks below.
 * 6. Admit while the origin holds fewer attempts than the class's depth (and its own SLO's).
 *
 * Demand is what the ideal knows: the load curve's rate now × the rank's share, or the measured
 * attempt rate (an exponential average over 1 s) where retries make it higher.
 *
 * @module
 */

import { Arrivals } from '../arrivals.ts'
import { FAST_FAILURE_SHARE } from '../faults.ts'
import { createRandom } from '../random.ts'
import { Z99 } from '../metrics.ts'
import type { Scenario } from '../scenario.ts'
import type {
  OriginOracle,
  Strategy,
  StrategyDecision,
  StrategyInstance,
  StrategyOptions,
} from '../strategy.ts'
import { parseConfig } from '../../config/schema.ts'

/** Share of attempts the buffer may leave a server idle for, and the headroom may refuse (steps 4, 5). */
export const IDEAL_REFUSAL = 0.01

/** Time constant of the measured attempt rates, ms. */
export const IDEAL_RATE_TAU_MS = 1000

/**
 * The depth of step 3: attempts at the origin below which a request still meets an SLO of
 * `sloMs`.
 *
 * @param servers Servers at work.
 * @param holdMs Mean time a server holds a request (fast failures included).
 * @param p99Ms 99th percentile of a successful service.
 * @param sloMs The class's SLO.
 * @param queueLimit The origin's queue.
 * @returns S + max(0, ⌊S·(L − x99)/m⌋), at most S + queueLimit.
 * @example Usage
 * ```ts
 * // 64 servers, mean 47.8 ms, p99 160 ms, SLO 400 ms: 64 + ⌊64·240/47.8⌋ = 385, queue 512
 * if (idealDepth(64, 47.8, 160, 400, 512) !== 385) throw new Error('expected 385')
 * ```
 */
export function idealDepth(
  servers: number,
  holdMs: number,
  p99Ms: number,
  sloMs: number,
  queueLimit: number,
): number {
  const queue = Math.max(0, Math.floor((servers * (sloMs - p99Ms)) / holdMs))
  return servers + Math.min(queue, queueLimit)
}

/**
 * The buffer of step 4: queued attempts that keep S servers busy at load ρ > 1. With every server
 * busy, the queue is a birth–death chain with arrivals ρ times the departures, so it is empty
 * (about to leave a server idle) with probability about ρ^−(b+1) after b waiting: the smallest b
 * with ρ^−(b+1) ≤ 1%.
 *
 * @param rho Arrival rate of the ranks that may fill the origin × mean hold / servers.
 * @returns Infinity at ρ ≤ 1 (nothing needs refusing: the SLO depth decides), else
 *   max(0, ⌈ln 100 / ln ρ⌉ − 1).
 * @example Usage
 * ```ts
 * // Thirty times the capacity keeps the servers busy with one waiting.
 * if (idealBuffer(30) !== 1) throw new Error('expected 1')
 * ```
 */
export function idealBuffer(rho: number): number {
  if (!(rho > 1)) return Infinity
  return Math.max(0, Math.ceil(Math.log(1 / IDEAL_REFUSAL) / Math.log(rho)) - 1)
}

/**
 * The headroom of step 5 for more important attempts at load ρ.
 *
 * @param rho Their arrival rate × mean hold / servers.
 * @returns 0 without them, Infinity at ρ ≥ 1, else max(1, ⌈ln 0.01 / ln ρ⌉).
 * @example Usage
 * ```ts
 * // 0.5⁷ < 1% ≤ 0.5⁶
 * if (idealHeadroom(0.5) !== 7) throw new Error('expected 7')
 * ```
 */
export function idealHeadroom(rho: number): number {
  if (!(rho > 0)) return 0
  if (rho >= 1) return Infinity
  return Math.max(1, Math.ceil(Math.log(IDEAL_REFUSAL) / Math.log(rho)))
}

/** The reference: admits what the origin can answer within the SLOs, most important first. */
export const ideal: Strategy = {
  name: 'ideal',
  source: 'Reference, not a baseline: sees the true faults and servers; admits per class up to ' +
    'the origin depth its SLO allows, most important first with the headroom the more ' +
    'important need (docs/wind-tunnel.md, "The ideal")',
  create(scenario: Scenario, options: StrategyOptions): StrategyInstance {
    const oracle = options.oracle
    if (oracle === undefined) {
      throw new Error("The ideal strategy needs the simulator's origin: it cannot run live")
    }
    return createIdeal(scenario, oracle)
  },
}

function createIdeal(scenario: Scenario, oracle: OriginOracle): StrategyInstance {
  const priorities = parseConfig(scenario.governor).priorities
  // Ranks of the priorities present, most important first (0), dense.
  const present = [...new Set(scenario.classes.map((c) => priorities.indexOf(c.priority)))]
    .sort((a, b) => a - b)
  const ranks = present.length
  const rankOf = new Map(
    scenario.classes.map((c) => [c, present.indexOf(priorities.indexOf(c.priority))]),
  )
  // The longest SLO of each rank: the rank's depth when it stands for its classes in the ladder.
  const rankSloMs = new Float64Array(ranks)
  for (const c of scenario.classes) {
    const r = rankOf.get(c) as number
    rankSloMs[r] = Math.max(rankSloMs[r] as number, c.sloMs)
  }
  const { p50, p99 } = scenario.origin.serviceMs
  const sigma = Math.log(p99 / p50) / Z99
  const meanMs = p50 * Math.exp((sigma * sigma) / 2)
  const failMs = FAST_FAILURE_SHARE * p50
  const queueLimit = scenario.origin.queueLimit
  // The demand it knows: the load curve (its rate; no draw is taken) and each rank's share.
  const curve = new Arrivals(scenario, createRandom(0, 0))
  const totalShare = scenario.classes.reduce((a, c) => a + c.share, 0)
  const rankShare = new Float64Array(ranks)
  for (const c of scenario.classes) {
    const r = rankOf.get(c) as number
    rankShare[r] = (rankShare[r] as number) + c.share / totalShare
  }
  // Attempt rate per rank, per ms, as of `rateAtMs` (retries included).
  const rate = new Float64Array(ranks)
  const rateAtMs = new Float64Array(ranks)
  // Per rank, this decision's load ρ (cumulative from rank 0) and depth.
  const rho = new Float64Array(ranks)
  const depth = new Float64Array(ranks)
  const allow: StrategyDecision = { allow: true, handle: undefined }
  const deny: StrategyDecision = { allow: false, handle: undefined }

  return {
    admit(_isolate, cls, nowMs) {
      const rank = rankOf.get(cls) as number
      for (let r = 0; r < ranks; r++) {
        rate[r] = (rate[r] as number) *
          Math.exp(-(nowMs - (rateAtMs[r] as number)) / IDEAL_RATE_TAU_MS)
        rateAtMs[r] = nowMs
      }
      rate[rank] = (rate[rank] as number) + 1 / IDEAL_RATE_TAU_MS
      const f = oracle.faults()
      const servers = oracle.servers()
      if (f.blackhole || servers === 0) return deny
      const holdMs = (1 - f.errorRate) * meanMs * f.serviceFactor + f.errorRate * failMs
      const p99Ms = p99 * f.serviceFactor
      // The marginal rank: the first whose demand, with the more important ones', fills the
      // servers (the last rank when all of it fits). Less important ranks get nothing.
      const curveRate = curve.rateAt(nowMs) / 1000
      let cumulative = 0
      let marginal = ranks - 1
      for (let r = 0; r < ranks; r++) {
        // The known demand, or more where retries add to it.
        cumulative += Math.max(rate[r] as number, curveRate * (rankShare[r] as number))
        rho[r] = (cumulative * holdMs) / servers
        if ((rho[r] as number) >= 1) {
          marginal = r
          break
        }
      }
      if (rank > marginal) return deny
      // Bottom up: the marginal rank keeps the servers busy with the smallest buffer (step 4),
      // each more important rank gets its headroom above the one below (step 5), within its SLO.
      const deepest = (r: number) =>
        idealDepth(servers, holdMs, p99Ms, rankSloMs[r] as number, queueLimit)
      depth[marginal] = Math.min(deepest(marginal), servers + idealBuffer(rho[marginal] as number))
      for (let r = marginal - 1; r >= 0; r--) {
        depth[r] = Math.min(deepest(r), (depth[r + 1] as number) + idealHeadroom(rho[r] as number))
      }
      // Top down: a rank whose SLO allows less depth still keeps its headroom above the ranks
      // below it.
      for (let r = 0; r < marginal; r++) {
        depth[r + 1] = Math.min(
          depth[r + 1] as number,
          (depth[r] as number) - idealHeadroom(rho[r] as number),
        )
      }
      const own = idealDepth(servers, holdMs, p99Ms, cls.sloMs, queueLimit)
      return oracle.occupancy() < Math.min(own, depth[rank] as number) ? allow : deny
    },
    complete() {},
  }
}
