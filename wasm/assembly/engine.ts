// The AssemblyScript twin of src/engine/reference/engine.ts: the per-route capacity law of
// docs/physics.md. Route state lives in linear memory, one slot of SLOT_FIELDS f64 per route.
// Statements keep the order of the TypeScript twin (same IEEE operations in the same order, so
// the results are bit-identical); change both together.

import {
  CODE_MODE_SHIFT,
  CODE_REASON_SHIFT,
  CODE_RETRY_SHIFT,
  MAX_ABSORB,
  EVIDENCE_SAMPLES,
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
  P_BASELINE_MS,
  P_DRAIN_FRACTION,
  P_DRAIN_GIVEUP,
  P_DRAIN_MS,
  P_DRAIN_SAMPLES,
  P_DRAIN_SHRINK_S,
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
  P_RESUME_AT_ANSWER,
  P_BASE_Z,
  P_GROW_Z,
  P_DRAIN_RELEASE,
  P_SLO,
  P_START_EVIDENCE,
  P_RAMP_START,
  P_RESERVE,
  P_SAT_T,
  P_SCAR_FACTOR,
  P_SILENCE,
  P_SPREAD_MS,
  P_STALE_MS,
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
  S_DEM0,
  S_DRAIN,
  S_DRAIN_DONE,
  S_DRAIN_GOAL,
  S_DRAIN_K,
  S_DRAIN_L,
  S_DRAIN_N,
  S_DRAIN_SUM,
  S_DRAIN_T,
  S_DRAIN_TK,
  S_DRAINS,
  S_ERR,
  S_FLEET_USE,
  S_DRAIN_SQ,
  S_BASE_N,
  S_BASE_CV2,
  S_LATE,
  S_ACC_LATE,
  S_FAIL_LAT,
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
  st(b, S_BASE, ld(p, P_BASELINE_MS))
  st(b, S_MODE, <f64> MODE_BOOTSTRAP)
  st(b, S_MODE_SINCE, now)
  st(b, S_RESEED, 1)
  st(b, S_LAST_SAMPLE, now)
  st(b, S_LAST_DONE, now)
  st(b, S_RAMP, 1)
  st(b, S_SHARE, 1)
  st(b, S_SLOW, 1)
  st(b, S_HOLD_UNTIL, -MAX_TIME_MS)
  st(b, S_LIMITED_UNTIL, -MAX_TIME_MS)
  for (let c = 0; c < 8; c++) {
    st(b, S_ASK0 + c, -MAX_TIME_MS)
    st(b, S_SHARE0 + c, 1)
  }
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
  const ci = <i32> cls
  const maxRetry = ld(p, P_MAX_RETRY_S)
  st(b, S_ASK0 + ci, now)
  st(b, S_OFF0 + ci, ld(b, S_OFF0 + ci) + 1)
  let asking: f64 = 0.0
  let demand: f64 = 0.0
  for (let c = 0; c < ci; c++) {
    if (now - ld(b, S_ASK0 + c) < ld(p, P_ASK_MS)) asking = asking + 1
    demand = demand + ld(b, S_DEM0 + c)
  }

  if (mode == MODE_CIRCUIT_BREAKER) {
    let need: f64 = 1.0
    if (ld(p, P_RESERVE) > 0) need = 1 + asking * Math.max(1, tokenRate(b, p))
    if (ld(b, S_TOKENS) >= need) {
      st(b, S_TOKENS, ld(b, S_TOKENS) - 1)
      pass(b, ci, now)
      return code(1, REASON_PROBE, mode, 0)
    }
    return code(0, REASON_CIRCUIT_OPEN, mode, clampRetry(rampWait(b, p), maxRetry))
  }

  drainCheck(b, p, now)
  const limit = localLimit(b, p)
  let reserve: f64 = 0.0
  if (ld(b, S_LIMITED_UNTIL) > now) {
    let unit = ld(b, S_SHORT)
    if (!(unit > 0)) unit = ld(b, S_BASE)
    reserve = demand * unit * ld(p, P_RESERVE)
    if (reserve > limit) reserve = limit
  }
  const eff = ld(b, S_INFLIGHT) - ld(b, S_GHOSTS)
  if (eff < limit - reserve) {
    if (ld(b, S_DRAIN) == 2 && ld(b, S_DRAIN_K) < ld(b, S_DRAIN_GOAL)) {
      // The first requests admitted into the emptied queue are the drain's sample.
      st(b, S_DRAIN_K, ld(b, S_DRAIN_K) + 1)
      if (ld(b, S_DRAIN_K) >= ld(b, S_DRAIN_GOAL)) st(b, S_DRAIN_TK, now)
    } else if (
      ld(b, S_DRAIN) == 2 && ld(p, P_DRAIN_RELEASE) > 0 && now <= ld(b, S_DRAIN_TK) + 1
    ) {
      // Released: an admission the sample's window cannot tell from the sample's is counted in it,
      // so that the drain waits for its answer too (the slowest are not left out).
      st(b, S_DRAIN_K, ld(b, S_DRAIN_K) + 1)
    }
    pass(b, ci, now)
    return code(1, REASON_ADMITTED, mode, 0)
  }
  st(b, S_LIMITED_UNTIL, now + 1000)
  let waitS: f64 = 1.0
  const hold = ld(b, S_HOLD_UNTIL)
  if (hold > now) waitS = Math.ceil((hold - now) / 1000)
  return code(0, REASON_CONCURRENCY, mode, clampRetry(waitS, maxRetry))
}

export function admission(slot: i32, classIndex: f64): f64 {
  const b = slotBase(slot)
  const p = paramBase(b)
  const nClasses = ld(p, P_N_CLASSES)
  let cls = Math.floor(classIndex)
  if (!(cls >= 0)) cls = nClasses - 1
  if (cls > nClasses - 1) cls = nClasses - 1
  return ld(b, S_SHARE0 + <i32> cls)
}

