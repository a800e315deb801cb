/**
 * The TypeScript twin of `wasm/assembly/engine.ts`: the per-route capacity law of
 * docs/physics.md.
 *
 * Every operation here is IEEE-754 f64 arithmetic that both V8 and WebAssembly round the same
 * way (+ − × ÷ √ floor ceil min max). No exp/log/pow: the decay constants arrive precomputed in
 * the parameter block, so both engines read identical bits and give identical results. Statements
 * keep the same order as the AssemblyScript twin; change both together.
 *
 * @module
 */

import {
  CODE_MODE_SHIFT,
  CODE_REASON_SHIFT,
  CODE_RETRY_SHIFT,
  EVIDENCE_SAMPLES,
  MAX_ABSORB,
  MAX_LATENCY_MS,
  MAX_MOMENTUM,
  MAX_TIME_MS,
  MODE_BOOTSTRAP,
  MODE_CIRCUIT_BREAKER,
  MODE_OPERATIONAL,
  OUTCOME_ERROR,
  OUTCOME_LOST,
  OUTCOME_OK,
  OUTCOME_OVERLOAD,
  P_A_BASE,
  P_A_FAST,
  P_A_LIMIT,
  P_A_MOM,
  P_A_SHORT,
  P_ASK_MS,
  P_BASE_Z,
  P_BASELINE_MS,
  P_DRAIN_FRACTION,
  P_DRAIN_GIVEUP,
  P_DRAIN_MS,
  P_DRAIN_RELEASE,
  P_DRAIN_SAMPLES,
  P_DRAIN_SHRINK_S,
  P_GROW_Z,
  P_GROWTH,
  P_INV_TICK_S,
  P_LIMIT_INIT,
  P_LIMIT_MAX,
  P_LIMIT_MIN,
  P_MAX_RETRY_S,
  P_N_CLASSES,
  P_OUTAGE_AFTER_S,
  P_OUTAGE_OK,
  P_OUTAGE_SAMPLES,
  P_OVERLOAD_BACKOFF,
  P_QUEUE,
  P_R_BASE,
  P_RAMP_DOUBLE_S,
  P_RAMP_GROWTH,
  P_RAMP_RESUME,
  P_RAMP_START,
  P_RESERVE,
  P_RESUME_AT_ANSWER,
  P_SAT_T,
  P_SCAR_FACTOR,
  P_SILENCE,
  P_SLO,
  P_SPREAD_MS,
  P_STALE_MS,
  P_START_EVIDENCE,
  P_SUPERSEDE,
  P_TICK_MS,
  P_TICK_S,
  P_TOLERANCE,
  P_TRIP_AFTER_S,
  P_TRIP_P,
  P_W_M,
  P_W_P,
  P_W_S,
  P_WARMUP_S,
  PARAM_FIELDS,
  REASON_ADMITTED,
  REASON_CIRCUIT_OPEN,
  REASON_CONCURRENCY,
  REASON_PROBE,
  S_ABOVE_S,
  S_ACC_EN,
  S_ACC_ERR,
  S_ACC_FLAT,
  S_ACC_LAT,
  S_ACC_LATE,
  S_ACC_LN,
  S_ACC_LOK,
  S_ACC_LOST,
  S_ACC_N,
  S_ACC_OKLAT,
  S_ACC_OKN,
  S_ACC_OV,
  S_ACC_SAT,
  S_ADM0,
  S_ASK0,
  S_BASE,
  S_BASE_CV2,
  S_BASE_N,
  S_DEM0,
  S_DRAIN,
  S_DRAIN_DONE,
  S_DRAIN_GOAL,
  S_DRAIN_K,
  S_DRAIN_L,
  S_DRAIN_N,
  S_DRAIN_SQ,
  S_DRAIN_SUM,
  S_DRAIN_T,
  S_DRAIN_TK,
  S_DRAINS,
  S_ERR,
  S_FAIL_LAT,
  S_FLEET_USE,
  S_GHOST_T,
  S_GHOSTS,
  S_HOLD_UNTIL,
  S_INFLIGHT,
  S_INJ_EFF,
  S_INJ_P,
  S_INJ_UNTIL,
  S_LAST_DONE,
  S_LAST_SAMPLE,
  S_LAT,
  S_LATE,
  S_LIMIT,
  S_LIMITED_UNTIL,
  S_M,
  S_MODE,
  S_MODE_SINCE,
  S_NEXT_DRAIN,
  S_OFF0,
  S_OVERLOAD,
  S_P,
  S_PARAMS,
  S_PEAK,
  S_POOL_ERR,
  S_POOL_LAT,
  S_POOL_N,
  S_R,
  S_RAMP,
  S_RATE,
  S_RESEED,
  S_SAT,
  S_SCAR,
  S_SHARE,
  S_SHARE0,
  S_SHORT,
  S_SHRINK_S,
  S_SLOW,
  S_STREAK_N,
  S_STREAK_S,
  S_TICK_START,
  S_TOKENS,
  S_TRANSITIONS,
  SCRATCH_FIELDS,
  SLOT_FIELDS,
  X_ADMIT0,
  X_E,
  X_PE,
  X_PL,
  X_PS,
  X_R,
  X_T,
} from './layout.ts'
import type { EngineCore } from '../types.ts'

/** Pressure of one axis from its normalised excess x: 0 for x ≤ 0, x²/(1+x²) above (C¹, < 1). */
export function axisPressure(x: number): number {
  if (!(x > 0)) return 0
  // Beyond 1e8 the quotient rounds to 1 anyway; the guard keeps x² finite.
  if (x > 100000000) return 1
  const x2 = x * x
  return x2 / (1 + x2)
}

/** z of the standard normal's 99th percentile. */
export const Z99 = 2.3263478740408408

/**
 * The share of answers beyond the 99th percentile: an unqueued service makes that many late at an
 * SLO on its p99, so lateness beyond it is a queue's (the SLO rule binds above it, §4).
 */
export const LATE_TAIL = 0.01

/**
 * ln(1 + x) for x ≥ 0 from square roots and the atanh series: plain arithmetic, so both engines
 * agree bit for bit (Math.log is not the same function in V8 and AssemblyScript).
 */
export function lnOnePlus(x: number): number {
  let y = 1 + x
  let k = 1.0
  // Square roots bring y within 1/16 of 1 (at most 64 of them even for the largest double).
  for (let i = 0; i < 64 && y > 1.0625; i++) {
    y = Math.sqrt(y)
    k = k * 2
  }
  const t = (y - 1) / (y + 1)
  const t2 = t * t
  let term = t
  let sum = 0.0
  for (let i = 1; i <= 11; i += 2) {
    sum = sum + term / i
    term = term * t2
  }
  return 2 * k * sum
}

/** e^x for |x| ≤ 700 by halving, the Taylor series and squaring: plain arithmetic (as lnOnePlus). */
export function expSmall(x: number): number {
  let r = x
  let k = 0
  while (k < 64 && (r > 0.0625 || r < -0.0625)) {
    r = r / 2
    k++
  }
  let term = 1.0
  let sum = 1.0
  for (let i = 1; i <= 9; i++) {
    term = term * r / i
    sum = sum + term
  }
  for (let i = 0; i < k; i++) sum = sum * sum
  return sum
}

/**
 * The 99th percentile of an answer ÷ the mean, for a lognormal service of squared coefficient of
 * variation cv2: e^(Z99·σ − σ²/2), σ² = ln(1 + cv2).
 */
export function tail99(cv2: number): number {
  const s2 = lnOnePlus(cv2)
  return expSmall(Z99 * Math.sqrt(s2) - s2 / 2)
}

/** base^k for a whole k ≥ 0, by squaring: plain multiplications, so both engines agree bit for bit. */
export function ipow(base: number, k: number): number {
  let result = 1.0
  let b = base
  let n = Math.floor(k)
  while (n > 0) {
    const half = Math.floor(n / 2)
    if (n - half * 2 > 0) result = result * b
    b = b * b
    n = half
  }
  return result
}

