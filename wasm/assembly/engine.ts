// The AssemblyScript twin of src/engine/reference/engine.ts: the per-route physics of
// docs/physics.md. Route state lives in linear memory, one slot of SLOT_FIELDS f64 per route.
// Statements keep the order of the TypeScript twin (same IEEE operations in the same order, so
// the results are bit-identical); change both together.

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
} from './layout'

// Layout of linear memory: scratch registers, then parameter sets, then route slots. These two
// globals are per instance (each isolate instantiates its own module) and set once by init().
// wasm/assembly is excluded from deno fmt: it is AssemblyScript, and deno fmt drops decorators.
const SCRATCH_BASE: usize = 0
let paramsBase: usize = 0
let slotsBase: usize = 0

@inline
function ld(base: usize, field: i32): f64 {
  return load<f64>(base + ((<usize> field) << 3))
}

@inline
function st(base: usize, field: i32, value: f64): void {
  store<f64>(base + ((<usize> field) << 3), value)
}

@inline
function slotBase(slot: i32): usize {
  return slotsBase + (<usize> slot) * (<usize> SLOT_FIELDS << 3)
}

@inline
function paramBase(b: usize): usize {
  return paramsBase + (<usize> (<i32> ld(b, S_PARAMS))) * (<usize> PARAM_FIELDS << 3)
}

/** Reserves memory for `maxSlots` routes and `maxParamSets` parameter sets; 0 when it cannot. */
export function init(maxSlots: i32, maxParamSets: i32): i32 {
  const scratchBytes: usize = <usize> SCRATCH_FIELDS << 3
  const pBase: usize = SCRATCH_BASE + scratchBytes
  const sBase: usize = pBase + (<usize> maxParamSets) * (<usize> PARAM_FIELDS << 3)
  const end: usize = sBase + (<usize> maxSlots) * (<usize> SLOT_FIELDS << 3)
  const needPages = <i32> ((end + 0xffff) >> 16)
  const havePages = memory.size()
  if (needPages > havePages) {
    if (memory.grow(needPages - havePages) < 0) return 0
  }
  paramsBase = pBase
  slotsBase = sBase
  return 1
}

export function scratchPtr(): usize {
  return SCRATCH_BASE
}

export function paramsPtr(index: i32): usize {
  return paramsBase + (<usize> index) * (<usize> PARAM_FIELDS << 3)
}

export function slotPtr(slot: i32): usize {
  return slotBase(slot)
}

/** Pressure of one axis from its normalised excess x: 0 for x ≤ 0, x²/(1+x²) above. */
export function axisPressure(x: f64): f64 {
  if (!(x > 0)) return 0
  if (x > 100000000) return 1
  const x2 = x * x
  return x2 / (1 + x2)
}