export function complete(
  slot: i32,
  latencyMs: f64,
  outcome: f64,
  retryAfterS: f64,
  nowMs: f64,
  sample: f64,
): void {
  const b = slotBase(slot)
  const p = paramBase(b)
  const now = Math.max(cleanTime(nowMs, ld(b, S_TICK_START)), ld(b, S_TICK_START))
  advanceSlot(b, p, now)
  let inflight = ld(b, S_INFLIGHT) - 1
  if (!(inflight > 0)) inflight = 0
  st(b, S_INFLIGHT, inflight)
  // Ghosts before this answer: the test below is of the request that just left.
  const ghosts = ld(b, S_GHOSTS)
  if (ghosts > inflight) st(b, S_GHOSTS, inflight)
  if (!(sample > 0)) {
    drainCheck(b, p, now)
    return
  }
  let kind = Math.floor(outcome)
  if (!(kind >= <f64> OUTCOME_OK && kind <= <f64> OUTCOME_LOST)) kind = <f64> OUTCOME_ERROR
  let lat = latencyMs
  if (lat == lat) {
    if (lat < 0) lat = 0
    if (lat > MAX_LATENCY_MS) lat = MAX_LATENCY_MS
  }
  // A ghost was admitted strictly before the mode change: one admitted at that instant came after.
  if (ghosts > 0 && lat == lat && lat > now - ld(b, S_GHOST_T)) {
    let g = ghosts - 1
    if (g > inflight) g = inflight
    st(b, S_GHOSTS, g)
    drainCheck(b, p, now)
    return
  }
  if (
    ld(b, S_DRAIN) == 2 && lat == lat && lat <= now - ld(b, S_DRAIN_T) &&
    now - lat <= ld(b, S_DRAIN_TK) + 1
  ) {
    // One of the drain's sample, counted whatever its speed or outcome.
    st(b, S_DRAIN_DONE, ld(b, S_DRAIN_DONE) + 1)
    if (kind == <f64> OUTCOME_OK) {
      st(b, S_DRAIN_N, ld(b, S_DRAIN_N) + 1)
      st(b, S_DRAIN_SUM, ld(b, S_DRAIN_SUM) + lat)
      st(b, S_DRAIN_SQ, ld(b, S_DRAIN_SQ) + lat * lat)
    }
  }
  let failed: f64 = 0.0
  if (kind != <f64> OUTCOME_OK) failed = 1
  collect(b, lat, failed)
  st(b, S_ACC_LN, ld(b, S_ACC_LN) + 1)
  if (kind == <f64> OUTCOME_OK) {
    st(b, S_ACC_LOK, ld(b, S_ACC_LOK) + 1)
    // A probe answered in the outage mode releases two (slow start's acknowledgements).
    if (ld(b, S_MODE) == <f64> MODE_CIRCUIT_BREAKER) st(b, S_TOKENS, ld(b, S_TOKENS) + 2)
    st(b, S_LAST_DONE, now)
    if (lat == lat) {
      st(b, S_ACC_OKN, ld(b, S_ACC_OKN) + 1)
      st(b, S_ACC_OKLAT, ld(b, S_ACC_OKLAT) + lat)
      // Later than the route's SLO: the symptom the SLO's queue rule acts on (§4).
      const slo = ld(p, P_SLO)
      if (slo > 0 && lat > slo) st(b, S_ACC_LATE, ld(b, S_ACC_LATE) + 1)
    }
    if (ld(b, S_MODE) == <f64> MODE_CIRCUIT_BREAKER && ld(p, P_RESUME_AT_ANSWER) > 0) {
      resumeAtAnswer(b, p, now)
    }
  } else {
    if (lat == lat) st(b, S_ACC_FLAT, ld(b, S_ACC_FLAT) + lat)
    if (kind != <f64> OUTCOME_LOST) st(b, S_LAST_DONE, now)
    if (kind == <f64> OUTCOME_OVERLOAD || kind == <f64> OUTCOME_LOST) {
      st(b, S_ACC_OV, ld(b, S_ACC_OV) + 1)
    }
    if (kind == <f64> OUTCOME_LOST) st(b, S_ACC_LOST, ld(b, S_ACC_LOST) + 1)
  }
  if (retryAfterS > 0) {
    let wait = retryAfterS
    if (wait > ld(p, P_MAX_RETRY_S)) wait = ld(p, P_MAX_RETRY_S)
    const until = now + wait * 1000
    if (until > ld(b, S_HOLD_UNTIL)) st(b, S_HOLD_UNTIL, until)
  }
  drainCheck(b, p, now)
}

export function observe(
  slot: i32,
  latencyMs: f64,
  errorRate: f64,
  saturation: f64,
  nowMs: f64,
): void {
  const b = enter(slot, nowMs)
  let lat = latencyMs
  if (lat == lat) {
    if (lat < 0) lat = 0
    if (lat > MAX_LATENCY_MS) lat = MAX_LATENCY_MS
  }
  collect(b, lat, errorRate)
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
  isolates: f64,
  nowMs: f64,
  fleetInflight: f64,
): void {
  const b = enter(slot, nowMs)
  if (isolates >= 1) {
    let k = Math.floor(isolates)
    if (k > 1000000) k = 1000000
    st(b, S_SHARE, 1 / k)
  }
  if (fleetInflight >= 0) {
    let f = fleetInflight
    if (f > MAX_ABSORB) f = MAX_ABSORB
    st(b, S_FLEET_USE, f)
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
    const now = Math.max(cleanTime(nowMs, ld(b, S_TICK_START)), ld(b, S_TICK_START))
    if (ld(b, S_LAST_DONE) < now) st(b, S_LAST_DONE, now)
  }
  st(b, S_POOL_N, ld(b, S_POOL_N) + n)
  st(b, S_POOL_LAT, ld(b, S_POOL_LAT) + sum)
  st(b, S_POOL_ERR, ld(b, S_POOL_ERR) + errors)
}