/** The reference engine: route state in a Float64Array, one slot of SLOT_FIELDS per route. */
export class ReferenceEngine implements EngineCore {
  readonly kind = 'ts' as const
  readonly state: Float64Array
  readonly params: Float64Array
  readonly scratch: Float64Array
  readonly maxSlots: number
  readonly maxParamSets: number

  constructor(maxSlots: number, maxParamSets: number) {
    this.maxSlots = maxSlots
    this.maxParamSets = maxParamSets
    this.state = new Float64Array(maxSlots * SLOT_FIELDS)
    this.params = new Float64Array(maxParamSets * PARAM_FIELDS)
    this.scratch = new Float64Array(SCRATCH_FIELDS)
  }

  setParams(index: number, values: ArrayLike<number>): void {
    const o = index * PARAM_FIELDS
    for (let i = 0; i < PARAM_FIELDS; i++) this.params[o + i] = values[i] ?? 0
  }

  readState(slot: number, field: number): number {
    return this.state[slot * SLOT_FIELDS + field]
  }

  readScratch(field: number): number {
    return this.scratch[field]
  }

  initSlot(slot: number, paramSet: number, nowMs: number): void {
    const s = this.state
    const b = slot * SLOT_FIELDS
    const p = paramSet * PARAM_FIELDS
    const pr = this.params
    for (let i = 0; i < SLOT_FIELDS; i++) s[b + i] = 0
    const now = cleanTime(nowMs, 0)
    s[b + S_PARAMS] = paramSet
    s[b + S_TICK_START] = now
    s[b + S_ACC_SAT] = -1
    s[b + S_LAT] = pr[p + P_BASELINE_MS]
    s[b + S_LIMIT] = pr[p + P_LIMIT_INIT]
    s[b + S_BASE] = pr[p + P_BASELINE_MS]
    s[b + S_MODE] = MODE_BOOTSTRAP
    s[b + S_MODE_SINCE] = now
    s[b + S_RESEED] = 1
    s[b + S_LAST_SAMPLE] = now
    s[b + S_LAST_DONE] = now
    s[b + S_RAMP] = 1
    s[b + S_SHARE] = 1
    s[b + S_SLOW] = 1
    s[b + S_HOLD_UNTIL] = -MAX_TIME_MS
    s[b + S_LIMITED_UNTIL] = -MAX_TIME_MS
    for (let c = 0; c < 8; c++) {
      s[b + S_ASK0 + c] = -MAX_TIME_MS
      s[b + S_SHARE0 + c] = 1
    }
    s[b + S_R] = this.resistance(b, p)
  }

  admit(slot: number, classIndex: number, nowMs: number): number {
    const s = this.state
    const pr = this.params
    const b = slot * SLOT_FIELDS
    const p = (s[b + S_PARAMS] | 0) * PARAM_FIELDS
    const now = Math.max(cleanTime(nowMs, s[b + S_TICK_START]), s[b + S_TICK_START])
    this.advance(slot, now)
    const mode = s[b + S_MODE]
    const nClasses = pr[p + P_N_CLASSES]
    let cls = Math.floor(classIndex)
    if (!(cls >= 0)) cls = nClasses - 1
    if (cls > nClasses - 1) cls = nClasses - 1
    const maxRetry = pr[p + P_MAX_RETRY_S]
    s[b + S_ASK0 + cls] = now
    s[b + S_OFF0 + cls] = s[b + S_OFF0 + cls] + 1
    // More important classes asking within the last askMs, and the requests in flight their
    // demand needs (offered rate × latency, Little): held back for them.
    let asking = 0.0
    let demand = 0.0
    for (let c = 0; c < cls; c++) {
      if (now - s[b + S_ASK0 + c] < pr[p + P_ASK_MS]) asking = asking + 1
      demand = demand + s[b + S_DEM0 + c]
    }

    if (mode === MODE_CIRCUIT_BREAKER) {
      // Recovering from an outage: a probe budget that grows with the ramp, most important first.
      // Each more important class asking holds back a tick's worth of the budget (at least 1).
      let need = 1.0
      if (pr[p + P_RESERVE] > 0) need = 1 + asking * Math.max(1, this.tokenRate(b, p))
      if (s[b + S_TOKENS] >= need) {
        s[b + S_TOKENS] = s[b + S_TOKENS] - 1
        this.pass(b, cls, now)
        return code(1, REASON_PROBE, mode, 0)
      }
      return code(0, REASON_CIRCUIT_OPEN, mode, clampRetry(this.rampWait(b, p), maxRetry))
    }

    // OPERATIONAL or BOOTSTRAP: the capacity estimate bounds requests in flight.
    this.drainCheck(b, p, now)
    const limit = this.localLimit(b, p)
    // While the limit binds, more important classes keep the requests in flight their demand
    // needs (offered rate × latency): a class gets only what the ones above it leave.
    let reserve = 0.0
    if (s[b + S_LIMITED_UNTIL] > now) {
      let unit = s[b + S_SHORT]
      if (!(unit > 0)) unit = s[b + S_BASE]
      reserve = demand * unit * pr[p + P_RESERVE]
      if (reserve > limit) reserve = limit
    }
    const eff = s[b + S_INFLIGHT] - s[b + S_GHOSTS]
    if (eff < limit - reserve) {
      if (s[b + S_DRAIN] === 2 && s[b + S_DRAIN_K] < s[b + S_DRAIN_GOAL]) {
        // The first requests admitted into the emptied queue are the drain's sample.
        s[b + S_DRAIN_K] = s[b + S_DRAIN_K] + 1
        if (s[b + S_DRAIN_K] >= s[b + S_DRAIN_GOAL]) s[b + S_DRAIN_TK] = now
      } else if (
        s[b + S_DRAIN] === 2 && pr[p + P_DRAIN_RELEASE] > 0 && now <= s[b + S_DRAIN_TK] + 1
      ) {
        // Released: an admission the sample's window cannot tell from the sample's is counted in
        // it, so that the drain waits for its answer too (the slowest are not left out).
        s[b + S_DRAIN_K] = s[b + S_DRAIN_K] + 1
      }
      this.pass(b, cls, now)
      return code(1, REASON_ADMITTED, mode, 0)
    }
    s[b + S_LIMITED_UNTIL] = now + 1000
    let waitS = 1.0
    const hold = s[b + S_HOLD_UNTIL]
    if (hold > now) waitS = Math.ceil((hold - now) / 1000)
    return code(0, REASON_CONCURRENCY, mode, clampRetry(waitS, maxRetry))
  }

  /** The share (0..1) of class `classIndex` admitted lately, smoothed over the signal time. */
  admission(slot: number, classIndex: number): number {
    const s = this.state
    const b = slot * SLOT_FIELDS
    const p = (s[b + S_PARAMS] | 0) * PARAM_FIELDS
    const nClasses = this.params[p + P_N_CLASSES]
    let cls = Math.floor(classIndex)
    if (!(cls >= 0)) cls = nClasses - 1
    if (cls > nClasses - 1) cls = nClasses - 1
    return s[b + S_SHARE0 + cls]
  }

