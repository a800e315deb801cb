/**
 * The `atrion` baseline: the published Atrion model (cluster-127/atrion, formerly
 * laphilosophia/atrion: `src/atrion.ts` `Atrion.route()` over `src/core/physics.ts`,
 * `normalize.ts`, `config.ts` and `auto-tuner.ts`), reproduced with its defaults as a reference,
 * failure modes included. Every admission is a `route()` call: it updates the physics and admits
 * while the mode is not CIRCUIT_BREAKER and V = 100 > R. Because the update runs per call, its
 * momentum is ‖ΔP‖ over the milliseconds since the previous call and its scar grows by a fixed
 * amount per stressed call, so both grow with the request rate, not with time.
 *
 * @module
 */

import type { Scenario } from '../scenario.ts'
import type { Strategy, StrategyDecision, StrategyInstance, StrategyProbe } from '../strategy.ts'

/** Atrion `DEFAULT_CONFIG` (src/core/config.ts). */
export const ATRION_CONFIG = {
  baseResistanceOhm: 10,
  /** Scar decay per second: updateScar converts its millisecond Δt to seconds. */
  decayRatePerS: 0.1,
  scarFactor: 5,
  dampingFactor: 20,
  criticalPressure: 0.7,
  breakMultiplier: 10,
  bootstrapTicks: 10,
  tanhScale: 1,
} as const

/** Atrion `DEFAULT_SLO` (src/core/config.ts), except the baseline latency (the scenario's p50). */
export const ATRION_SLO = {
  targetErrorRate: 0.01,
  /** `deriveBaselines`: 50% utilisation. */
  baselineSaturation: 0.5,
  criticality: { latency: 5, error: 8, saturation: 3 },
} as const

/** Atrion `DEFAULT_AUTOTUNER_CONFIG` (src/core/auto-tuner.ts); `route()` uses it by default. */
export const ATRION_AUTOTUNER = {
  windowSize: 100,
  sensitivity: 3,
  minFloorOhm: 30,
  hardCeilingOhm: 500,
  warmupTicks: 50,
  recoveryMultiplier: 0.5,
  /** `new AutoTuner(config)` leaves the constructor's `fallbackBreak` at 100 Ω. */
  fallbackBreakOhm: 100,
} as const

/** `Atrion` `defaultVoltage`: every request, whatever its class. */
export const ATRION_VOLTAGE = 100

/** Below this a squared magnitude is noise (`PHYSICS_EPSILON`, src/core/constants.ts). */
const PHYSICS_EPSILON = 1e-9

/** `deriveWeights`: w = ln(1 + criticality). */
const W_LATENCY = Math.log(1 + ATRION_SLO.criticality.latency)
const W_ERROR = Math.log(1 + ATRION_SLO.criticality.error)
const W_SATURATION = Math.log(1 + ATRION_SLO.criticality.saturation)

export type AtrionMode = 'BOOTSTRAP' | 'OPERATIONAL' | 'CIRCUIT_BREAKER'

/** One route's state, as Atrion's `RouteState` plus its AutoTuner's EMA. */
interface Route {
  mode: AtrionMode
  lat: number
  err: number
  sat: number
  /** `previousPressure`: the pressure before `lat/err/sat` (undefined in BOOTSTRAP). */
  prevLat: number
  prevErr: number
  prevSat: number
  scar: number
  resistanceOhm: number
  ticks: number
  lastMs: number
  tunerMean: number
  tunerVar: number
  tunerCount: number
  transitions: number
}

interface Isolate {
  route: Route | undefined
  /** Telemetry: the last completed request on this isolate. */
  lastLatencyMs: number
  lastError: number
  inflight: number
}

/** `normalize`: tanh((raw − baseline)/baseline · scale), 0 for a non-positive baseline. */
function normalize(raw: number, baseline: number): number {
  if (!(baseline > 0) || !Number.isFinite(raw)) return 0
  return Math.tanh(((raw - baseline) / baseline) * ATRION_CONFIG.tanhScale)
}

function magnitude(a: number, b: number, c: number): number {
  const sumSq = a * a + b * b + c * c
  return Math.sqrt(sumSq < PHYSICS_EPSILON ? 0 : sumSq)
}

function tunerBreakOhm(r: Route): number {
  const t = ATRION_AUTOTUNER
  if (r.tunerCount < t.warmupTicks) return t.fallbackBreakOhm
  const dynamic = r.tunerMean + t.sensitivity * Math.sqrt(Math.max(0, r.tunerVar))
  return Math.max(t.minFloorOhm, Math.min(dynamic, t.hardCeilingOhm))
}

function tunerObserve(r: Route, resistanceOhm: number): void {
  r.tunerCount++
  if (r.tunerCount === 1) {
    r.tunerMean = resistanceOhm
    r.tunerVar = 0
    return
  }
  const alpha = 2 / (ATRION_AUTOTUNER.windowSize + 1)
  const delta = resistanceOhm - r.tunerMean
  r.tunerMean += alpha * delta
  r.tunerVar = (1 - alpha) * (r.tunerVar + alpha * delta * delta)
}

function setMode(r: Route, mode: AtrionMode): void {
  if (r.mode === mode) return
  r.mode = mode
  r.transitions++
}

/**
 * One `route()` call: `updatePhysics` with the AutoTuner, in place. Mirrors the source's order:
 * BOOTSTRAP only records pressure for the first 10 calls (R stays at 1.2·R_base); then momentum =
 * ‖P − previousPressure‖ / Δt with Δt in milliseconds (0 when Δt is 0), scar = scar·e^(−λΔt_s) +
 * (‖P⁺‖ > P_crit ? σ : 0), R = max(R_base, R_base + P·W + μ·M + scar). Note that the source's
 * previousPressure is the pressure before the last one, so momentum spans two calls' pressure
 * change over one call's Δt.
 */