export function inject(slot: i32, pressure: f64, untilMs: f64, nowMs: f64): void {
  const b = enter(slot, nowMs)
  let inj = pressure
  if (!(inj >= 0)) inj = 0
  if (inj > 1) inj = 1
  st(b, S_INJ_P, inj)
  st(b, S_INJ_UNTIL, cleanTime(untilMs, ld(b, S_TICK_START)))
}

function enter(slot: i32, nowMs: f64): usize {
  const b = slotBase(slot)
  advanceSlot(b, paramBase(b), Math.max(cleanTime(nowMs, ld(b, S_TICK_START)), ld(b, S_TICK_START)))
  return b
}

export function advance(slot: i32, nowMs: f64): void {
  const b = slotBase(slot)
  advanceSlot(b, paramBase(b), nowMs)
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
    modeClock(b, p, start + j * tickMs)
  } while (j < k && ld(b, S_POOL_N) > 0)
  if (k > j && ld(b, S_INJ_P) > 0) {
    const e = Math.floor((ld(b, S_INJ_UNTIL) - start) / tickMs)
    if (e >= j && e < k) {
      if (e > j) idleTicks(b, p, e - j)
      st(b, S_TICK_START, start + e * tickMs)
      dataTick(b, p)
      j = e + 1
      modeClock(b, p, start + j * tickMs)
    }
  }
  if (k > j) idleTicks(b, p, k - j)
  const t = start + k * tickMs
  st(b, S_TICK_START, t)
  modeClock(b, p, t)
  st(b, S_R, resistance(b, p))
}

export function inspect(slot: i32): void {
  const b = slotBase(slot)
  const p = paramBase(b)
  const x = SCRATCH_BASE
  st(x, X_R, resistance(b, p))
  st(x, X_PL, queuePressure(b, p))
  st(x, X_PE, ld(b, S_OVERLOAD))
  st(x, X_PS, saturationPressure(b, p))
  st(x, X_T, target(b, p))
  if (<i32> ld(b, S_MODE) == MODE_CIRCUIT_BREAKER) {
    st(x, X_E, ld(b, S_RAMP) * ld(b, S_LIMIT) * ld(b, S_SHARE))
  } else {
    st(x, X_E, localLimit(b, p))
  }
  const nClasses = <i32> ld(p, P_N_CLASSES)
  for (let i = 0; i < nClasses; i++) st(x, X_ADMIT0 + i, ld(b, S_SHARE0 + i))
}

function pass(b: usize, ci: i32, now: f64): void {
  const eff = ld(b, S_INFLIGHT) - ld(b, S_GHOSTS)
  if (eff <= 0 && ld(b, S_LAST_DONE) < now) st(b, S_LAST_DONE, now)
  st(b, S_INFLIGHT, ld(b, S_INFLIGHT) + 1)
  st(b, S_ADM0 + ci, ld(b, S_ADM0 + ci) + 1)
  if (eff + 1 > ld(b, S_PEAK)) st(b, S_PEAK, eff + 1)
}

function localLimit(b: usize, p: usize): f64 {
  let limit = ld(b, S_LIMIT) * ld(b, S_SHARE)
  const inj = ld(b, S_INJ_EFF)
  if (inj > 0) limit = limit * (1 - inj)
  const drain = ld(b, S_DRAIN)
  // Released (§6): the sample is admitted; later arrivals queue behind it, first come first served.
  const released = drain == 2 && ld(p, P_DRAIN_RELEASE) > 0 &&
    ld(b, S_DRAIN_K) >= ld(b, S_DRAIN_GOAL)
  if (drain > 0 && !released) {
    limit = limit * ld(p, P_DRAIN_FRACTION)
    let servers = ld(b, S_RATE) * ld(b, S_BASE)
    if (servers < 1) servers = 1
    if (servers < limit) limit = servers
  }
  return limit
}

function drainCheck(b: usize, p: usize, now: f64): void {
  if (ld(b, S_DRAIN) != 1) return
  const level = localLimit(b, p)
  if (ld(b, S_INFLIGHT) - ld(b, S_GHOSTS) <= level) {
    st(b, S_DRAIN, 2)
    st(b, S_DRAIN_T, now)
    st(b, S_DRAIN_K, 0)
    st(b, S_DRAIN_TK, MAX_TIME_MS)
    st(b, S_DRAIN_DONE, 0)
    // One round of the drain level, and at least drainSamples: more answers for the same wait.
    let goal = Math.floor(level)
    if (goal < ld(p, P_DRAIN_SAMPLES)) goal = ld(p, P_DRAIN_SAMPLES)
    // An isolate that shares the route takes its few requests' mean only from enough of them.
    if (ld(b, S_SHARE) < 1 && goal < EVIDENCE_SAMPLES) goal = EVIDENCE_SAMPLES
    st(b, S_DRAIN_GOAL, goal)
  }
}

function collect(b: usize, latencyMs: f64, errorFraction: f64): void {
  if (latencyMs == latencyMs) {
    st(b, S_ACC_N, ld(b, S_ACC_N) + 1)
    st(b, S_ACC_LAT, ld(b, S_ACC_LAT) + latencyMs)
  }
  if (errorFraction == errorFraction) {
    let err = errorFraction
    if (err < 0) err = 0
    if (err > 1) err = 1
    st(b, S_ACC_EN, ld(b, S_ACC_EN) + 1)
    st(b, S_ACC_ERR, ld(b, S_ACC_ERR) + err)
  }
}