  complete(
    slot: number,
    latencyMs: number,
    outcome: number,
    retryAfterS: number,
    nowMs: number,
    sample: number,
  ): void {
    const s = this.state
    const pr = this.params
    const b = slot * SLOT_FIELDS
    const p = (s[b + S_PARAMS] | 0) * PARAM_FIELDS
    const now = Math.max(cleanTime(nowMs, s[b + S_TICK_START]), s[b + S_TICK_START])
    this.advance(slot, now)
    let inflight = s[b + S_INFLIGHT] - 1
    if (!(inflight > 0)) inflight = 0
    s[b + S_INFLIGHT] = inflight
    // Ghosts before this answer: the test below is of the request that just left.
    const ghosts = s[b + S_GHOSTS]
    if (ghosts > inflight) s[b + S_GHOSTS] = inflight
    if (!(sample > 0)) {
      this.drainCheck(b, p, now)
      return
    }
    let kind = Math.floor(outcome)
    if (!(kind >= OUTCOME_OK && kind <= OUTCOME_LOST)) kind = OUTCOME_ERROR
    let lat = latencyMs
    if (lat === lat) {
      if (lat < 0) lat = 0
      if (lat > MAX_LATENCY_MS) lat = MAX_LATENCY_MS
    }
    // A request admitted before the outage's ghosts were counted says nothing about now. One
    // admitted at that very instant came after them (the mode changes before the admission).
    if (ghosts > 0 && lat === lat && lat > now - s[b + S_GHOST_T]) {
      let g = ghosts - 1
      if (g > inflight) g = inflight
      s[b + S_GHOSTS] = g
      this.drainCheck(b, p, now)
      return
    }
    if (
      s[b + S_DRAIN] === 2 && lat === lat && lat <= now - s[b + S_DRAIN_T] &&
      now - lat <= s[b + S_DRAIN_TK] + 1
    ) {
      // One of the drain's sample (admitted into the emptied queue, among the first
      // drainSamples): counted whatever its speed or outcome, so that the fast ones, which come
      // back first, do not stand for all.
      s[b + S_DRAIN_DONE] = s[b + S_DRAIN_DONE] + 1
      if (kind === OUTCOME_OK) {
        s[b + S_DRAIN_N] = s[b + S_DRAIN_N] + 1
        s[b + S_DRAIN_SUM] = s[b + S_DRAIN_SUM] + lat
        s[b + S_DRAIN_SQ] = s[b + S_DRAIN_SQ] + lat * lat
      }
    }
    let failed = 0.0
    if (kind !== OUTCOME_OK) failed = 1
    this.collect(b, lat, failed)
    s[b + S_ACC_LN] = s[b + S_ACC_LN] + 1
    if (kind === OUTCOME_OK) {
      s[b + S_ACC_LOK] = s[b + S_ACC_LOK] + 1
      // A probe answered in the outage mode releases two: the answers clock the probes within the
      // tick as slow start's acknowledgements do, so a round shorter than a tick doubles (§9).
      if (s[b + S_MODE] === MODE_CIRCUIT_BREAKER) s[b + S_TOKENS] = s[b + S_TOKENS] + 2
      s[b + S_LAST_DONE] = now
      if (lat === lat) {
        s[b + S_ACC_OKN] = s[b + S_ACC_OKN] + 1
        s[b + S_ACC_OKLAT] = s[b + S_ACC_OKLAT] + lat
        // Later than the route's SLO: the symptom the SLO's queue rule acts on (§4).
        const slo = pr[p + P_SLO]
        if (slo > 0 && lat > slo) s[b + S_ACC_LATE] = s[b + S_ACC_LATE] + 1
      }
      if (s[b + S_MODE] === MODE_CIRCUIT_BREAKER && pr[p + P_RESUME_AT_ANSWER] > 0) {
        this.resumeAtAnswer(b, p, now)
      }
    } else {
      if (lat === lat) s[b + S_ACC_FLAT] = s[b + S_ACC_FLAT] + lat
      if (kind !== OUTCOME_LOST) s[b + S_LAST_DONE] = now
      if (kind === OUTCOME_OVERLOAD || kind === OUTCOME_LOST) s[b + S_ACC_OV] = s[b + S_ACC_OV] + 1
      if (kind === OUTCOME_LOST) s[b + S_ACC_LOST] = s[b + S_ACC_LOST] + 1
    }
    if (retryAfterS > 0) {
      // The origin's Retry-After: no growth of the limit until then.
      let wait = retryAfterS
      if (wait > pr[p + P_MAX_RETRY_S]) wait = pr[p + P_MAX_RETRY_S]
      const until = now + wait * 1000
      if (until > s[b + S_HOLD_UNTIL]) s[b + S_HOLD_UNTIL] = until
    }
    this.drainCheck(b, p, now)
  }

  observe(
    slot: number,
    latencyMs: number,
    errorRate: number,
    saturation: number,
    nowMs: number,
  ): void {
    const s = this.state
    const b = this.enter(slot, nowMs)
    let lat = latencyMs
    if (lat === lat) {
      if (lat < 0) lat = 0
      if (lat > MAX_LATENCY_MS) lat = MAX_LATENCY_MS
    }
    // Telemetry from outside is shown, not acted on: the law acts on its own requests' outcomes.
    this.collect(b, lat, errorRate)
    if (saturation === saturation) {
      let sat = saturation
      if (sat < 0) sat = 0
      if (sat > 1) sat = 1
      if (sat > s[b + S_ACC_SAT]) s[b + S_ACC_SAT] = sat
    }
  }

  /**
   * Folds samples other isolates saw (from the shared store) into the following ticks, as if they
   * had completed here: `count` samples, their latency sum and how many failed; `isolates` is how
   * many isolates share the route (this one included), so this one's share is 1/isolates;
   * `fleetInflight` the fleet's requests in flight on the route (negative or NaN: not known).
   */
  absorb(
    slot: number,
    count: number,
    latencySumMs: number,
    errorCount: number,
    isolates: number,
    nowMs: number,
    fleetInflight = -1,
  ): void {
    const s = this.state
    const b = this.enter(slot, nowMs)
    if (isolates >= 1) {
      let k = Math.floor(isolates)
      if (k > 1000000) k = 1000000
      s[b + S_SHARE] = 1 / k
    }
    if (fleetInflight >= 0) {
      let f = fleetInflight
      if (f > MAX_ABSORB) f = MAX_ABSORB
      s[b + S_FLEET_USE] = f
    }
    if (!(count >= 1)) return
    let n = Math.floor(count)
    if (n > MAX_ABSORB) n = MAX_ABSORB
    let sum = latencySumMs
    if (!(sum >= 0)) sum = 0
    if (sum > n * MAX_LATENCY_MS) sum = n * MAX_LATENCY_MS
    let errors = errorCount
    if (!(errors >= 0)) errors = 0
    if (errors > n) errors = n
    // Another isolate's successes say the origin answered, as of this exchange: the silence clock
    // restarts when they are heard, not on each tick they are folded in over (§8).
    if (n - errors >= 1) {
      const now = Math.max(cleanTime(nowMs, s[b + S_TICK_START]), s[b + S_TICK_START])
      if (s[b + S_LAST_DONE] < now) s[b + S_LAST_DONE] = now
    }
    s[b + S_POOL_N] = s[b + S_POOL_N] + n
    s[b + S_POOL_LAT] = s[b + S_POOL_LAT] + sum
    s[b + S_POOL_ERR] = s[b + S_POOL_ERR] + errors
  }

  /** Injects pressure from outside (docs/physics.md): until `untilMs` it scales the limit. */
  inject(slot: number, pressure: number, untilMs: number, nowMs: number): void {
    const s = this.state
    const b = this.enter(slot, nowMs)
    let inj = pressure
    if (!(inj >= 0)) inj = 0
    if (inj > 1) inj = 1
    s[b + S_INJ_P] = inj
    s[b + S_INJ_UNTIL] = cleanTime(untilMs, s[b + S_TICK_START])
  }

  /** Advances the slot to `nowMs` (a clock that went back changes nothing); returns its base. */
  private enter(slot: number, nowMs: number): number {
    const s = this.state
    const b = slot * SLOT_FIELDS
    this.advance(slot, Math.max(cleanTime(nowMs, s[b + S_TICK_START]), s[b + S_TICK_START]))
    return b
  }