function updatePhysics(r: Route, lat: number, err: number, sat: number, nowMs: number): void {
  const c = ATRION_CONFIG
  const ticks = r.ticks + 1
  const dtMs = nowMs - r.lastMs
  if (r.mode === 'BOOTSTRAP' && ticks < c.bootstrapTicks) {
    r.lat = lat
    r.err = err
    r.sat = sat
    r.ticks = ticks
    r.lastMs = nowMs
    return
  }
  const bootstrapping = r.mode === 'BOOTSTRAP'
  const momentum = bootstrapping || dtMs === 0
    ? 0
    : magnitude(lat - r.prevLat, err - r.prevErr, sat - r.prevSat) / dtMs
  const positiveStress = Math.sqrt(
    Math.max(0, lat) ** 2 + Math.max(0, err) ** 2 + Math.max(0, sat) ** 2,
  )
  const trauma = positiveStress > c.criticalPressure ? c.scarFactor : 0
  const scar = Math.max(0, r.scar * Math.exp(-c.decayRatePerS * (dtMs / 1000)) + trauma)
  const total = c.baseResistanceOhm + lat * W_LATENCY + err * W_ERROR + sat * W_SATURATION +
    c.dampingFactor * momentum + scar
  const resistanceOhm = Math.max(c.baseResistanceOhm, total)

  r.prevLat = r.lat
  r.prevErr = r.err
  r.prevSat = r.sat
  r.lat = lat
  r.err = err
  r.sat = sat
  r.scar = scar
  r.resistanceOhm = resistanceOhm
  r.ticks = ticks
  r.lastMs = nowMs
  if (bootstrapping) {
    setMode(r, 'OPERATIONAL')
    return
  }
  tunerObserve(r, resistanceOhm)
  const breakOhm = tunerBreakOhm(r)
  if (r.mode === 'OPERATIONAL') {
    if (resistanceOhm >= breakOhm) setMode(r, 'CIRCUIT_BREAKER')
    return
  }
  const recoveryOhm = Math.max(
    ATRION_AUTOTUNER.minFloorOhm * 0.5,
    breakOhm * ATRION_AUTOTUNER.recoveryMultiplier,
  )
  const calm = scar < c.scarFactor && magnitude(lat, err, sat) < c.criticalPressure
  if (calm || resistanceOhm < recoveryOhm) setMode(r, 'OPERATIONAL')
}

/**
 * Per isolate, one Atrion route. Its telemetry at each admission is the last completed request on
 * that isolate, mapped as Atrion's `examples/wrapper-class.ts` maps an outcome (latencyMs, and
 * errorRate = 1 for a failure, 0 for a success), plus saturation = requests in flight on the
 * isolate over its share of the origin's concurrency, capped at 1. Before any completion the
 * latency is the baseline and the error rate 0. Baseline latency: the scenario's
 * `origin.serviceMs.p50` (Atrion's default SLO says 100 ms). Time is `Math.floor(nowMs)`, the
 * whole milliseconds the source gets from `Date.now()`. Priority-blind: V = 100 for every class.
 */
export const atrion: Strategy = {
  name: 'atrion',
  source: 'cluster-127/atrion Atrion.route() with its defaults (DEFAULT_CONFIG, DEFAULT_SLO ' +
    'weights, AutoTuner on, V = 100), baseline latency = origin p50, per isolate',
  create(scenario: Scenario): StrategyInstance {
    const baselineLatencyMs = scenario.origin.serviceMs.p50
    const shareOfConcurrency = scenario.origin.concurrency / scenario.isolates
    const isolates: Isolate[] = Array.from({ length: scenario.isolates }, () => ({
      route: undefined,
      lastLatencyMs: baselineLatencyMs,
      lastError: 0,
      inflight: 0,
    }))
    const allow: StrategyDecision = { allow: true, handle: undefined }
    const deny: StrategyDecision = { allow: false, handle: undefined }
    return {
      admit(isolate, _cls, nowMs) {
        const s = isolates[isolate] as Isolate
        const t = Math.floor(nowMs)
        const lat = normalize(s.lastLatencyMs, baselineLatencyMs)
        const err = normalize(s.lastError, ATRION_SLO.targetErrorRate)
        const sat = normalize(
          Math.min(1, s.inflight / shareOfConcurrency),
          ATRION_SLO.baselineSaturation,
        )
        let r = s.route
        if (r === undefined) {
          r = {
            mode: 'BOOTSTRAP',
            lat,
            err,
            sat,
            prevLat: 0,
            prevErr: 0,
            prevSat: 0,
            scar: 0,
            // createBootstrapState: "Conservative default"
            resistanceOhm: ATRION_CONFIG.baseResistanceOhm * 1.2,
            ticks: 0,
            lastMs: t,
            tunerMean: 0,
            tunerVar: 0,
            tunerCount: 0,
            transitions: 0,
          }
          s.route = r
        }
        updatePhysics(r, lat, err, sat, t)
        if (r.mode === 'CIRCUIT_BREAKER' || !(ATRION_VOLTAGE > r.resistanceOhm)) return deny
        s.inflight++
        return allow
      },
      complete(isolate, _handle, outcome) {
        const s = isolates[isolate] as Isolate
        s.inflight--
        s.lastLatencyMs = outcome.latencyMs
        s.lastError = outcome.ok ? 0 : 1
      },
      probe(): StrategyProbe {
        const r = isolates[0]?.route
        if (r === undefined) {
          return { resistance: ATRION_CONFIG.baseResistanceOhm * 1.2, mode: 'BOOTSTRAP' }
        }
        return { resistance: r.resistanceOhm, mode: r.mode, modeTransitions: r.transitions }
      },
    }
  },
}