/** z of the standard normal's 99th percentile. */
const Z99: f64 = 2.3263478740408408

/** The share of answers beyond the 99th percentile: more of them late is a queue's (§4). */
const LATE_TAIL: f64 = 0.01

/** ln(1 + x) for x ≥ 0 from square roots and the atanh series (the TypeScript twin's, op for op). */
export function lnOnePlus(x: f64): f64 {
  let y = 1 + x
  let k: f64 = 1.0
  for (let i = 0; i < 64 && y > 1.0625; i++) {
    y = Math.sqrt(y)
    k = k * 2
  }
  const t = (y - 1) / (y + 1)
  const t2 = t * t
  let term = t
  let sum: f64 = 0.0
  for (let i: f64 = 1; i <= 11; i += 2) {
    sum = sum + term / i
    term = term * t2
  }
  return 2 * k * sum
}

/** e^x for |x| ≤ 700 by halving, the Taylor series and squaring (the twin's, op for op). */
export function expSmall(x: f64): f64 {
  let r = x
  let k = 0
  while (k < 64 && (r > 0.0625 || r < -0.0625)) {
    r = r / 2
    k++
  }
  let term: f64 = 1.0
  let sum: f64 = 1.0
  for (let i: f64 = 1; i <= 9; i++) {
    term = term * r / i
    sum = sum + term
  }
  for (let i = 0; i < k; i++) sum = sum * sum
  return sum
}

/** The 99th percentile of a lognormal answer ÷ its mean, for a squared coefficient of variation. */
export function tail99(cv2: f64): f64 {
  const s2 = lnOnePlus(cv2)
  return expSmall(Z99 * Math.sqrt(s2) - s2 / 2)
}

/**
 * The short latency the gradient holds (§4): tolerance × base, or, for a route with an SLO and a
 * measured base, base + the SLO's room past the 99th percentile of an unqueued answer.
 */
function target(b: usize, p: usize): f64 {
  const base = ld(b, S_BASE)
  let t = ld(p, P_TOLERANCE) * base
  const slo = ld(p, P_SLO)
  if (slo > 0 && ld(b, S_DRAINS) > 0 && ld(b, S_LATE) > LATE_TAIL) {
    let cv2 = ld(b, S_BASE_CV2)
    if (!(cv2 > 0)) cv2 = 1
    let room = slo - base * tail99(cv2)
    if (room < 0) room = 0
    if (base + room < t) t = base + room
  }
  return t
}

function queuePressure(b: usize, p: usize): f64 {
  const short = ld(b, S_SHORT)
  if (!(short > 0)) return 0
  const x = 1 - (target(b, p) + 1) / (short + 1)
  return x > 0 ? x : 0
}

function saturationPressure(b: usize, p: usize): f64 {
  const satT = ld(p, P_SAT_T)
  return axisPressure((ld(b, S_SAT) - satT) / ((1 - satT) * 0.5))
}

function resistance(b: usize, p: usize): f64 {
  const m = Math.min(Math.max(ld(b, S_M), -1), 1)
  let ex = ld(p, P_W_P) * ld(b, S_P) + ld(p, P_W_M) * m +
    ld(p, P_W_S) * ld(p, P_SCAR_FACTOR) * ld(b, S_SCAR)
  if (ex < 0) ex = 0
  return ld(p, P_R_BASE) + ex
}

function rampWait(b: usize, p: usize): f64 {
  let r = ld(b, S_RAMP)
  if (!(r > 0)) r = ld(p, P_RAMP_START)
  if (!(r > 0)) return ld(p, P_MAX_RETRY_S)
  let t: f64 = 0.0
  while (r < 1 && t < ld(p, P_MAX_RETRY_S)) {
    r = r * 2
    t = t + ld(p, P_RAMP_DOUBLE_S)
  }
  return Math.ceil(t)
}

function tokenRate(b: usize, p: usize): f64 {
  let lat = ld(b, S_BASE)
  if (!(lat >= 1)) lat = 1
  let rate = ld(b, S_RAMP) * ld(b, S_LIMIT) * ld(b, S_SHARE) * ld(p, P_TICK_MS) / lat
  const inj = ld(b, S_INJ_EFF)
  if (inj > 0) rate = rate * (1 - inj)
  return rate
}

function addTokens(b: usize, p: usize, ticks: f64): void {
  const rate = tokenRate(b, p)
  const cap = ld(p, P_N_CLASSES) + 1 + rate
  let tokens = ld(b, S_TOKENS) + rate * ticks
  if (tokens > cap) tokens = cap
  st(b, S_TOKENS, tokens)
}

/**
 * The share of the gradient's step this tick's answers justify (docs/physics.md §13): 1, except
 * for an isolate that shares its route and whose own demand is below EVIDENCE_SAMPLES a tick while
 * the fleet's answers are not: then its successes of the tick over EVIDENCE_SAMPLES.
 */
function evidenceWeight(b: usize, p: usize, offered: f64): f64 {
  const share = ld(b, S_SHARE)
  const okN = ld(b, S_ACC_OKN)
  if (!(share < 1) || okN >= EVIDENCE_SAMPLES) return 1
  const tickMs = ld(p, P_TICK_MS)
  let demand: f64 = 0.0
  const nClasses = <i32> ld(p, P_N_CLASSES)
  for (let c = 0; c < nClasses; c++) demand = demand + ld(b, S_DEM0 + c)
  demand = demand * tickMs
  if (offered > demand) demand = offered
  if (demand >= EVIDENCE_SAMPLES) return 1
  if (ld(b, S_RATE) * tickMs / share < EVIDENCE_SAMPLES) return 1
  return okN / EVIDENCE_SAMPLES
}

