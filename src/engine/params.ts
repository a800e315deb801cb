/**
 * Turns resolved physics options into the engine's parameter block. This is the one place where
 * exp() runs: decay constants are computed here, once per parameter set, and both engines then
 * read the same bits, which is what lets them agree exactly.
 *
 * @module
 */

import * as L from './reference/layout.ts'

/** Every number the physics uses, with units in the names. docs/physics.md explains each. */
export interface PhysicsParams {
  tickMs: number
  baselineLatencyMs: number
  warmupLatencyMs: number
  learnCeilingFactor: number
  thresholdZ: number
  sigmaFloorFraction: number
  warmupS: number
  bootstrapMaxS: number
  errorRateThreshold: number
  saturationThreshold: number
  scarFactor: number
  classes: number
  concurrencyInitial: number
  concurrencyMin: number
  concurrencyMax: number
  tripPressure: number
  tripAfterS: number
  closePressure: number
  cooldownS: number
  minProbes: number
  probeIntervalMs: number
  minDwellS: number
  maxRetryAfterS: number
  signalTauS: number
  momentumTauS: number
  limitTauS: number
  learnTauS: number
  scarHalfLifeS: number
  scarGainPerS: number
  traumaPressure: number
  pressureOhm: number
  momentumOhm: number
  scarOhm: number
  baseOhm: number
  latencyScale: number
  errorScale: number
  saturationRatio: number
  /** Samples from other isolates arrive once per sync interval; they are spread over it. */
  spreadMs: number
}

/** Builds the PARAM_FIELDS-long block the engines read. */
export function paramBlock(p: PhysicsParams): Float64Array {
  const v = new Float64Array(L.PARAM_FIELDS)
  const tickS = p.tickMs / 1000
  v[L.P_TICK_MS] = p.tickMs
  v[L.P_INV_TICK_S] = 1 / tickS
  v[L.P_TICK_S] = tickS
  v[L.P_BASELINE_MS] = p.baselineLatencyMs
  v[L.P_WARMUP_LAT_MS] = p.warmupLatencyMs
  v[L.P_LEARN_CEIL] = p.learnCeilingFactor
  v[L.P_Z] = p.thresholdZ
  v[L.P_SIGMA_FLOOR] = p.sigmaFloorFraction
  v[L.P_WARMUP_S] = p.warmupS
  v[L.P_BOOTSTRAP_MAX_S] = p.bootstrapMaxS
  v[L.P_ERR_T] = p.errorRateThreshold
  v[L.P_SAT_T] = p.saturationThreshold
  v[L.P_SCAR_FACTOR] = p.scarFactor
  v[L.P_N_CLASSES] = p.classes
  v[L.P_LIMIT_INIT] = p.concurrencyInitial
  v[L.P_LIMIT_MIN] = p.concurrencyMin
  v[L.P_LIMIT_MAX] = p.concurrencyMax
  v[L.P_TRIP_P] = p.tripPressure
  v[L.P_TRIP_AFTER_S] = p.tripAfterS
  v[L.P_CLOSE_P] = p.closePressure
  v[L.P_COOLDOWN_MS] = p.cooldownS * 1000
  v[L.P_MIN_PROBES] = p.minProbes
  v[L.P_PROBE_MS] = p.probeIntervalMs
  v[L.P_MIN_DWELL_MS] = p.minDwellS * 1000
  v[L.P_MAX_RETRY_S] = p.maxRetryAfterS
  v[L.P_A_FAST] = 1 - Math.exp(-tickS / p.signalTauS)
  v[L.P_A_MOM] = 1 - Math.exp(-tickS / p.momentumTauS)
  v[L.P_A_LIMIT] = 1 - Math.exp(-tickS / p.limitTauS)
  v[L.P_A_LEARN] = 1 - Math.exp(-tickS / p.learnTauS)
  v[L.P_D_SCAR] = Math.pow(2, -tickS / p.scarHalfLifeS)
  v[L.P_SCAR_GAIN] = p.scarGainPerS * tickS
  v[L.P_TRAUMA_P] = p.traumaPressure
  v[L.P_D1_FAST] = Math.exp(-1 / p.signalTauS)
  v[L.P_D1_MOM] = Math.exp(-1 / p.momentumTauS)
  v[L.P_D1_SCAR] = Math.pow(2, -1 / p.scarHalfLifeS)
  v[L.P_W_P] = p.pressureOhm
  v[L.P_W_M] = p.momentumOhm
  v[L.P_W_S] = p.scarOhm
  v[L.P_R_BASE] = p.baseOhm
  v[L.P_LAT_SCALE] = p.latencyScale
  v[L.P_ERR_SCALE] = p.errorScale
  v[L.P_SAT_RATIO_T] = p.saturationRatio
  // Five time constants: the smoothed signals have forgotten 99% of what they knew.
  v[L.P_STALE_MS] = 5 * p.signalTauS * 1000
  v[L.P_SPREAD_MS] = p.spreadMs
  return v
}