  /** Brings the slot's ticks up to `nowMs`. Public so snapshots see current values. */
  advance(slot: number, nowMs: number): void {
    const s = this.state
    const pr = this.params
    const b = slot * SLOT_FIELDS
    const p = (s[b + S_PARAMS] | 0) * PARAM_FIELDS
    const tickMs = pr[p + P_TICK_MS]
    const start = s[b + S_TICK_START]
    const now = cleanTime(nowMs, start)
    if (!(now >= start + tickMs)) return
    const k = Math.floor((now - start) / tickMs)
    // Ticks that drain absorbed samples are data ticks; the rest are idle, in closed form.
    let j = 0
    do {
      s[b + S_TICK_START] = start + j * tickMs
      this.dataTick(b, p)
      j = j + 1
      this.modeClock(b, p, start + j * tickMs)
    } while (j < k && s[b + S_POOL_N] > 0)
    if (k > j && s[b + S_INJ_P] > 0) {
      // An injection that ends within the idle ticks: the tick it ends in is a data tick.
      const e = Math.floor((s[b + S_INJ_UNTIL] - start) / tickMs)
      if (e >= j && e < k) {
        if (e > j) this.idleTicks(b, p, e - j)
        s[b + S_TICK_START] = start + e * tickMs
        this.dataTick(b, p)
        j = e + 1
        this.modeClock(b, p, start + j * tickMs)
      }
    }
    if (k > j) this.idleTicks(b, p, k - j)
    const t = start + k * tickMs
    s[b + S_TICK_START] = t
    this.modeClock(b, p, t)
    s[b + S_R] = this.resistance(b, p)
  }

  /** Writes resistance, pressures, the queueing threshold and the limit into scratch. */
  inspect(slot: number): void {
    const s = this.state
    const pr = this.params
    const x = this.scratch
    const b = slot * SLOT_FIELDS
    const p = (s[b + S_PARAMS] | 0) * PARAM_FIELDS
    x[X_R] = this.resistance(b, p)
    x[X_PL] = this.queuePressure(b, p)
    x[X_PE] = s[b + S_OVERLOAD]
    x[X_PS] = this.saturationPressure(b, p)
    x[X_T] = this.target(b, p)
    if (s[b + S_MODE] === MODE_CIRCUIT_BREAKER) {
      x[X_E] = s[b + S_RAMP] * s[b + S_LIMIT] * s[b + S_SHARE]
    } else {
      x[X_E] = this.localLimit(b, p)
    }
    const nClasses = pr[p + P_N_CLASSES]
    for (let i = 0; i < nClasses; i++) x[X_ADMIT0 + i] = s[b + S_SHARE0 + i]
  }

  // ---- internals --------------------------------------------------------------------------------

  /** Admits one request of class `cls`: in flight, counted, and the start of a busy period. */
  private pass(b: number, cls: number, now: number): void {
    const s = this.state
    const eff = s[b + S_INFLIGHT] - s[b + S_GHOSTS]
    // Silence is counted from the start of a busy period, not from the last answer before it.
    if (eff <= 0 && s[b + S_LAST_DONE] < now) s[b + S_LAST_DONE] = now
    s[b + S_INFLIGHT] = s[b + S_INFLIGHT] + 1
    s[b + S_ADM0 + cls] = s[b + S_ADM0 + cls] + 1
    if (eff + 1 > s[b + S_PEAK]) s[b + S_PEAK] = eff + 1
  }

  /** This isolate's limit: capacity × share, less an injection, less a drain. */
  private localLimit(b: number, p: number): number {
    const s = this.state
    const pr = this.params
    let limit = s[b + S_LIMIT] * s[b + S_SHARE]
    const inj = s[b + S_INJ_EFF]
    if (inj > 0) limit = limit * (1 - inj)
    const drain = s[b + S_DRAIN]
    // Released (§6): the sample is admitted; later arrivals queue behind it, first come first served.
    const released = drain === 2 && pr[p + P_DRAIN_RELEASE] > 0 &&
      s[b + S_DRAIN_K] >= s[b + S_DRAIN_GOAL]
    if (drain > 0 && !released) {
      // Drain to a share of the limit, and no higher than the servers the answers show (Little).
      limit = limit * pr[p + P_DRAIN_FRACTION]
      let servers = s[b + S_RATE] * s[b + S_BASE]
      if (servers < 1) servers = 1
      if (servers < limit) limit = servers
    }
    return limit
  }

  /** Phase 1 of a drain ends when the requests in flight are down to the drain level. */
  private drainCheck(b: number, p: number, now: number): void {
    const s = this.state
    if (s[b + S_DRAIN] !== 1) return
    const level = this.localLimit(b, p)
    if (s[b + S_INFLIGHT] - s[b + S_GHOSTS] <= level) {
      s[b + S_DRAIN] = 2
      s[b + S_DRAIN_T] = now
      s[b + S_DRAIN_K] = 0
      s[b + S_DRAIN_TK] = MAX_TIME_MS
      s[b + S_DRAIN_DONE] = 0
      // One round of the drain level, and at least drainSamples: more answers for the same wait.
      let goal = Math.floor(level)
      if (goal < this.params[p + P_DRAIN_SAMPLES]) goal = this.params[p + P_DRAIN_SAMPLES]
      // An isolate that shares the route takes its few requests' mean only from enough of them.
      if (s[b + S_SHARE] < 1 && goal < EVIDENCE_SAMPLES) goal = EVIDENCE_SAMPLES
      s[b + S_DRAIN_GOAL] = goal
    }
  }

  private collect(b: number, latencyMs: number, errorFraction: number): void {
    const s = this.state
    if (latencyMs === latencyMs) {
      s[b + S_ACC_N] = s[b + S_ACC_N] + 1
      s[b + S_ACC_LAT] = s[b + S_ACC_LAT] + latencyMs
    }
    if (errorFraction === errorFraction) {
      let err = errorFraction
      if (err < 0) err = 0
      if (err > 1) err = 1
      s[b + S_ACC_EN] = s[b + S_ACC_EN] + 1
      s[b + S_ACC_ERR] = s[b + S_ACC_ERR] + err
    }
  }

  /**
   * The short latency the gradient holds (§4): tolerance × the unqueued latency, or less where the
   * route has an SLO (P_SLO), a measured unqueued latency and more of its successes late than an
   * unqueued service's 1%: the unqueued latency plus the SLO's room past the 99th percentile of an
   * unqueued answer (lognormal, of the drains' spread), so that the queue's wait does not make
   * answers late.
   */
  private target(b: number, p: number): number {
    const s = this.state
    const pr = this.params
    const base = s[b + S_BASE]
    let t = pr[p + P_TOLERANCE] * base
    const slo = pr[p + P_SLO]
    if (slo > 0 && s[b + S_DRAINS] > 0 && s[b + S_LATE] > LATE_TAIL) {
      let cv2 = s[b + S_BASE_CV2]
      if (!(cv2 > 0)) cv2 = 1
      let room = slo - base * tail99(cv2)
      if (room < 0) room = 0
      if (base + room < t) t = base + room
    }
    return t
  }

  /** The share of the short latency above the gradient's target (§4): a standing queue. */
  private queuePressure(b: number, p: number): number {
    const s = this.state
    const short = s[b + S_SHORT]
    if (!(short > 0)) return 0
    // 1 ms of slack keeps sub-millisecond latencies (and 0) from reading as queueing.
    const x = 1 - (this.target(b, p) + 1) / (short + 1)
    return x > 0 ? x : 0
  }

  private saturationPressure(b: number, p: number): number {
    const satT = this.params[p + P_SAT_T]
    return axisPressure((this.state[b + S_SAT] - satT) / ((1 - satT) * 0.5))
  }