function dataTick(b: usize, p: usize): void {
  const poolN = ld(b, S_POOL_N)
  const tickStart = ld(b, S_TICK_START)
  const tickEnd = tickStart + ld(p, P_TICK_MS)
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
    // Others' successes from batches that are mostly successes only (docs/physics.md §13).
    const okMove = moveN - moveErr
    if (okMove > 0 && okMove >= moveErr) {
      let okLat = moveLat - moveErr * ld(b, S_FAIL_LAT)
      if (okLat < 0) okLat = 0
      st(b, S_ACC_OKN, ld(b, S_ACC_OKN) + okMove)
      st(b, S_ACC_OKLAT, ld(b, S_ACC_OKLAT) + okLat)
    }
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
    const stale = tickStart - ld(b, S_LAST_SAMPLE) >= ld(p, P_STALE_MS)
    st(b, S_LAST_SAMPLE, tickStart)
    if (ld(b, S_RESEED) > 0 || stale) {
      st(b, S_LAT, tickLat)
      if (en > 0) st(b, S_ERR, ld(b, S_ACC_ERR) / en)
      st(b, S_RESEED, 0)
    } else {
      st(b, S_LAT, ld(b, S_LAT) + aFast * (tickLat - ld(b, S_LAT)))
      if (en > 0) st(b, S_ERR, ld(b, S_ERR) + aFast * (ld(b, S_ACC_ERR) / en - ld(b, S_ERR)))
    }
  } else if (en > 0) {
    st(b, S_ERR, ld(b, S_ERR) + aFast * (ld(b, S_ACC_ERR) / en - ld(b, S_ERR)))
  }
  const accSat = ld(b, S_ACC_SAT)
  if (accSat >= 0) st(b, S_SAT, ld(b, S_SAT) + aFast * (accSat - ld(b, S_SAT)))

  const okN = ld(b, S_ACC_OKN)
  if (okN > 0) {
    const tickOk = ld(b, S_ACC_OKLAT) / okN
    if (!(ld(b, S_SHORT) > 0)) {
      st(b, S_SHORT, tickOk)
    } else {
      st(b, S_SHORT, ld(b, S_SHORT) + ld(p, P_A_SHORT) * (tickOk - ld(b, S_SHORT)))
    }
  }
  const ln = ld(b, S_ACC_LN)
  st(b, S_RATE, ld(b, S_RATE) + aFast * (ln / ld(p, P_TICK_MS) - ld(b, S_RATE)))
  const lok = ld(b, S_ACC_LOK)
  // The share of this isolate's successes later than the SLO (§4), smoothed over signalTauS.
  if (lok > 0) st(b, S_LATE, ld(b, S_LATE) + aFast * (ld(b, S_ACC_LATE) / lok - ld(b, S_LATE)))
  const fails = ln - lok
  if (fails > 0) {
    const failLat = ld(b, S_ACC_FLAT) / fails
    if (!(ld(b, S_FAIL_LAT) > 0)) st(b, S_FAIL_LAT, failLat)
    else st(b, S_FAIL_LAT, ld(b, S_FAIL_LAT) + aFast * (failLat - ld(b, S_FAIL_LAT)))
  }
  let ovShare: f64 = 0.0
  if (ln > 0) {
    ovShare = ld(b, S_ACC_OV) / ln
    st(b, S_OVERLOAD, ovShare)
  }

  const nClasses = <i32> ld(p, P_N_CLASSES)
  let offered: f64 = 0.0
  for (let c = 0; c < nClasses; c++) {
    const off = ld(b, S_OFF0 + c)
    offered = offered + off
    const dem = ld(b, S_DEM0 + c)
    st(b, S_DEM0 + c, dem + aFast * (off / ld(p, P_TICK_MS) - dem))
    if (off > 0) {
      const sh = ld(b, S_SHARE0 + c)
      st(b, S_SHARE0 + c, sh + aFast * (ld(b, S_ADM0 + c) / off - sh))
    }
    st(b, S_OFF0 + c, 0)
    st(b, S_ADM0 + c, 0)
  }

  const q = queuePressure(b, p)
  const psat = saturationPressure(b, p)
  const pOld = ld(b, S_P)
  let pNew = 1 - (1 - q) * (1 - ovShare) * (1 - psat)
  const inj = ld(b, S_INJ_P)
  st(b, S_INJ_EFF, 0)
  if (inj > 0) {
    if (tickEnd <= ld(b, S_INJ_UNTIL)) {
      if (inj > pNew) {
        pNew = inj
        st(b, S_INJ_EFF, inj)
      }
    } else {
      st(b, S_INJ_P, 0)
    }
  }
  st(b, S_P, pNew)
  const mOld = ld(b, S_M)
  const slope = (pNew - pOld) * ld(p, P_INV_TICK_S)
  let m = mOld + ld(p, P_A_MOM) * (slope - mOld)
  if (m > MAX_MOMENTUM) m = MAX_MOMENTUM
  if (m < -MAX_MOMENTUM) m = -MAX_MOMENTUM
  st(b, S_M, m)
  const tickS = ld(p, P_TICK_S)
  if (ld(b, S_INJ_EFF) >= ld(p, P_TRIP_P)) st(b, S_ABOVE_S, ld(b, S_ABOVE_S) + tickS)
  else st(b, S_ABOVE_S, 0)

  const mode = <i32> ld(b, S_MODE)
  if (mode == MODE_CIRCUIT_BREAKER) {
    const answered = ln - ld(b, S_ACC_LOST)
    if (answered > 0) {
      if (lok >= 0.5 * answered) {
        let r = ld(b, S_RAMP) * ld(p, P_RAMP_GROWTH)
        // And one request of capacity per answered probe: doubling per round of answers.
        const cap = ld(b, S_LIMIT) * ld(b, S_SHARE)
        if (cap > 0) {
          const byAnswers = ld(b, S_RAMP) + lok / cap
          if (byAnswers > r) r = byAnswers
        }
        // A black hole's first healthy answers, as fast as before the outage: back at L.
        const okN = ld(b, S_ACC_OKN)
        if (ld(b, S_STREAK_S) == 0 && okN > 0 && ld(p, P_RAMP_RESUME) > r) {
          if (ld(b, S_ACC_OKLAT) / okN <= ld(p, P_TOLERANCE) * ld(b, S_BASE)) {
            r = ld(p, P_RAMP_RESUME)
          }
        }
        if (r > 1) r = 1
        st(b, S_RAMP, r)
      } else {
        // Answers that fail: no longer a black hole's silence.
        st(b, S_STREAK_S, 1)
        if (lok < ld(p, P_OUTAGE_OK) * answered) {
          let r = ld(b, S_RAMP) * 0.5
          if (r < ld(p, P_RAMP_START)) r = ld(p, P_RAMP_START)
          st(b, S_RAMP, r)
        }
      }
    }
    st(b, S_SCAR, 1 - ld(b, S_RAMP))
    addTokens(b, p, 1)
  } else {
    capacityTick(b, p, tickEnd, ovShare, psat, offered)
    const judged = ln - (ld(b, S_ACC_OV) - ld(b, S_ACC_LOST))
    if (ld(p, P_OUTAGE_OK) > 0 && judged > 0) {
      if (lok < ld(p, P_OUTAGE_OK) * judged) {
        st(b, S_STREAK_S, ld(b, S_STREAK_S) + tickS)
        st(b, S_STREAK_N, ld(b, S_STREAK_N) + judged)
      } else {
        st(b, S_STREAK_S, 0)
        st(b, S_STREAK_N, 0)
      }
    }
  }

  st(b, S_PEAK, ld(b, S_INFLIGHT) - ld(b, S_GHOSTS))
  st(b, S_ACC_SAT, -1)
  clearAnswers(b)
}

