/**
 * The TypeScript twin of `wasm/assembly/engine.ts`: the per-route physics of docs/physics.md.
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
  CREDIT_BASE,
  CREDIT_UNIT,
  MAX_ABSORB,
  MAX_LATENCY_MS,
  MAX_MOMENTUM,
  MAX_TIME_MS,
  MODE_BOOTSTRAP,
  MODE_CIRCUIT_BREAKER,
  MODE_HALF_OPEN,
  MODE_OPERATIONAL,
  P_A_FAST,
  P_A_LEARN,
  P_A_LIMIT,
  P_A_MOM,
  P_BASELINE_MS,
  P_BOOTSTRAP_MAX_S,
  P_CLOSE_P,
  P_COOLDOWN_MS,
  P_D1_FAST,
  P_D1_MOM,
  P_D1_SCAR,
  P_D_SCAR,
  P_ERR_SCALE,
  P_ERR_T,
  P_INV_TICK_S,
  P_LAT_SCALE,
  P_LEARN_CEIL,
  P_LIMIT_INIT,
  P_LIMIT_MAX,
  P_LIMIT_MIN,
  P_MAX_RETRY_S,
  P_MIN_DWELL_MS,
  P_MIN_PROBES,
  P_N_CLASSES,
  P_PROBE_MS,
  P_R_BASE,
  P_SAT_RATIO_T,
  P_SAT_T,
  P_SCAR_FACTOR,
  P_SCAR_GAIN,
  P_SIGMA_FLOOR,
  P_SPREAD_MS,
  P_STALE_MS,
  P_TICK_MS,
  P_TICK_S,
  P_TRAUMA_P,
  P_TRIP_AFTER_S,
  P_TRIP_P,
  P_W_M,
  P_W_P,
  P_W_S,
  P_WARMUP_LAT_MS,
  P_WARMUP_S,
  P_Z,
  PARAM_FIELDS,
  REASON_ADMITTED,
  REASON_CIRCUIT_OPEN,
  REASON_CONCURRENCY,
  REASON_HALF_OPEN,
  REASON_PRESSURE,
  REASON_PROBE,
  S_ABOVE_S,
  S_ACC_EN,
  S_ACC_ERR,
  S_ACC_LAT,
  S_ACC_N,
  S_ACC_SAT,
  S_CREDIT0,
  S_CREDIT1,
  S_ERR,
  S_FRESH,
  S_INFLIGHT,
  S_INJ_P,
  S_INJ_UNTIL,
  S_LAST_PASS,
  S_LAST_SAMPLE,
  S_LAT,
  S_LEARNED_S,
  S_LIMIT,
  S_M,
  S_MODE,
  S_MODE_SINCE,
  S_MU,
  S_P,
  S_PARAMS,
  S_POOL_ERR,
  S_POOL_LAT,
  S_POOL_N,
  S_R,
  S_RESEED,
  S_SAT,
  S_SCAR,
  S_TICK_START,
  S_TRANSITIONS,
  S_VAR,
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
    s[b + S_MU] = pr[p + P_BASELINE_MS]
    s[b + S_MODE] = MODE_BOOTSTRAP
    s[b + S_MODE_SINCE] = now
    // Nothing has passed yet, so the first shed request may go through as a probe.
    s[b + S_LAST_PASS] = now - pr[p + P_PROBE_MS]
    s[b + S_RESEED] = 1
    s[b + S_LAST_SAMPLE] = now
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

    if (mode === MODE_CIRCUIT_BREAKER) {
      const waitS = Math.ceil((s[b + S_MODE_SINCE] + pr[p + P_COOLDOWN_MS] - now) / 1000)
      return code(0, REASON_CIRCUIT_OPEN, mode, clampRetry(waitS, maxRetry))
    }
    if (mode === MODE_HALF_OPEN) {
      if (now - s[b + S_LAST_PASS] >= pr[p + P_PROBE_MS]) {
        s[b + S_LAST_PASS] = now
        s[b + S_INFLIGHT] = s[b + S_INFLIGHT] + 1
        return code(1, REASON_PROBE, mode, 0)
      }
      const waitS = Math.ceil(pr[p + P_PROBE_MS] * pr[p + P_MIN_PROBES] / 1000)
      return code(0, REASON_HALF_OPEN, mode, clampRetry(waitS, maxRetry))
    }

    // OPERATIONAL or BOOTSTRAP.
    const j = nClasses - 1 - cls
    let capFrac = 1.0
    if (nClasses > 1) capFrac = 0.9 + 0.1 * j / (nClasses - 1)
    if (s[b + S_INFLIGHT] >= s[b + S_LIMIT] * capFrac) {
      return code(0, REASON_CONCURRENCY, mode, 1)
    }
    const e = this.cachedExcess(b, p)
    const frac = classFraction(e, cls, nClasses)
    const q = Math.floor(frac * CREDIT_UNIT)
    const field = cls < 4 ? S_CREDIT0 : S_CREDIT1
    const div = creditDivisor(cls)
    const packed = s[b + field]
    const hi = Math.floor(packed / div)
    const credit = hi - Math.floor(hi / CREDIT_BASE) * CREDIT_BASE
    let next = credit + q
    let allow = 0
    if (next >= CREDIT_UNIT) {
      next = next - CREDIT_UNIT
      allow = 1
    }
    s[b + field] = packed + (next - credit) * div
    if (allow === 1) {
      s[b + S_LAST_PASS] = now
      s[b + S_INFLIGHT] = s[b + S_INFLIGHT] + 1
      return code(1, REASON_ADMITTED, mode, 0)
    }
    if (now - s[b + S_LAST_PASS] >= pr[p + P_PROBE_MS]) {
      s[b + S_LAST_PASS] = now
      s[b + S_INFLIGHT] = s[b + S_INFLIGHT] + 1
      return code(1, REASON_PROBE, mode, 0)
    }
    let waitS = 1.0
    if (frac <= 0) waitS = this.retryEstimate(b, p, classEnd(cls, nClasses))
    return code(0, REASON_PRESSURE, mode, clampRetry(waitS, maxRetry))
  }

  complete(
    slot: number,
    latencyMs: number,
    errorFraction: number,
    nowMs: number,
    sample: number,
  ): void {
    const s = this.state
    const b = this.enter(slot, nowMs)
    const inflight = s[b + S_INFLIGHT] - 1
    s[b + S_INFLIGHT] = inflight > 0 ? inflight : 0
    if (sample > 0) this.collect(b, latencyMs, errorFraction)
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
    this.collect(b, latencyMs, errorRate)
    if (saturation === saturation) {
      let sat = saturation
      if (sat < 0) sat = 0
      if (sat > 1) sat = 1
      if (sat > s[b + S_ACC_SAT]) s[b + S_ACC_SAT] = sat
    }
  }

  /**
   * Folds samples other isolates saw (from the shared store) into the current tick, as if they
   * had completed here: `count` samples, their latency sum and how many failed.
   */
  absorb(
    slot: number,
    count: number,
    latencySumMs: number,
    errorCount: number,
    nowMs: number,
  ): void {
    const s = this.state
    const b = this.enter(slot, nowMs)
    if (!(count >= 1)) return
    // A batch covers a sync interval of the others' traffic: it goes to a pool that the next
    // ticks drain (dataTick), so it weighs as much time as it represents, not one tick.
    let n = Math.floor(count)
    if (n > MAX_ABSORB) n = MAX_ABSORB
    let sum = latencySumMs
    if (!(sum >= 0)) sum = 0
    if (sum > n * MAX_LATENCY_MS) sum = n * MAX_LATENCY_MS
    let errors = errorCount
    if (!(errors >= 0)) errors = 0
    if (errors > n) errors = n
    s[b + S_POOL_N] = s[b + S_POOL_N] + n
    s[b + S_POOL_LAT] = s[b + S_POOL_LAT] + sum
    s[b + S_POOL_ERR] = s[b + S_POOL_ERR] + errors
  }

  /**
   * Injects pressure from outside (docs/physics.md §20): until `untilMs`, every tick's pressure is
   * the larger of the measured one and `pressure`. A new injection replaces the previous one.
   */
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
    } while (j < k && s[b + S_POOL_N] > 0)
    if (k > j && s[b + S_INJ_P] > 0) {
      // An injection that ends within the idle ticks: the tick it ends in is a data tick, so the
      // pressure falls back to the measured one there and not at the next sample.
      const e = Math.floor((s[b + S_INJ_UNTIL] - start) / tickMs)
      if (e >= j && e < k) {
        if (e > j) this.idleTicks(b, p, e - j, start + (j - 1) * tickMs)
        s[b + S_TICK_START] = start + e * tickMs
        this.dataTick(b, p)
        j = e + 1
      }
    }
    if (k > j) this.idleTicks(b, p, k - j, start + (j - 1) * tickMs)
    const t = start + k * tickMs
    s[b + S_TICK_START] = t
    this.modeClock(b, p, t)
    s[b + S_R] = this.resistance(b, p)
  }

  /** Writes resistance, pressure per axis, threshold and excess of the slot into scratch. */
  inspect(slot: number): void {
    const s = this.state
    const pr = this.params
    const x = this.scratch
    const b = slot * SLOT_FIELDS
    const p = (s[b + S_PARAMS] | 0) * PARAM_FIELDS
    const t = this.latencyThreshold(b, p)
    const errT = pr[p + P_ERR_T]
    x[X_R] = this.resistance(b, p)
    x[X_PL] = axisPressure((s[b + S_LAT] - t) / t / pr[p + P_LAT_SCALE])
    x[X_PE] = axisPressure((s[b + S_ERR] - errT) / (errT * pr[p + P_ERR_SCALE]))
    x[X_PS] = this.saturationPressure(b, p)
    x[X_T] = t
    const e = this.cachedExcess(b, p)
    x[X_E] = e
    const mode = s[b + S_MODE]
    const open = mode === MODE_CIRCUIT_BREAKER || mode === MODE_HALF_OPEN
    const nClasses = pr[p + P_N_CLASSES]
    for (let i = 0; i < nClasses; i++) x[X_ADMIT0 + i] = open ? 0 : classFraction(e, i, nClasses)
  }

  // ---- internals --------------------------------------------------------------------------------

  private collect(b: number, latencyMs: number, errorFraction: number): void {
    const s = this.state
    if (latencyMs === latencyMs) {
      let lat = latencyMs
      if (lat < 0) lat = 0
      if (lat > MAX_LATENCY_MS) lat = MAX_LATENCY_MS
      s[b + S_ACC_N] = s[b + S_ACC_N] + 1
      s[b + S_ACC_LAT] = s[b + S_ACC_LAT] + lat
    }
    if (errorFraction === errorFraction) {
      let err = errorFraction
      if (err < 0) err = 0
      if (err > 1) err = 1
      s[b + S_ACC_EN] = s[b + S_ACC_EN] + 1
      s[b + S_ACC_ERR] = s[b + S_ACC_ERR] + err
    }
  }

  private latencyThreshold(b: number, p: number): number {
    const s = this.state
    const pr = this.params
    const base = pr[p + P_BASELINE_MS]
    if (s[b + S_LEARNED_S] < pr[p + P_WARMUP_S]) return Math.max(base, pr[p + P_WARMUP_LAT_MS])
    const mu = s[b + S_MU]
    const sigma = Math.max(Math.sqrt(s[b + S_VAR]), pr[p + P_SIGMA_FLOOR] * mu)
    return Math.min(Math.max(base, mu + pr[p + P_Z] * sigma), base * pr[p + P_LEARN_CEIL])
  }

  private saturationPressure(b: number, p: number): number {
    const s = this.state
    const pr = this.params
    const ratioT = pr[p + P_SAT_RATIO_T]
    const ratio = s[b + S_INFLIGHT] / s[b + S_LIMIT]
    const inner = axisPressure((ratio - ratioT) / (1 - ratioT))
    const satT = pr[p + P_SAT_T]
    const outer = axisPressure((s[b + S_SAT] - satT) / ((1 - satT) * 0.5))
    return Math.max(inner, outer)
  }

  private resistance(b: number, p: number): number {
    const s = this.state
    const pr = this.params
    // Momentum is signed: a first-order prediction of where pressure is heading. Noise around a
    // flat level then averages out instead of being rectified into a bias.
    const m = Math.min(Math.max(s[b + S_M], -1), 1)
    let ex = pr[p + P_W_P] * s[b + S_P] + pr[p + P_W_M] * m +
      pr[p + P_W_S] * pr[p + P_SCAR_FACTOR] * s[b + S_SCAR]
    if (ex < 0) ex = 0
    return pr[p + P_R_BASE] + ex
  }

  /**
   * Excess resistance normalised by the sum of the weights, clamped to 0..1, from the resistance
   * cached at the end of every advance (P, momentum and scar only change inside ticks).
   */
  private cachedExcess(b: number, p: number): number {
    const pr = this.params
    const e = (this.state[b + S_R] - pr[p + P_R_BASE]) /
      (pr[p + P_W_P] + pr[p + P_W_M] + pr[p + P_W_S])
    return Math.min(Math.max(e, 0), 1)
  }

  /** Whole seconds until e falls below `end` if the signals relax at their own rates. */
  private retryEstimate(b: number, p: number, end: number): number {
    const s = this.state
    const pr = this.params
    const weights = pr[p + P_W_P] + pr[p + P_W_M] + pr[p + P_W_S]
    let pressure = s[b + S_P]
    let momentum = s[b + S_M]
    let scar = s[b + S_SCAR]
    const maxRetry = pr[p + P_MAX_RETRY_S]
    let t = 1.0
    while (t < maxRetry) {
      pressure = pressure * pr[p + P_D1_FAST]
      momentum = momentum * pr[p + P_D1_MOM]
      scar = scar * pr[p + P_D1_SCAR]
      const e = (pr[p + P_W_P] * pressure + pr[p + P_W_M] * Math.min(Math.max(momentum, -1), 1) +
        pr[p + P_W_S] * pr[p + P_SCAR_FACTOR] * scar) / weights
      if (e < end) return t
      t = t + 1
    }
    return maxRetry
  }

  /** The tick that just ended: fold its samples, then pressure, momentum, scar, learning, limit. */
  private dataTick(b: number, p: number): void {
    // Fields are read once into locals and written once: the same arithmetic as the
    // AssemblyScript twin, in the same order, but fewer typed-array accesses for V8.
    const s = this.state
    const pr = this.params
    const poolN = s[b + S_POOL_N]
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
    const aFast = pr[p + P_A_FAST]
    const n = s[b + S_ACC_N]
    const en = s[b + S_ACC_EN]
    let lat = s[b + S_LAT]
    let err = s[b + S_ERR]
    if (n > 0) {
      const tickLat = s[b + S_ACC_LAT] / n
      const tickStart = s[b + S_TICK_START]
      // Signals not fed for staleMs say nothing about now: the first fresh sample replaces them.
      const stale = tickStart - s[b + S_LAST_SAMPLE] >= pr[p + P_STALE_MS]
      s[b + S_LAST_SAMPLE] = tickStart
      if (s[b + S_RESEED] > 0 || stale) {
        lat = tickLat
        if (en > 0) err = s[b + S_ACC_ERR] / en
        s[b + S_RESEED] = 0
        s[b + S_FRESH] = n
      } else {
        // Warm start: the plain mean of the samples since the reseed until there are enough of
        // them for the time-based smoothing to take over, so a few first probes cannot dominate.
        const fresh = s[b + S_FRESH]
        const a = Math.max(aFast, n / (fresh + n))
        lat = lat + a * (tickLat - lat)
        if (en > 0) err = err + a * (s[b + S_ACC_ERR] / en - err)
        s[b + S_FRESH] = Math.min(fresh + n, 1000000000)
      }
      s[b + S_LAT] = lat
      s[b + S_ERR] = err
    } else if (en > 0) {
      err = err + aFast * (s[b + S_ACC_ERR] / en - err)
      s[b + S_ERR] = err
    }
    const accSat = s[b + S_ACC_SAT]
    let sat = s[b + S_SAT]
    if (accSat >= 0) {
      sat = sat + aFast * (accSat - sat)
      s[b + S_SAT] = sat
    }

    // Pressure, out of sample: the threshold is the one learned before this tick.
    const base = pr[p + P_BASELINE_MS]
    const learned = s[b + S_LEARNED_S]
    const warm = learned >= pr[p + P_WARMUP_S]
    const mu = s[b + S_MU]
    const variance = s[b + S_VAR]
    let sigma = 0.0
    let t = 0.0
    if (!warm) {
      t = Math.max(base, pr[p + P_WARMUP_LAT_MS])
    } else {
      sigma = Math.max(Math.sqrt(variance), pr[p + P_SIGMA_FLOOR] * mu)
      t = Math.min(Math.max(base, mu + pr[p + P_Z] * sigma), base * pr[p + P_LEARN_CEIL])
    }
    const errT = pr[p + P_ERR_T]
    const pl = axisPressure((lat - t) / t / pr[p + P_LAT_SCALE])
    const pe = axisPressure((err - errT) / (errT * pr[p + P_ERR_SCALE]))
    const inflight = s[b + S_INFLIGHT]
    const limit = s[b + S_LIMIT]
    const ratioT = pr[p + P_SAT_RATIO_T]
    const inner = axisPressure((inflight / limit - ratioT) / (1 - ratioT))
    const satT = pr[p + P_SAT_T]
    const outer = axisPressure((sat - satT) / ((1 - satT) * 0.5))
    const ps = Math.max(inner, outer)
    const pOld = s[b + S_P]
    let pNew = 1 - (1 - pl) * (1 - pe) * (1 - ps)
    // Injected pressure blends by the max while the tick ends within its time; then it is over.
    const inj = s[b + S_INJ_P]
    if (inj > 0) {
      if (s[b + S_TICK_START] + pr[p + P_TICK_MS] <= s[b + S_INJ_UNTIL]) {
        if (inj > pNew) pNew = inj
      } else {
        s[b + S_INJ_P] = 0
      }
    }
    s[b + S_P] = pNew

    // Momentum: smoothed dP/dt per second.
    const mOld = s[b + S_M]
    const slope = (pNew - pOld) * pr[p + P_INV_TICK_S]
    let m = mOld + pr[p + P_A_MOM] * (slope - mOld)
    if (m > MAX_MOMENTUM) m = MAX_MOMENTUM
    if (m < -MAX_MOMENTUM) m = -MAX_MOMENTUM
    s[b + S_M] = m

    // Scar: grows with time spent above the trauma level, decays with its half-life. Only a tick
    // with evidence counts (a latency sample within staleMs, any other report, or requests still
    // out): pressure nobody has confirmed for staleMs is not trauma.
    const recent = s[b + S_TICK_START] - s[b + S_LAST_SAMPLE] < pr[p + P_STALE_MS]
    const evidence = recent || en > 0 || accSat >= 0 || inflight > 0
    let trauma = 0.0
    if (evidence) trauma = this.trauma(pNew, p)
    s[b + S_SCAR] = Math.min(1, s[b + S_SCAR] * pr[p + P_D_SCAR] + pr[p + P_SCAR_GAIN] * trauma)

    const tickS = pr[p + P_TICK_S]
    const mode = s[b + S_MODE]
    if (n > 0) {
      // Learning: only healthy ticks, judged against statistics that do not contain them.
      const ceiling = base * pr[p + P_LEARN_CEIL]
      let gate = ceiling
      if (warm) gate = Math.min(mu + pr[p + P_Z] * sigma, ceiling)
      const calm = mode === MODE_OPERATIONAL || mode === MODE_BOOTSTRAP
      if (calm && err <= errT && ps <= 0 && lat <= gate) {
        const a = Math.max(pr[p + P_A_LEARN], tickS / (learned + tickS))
        const d = lat - mu
        s[b + S_MU] = mu + a * d
        s[b + S_VAR] = (1 - a) * (variance + a * d * d)
        s[b + S_LEARNED_S] = learned + tickS
      }

      // Concurrency limit, a time-based Gradient2: shrink by t/latency when queueing, grow by a
      // queue allowance while the limit is in use and latency is healthy.
      if (inflight >= limit / 2) {
        const gradient = Math.min(Math.max(t / lat, 0.5), 1)
        const queue = Math.max(4, Math.sqrt(limit))
        let next = limit + pr[p + P_A_LIMIT] * (limit * gradient + queue - limit)
        if (next < pr[p + P_LIMIT_MIN]) next = pr[p + P_LIMIT_MIN]
        if (next > pr[p + P_LIMIT_MAX]) next = pr[p + P_LIMIT_MAX]
        s[b + S_LIMIT] = next
      }
    }

    if (evidence) {
      if (pNew >= pr[p + P_TRIP_P]) s[b + S_ABOVE_S] = s[b + S_ABOVE_S] + tickS
      else s[b + S_ABOVE_S] = 0
    }

    s[b + S_ACC_N] = 0
    s[b + S_ACC_LAT] = 0
    s[b + S_ACC_EN] = 0
    s[b + S_ACC_ERR] = 0
    s[b + S_ACC_SAT] = -1
  }

  /**
   * `k` ticks with no samples after the data tick that began at `start`, in closed form: P holds
   * and momentum relaxes; scar and the trip timer count only the first `k1` ticks, those still
   * within staleMs of the last sample (all of them while requests are out), and scar decays after.
   */
  private idleTicks(b: number, p: number, k: number, start: number): void {
    const s = this.state
    const pr = this.params
    const tickMs = pr[p + P_TICK_MS]
    s[b + S_M] = s[b + S_M] * ipow(1 - pr[p + P_A_MOM], k)
    let k1 = k
    if (!(s[b + S_INFLIGHT] > 0)) {
      const left = Math.ceil((pr[p + P_STALE_MS] - (start - s[b + S_LAST_SAMPLE])) / tickMs) - 1
      k1 = Math.min(Math.max(left, 0), k)
    }
    const d = pr[p + P_D_SCAR]
    let scar = s[b + S_SCAR]
    if (k1 > 0) {
      const dk1 = ipow(d, k1)
      const gain = pr[p + P_SCAR_GAIN] * this.trauma(s[b + S_P], p)
      scar = Math.min(1, scar * dk1 + gain * (1 - dk1) / (1 - d))
      if (s[b + S_P] >= pr[p + P_TRIP_P]) {
        s[b + S_ABOVE_S] = s[b + S_ABOVE_S] + k1 * pr[p + P_TICK_S]
      }
    }
    if (k - k1 > 0) scar = scar * ipow(d, k - k1)
    s[b + S_SCAR] = scar
  }

  private trauma(pressure: number, p: number): number {
    const level = this.params[p + P_TRAUMA_P]
    if (pressure <= level) return 0
    return (pressure - level) / (1 - level)
  }

  /** Mode changes that depend on time, evaluated at tick boundaries. */
  private modeClock(b: number, p: number, t: number): void {
    const s = this.state
    const pr = this.params
    let mode = s[b + S_MODE]
    if (mode === MODE_BOOTSTRAP) {
      const warm = s[b + S_LEARNED_S] >= pr[p + P_WARMUP_S]
      if (warm || t - s[b + S_MODE_SINCE] >= pr[p + P_BOOTSTRAP_MAX_S] * 1000) {
        mode = this.setMode(b, MODE_OPERATIONAL, t)
      }
    }
    if (
      (mode === MODE_OPERATIONAL || mode === MODE_BOOTSTRAP) &&
      s[b + S_ABOVE_S] >= pr[p + P_TRIP_AFTER_S] &&
      t - s[b + S_MODE_SINCE] >= pr[p + P_MIN_DWELL_MS]
    ) {
      mode = this.setMode(b, MODE_CIRCUIT_BREAKER, t)
      s[b + S_ABOVE_S] = 0
    }
    if (mode === MODE_CIRCUIT_BREAKER && t >= s[b + S_MODE_SINCE] + pr[p + P_COOLDOWN_MS]) {
      mode = this.setMode(b, MODE_HALF_OPEN, t)
      s[b + S_RESEED] = 1
      s[b + S_FRESH] = 0
      // The first request after the cooldown is a probe, however recently one passed.
      s[b + S_LAST_PASS] = t - pr[p + P_PROBE_MS]
    }
    if (
      mode === MODE_HALF_OPEN && s[b + S_FRESH] >= pr[p + P_MIN_PROBES] &&
      s[b + S_P] <= pr[p + P_CLOSE_P]
    ) {
      this.setMode(b, MODE_OPERATIONAL, t)
      s[b + S_ABOVE_S] = 0
    }
  }

  private setMode(b: number, mode: number, t: number): number {
    const s = this.state
    s[b + S_MODE] = mode
    s[b + S_MODE_SINCE] = t
    s[b + S_TRANSITIONS] = s[b + S_TRANSITIONS] + 1
    return mode
  }
}

/** Where class `cls` of `nClasses` stops being admitted, on the excess scale 0..1. */
export function classEnd(cls: number, nClasses: number): number {
  const width = 0.8 / nClasses
  return 0.1 + (nClasses - cls) * width
}

/**
 * Admission fraction of class `cls` at excess `e`: 1 below its band, 0 above, linear within.
 * The bands tile 0.1..0.9 without overlap, lowest class first, so a class starts losing
 * admission only once every class below it is shed completely.
 */
export function classFraction(e: number, cls: number, nClasses: number): number {
  const width = 0.8 / nClasses
  const start = 0.1 + (nClasses - 1 - cls) * width
  const end = start + width
  if (e >= end) return 0
  if (e > start) return (end - e) / width
  return 1
}

/** CREDIT_BASE^(cls mod 4): exact powers of two, so a table gives the same bits as a product. */
function creditDivisor(cls: number): number {
  const k = cls < 4 ? cls : cls - 4
  if (k === 0) return 1
  if (k === 1) return 2048
  if (k === 2) return 4194304
  return 8589934592
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