  private resistance(b: number, p: number): number {
    const s = this.state
    const pr = this.params
    const m = Math.min(Math.max(s[b + S_M], -1), 1)
    let ex = pr[p + P_W_P] * s[b + S_P] + pr[p + P_W_M] * m +
      pr[p + P_W_S] * pr[p + P_SCAR_FACTOR] * s[b + S_SCAR]
    if (ex < 0) ex = 0
    return pr[p + P_R_BASE] + ex
  }

  /** Whole seconds the recovery ramp needs to reach full capacity from where it is. */
  private rampWait(b: number, p: number): number {
    const pr = this.params
    let r = this.state[b + S_RAMP]
    if (!(r > 0)) r = pr[p + P_RAMP_START]
    if (!(r > 0)) return pr[p + P_MAX_RETRY_S]
    let t = 0.0
    while (r < 1 && t < pr[p + P_MAX_RETRY_S]) {
      r = r * 2
      t = t + pr[p + P_RAMP_DOUBLE_S]
    }
    return Math.ceil(t)
  }

  /** Probe budget per tick while recovering: ramp × this isolate's capacity rate (Little). */
  private tokenRate(b: number, p: number): number {
    const s = this.state
    const pr = this.params
    let lat = s[b + S_BASE]
    if (!(lat >= 1)) lat = 1
    let rate = s[b + S_RAMP] * s[b + S_LIMIT] * s[b + S_SHARE] * pr[p + P_TICK_MS] / lat
    const inj = s[b + S_INJ_EFF]
    if (inj > 0) rate = rate * (1 - inj)
    return rate
  }

  private addTokens(b: number, p: number, ticks: number): void {
    const s = this.state
    const rate = this.tokenRate(b, p)
    const cap = this.params[p + P_N_CLASSES] + 1 + rate
    let tokens = s[b + S_TOKENS] + rate * ticks
    if (tokens > cap) tokens = cap
    s[b + S_TOKENS] = tokens
  }

  /**
   * The share of the gradient's step this tick's answers justify (docs/physics.md §13, "Cuts on
   * the evidence"): 1, except for an isolate that shares its route and whose own demand (this
   * tick's requests or their average, the larger) is below EVIDENCE_SAMPLES a tick while the
   * fleet's answers (this isolate's answer rate over its share) are not: then its successes of
   * the tick, own and absorbed, over EVIDENCE_SAMPLES.
   */
  private evidenceWeight(b: number, p: number, offered: number): number {
    const s = this.state
    const pr = this.params
    const share = s[b + S_SHARE]
    const okN = s[b + S_ACC_OKN]
    if (!(share < 1) || okN >= EVIDENCE_SAMPLES) return 1
    const tickMs = pr[p + P_TICK_MS]
    let demand = 0.0
    const nClasses = pr[p + P_N_CLASSES]
    for (let c = 0; c < nClasses; c++) demand = demand + s[b + S_DEM0 + c]
    demand = demand * tickMs
    if (offered > demand) demand = offered
    if (demand >= EVIDENCE_SAMPLES) return 1
    if (s[b + S_RATE] * tickMs / share < EVIDENCE_SAMPLES) return 1
    return okN / EVIDENCE_SAMPLES
  }