// Empties the tick's counts of answers (the saturation reading is the tick's own, kept).
function clearAnswers(b: usize): void {
  st(b, S_ACC_N, 0)
  st(b, S_ACC_LAT, 0)
  st(b, S_ACC_EN, 0)
  st(b, S_ACC_ERR, 0)
  st(b, S_ACC_OKN, 0)
  st(b, S_ACC_OKLAT, 0)
  st(b, S_ACC_OV, 0)
  st(b, S_ACC_LN, 0)
  st(b, S_ACC_LOK, 0)
  st(b, S_ACC_LATE, 0)
  st(b, S_ACC_FLAT, 0)
  st(b, S_ACC_LOST, 0)
}

function capacityTick(
  b: usize,
  p: usize,
  tickEnd: f64,
  ovShare: f64,
  psat: f64,
  offered: f64,
): void {
  const before = ld(b, S_LIMIT)
  let limit = before
  const drain = ld(b, S_DRAIN)
  const short = ld(b, S_SHORT)
  const base = ld(b, S_BASE)
  const limited = ld(b, S_LIMITED_UNTIL) > tickEnd
  if (drain == 0) {
    const cut = (ovShare + psat) * ld(p, P_OVERLOAD_BACKOFF)
    if (cut > 0) {
      let f = 1 - cut
      if (f < 0.5) f = 0.5
      limit = limit * f
      st(b, S_SLOW, 0)
    } else if (ld(b, S_ACC_OKN) > 0 && short > 0) {
      // The target: tolerance × base, or less where an SLO leaves less room (§4).
      let g = (target(b, p) + 1) / (short + 1)
      if (g > 1) g = 1
      if (g < 0.5) g = 0.5
if (g >= 1) {
        const share = ld(b, S_SHARE)
        const local = limit * share
        let inUse = ld(b, S_PEAK) >= local / 2
        if (share < 1) {
          // A fleet (docs/physics.md §13): below one request per isolate one request is always
          // half the limit, so the fleet's requests in flight (from the store) must be half of L;
          // above it, two requests out at once or a shed is the evidence that the limit binds.
          if (local < 1) inUse = inUse && ld(b, S_FLEET_USE) >= limit / 2
          else inUse = inUse && (ld(b, S_PEAK) >= 2 || limited)
        }
        if (inUse && tickEnd >= ld(b, S_HOLD_UNTIL)) {
          // A bigger origin (docs/physics.md §4): the limit binds in full while the answers show
          // no queue at all, beyond growthConfidence standard errors: this tick grows as slow start.
          let bigger = false
          const z = ld(p, P_GROW_Z)
          if (z > 0 && ld(b, S_DRAINS) > 0 && limited && short <= base && ld(b, S_PEAK) >= local) {
            let cv2 = ld(b, S_BASE_CV2)
            if (!(cv2 > 0)) cv2 = 1
            const tol = ld(p, P_TOLERANCE)
            bigger = short + z * base * Math.sqrt(cv2 / ld(b, S_ACC_OKN)) <= tol * base &&
              short * tol >= base
          }
          if (ld(b, S_SLOW) > 0 || bigger) {
            // Slow start until a queue is seen: one more per success without
            // a queue (local and absorbed), at most doubling per tick. An isolate that shares
            // the route counts the fleet's successes: its own over its share (§13).
            let add = ld(b, S_ACC_OKN)
            if (share < 1 && ld(b, S_ACC_LOK) / share > add) add = ld(b, S_ACC_LOK) / share
            if (add > limit) add = limit
            limit = limit + add
          } else {
            // At most one tick's step per round of answers: a round longer than a tick (the
            // answers' latency) grows by the step per round, not per tick (docs/physics.md §4).
            let k = 1.0
            if (short > ld(p, P_TICK_MS)) k = ld(p, P_TICK_MS) / short
            limit = limit + ld(p, P_GROWTH) * k * Math.max(1, Math.sqrt(limit))
          }
        }
      } else if (ld(b, S_PEAK) >= limit * ld(b, S_SHARE) / 2) {
        // An isolate whose few answers are not the fleet's evidence moves by what they weigh (§13).
        const w = evidenceWeight(b, p, offered)
        limit = limit +
          w * ld(p, P_A_LIMIT) * (g * limit + ld(p, P_QUEUE) * Math.sqrt(limit) - limit)
        // A queue against a measured unqueued latency ends slow start.
        if (ld(b, S_DRAINS) > 0) st(b, S_SLOW, 0)
      }
      if (!limited && ld(b, S_PEAK) < limit * ld(b, S_SHARE) / 2 && short < base) {
        // Not limited and not in use: a latency below the unqueued one is the unqueued one
        // (down only: others' requests may queue where this isolate's do not).
        st(b, S_BASE, base + ld(p, P_A_BASE) * (short - base))
      }
    }
    if (limit < ld(p, P_LIMIT_MIN)) limit = ld(p, P_LIMIT_MIN)
    if (limit > ld(p, P_LIMIT_MAX)) limit = ld(p, P_LIMIT_MAX)
    st(b, S_LIMIT, limit)
    if (limit < before) st(b, S_SHRINK_S, ld(b, S_SHRINK_S) + ld(p, P_TICK_S))
    else st(b, S_SHRINK_S, 0)
  }

  const period = ld(p, P_DRAIN_MS)
  if (period > 0) {
    if (drain == 0) {
      if (ld(b, S_SHRINK_S) >= ld(p, P_DRAIN_SHRINK_S) && ld(b, S_LIMIT) <= 0.5 * ld(b, S_DRAIN_L)) {
        // An early drain waits for the next whole second of the clock: isolates whose limits
        // shrink on the same shared latency drain together, so the queue does empty.
        const at = (Math.floor(tickEnd / 1000) + 1) * 1000
        if (at < ld(b, S_NEXT_DRAIN)) st(b, S_NEXT_DRAIN, at)
      }
      let due = tickEnd >= ld(b, S_NEXT_DRAIN) || ld(b, S_DRAINS) == 0
      const ev = ld(p, P_START_EVIDENCE)
      if (ev > 0 && ld(b, S_DRAINS) == 0 && ld(b, S_SLOW) > 0) {
        // The route's first drain is owed to a queue, not to slow start's window (docs/physics.md
        // §6): a tick whose successes are as many as a drain would time and show no queue
        // against the unqueued latency has measured what the drain would.
        let goal = ld(p, P_DRAIN_SAMPLES)
        if (ld(b, S_SHARE) < 1 && goal < EVIDENCE_SAMPLES) goal = EVIDENCE_SAMPLES
        if (ld(b, S_ACC_OKN) >= ev * goal && short <= ld(p, P_TOLERANCE) * base) due = false
      }
      if (limited && due) {
        st(b, S_DRAIN, 1)
        st(b, S_DRAIN_T, tickEnd)
        st(b, S_DRAIN_N, 0)
        st(b, S_DRAIN_SUM, 0)
        st(b, S_DRAIN_SQ, 0)
        st(b, S_SHRINK_S, 0)
        st(b, S_NEXT_DRAIN, (Math.floor(tickEnd / period) + 1) * period)
        drainCheck(b, p, tickEnd)
      }
    } else if (
      drain == 2 && ld(b, S_DRAIN_DONE) >= ld(b, S_DRAIN_GOAL) &&
      (ld(p, P_DRAIN_RELEASE) <= 0 || ld(b, S_DRAIN_DONE) >= ld(b, S_DRAIN_K))
    ) {
      if (ld(b, S_DRAIN_N) > 0) {
        // An origin faster than the tolerance forgives: its capacity is unknown again, and the
        // answers clock the growth as before the first queue (slow start, docs/physics.md §4).
        let next = drainBase(b, p)
        if (next * ld(p, P_TOLERANCE) < base) {
          st(b, S_SLOW, 1)
          const n = ld(b, S_DRAIN_N)
          const m = ld(b, S_DRAIN_SUM) / n
          if (
            ld(p, P_SUPERSEDE) > 0 &&
            (m + ld(p, P_BASE_Z) * m * Math.sqrt(ld(b, S_BASE_CV2) / n)) * ld(p, P_TOLERANCE) <
              base
          ) {
            // Faster by baseConfidence standard errors of the drain's own mean: the answers
            // before the drain timed a slower origin. The unqueued and the short latency restart
            // from the drain's answers alone, and the others' answers still pooled are dropped.
            next = m
            st(b, S_BASE_N, n)
            st(b, S_SHORT, m)
            st(b, S_POOL_N, 0)
            st(b, S_POOL_LAT, 0)
            st(b, S_POOL_ERR, 0)
          }
        }
        st(b, S_BASE, next)
        st(b, S_DRAINS, ld(b, S_DRAINS) + 1)
        st(b, S_DRAIN_L, ld(b, S_LIMIT))
      }
      st(b, S_DRAIN, 0)
    } else {
      let unit = base
      if (short > unit) unit = short
      if (tickEnd - ld(b, S_DRAIN_T) > ld(p, P_DRAIN_GIVEUP) * unit) {
        if (ld(b, S_DRAIN_N) > 0) {
          st(b, S_BASE, drainBase(b, p))
          st(b, S_DRAINS, ld(b, S_DRAINS) + 1)
          st(b, S_DRAIN_L, ld(b, S_LIMIT))
        }
        st(b, S_DRAIN, 0)
      } else {
        drainCheck(b, p, tickEnd)
      }
    }
  }
}