/** base^k for a whole k ≥ 0, by squaring. */
export function ipow(base: f64, k: f64): f64 {
  let result: f64 = 1.0
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

/** Where class `cls` of `nClasses` stops being admitted, on the excess scale 0..1. */
export function classEnd(cls: f64, nClasses: f64): f64 {
  const width = 0.8 / nClasses
  return 0.1 + (nClasses - cls) * width
}

/**
 * Admission fraction of class `cls` at excess `e`: 1 below its band, 0 above, linear within.
 * The bands tile 0.1..0.9 without overlap, lowest class first, so a class starts losing
 * admission only once every class below it is shed completely.
 */
export function classFraction(e: f64, cls: f64, nClasses: f64): f64 {
  const width = 0.8 / nClasses
  const start = 0.1 + (nClasses - 1 - cls) * width
  const end = start + width
  if (e >= end) return 0
  if (e > start) return (end - e) / width
  return 1
}

function cleanTime(nowMs: f64, fallback: f64): f64 {
  if (!(nowMs == nowMs)) return fallback
  if (nowMs > MAX_TIME_MS) return MAX_TIME_MS
  if (nowMs < -MAX_TIME_MS) return -MAX_TIME_MS
  return nowMs
}

function clampRetry(seconds: f64, maxRetry: f64): f64 {
  let r = seconds
  if (!(r >= 1)) r = 1
  if (r > maxRetry) r = maxRetry
  return r
}

function code(allow: i32, reason: i32, mode: i32, retryS: f64): i32 {
  return allow | (reason << CODE_REASON_SHIFT) | (mode << CODE_MODE_SHIFT) |
    (<i32> retryS << CODE_RETRY_SHIFT)
}

export function initSlot(slot: i32, paramSet: i32, nowMs: f64): void {
  const b = slotBase(slot)
  const p = paramsBase + (<usize> paramSet) * (<usize> PARAM_FIELDS << 3)
  for (let i = 0; i < SLOT_FIELDS; i++) st(b, i, 0)
  const now = cleanTime(nowMs, 0)
  st(b, S_PARAMS, <f64> paramSet)
  st(b, S_TICK_START, now)
  st(b, S_ACC_SAT, -1)
  st(b, S_LAT, ld(p, P_BASELINE_MS))
  st(b, S_LIMIT, ld(p, P_LIMIT_INIT))
  st(b, S_MU, ld(p, P_BASELINE_MS))
  st(b, S_MODE, <f64> MODE_BOOTSTRAP)
  st(b, S_MODE_SINCE, now)
  st(b, S_LAST_PASS, now - ld(p, P_PROBE_MS))
  st(b, S_RESEED, 1)
  st(b, S_LAST_SAMPLE, now)
  st(b, S_R, resistance(b, p))
}

export function admit(slot: i32, classIndex: f64, nowMs: f64): i32 {
  const b = slotBase(slot)
  const p = paramBase(b)
  const now = Math.max(cleanTime(nowMs, ld(b, S_TICK_START)), ld(b, S_TICK_START))
  advanceSlot(b, p, now)
  const mode = <i32> ld(b, S_MODE)
  const nClasses = ld(p, P_N_CLASSES)
  let cls = Math.floor(classIndex)
  if (!(cls >= 0)) cls = nClasses - 1
  if (cls > nClasses - 1) cls = nClasses - 1
  const maxRetry = ld(p, P_MAX_RETRY_S)

  if (mode == MODE_CIRCUIT_BREAKER) {
    const waitS = Math.ceil((ld(b, S_MODE_SINCE) + ld(p, P_COOLDOWN_MS) - now) / 1000)
    return code(0, REASON_CIRCUIT_OPEN, mode, clampRetry(waitS, maxRetry))
  }
  if (mode == MODE_HALF_OPEN) {
    if (now - ld(b, S_LAST_PASS) >= ld(p, P_PROBE_MS)) {
      st(b, S_LAST_PASS, now)
      st(b, S_INFLIGHT, ld(b, S_INFLIGHT) + 1)
      return code(1, REASON_PROBE, mode, 0)
    }
    const waitS = Math.ceil(ld(p, P_PROBE_MS) * ld(p, P_MIN_PROBES) / 1000)
    return code(0, REASON_HALF_OPEN, mode, clampRetry(waitS, maxRetry))
  }

  const j = nClasses - 1 - cls
  let capFrac: f64 = 1.0
  if (nClasses > 1) capFrac = 0.9 + 0.1 * j / (nClasses - 1)
  if (ld(b, S_INFLIGHT) >= ld(b, S_LIMIT) * capFrac) {
    return code(0, REASON_CONCURRENCY, mode, 1)
  }
  const e = cachedExcess(b, p)
  const frac = classFraction(e, cls, nClasses)
  const q = Math.floor(frac * CREDIT_UNIT)
  const field = cls < 4 ? S_CREDIT0 : S_CREDIT1
  const div = creditDivisor(cls)
  const packed = ld(b, field)
  const hi = Math.floor(packed / div)
  const credit = hi - Math.floor(hi / CREDIT_BASE) * CREDIT_BASE
  let next = credit + q
  let allow = 0
  if (next >= CREDIT_UNIT) {
    next = next - CREDIT_UNIT
    allow = 1
  }
  st(b, field, packed + (next - credit) * div)
  if (allow == 1) {
    st(b, S_LAST_PASS, now)
    st(b, S_INFLIGHT, ld(b, S_INFLIGHT) + 1)
    return code(1, REASON_ADMITTED, mode, 0)
  }
  if (now - ld(b, S_LAST_PASS) >= ld(p, P_PROBE_MS)) {
    st(b, S_LAST_PASS, now)
    st(b, S_INFLIGHT, ld(b, S_INFLIGHT) + 1)
    return code(1, REASON_PROBE, mode, 0)
  }
  let waitS: f64 = 1.0
  if (frac <= 0) waitS = retryEstimate(b, p, classEnd(cls, nClasses))
  return code(0, REASON_PRESSURE, mode, clampRetry(waitS, maxRetry))
}

export function complete(
  slot: i32,
  latencyMs: f64,
  errorFraction: f64,
  nowMs: f64,
  sample: f64,
): void {
  const b = enter(slot, nowMs)
  const inflight = ld(b, S_INFLIGHT) - 1
  st(b, S_INFLIGHT, inflight > 0 ? inflight : 0)
  if (sample > 0) collect(b, latencyMs, errorFraction)
}

export function observe(
  slot: i32,
  latencyMs: f64,
  errorRate: f64,
  saturation: f64,
  nowMs: f64,
): void {
  const b = enter(slot, nowMs)
  collect(b, latencyMs, errorRate)
  if (saturation == saturation) {
    let sat = saturation
    if (sat < 0) sat = 0
    if (sat > 1) sat = 1
    if (sat > ld(b, S_ACC_SAT)) st(b, S_ACC_SAT, sat)
  }
}

export function absorb(
  slot: i32,
  count: f64,
  latencySumMs: f64,
  errorCount: f64,
  nowMs: f64,
): void {
  const b = enter(slot, nowMs)
  if (!(count >= 1)) return
  let n = Math.floor(count)
  if (n > MAX_ABSORB) n = MAX_ABSORB
  let sum = latencySumMs
  if (!(sum >= 0)) sum = 0
  if (sum > n * MAX_LATENCY_MS) sum = n * MAX_LATENCY_MS
  let errors = errorCount
  if (!(errors >= 0)) errors = 0
  if (errors > n) errors = n
  st(b, S_POOL_N, ld(b, S_POOL_N) + n)
  st(b, S_POOL_LAT, ld(b, S_POOL_LAT) + sum)
  st(b, S_POOL_ERR, ld(b, S_POOL_ERR) + errors)
}

// Injects pressure from outside: until untilMs, each tick's pressure is the larger of the
// measured one and this. A new injection replaces the previous one.
export function inject(slot: i32, pressure: f64, untilMs: f64, nowMs: f64): void {
  const b = enter(slot, nowMs)
  let inj = pressure
  if (!(inj >= 0)) inj = 0
  if (inj > 1) inj = 1
  st(b, S_INJ_P, inj)
  st(b, S_INJ_UNTIL, cleanTime(untilMs, ld(b, S_TICK_START)))
}

// Advances the slot to nowMs (a clock that went back changes nothing); returns its base.
function enter(slot: i32, nowMs: f64): usize {
  const b = slotBase(slot)
  advanceSlot(b, paramBase(b), Math.max(cleanTime(nowMs, ld(b, S_TICK_START)), ld(b, S_TICK_START)))
  return b
}

export function advance(slot: i32, nowMs: f64): void {
  const b = slotBase(slot)
  advanceSlot(b, paramBase(b), nowMs)
}

export function inspect(slot: i32): void {
  const b = slotBase(slot)
  const p = paramBase(b)
  const x = SCRATCH_BASE
  const t = latencyThreshold(b, p)
  const errT = ld(p, P_ERR_T)
  st(x, X_R, resistance(b, p))
  st(x, X_PL, axisPressure((ld(b, S_LAT) - t) / t / ld(p, P_LAT_SCALE)))
  st(x, X_PE, axisPressure((ld(b, S_ERR) - errT) / (errT * ld(p, P_ERR_SCALE))))
  st(x, X_PS, saturationPressure(b, p))
  st(x, X_T, t)
  const e = cachedExcess(b, p)
  st(x, X_E, e)
  const mode = <i32> ld(b, S_MODE)
  const open = mode == MODE_CIRCUIT_BREAKER || mode == MODE_HALF_OPEN
  const nClasses = ld(p, P_N_CLASSES)
  for (let i = 0; i < <i32> nClasses; i++) {
    st(x, X_ADMIT0 + i, open ? 0 : classFraction(e, <f64> i, nClasses))
  }
}

function advanceSlot(b: usize, p: usize, nowMs: f64): void {
  const tickMs = ld(p, P_TICK_MS)
  const start = ld(b, S_TICK_START)
  const now = cleanTime(nowMs, start)
  if (!(now >= start + tickMs)) return
  const k = Math.floor((now - start) / tickMs)
  let j: f64 = 0
  do {
    st(b, S_TICK_START, start + j * tickMs)
    dataTick(b, p)
    j = j + 1
  } while (j < k && ld(b, S_POOL_N) > 0)
  if (k > j && ld(b, S_INJ_P) > 0) {
    // An injection that ends within the idle ticks: the tick it ends in is a data tick.
    const e = Math.floor((ld(b, S_INJ_UNTIL) - start) / tickMs)
    if (e >= j && e < k) {
      if (e > j) idleTicks(b, p, e - j, start + (j - 1) * tickMs)
      st(b, S_TICK_START, start + e * tickMs)
      dataTick(b, p)
      j = e + 1
    }
  }
  if (k > j) idleTicks(b, p, k - j, start + (j - 1) * tickMs)
  const t = start + k * tickMs
  st(b, S_TICK_START, t)
  modeClock(b, p, t)
  st(b, S_R, resistance(b, p))
}

function collect(b: usize, latencyMs: f64, errorFraction: f64): void {
  if (latencyMs == latencyMs) {
    let lat = latencyMs
    if (lat < 0) lat = 0
    if (lat > MAX_LATENCY_MS) lat = MAX_LATENCY_MS
    st(b, S_ACC_N, ld(b, S_ACC_N) + 1)
    st(b, S_ACC_LAT, ld(b, S_ACC_LAT) + lat)
  }
  if (errorFraction == errorFraction) {
    let err = errorFraction
    if (err < 0) err = 0
    if (err > 1) err = 1
    st(b, S_ACC_EN, ld(b, S_ACC_EN) + 1)
    st(b, S_ACC_ERR, ld(b, S_ACC_ERR) + err)
  }
}

function latencyThreshold(b: usize, p: usize): f64 {
  const base = ld(p, P_BASELINE_MS)
  if (ld(b, S_LEARNED_S) < ld(p, P_WARMUP_S)) return Math.max(base, ld(p, P_WARMUP_LAT_MS))
  const mu = ld(b, S_MU)
  const sigma = Math.max(Math.sqrt(ld(b, S_VAR)), ld(p, P_SIGMA_FLOOR) * mu)
  return Math.min(Math.max(base, mu + ld(p, P_Z) * sigma), base * ld(p, P_LEARN_CEIL))
}

function saturationPressure(b: usize, p: usize): f64 {
  const ratioT = ld(p, P_SAT_RATIO_T)
  const ratio = ld(b, S_INFLIGHT) / ld(b, S_LIMIT)
  const inner = axisPressure((ratio - ratioT) / (1 - ratioT))
  const satT = ld(p, P_SAT_T)
  const outer = axisPressure((ld(b, S_SAT) - satT) / ((1 - satT) * 0.5))
  return Math.max(inner, outer)
}

function resistance(b: usize, p: usize): f64 {
  const m = Math.min(Math.max(ld(b, S_M), -1), 1)
  let ex = ld(p, P_W_P) * ld(b, S_P) + ld(p, P_W_M) * m +
    ld(p, P_W_S) * ld(p, P_SCAR_FACTOR) * ld(b, S_SCAR)
  if (ex < 0) ex = 0
  return ld(p, P_R_BASE) + ex
}

// The excess as of the last tick, from the cached resistance (P, M and scar only change in ticks).
function cachedExcess(b: usize, p: usize): f64 {
  const e = (ld(b, S_R) - ld(p, P_R_BASE)) / (ld(p, P_W_P) + ld(p, P_W_M) + ld(p, P_W_S))
  return Math.min(Math.max(e, 0), 1)
}

// CREDIT_BASE^(cls mod 4): exact powers of two, so a table gives the same bits as a product.
function creditDivisor(cls: f64): f64 {
  const k = cls < 4 ? cls : cls - 4
  if (k == 0) return 1
  if (k == 1) return 2048
  if (k == 2) return 4194304
  return 8589934592
}


function retryEstimate(b: usize, p: usize, end: f64): f64 {
  const weights = ld(p, P_W_P) + ld(p, P_W_M) + ld(p, P_W_S)
  let pressure = ld(b, S_P)
  let momentum = ld(b, S_M)
  let scar = ld(b, S_SCAR)
  const maxRetry = ld(p, P_MAX_RETRY_S)
  let t: f64 = 1.0
  while (t < maxRetry) {
    pressure = pressure * ld(p, P_D1_FAST)
    momentum = momentum * ld(p, P_D1_MOM)
    scar = scar * ld(p, P_D1_SCAR)
    const e = (ld(p, P_W_P) * pressure + ld(p, P_W_M) * Math.min(Math.max(momentum, -1), 1) +
      ld(p, P_W_S) * ld(p, P_SCAR_FACTOR) * scar) / weights
    if (e < end) return t
    t = t + 1
  }
  return maxRetry
}

function dataTick(b: usize, p: usize): void {
  const poolN = ld(b, S_POOL_N)
  if (poolN > 0) {
    let f = ld(p, P_TICK_MS) / ld(p, P_SPREAD_MS)
    if (f > 1 || poolN * (1 - f) < 0.01) f = 1
    const moveN = poolN * f
    const moveLat = ld(b, S_POOL_LAT) * f
    const moveErr = ld(b, S_POOL_ERR) * f
    st(b, S_ACC_N, ld(b, S_ACC_N) + moveN)
    st(b, S_ACC_LAT, ld(b, S_ACC_LAT) + moveLat)
    st(b, S_ACC_EN, ld(b, S_ACC_EN) + moveN)
    st(b, S_ACC_ERR, ld(b, S_ACC_ERR) + moveErr)
    if (f == 1) {
      st(b, S_POOL_N, 0)
      st(b, S_POOL_LAT, 0)
      st(b, S_POOL_ERR, 0)
    } else {
      st(b, S_POOL_N, poolN - moveN)
      st(b, S_POOL_LAT, ld(b, S_POOL_LAT) - moveLat)
      st(b, S_POOL_ERR, ld(b, S_POOL_ERR) - moveErr)
    }
  }
  const aFast = ld(p, P_A_FAST)
  const n = ld(b, S_ACC_N)
  const en = ld(b, S_ACC_EN)
  if (n > 0) {
    const tickLat = ld(b, S_ACC_LAT) / n
    const tickStart = ld(b, S_TICK_START)
    const stale = tickStart - ld(b, S_LAST_SAMPLE) >= ld(p, P_STALE_MS)
    st(b, S_LAST_SAMPLE, tickStart)
    if (ld(b, S_RESEED) > 0 || stale) {
      st(b, S_LAT, tickLat)
      if (en > 0) st(b, S_ERR, ld(b, S_ACC_ERR) / en)
      st(b, S_RESEED, 0)
      st(b, S_FRESH, n)
    } else {
      const fresh = ld(b, S_FRESH)
      const a = Math.max(aFast, n / (fresh + n))
      st(b, S_LAT, ld(b, S_LAT) + a * (tickLat - ld(b, S_LAT)))
      if (en > 0) st(b, S_ERR, ld(b, S_ERR) + a * (ld(b, S_ACC_ERR) / en - ld(b, S_ERR)))
      st(b, S_FRESH, Math.min(fresh + n, 1000000000))
    }
  } else if (en > 0) {
    st(b, S_ERR, ld(b, S_ERR) + aFast * (ld(b, S_ACC_ERR) / en - ld(b, S_ERR)))
  }
  const accSat = ld(b, S_ACC_SAT)
  if (accSat >= 0) st(b, S_SAT, ld(b, S_SAT) + aFast * (accSat - ld(b, S_SAT)))

  const t = latencyThreshold(b, p)
  const errT = ld(p, P_ERR_T)
  const lat = ld(b, S_LAT)
  const pl = axisPressure((lat - t) / t / ld(p, P_LAT_SCALE))
  const pe = axisPressure((ld(b, S_ERR) - errT) / (errT * ld(p, P_ERR_SCALE)))
  const ps = saturationPressure(b, p)
  const pOld = ld(b, S_P)
  let pNew = 1 - (1 - pl) * (1 - pe) * (1 - ps)
  // Injected pressure blends by the max while the tick ends within its time; then it is over.
  const inj = ld(b, S_INJ_P)
  if (inj > 0) {
    if (ld(b, S_TICK_START) + ld(p, P_TICK_MS) <= ld(b, S_INJ_UNTIL)) {
      if (inj > pNew) pNew = inj
    } else {
      st(b, S_INJ_P, 0)
    }
  }
  st(b, S_P, pNew)

  const slope = (pNew - pOld) * ld(p, P_INV_TICK_S)
  let m = ld(b, S_M) + ld(p, P_A_MOM) * (slope - ld(b, S_M))
  if (m > MAX_MOMENTUM) m = MAX_MOMENTUM
  if (m < -MAX_MOMENTUM) m = -MAX_MOMENTUM
  st(b, S_M, m)

  const recent = ld(b, S_TICK_START) - ld(b, S_LAST_SAMPLE) < ld(p, P_STALE_MS)
  const evidence = recent || en > 0 || accSat >= 0 || ld(b, S_INFLIGHT) > 0
  let trauma: f64 = 0.0
  if (evidence) trauma = traumaOf(pNew, p)
  st(b, S_SCAR, Math.min(1, ld(b, S_SCAR) * ld(p, P_D_SCAR) + ld(p, P_SCAR_GAIN) * trauma))

  const tickS = ld(p, P_TICK_S)
  const mode = <i32> ld(b, S_MODE)
  if (n > 0) {
    const base = ld(p, P_BASELINE_MS)
    const ceiling = base * ld(p, P_LEARN_CEIL)
    const learned = ld(b, S_LEARNED_S)
    let gate = ceiling
    if (learned >= ld(p, P_WARMUP_S)) {
      const mu0 = ld(b, S_MU)
      const sigma0 = Math.max(Math.sqrt(ld(b, S_VAR)), ld(p, P_SIGMA_FLOOR) * mu0)
      gate = Math.min(mu0 + ld(p, P_Z) * sigma0, ceiling)
    }
    const calm = mode == MODE_OPERATIONAL || mode == MODE_BOOTSTRAP
    if (calm && ld(b, S_ERR) <= errT && ps <= 0 && lat <= gate) {
      const a = Math.max(ld(p, P_A_LEARN), tickS / (learned + tickS))
      const d = lat - ld(b, S_MU)
      st(b, S_MU, ld(b, S_MU) + a * d)
      st(b, S_VAR, (1 - a) * (ld(b, S_VAR) + a * d * d))
      st(b, S_LEARNED_S, learned + tickS)
    }

    const limit = ld(b, S_LIMIT)
    if (ld(b, S_INFLIGHT) >= limit / 2) {
      const gradient = Math.min(Math.max(t / lat, 0.5), 1)
      const queue = Math.max(4, Math.sqrt(limit))
      let next = limit + ld(p, P_A_LIMIT) * (limit * gradient + queue - limit)
      if (next < ld(p, P_LIMIT_MIN)) next = ld(p, P_LIMIT_MIN)
      if (next > ld(p, P_LIMIT_MAX)) next = ld(p, P_LIMIT_MAX)
      st(b, S_LIMIT, next)
    }
  }

  if (evidence) {
    if (pNew >= ld(p, P_TRIP_P)) st(b, S_ABOVE_S, ld(b, S_ABOVE_S) + tickS)
    else st(b, S_ABOVE_S, 0)
  }

  st(b, S_ACC_N, 0)
  st(b, S_ACC_LAT, 0)
  st(b, S_ACC_EN, 0)
  st(b, S_ACC_ERR, 0)
  st(b, S_ACC_SAT, -1)
}

function idleTicks(b: usize, p: usize, k: f64, start: f64): void {
  const tickMs = ld(p, P_TICK_MS)
  st(b, S_M, ld(b, S_M) * ipow(1 - ld(p, P_A_MOM), k))
  let k1 = k
  if (!(ld(b, S_INFLIGHT) > 0)) {
    const left = Math.ceil((ld(p, P_STALE_MS) - (start - ld(b, S_LAST_SAMPLE))) / tickMs) - 1
    k1 = Math.min(Math.max(left, 0), k)
  }
  const d = ld(p, P_D_SCAR)
  let scar = ld(b, S_SCAR)
  if (k1 > 0) {
    const dk1 = ipow(d, k1)
    const gain = ld(p, P_SCAR_GAIN) * traumaOf(ld(b, S_P), p)
    scar = Math.min(1, scar * dk1 + gain * (1 - dk1) / (1 - d))
    if (ld(b, S_P) >= ld(p, P_TRIP_P)) st(b, S_ABOVE_S, ld(b, S_ABOVE_S) + k1 * ld(p, P_TICK_S))
  }
  if (k - k1 > 0) scar = scar * ipow(d, k - k1)
  st(b, S_SCAR, scar)
}

function traumaOf(pressure: f64, p: usize): f64 {
  const level = ld(p, P_TRAUMA_P)
  if (pressure <= level) return 0
  return (pressure - level) / (1 - level)
}

function modeClock(b: usize, p: usize, t: f64): void {
  let mode = <i32> ld(b, S_MODE)
  if (mode == MODE_BOOTSTRAP) {
    const warm = ld(b, S_LEARNED_S) >= ld(p, P_WARMUP_S)
    if (warm || t - ld(b, S_MODE_SINCE) >= ld(p, P_BOOTSTRAP_MAX_S) * 1000) {
      mode = setMode(b, MODE_OPERATIONAL, t)
    }
  }
  if (
    (mode == MODE_OPERATIONAL || mode == MODE_BOOTSTRAP) &&
    ld(b, S_ABOVE_S) >= ld(p, P_TRIP_AFTER_S) &&
    t - ld(b, S_MODE_SINCE) >= ld(p, P_MIN_DWELL_MS)
  ) {
    mode = setMode(b, MODE_CIRCUIT_BREAKER, t)
    st(b, S_ABOVE_S, 0)
  }
  if (mode == MODE_CIRCUIT_BREAKER && t >= ld(b, S_MODE_SINCE) + ld(p, P_COOLDOWN_MS)) {
    mode = setMode(b, MODE_HALF_OPEN, t)
    st(b, S_RESEED, 1)
    st(b, S_FRESH, 0)
    st(b, S_LAST_PASS, t - ld(p, P_PROBE_MS))
  }
  if (
    mode == MODE_HALF_OPEN && ld(b, S_FRESH) >= ld(p, P_MIN_PROBES) &&
    ld(b, S_P) <= ld(p, P_CLOSE_P)
  ) {
    setMode(b, MODE_OPERATIONAL, t)
    st(b, S_ABOVE_S, 0)
  }
}

function setMode(b: usize, mode: i32, t: f64): i32 {
  st(b, S_MODE, <f64> mode)
  st(b, S_MODE_SINCE, t)
  st(b, S_TRANSITIONS, ld(b, S_TRANSITIONS) + 1)
  return mode
}