  /** The tick that just ended: fold its samples, then pressure, momentum, capacity, outage. */
  private dataTick(b: number, p: number): void {
    const s = this.state
    const pr = this.params
    const poolN = s[b + S_POOL_N]
    const tickStart = s[b + S_TICK_START]
    const tickEnd = tickStart + pr[p + P_TICK_MS]
    if (poolN > 0) {
      // Geometric drain: tick/spread of the pool per tick, the rest once under 1% of a sample.
      let f = pr[p + P_TICK_MS] / pr[p + P_SPREAD_MS]
      if (f > 1 || poolN * (1 - f) < 0.01) f = 1
      const moveN = poolN * f
      const moveLat = s[b + S_POOL_LAT] * f
      const moveErr = s[b + S_POOL_ERR] * f
      s[b + S_ACC_N] = s[b + S_ACC_N] + moveN
      s[b + S_ACC_LAT] = s[b + S_ACC_LAT] + moveLat
      s[b + S_ACC_EN] = s[b + S_ACC_EN] + moveN
      s[b + S_ACC_ERR] = s[b + S_ACC_ERR] + moveErr
      // The others' successes: their latency without their failures' (at this isolate's mean),
      // from batches that are mostly successes only: the error of that mean, times failures per
      // success, is then at most the error itself (docs/physics.md §13).
      const okMove = moveN - moveErr
      if (okMove > 0 && okMove >= moveErr) {
        let okLat = moveLat - moveErr * s[b + S_FAIL_LAT]
        if (okLat < 0) okLat = 0
        s[b + S_ACC_OKN] = s[b + S_ACC_OKN] + okMove
        s[b + S_ACC_OKLAT] = s[b + S_ACC_OKLAT] + okLat
      }
      if (f === 1) {
        s[b + S_POOL_N] = 0
        s[b + S_POOL_LAT] = 0
        s[b + S_POOL_ERR] = 0
      } else {
        s[b + S_POOL_N] = poolN - moveN
        s[b + S_POOL_LAT] = s[b + S_POOL_LAT] - moveLat
        s[b + S_POOL_ERR] = s[b + S_POOL_ERR] - moveErr
      }
    }

    // Displayed signals: smoothed latency and error rate of every outcome, and saturation.
    const aFast = pr[p + P_A_FAST]
    const n = s[b + S_ACC_N]
    const en = s[b + S_ACC_EN]
    if (n > 0) {
      const tickLat = s[b + S_ACC_LAT] / n
      const stale = tickStart - s[b + S_LAST_SAMPLE] >= pr[p + P_STALE_MS]
      s[b + S_LAST_SAMPLE] = tickStart
      if (s[b + S_RESEED] > 0 || stale) {
        s[b + S_LAT] = tickLat
        if (en > 0) s[b + S_ERR] = s[b + S_ACC_ERR] / en
        s[b + S_RESEED] = 0
      } else {
        s[b + S_LAT] = s[b + S_LAT] + aFast * (tickLat - s[b + S_LAT])
        if (en > 0) s[b + S_ERR] = s[b + S_ERR] + aFast * (s[b + S_ACC_ERR] / en - s[b + S_ERR])
      }
    } else if (en > 0) {
      s[b + S_ERR] = s[b + S_ERR] + aFast * (s[b + S_ACC_ERR] / en - s[b + S_ERR])
    }
    const accSat = s[b + S_ACC_SAT]
    if (accSat >= 0) s[b + S_SAT] = s[b + S_SAT] + aFast * (accSat - s[b + S_SAT])

    // Short latency of successes (local and absorbed).
    const okN = s[b + S_ACC_OKN]
    if (okN > 0) {
      const tickOk = s[b + S_ACC_OKLAT] / okN
      if (!(s[b + S_SHORT] > 0)) {
        s[b + S_SHORT] = tickOk
      } else {
        s[b + S_SHORT] = s[b + S_SHORT] + pr[p + P_A_SHORT] * (tickOk - s[b + S_SHORT])
      }
    }
    const ln = s[b + S_ACC_LN]
    s[b + S_RATE] = s[b + S_RATE] + aFast * (ln / pr[p + P_TICK_MS] - s[b + S_RATE])
    const lok = s[b + S_ACC_LOK]
    // The share of this isolate's successes later than the SLO (§4, "The queue is paid by the SLO"),
    // smoothed as the displayed signals are (signalTauS).
    if (lok > 0) s[b + S_LATE] = s[b + S_LATE] + aFast * (s[b + S_ACC_LATE] / lok - s[b + S_LATE])
    const fails = ln - lok
    if (fails > 0) {
      const failLat = s[b + S_ACC_FLAT] / fails
      if (!(s[b + S_FAIL_LAT] > 0)) s[b + S_FAIL_LAT] = failLat
      else s[b + S_FAIL_LAT] = s[b + S_FAIL_LAT] + aFast * (failLat - s[b + S_FAIL_LAT])
    }
    let ovShare = 0.0
    if (ln > 0) {
      ovShare = s[b + S_ACC_OV] / ln
      s[b + S_OVERLOAD] = ovShare
    }

    // Per class: the offered rate and the share admitted, smoothed.
    const nClasses = pr[p + P_N_CLASSES]
    let offered = 0.0
    for (let c = 0; c < nClasses; c++) {
      const off = s[b + S_OFF0 + c]
      offered = offered + off
      const dem = s[b + S_DEM0 + c]
      s[b + S_DEM0 + c] = dem + aFast * (off / pr[p + P_TICK_MS] - dem)
      if (off > 0) {
        const sh = s[b + S_SHARE0 + c]
        s[b + S_SHARE0 + c] = sh + aFast * (s[b + S_ADM0 + c] / off - sh)
      }
      s[b + S_OFF0 + c] = 0
      s[b + S_ADM0 + c] = 0
    }

    // Pressure: standing queue, overload answers and reported saturation, as independent hazards.
    const q = this.queuePressure(b, p)
    const psat = this.saturationPressure(b, p)
    const pOld = s[b + S_P]
    let pNew = 1 - (1 - q) * (1 - ovShare) * (1 - psat)
    const inj = s[b + S_INJ_P]
    s[b + S_INJ_EFF] = 0
    if (inj > 0) {
      if (tickEnd <= s[b + S_INJ_UNTIL]) {
        if (inj > pNew) {
          pNew = inj
          s[b + S_INJ_EFF] = inj
        }
      } else {
        s[b + S_INJ_P] = 0
      }
    }
    s[b + S_P] = pNew
    const mOld = s[b + S_M]
    const slope = (pNew - pOld) * pr[p + P_INV_TICK_S]
    let m = mOld + pr[p + P_A_MOM] * (slope - mOld)
    if (m > MAX_MOMENTUM) m = MAX_MOMENTUM
    if (m < -MAX_MOMENTUM) m = -MAX_MOMENTUM
    s[b + S_M] = m
    const tickS = pr[p + P_TICK_S]
    // An injection in force at the trip level for tripAfterS is an outage (docs/physics.md §8).
    if (s[b + S_INJ_EFF] >= pr[p + P_TRIP_P]) s[b + S_ABOVE_S] = s[b + S_ABOVE_S] + tickS
    else s[b + S_ABOVE_S] = 0

    const mode = s[b + S_MODE]
    if (mode === MODE_CIRCUIT_BREAKER) {
      // Recovery: the ramp doubles per rampDoubleS while probes are answered, halves when the
      // answers fail. A timeout reports on the past (its request left a while ago): not counted.
      const answered = ln - s[b + S_ACC_LOST]
      if (answered > 0) {
        if (lok >= 0.5 * answered) {
          let r = s[b + S_RAMP] * pr[p + P_RAMP_GROWTH]
          // And one request of capacity per answered probe (slow start; Palantir's ramp): the ramp
          // doubles per round of answers, however short the round.
          const cap = s[b + S_LIMIT] * s[b + S_SHARE]
          if (cap > 0) {
            const byAnswers = s[b + S_RAMP] + lok / cap
            if (byAnswers > r) r = byAnswers
          }
          // A black hole's first healthy answers, as fast as before the outage (no queue): the
          // origin is back as it was, and L, kept through the outage, is its capacity (§9).
          const okN = s[b + S_ACC_OKN]
          if (s[b + S_STREAK_S] === 0 && okN > 0 && pr[p + P_RAMP_RESUME] > r) {
            if (s[b + S_ACC_OKLAT] / okN <= pr[p + P_TOLERANCE] * s[b + S_BASE]) {
              r = pr[p + P_RAMP_RESUME]
            }
          }
          if (r > 1) r = 1
          s[b + S_RAMP] = r
        } else {
          // Answers that fail: no longer a black hole's silence; the ramp needs its evidence.
          s[b + S_STREAK_S] = 1
          if (lok < pr[p + P_OUTAGE_OK] * answered) {
            let r = s[b + S_RAMP] * 0.5
            if (r < pr[p + P_RAMP_START]) r = pr[p + P_RAMP_START]
            s[b + S_RAMP] = r
          }
        }
      }
      s[b + S_SCAR] = 1 - s[b + S_RAMP]
      this.addTokens(b, p, 1)
    } else {
      this.capacityTick(b, p, tickEnd, ovShare, psat, offered)
      // Outage candidate: a streak of ticks where almost nothing succeeded.
      // Overload answers (429/503/504) are the limit's business, not an outage: a full queue
      // answering 503 to almost everything is an origin at work.
      const judged = ln - (s[b + S_ACC_OV] - s[b + S_ACC_LOST])
      if (pr[p + P_OUTAGE_OK] > 0 && judged > 0) {
        if (lok < pr[p + P_OUTAGE_OK] * judged) {
          s[b + S_STREAK_S] = s[b + S_STREAK_S] + tickS
          s[b + S_STREAK_N] = s[b + S_STREAK_N] + judged
        } else {
          s[b + S_STREAK_S] = 0
          s[b + S_STREAK_N] = 0
        }
      }
    }

    s[b + S_PEAK] = s[b + S_INFLIGHT] - s[b + S_GHOSTS]
    s[b + S_ACC_SAT] = -1
    this.clearAnswers(b)
  }

  /** Empties the tick's counts of answers (the saturation reading is the tick's own, kept). */
  private clearAnswers(b: number): void {
    const s = this.state
    s[b + S_ACC_N] = 0
    s[b + S_ACC_LAT] = 0
    s[b + S_ACC_EN] = 0
    s[b + S_ACC_ERR] = 0
    s[b + S_ACC_OKN] = 0
    s[b + S_ACC_OKLAT] = 0
    s[b + S_ACC_OV] = 0
    s[b + S_ACC_LN] = 0
    s[b + S_ACC_LOK] = 0
    s[b + S_ACC_LATE] = 0
    s[b + S_ACC_FLAT] = 0
    s[b + S_ACC_LOST] = 0
  }