/** The unqueued latency after a drain (docs/physics.md §6); the TypeScript twin explains it. */
function drainBase(b: usize, p: usize): f64 {
  const n = ld(b, S_DRAIN_N)
  const m = ld(b, S_DRAIN_SUM) / n
  const z = ld(p, P_BASE_Z)
  if (!(z > 0) || !(m > 0)) return m
  const base = ld(b, S_BASE)
  const old = ld(b, S_BASE_N)
  let cvN = old
  let cv2 = ld(b, S_BASE_CV2)
  if (!(old > 0)) {
    cvN = 1
    cv2 = 1
  }
  if (n > 1) {
    let v = (ld(b, S_DRAIN_SQ) - n * m * m) / (n - 1)
    if (!(v > 0)) v = 0
    cv2 = (cvN * cv2 + (n - 1) * (v / (m * m))) / (cvN + n - 1)
  }
  const margin = 1 - 1 / ld(p, P_TOLERANCE)
  let keep = z * z * cv2 / (margin * margin) - n
  if (keep > old) keep = old
  if (keep < 0) keep = 0
  const d = 2 * (m - base) / (m + base)
  let next = m
  let count = n
  if (d < 0 && old > 0 && d * d <= z * z * cv2 * (1 / n + 1 / old)) {
    next = (keep * base + n * m) / (keep + n)
    count = keep + n
  }
  st(b, S_BASE_N, count)
  st(b, S_BASE_CV2, cv2)
  return next
}