  /**
   * The capacity estimate: a time-based gradient of the short latency against the measured
   * unqueued latency, cut by overload answers, and the drains that measure the unqueued latency.
   */
  private capacityTick(
    b: number,
    p: number,
    tickEnd: number,
    ovShare: number,
    psat: number,
    offered: number,
  ) {
    const s = this.state
    const pr = this.params
    const before = s[b + S_LIMIT]
    let limit = before
    const drain = s[b + S_DRAIN]
    const short = s[b + S_SHORT]
    const base = s[b + S_BASE]
    const limited = s[b + S_LIMITED_UNTIL] > tickEnd
    if (drain === 0) {
      const cut = (ovShare + psat) * pr[p + P_OVERLOAD_BACKOFF]
      if (cut > 0) {
        let f = 1 - cut
        if (f < 0.5) f = 0.5
        limit = limit * f
        s[b + S_SLOW] = 0
      } else if (s[b + S_ACC_OKN] > 0 && short > 0) {
        // The target: tolerance × base, or less where an SLO leaves less room (§4).
        let g = (this.target(b, p) + 1) / (short + 1)
        if (g > 1) g = 1
        if (g < 0.5) g = 0.5
        if (g >= 1) {
          const share = s[b + S_SHARE]
          const local = limit * share
          let inUse = s[b + S_PEAK] >= local / 2
          if (share < 1) {
            // A fleet (§13): below one request per isolate one request is always half the
            // limit, so the fleet's requests in flight (from the store) must be half of L; above
            // it, two requests out at once or a shed is the evidence that the limit binds.
            if (local < 1) inUse = inUse && s[b + S_FLEET_USE] >= limit / 2
            else inUse = inUse && (s[b + S_PEAK] >= 2 || limited)
          }
          if (inUse && tickEnd >= s[b + S_HOLD_UNTIL]) {
            // A bigger origin (§4): the limit binds in full (this isolate shed, and its peak in
            // flight reached its local limit) while the answers show no queue at all: their short
            // mean is at or below the measured unqueued latency, and below the tolerance's level by
            // growthConfidence standard errors of a mean of this tick's answers. The capacity is then
            // above the estimate by an unknown amount: this tick grows as slow start does.
            let bigger = false
            const z = pr[p + P_GROW_Z]
            if (
              z > 0 && s[b + S_DRAINS] > 0 && limited && short <= base && s[b + S_PEAK] >= local
            ) {
              let cv2 = s[b + S_BASE_CV2]
              if (!(cv2 > 0)) cv2 = 1
              // Below tolerance × base by z standard errors (no queue), and not below base ÷
              // tolerance (a faster origin, for a drain to measure, as a drain's mean is, §4).
              const tol = pr[p + P_TOLERANCE]
              bigger = short + z * base * Math.sqrt(cv2 / s[b + S_ACC_OKN]) <= tol * base &&
                short * tol >= base
            }
            if (s[b + S_SLOW] > 0 || bigger) {
              // Slow start until a queue is seen: one more per success without
              // a queue (local and absorbed), at most doubling per tick. An isolate that shares
              // the route counts the fleet's successes: its own over its share (§13).
              let add = s[b + S_ACC_OKN]
              if (share < 1 && s[b + S_ACC_LOK] / share > add) add = s[b + S_ACC_LOK] / share
              if (add > limit) add = limit
              limit = limit + add
            } else {
              // At most one tick's step per round of answers: a round longer than a tick (the
              // answers' latency) grows by the step per round, not per tick (§4).
              let k = 1.0
              if (short > pr[p + P_TICK_MS]) k = pr[p + P_TICK_MS] / short
              limit = limit + pr[p + P_GROWTH] * k * Math.max(1, Math.sqrt(limit))
            }
          }
        } else if (s[b + S_PEAK] >= limit * s[b + S_SHARE] / 2) {
          // Only a limit in use shrinks: latency with few requests out is not our queue. An
          // isolate whose few answers are not the fleet's evidence moves by what they weigh (§13).
          const w = this.evidenceWeight(b, p, offered)
          limit = limit +
            w * pr[p + P_A_LIMIT] * (g * limit + pr[p + P_QUEUE] * Math.sqrt(limit) - limit)
          // A queue against a measured unqueued latency ends slow start.
          if (s[b + S_DRAINS] > 0) s[b + S_SLOW] = 0
        }
        if (!limited && s[b + S_PEAK] < limit * s[b + S_SHARE] / 2 && short < base) {
          // Not limited and not in use: a latency below the unqueued one is the unqueued one
          // (down only: others' requests may queue where this isolate's do not).
          s[b + S_BASE] = base + pr[p + P_A_BASE] * (short - base)
        }
      }
      if (limit < pr[p + P_LIMIT_MIN]) limit = pr[p + P_LIMIT_MIN]
      if (limit > pr[p + P_LIMIT_MAX]) limit = pr[p + P_LIMIT_MAX]
      s[b + S_LIMIT] = limit
      if (limit < before) s[b + S_SHRINK_S] = s[b + S_SHRINK_S] + pr[p + P_TICK_S]
      else s[b + S_SHRINK_S] = 0
    }

    // Drains: hold requests in flight at drainFraction of the limit until drainSamples requests
    // admitted at that level have been answered; their mean latency is the unqueued latency.
    const period = pr[p + P_DRAIN_MS]
    if (period > 0) {
      if (drain === 0) {
        if (
          s[b + S_SHRINK_S] >= pr[p + P_DRAIN_SHRINK_S] && s[b + S_LIMIT] <= 0.5 * s[b + S_DRAIN_L]
        ) {
          // An early drain waits for the next whole second of the clock: isolates whose limits
          // shrink on the same shared latency drain together, so the queue does empty.
          const at = (Math.floor(tickEnd / 1000) + 1) * 1000
          if (at < s[b + S_NEXT_DRAIN]) s[b + S_NEXT_DRAIN] = at
        }
        let due = tickEnd >= s[b + S_NEXT_DRAIN] || s[b + S_DRAINS] === 0
        const ev = pr[p + P_START_EVIDENCE]
        if (ev > 0 && s[b + S_DRAINS] === 0 && s[b + S_SLOW] > 0) {
          // The route's first drain is owed to a queue, not to slow start's window (§6): while no
          // drain has measured the unqueued latency, a tick whose successes are as many as a
          // drain would time and show no queue against it has measured what the drain would.
          let goal = pr[p + P_DRAIN_SAMPLES]
          if (s[b + S_SHARE] < 1 && goal < EVIDENCE_SAMPLES) goal = EVIDENCE_SAMPLES
          if (s[b + S_ACC_OKN] >= ev * goal && short <= pr[p + P_TOLERANCE] * base) due = false
        }
        if (limited && due) {
          s[b + S_DRAIN] = 1
          s[b + S_DRAIN_T] = tickEnd
          s[b + S_DRAIN_N] = 0
          s[b + S_DRAIN_SUM] = 0
          s[b + S_DRAIN_SQ] = 0
          s[b + S_SHRINK_S] = 0
          // Periodic drains fall on multiples of the period: isolates drain together.
          s[b + S_NEXT_DRAIN] = (Math.floor(tickEnd / period) + 1) * period
          this.drainCheck(b, p, tickEnd)
        }
      } else if (
        drain === 2 && s[b + S_DRAIN_DONE] >= s[b + S_DRAIN_GOAL] &&
        (pr[p + P_DRAIN_RELEASE] <= 0 || s[b + S_DRAIN_DONE] >= s[b + S_DRAIN_K])
      ) {
        // Every request of the sample answered: its successes' mean is the unqueued latency.
        if (s[b + S_DRAIN_N] > 0) {
          let nb = this.drainBase(b, p)
          // An origin faster than the tolerance forgives: its capacity is unknown again, and the
          // answers clock the growth as before the first queue (slow start, §4).
          if (nb * pr[p + P_TOLERANCE] < base) {
            s[b + S_SLOW] = 1
            const n = s[b + S_DRAIN_N]
            const m = s[b + S_DRAIN_SUM] / n
            if (
              pr[p + P_SUPERSEDE] > 0 &&
              (m + pr[p + P_BASE_Z] * m * Math.sqrt(s[b + S_BASE_CV2] / n)) * pr[p + P_TOLERANCE] <
                base
            ) {
              // Faster by baseConfidence standard errors of the drain's own mean: the answers
              // before the drain timed a slower origin. The unqueued and the short latency restart
              // from the drain's answers alone, and the others' answers still pooled are dropped.
              nb = m
              s[b + S_BASE_N] = n
              s[b + S_SHORT] = m
              s[b + S_POOL_N] = 0
              s[b + S_POOL_LAT] = 0
              s[b + S_POOL_ERR] = 0
            }
          }
          s[b + S_BASE] = nb
          s[b + S_DRAINS] = s[b + S_DRAINS] + 1
          s[b + S_DRAIN_L] = s[b + S_LIMIT]
        }
        s[b + S_DRAIN] = 0
      } else {
        let unit = base
        if (short > unit) unit = short
        if (tickEnd - s[b + S_DRAIN_T] > pr[p + P_DRAIN_GIVEUP] * unit) {
          // Abandoned: keep what it measured, if anything.
          if (s[b + S_DRAIN_N] > 0) {
            s[b + S_BASE] = this.drainBase(b, p)
            s[b + S_DRAINS] = s[b + S_DRAINS] + 1
            s[b + S_DRAIN_L] = s[b + S_LIMIT]
          }
          s[b + S_DRAIN] = 0
        } else {
          this.drainCheck(b, p, tickEnd)
        }
      }
    }
  }

  /**
   * The unqueued latency after a drain (§6): the mean of its successes, or, when that mean is lower
   * than the old value and agrees with it within baseConfidence standard errors, the two pooled by
   * their answers over a window of as many answers as put the mean's standard error within the
   * tolerance's margin. A higher mean, or a lower one that disagrees, replaces the old value.
   */
  private drainBase(b: number, p: number): number {
    const s = this.state
    const pr = this.params
    const n = s[b + S_DRAIN_N]
    const m = s[b + S_DRAIN_SUM] / n
    const z = pr[p + P_BASE_Z]
    if (!(z > 0) || !(m > 0)) return m
    const base = s[b + S_BASE]
    const old = s[b + S_BASE_N]
    // The spread, as a squared coefficient of variation: the sample's (n − 1 degrees of freedom)
    // pooled with the old one; before any, the exponential's (CV² = 1) counts as one answer.
    let cvN = old
    let cv2 = s[b + S_BASE_CV2]
    if (!(old > 0)) {
      cvN = 1
      cv2 = 1
    }
    if (n > 1) {
      let v = (s[b + S_DRAIN_SQ] - n * m * m) / (n - 1)
      if (!(v > 0)) v = 0
      cv2 = (cvN * cv2 + (n - 1) * (v / (m * m))) / (cvN + n - 1)
    }
    // Answers enough for z standard errors within the tolerance's margin (1 − 1/tolerance).
    const margin = 1 - 1 / pr[p + P_TOLERANCE]
    let keep = z * z * cv2 / (margin * margin) - n
    if (keep > old) keep = old
    if (keep < 0) keep = 0
    // The relative difference of the two means (≈ the log of their ratio, whose standard error is
    // CV·√(1/n + 1/old) whatever the scale).
    const d = 2 * (m - base) / (m + base)
    let next = m
    let count = n
    if (d < 0 && old > 0 && d * d <= z * z * cv2 * (1 / n + 1 / old)) {
      next = (keep * base + n * m) / (keep + n)
      count = keep + n
    }
    s[b + S_BASE_N] = count
    s[b + S_BASE_CV2] = cv2
    return next
  }

  /** `k` ticks with no samples, in closed form: P holds, momentum relaxes, probes accrue. */
  private idleTicks(b: number, p: number, k: number): void {
    const s = this.state
    const pr = this.params
    s[b + S_M] = s[b + S_M] * ipow(1 - pr[p + P_A_MOM], k)
    const decay = ipow(1 - pr[p + P_A_FAST], k)
    const nClasses = pr[p + P_N_CLASSES]
    for (let c = 0; c < nClasses; c++) s[b + S_DEM0 + c] = s[b + S_DEM0 + c] * decay
    if (s[b + S_INJ_EFF] >= pr[p + P_TRIP_P]) {
      s[b + S_ABOVE_S] = s[b + S_ABOVE_S] + k * pr[p + P_TICK_S]
    }
    if (s[b + S_MODE] === MODE_CIRCUIT_BREAKER) this.addTokens(b, p, k)
  }

  /** Mode changes, evaluated at tick boundaries. */
  private modeClock(b: number, p: number, t: number): void {
    const s = this.state
    const pr = this.params
    let mode = s[b + S_MODE]
    if (mode === MODE_BOOTSTRAP) {
      if (s[b + S_DRAINS] >= 1 || t - s[b + S_MODE_SINCE] >= pr[p + P_WARMUP_S] * 1000) {
        mode = this.setMode(b, MODE_OPERATIONAL, t)
      }
    }
    if (mode === MODE_OPERATIONAL || mode === MODE_BOOTSTRAP) {
      let outage = false
      // 1 when failing answers (or an injection) declare it, 0 for silence alone (§9).
      let failing = 0.0
      if (
        pr[p + P_OUTAGE_OK] > 0 && s[b + S_STREAK_S] >= pr[p + P_OUTAGE_AFTER_S] &&
        s[b + S_STREAK_N] >= pr[p + P_OUTAGE_SAMPLES]
      ) {
        outage = true
        failing = 1
      }
      const silence = pr[p + P_SILENCE]
      // Silence counts only once an answer has shown how long answers take.
      if (silence > 0 && s[b + S_SHORT] > 0 && s[b + S_INFLIGHT] - s[b + S_GHOSTS] >= 2) {
        let unit = s[b + S_BASE]
        if (s[b + S_SHORT] > unit) unit = s[b + S_SHORT]
        if (t - s[b + S_LAST_DONE] >= silence * unit) outage = true
      }
      if (s[b + S_ABOVE_S] >= pr[p + P_TRIP_AFTER_S]) {
        outage = true
        failing = 1
      }
      if (outage) {
        this.setMode(b, MODE_CIRCUIT_BREAKER, t)
        s[b + S_RAMP] = pr[p + P_RAMP_START]
        s[b + S_SCAR] = 1 - s[b + S_RAMP]
        s[b + S_GHOSTS] = s[b + S_INFLIGHT]
        s[b + S_GHOST_T] = t
        s[b + S_TOKENS] = 0
        s[b + S_STREAK_S] = failing
        s[b + S_STREAK_N] = 0
        s[b + S_ABOVE_S] = 0
        s[b + S_DRAIN] = 0
      }
    } else if (mode === MODE_CIRCUIT_BREAKER && s[b + S_RAMP] >= 1) {
      this.recovered(b, t)
    }
  }

  /**
   * A black hole's return, decided when the answer that proves it arrives (§9): the test the tick's
   * end would make (no failing tick since the outage, most answers successes, their mean within
   * the tolerance of the unqueued latency), made on the tick's answers heard so far.
   */
  private resumeAtAnswer(b: number, p: number, now: number): void {
    const s = this.state
    const pr = this.params
    if (s[b + S_STREAK_S] !== 0 || pr[p + P_RAMP_RESUME] < 1) return
    const okN = s[b + S_ACC_OKN]
    const answered = s[b + S_ACC_LN] - s[b + S_ACC_LOST]
    if (!(okN > 0) || s[b + S_ACC_LOK] < 0.5 * answered) return
    if (s[b + S_ACC_OKLAT] / okN > pr[p + P_TOLERANCE] * s[b + S_BASE]) return
    s[b + S_RAMP] = 1
    this.recovered(b, now)
    // The tick's answers so far were the outage's (among them the timeouts of probes sent into
    // the hole): the capacity law folds only those that come after the resume.
    this.clearAnswers(b)
  }

  /** Back to OPERATIONAL: what is still in flight was sent into the outage or its ramp. */
  private recovered(b: number, t: number): void {
    const s = this.state
    this.setMode(b, MODE_OPERATIONAL, t)
    s[b + S_SCAR] = 0
    s[b + S_STREAK_S] = 0
    s[b + S_GHOSTS] = s[b + S_INFLIGHT]
    s[b + S_GHOST_T] = t
    s[b + S_LAST_DONE] = t
  }

  private setMode(b: number, mode: number, t: number): number {
    const s = this.state
    s[b + S_MODE] = mode
    s[b + S_MODE_SINCE] = t
    s[b + S_TRANSITIONS] = s[b + S_TRANSITIONS] + 1
    return mode
  }
}

function cleanTime(nowMs: number, fallback: number): number {
  if (!(nowMs === nowMs)) return fallback
  if (nowMs > MAX_TIME_MS) return MAX_TIME_MS
  if (nowMs < -MAX_TIME_MS) return -MAX_TIME_MS
  return nowMs
}

function clampRetry(seconds: number, maxRetry: number): number {
  let r = seconds
  if (!(r >= 1)) r = 1
  if (r > maxRetry) r = maxRetry
  return r
}

function code(allow: number, reason: number, mode: number, retryS: number): number {
  return allow | (reason << CODE_REASON_SHIFT) | (mode << CODE_MODE_SHIFT) |
    (retryS << CODE_RETRY_SHIFT)
}