function idleTicks(b: usize, p: usize, k: f64): void {
  st(b, S_M, ld(b, S_M) * ipow(1 - ld(p, P_A_MOM), k))
  const decay = ipow(1 - ld(p, P_A_FAST), k)
  const nClasses = <i32> ld(p, P_N_CLASSES)
  for (let c = 0; c < nClasses; c++) st(b, S_DEM0 + c, ld(b, S_DEM0 + c) * decay)
  if (ld(b, S_INJ_EFF) >= ld(p, P_TRIP_P)) {
    st(b, S_ABOVE_S, ld(b, S_ABOVE_S) + k * ld(p, P_TICK_S))
  }
  if (<i32> ld(b, S_MODE) == MODE_CIRCUIT_BREAKER) addTokens(b, p, k)
}

function modeClock(b: usize, p: usize, t: f64): void {
  let mode = <i32> ld(b, S_MODE)
  if (mode == MODE_BOOTSTRAP) {
    if (ld(b, S_DRAINS) >= 1 || t - ld(b, S_MODE_SINCE) >= ld(p, P_WARMUP_S) * 1000) {
      mode = setMode(b, MODE_OPERATIONAL, t)
    }
  }
  if (mode == MODE_OPERATIONAL || mode == MODE_BOOTSTRAP) {
    let outage = false
    let failing: f64 = 0.0
    if (
      ld(p, P_OUTAGE_OK) > 0 && ld(b, S_STREAK_S) >= ld(p, P_OUTAGE_AFTER_S) &&
      ld(b, S_STREAK_N) >= ld(p, P_OUTAGE_SAMPLES)
    ) {
      outage = true
      failing = 1
    }
    const silence = ld(p, P_SILENCE)
    if (silence > 0 && ld(b, S_SHORT) > 0 && ld(b, S_INFLIGHT) - ld(b, S_GHOSTS) >= 2) {
      let unit = ld(b, S_BASE)
      if (ld(b, S_SHORT) > unit) unit = ld(b, S_SHORT)
      if (t - ld(b, S_LAST_DONE) >= silence * unit) outage = true
    }
    if (ld(b, S_ABOVE_S) >= ld(p, P_TRIP_AFTER_S)) {
      outage = true
      failing = 1
    }
    if (outage) {
      setMode(b, MODE_CIRCUIT_BREAKER, t)
      st(b, S_RAMP, ld(p, P_RAMP_START))
      st(b, S_SCAR, 1 - ld(b, S_RAMP))
      st(b, S_GHOSTS, ld(b, S_INFLIGHT))
      st(b, S_GHOST_T, t)
      st(b, S_TOKENS, 0)
      st(b, S_STREAK_S, failing)
      st(b, S_STREAK_N, 0)
      st(b, S_ABOVE_S, 0)
      st(b, S_DRAIN, 0)
    }
  } else if (mode == MODE_CIRCUIT_BREAKER && ld(b, S_RAMP) >= 1) {
    recovered(b, t)
  }
}

// A black hole's return, decided when the answer that proves it arrives (§9): the tick's end's
// test on the tick's answers heard so far.
function resumeAtAnswer(b: usize, p: usize, now: f64): void {
  if (ld(b, S_STREAK_S) != 0 || ld(p, P_RAMP_RESUME) < 1) return
  const okN = ld(b, S_ACC_OKN)
  const answered = ld(b, S_ACC_LN) - ld(b, S_ACC_LOST)
  if (!(okN > 0) || ld(b, S_ACC_LOK) < 0.5 * answered) return
  if (ld(b, S_ACC_OKLAT) / okN > ld(p, P_TOLERANCE) * ld(b, S_BASE)) return
  st(b, S_RAMP, 1)
  recovered(b, now)
  // The tick's answers so far were the outage's: the capacity law folds those after the resume.
  clearAnswers(b)
}

// Back to OPERATIONAL: what is still in flight was sent into the outage or its ramp.
function recovered(b: usize, t: f64): void {
  setMode(b, MODE_OPERATIONAL, t)
  st(b, S_SCAR, 0)
  st(b, S_STREAK_S, 0)
  st(b, S_GHOSTS, ld(b, S_INFLIGHT))
  st(b, S_GHOST_T, t)
  st(b, S_LAST_DONE, t)
}

function setMode(b: usize, mode: i32, t: f64): i32 {
  st(b, S_MODE, <f64> mode)
  st(b, S_MODE_SINCE, t)
  st(b, S_TRANSITIONS, ld(b, S_TRANSITIONS) + 1)
  return mode
}
