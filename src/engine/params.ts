/**
 * Turns resolved physics options into the engine's parameter block. This is the one place where
 * exp() runs: decay constants are computed here, once per parameter set, and both engines then
 * read the same bits, which is what lets them agree exactly.
 *
 * Each mechanism of the capacity law (docs/physics.md) can be switched off here, which is what an
 * ablation does: `overloadBackoff` 0 (overload answers do not cut the limit), `drainPeriodS` 0
 * (no drains: the unqueued latency is only tracked passively), `outageOkFraction` 0 (no outage
 * from failing answers), `silenceFactor` 0 (no outage from silence), `priorityReserve` 0 (no
 * reserve for more important classes), `rampStart` 1 (no recovery ramp), `rampResume` 0 (a black hole's return ramps like any outage's).
 *
 * @module
 */

import * as L from './reference/layout.ts'

/** Every number the physics uses, with units in the names. docs/physics.md explains each. */
export interface PhysicsParams {
  tickMs: number
  /** The unqueued latency assumed until the first drain measures it, ms (the profile's). */
  baselineLatencyMs: number
  /** BOOTSTRAP ends after this many seconds without a drain. */
  warmupS: number
  scarFactor: number
  classes: number
  /** Capacity estimate: initial, lowest and highest requests in flight at the origin. */
  concurrencyInitial: number
  concurrencyMin: number
  concurrencyMax: number
  /** Injected pressure at or above this for tripAfterS declares an outage. */
  tripPressure: number
  tripAfterS: number
  maxRetryAfterS: number
  /** Smoothing of the displayed signals (latency, error rate, saturation, admitted shares), s. */
  signalTauS: number
  momentumTauS: number
  /** How fast the limit moves toward its gradient target, s. */
  limitTauS: number
  /** Short window of the latency of successes, s. */
  shortLatencyTauS: number
  /** Passive tracking of the unqueued latency while nothing is limited, s. */
  baseTrackTauS: number
  pressureOhm: number
  momentumOhm: number
  scarOhm: number
  baseOhm: number
  saturationThreshold: number
  /** The config's error-rate threshold: shown in snapshots; application errors never shed. */
  errorRateThreshold: number
  /** Short latency up to this × the unqueued latency is not a standing queue. */
  latencyTolerance: number
  /** Additive growth of the limit per second while in use without a queue, × max(1, √limit). */
  limitGrowthPerS: number
  /** Share of the limit cut per share of overload answers in a tick (0: off). */
  overloadBackoff: number
  /** Period of the drains that measure the unqueued latency, s (0: off). */
  drainPeriodS: number
  /** Drain level, share of the limit. */
  drainFraction: number
  /** Samples admitted at the drain level that a drain waits for. */
  drainSamples: number
  /** Seconds of a shrinking limit that start a drain before its period. */
  drainAfterShrinkS: number
  /** A drain not done after this many unqueued (or short) latencies is abandoned. */
  drainGiveUp: number
  /** A tick with fewer successes than this share of its answers fails (0: no outage this way). */
  outageOkFraction: number
  /** Seconds of failing ticks that make an outage. */
  outageAfterS: number
  /** Answers the failing streak needs. */
  outageSamples: number
  /** No answer for this many latencies with requests out is an outage (0: off). */
  silenceFactor: number
  /** First ramp level after an outage, share of the capacity (1: no ramp). */
  rampStart: number
  /** The ramp doubles in this many seconds while probes are answered. */
  rampDoubleS: number
  /** The ramp level a black hole's first healthy answers resume (0: off). */
  rampResume: number
  /**
   * Multiple of the more important classes' in-flight demand (offered rate × latency) held back
   * for them (0: off).
   */
  priorityReserve: number
  /** A class is asking for this long after its last request, s. */
  askWindowS: number
  /** Multiple of √L the gradient allows as queue on top of the latency tolerance (Gradient2: 1). */
  queueAllowance: number
  /** Standard errors within which a drain's mean is pooled with the old unqueued latency (0: off). */
  baseConfidence: number
  /** Standard errors below tolerance × base that call the origin bigger (§4; 0: off). */
  growthConfidence: number
  /** 1: a drain's level holds only until its sample is admitted (§6; 0: off). */
  drainRelease: number
  /** 1: a black hole's return resumes at the answer that proves it, not at its tick's end (§9; 0: off). */
  resumeAtAnswer: number
  /**
   * The route's SLO, ms (0: none, or `physics.sloQueue` off): the queue the gradient keeps fits in
   * the SLO's room past the 99th percentile of an unqueued answer (§4).
   */
  sloMs: number
  /** Successes of a tick, in drain samples, that excuse the route's first drain (§6; 0: off). */
  startEvidence: number
  /** 1: a drain that finds a faster origin restarts base and short latency from its mean (§4; 0: off). */
  drainSupersedes: number
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
  v[L.P_WARMUP_S] = p.warmupS
  v[L.P_SCAR_FACTOR] = p.scarFactor
  v[L.P_N_CLASSES] = p.classes
  v[L.P_LIMIT_INIT] = p.concurrencyInitial
  v[L.P_LIMIT_MIN] = p.concurrencyMin
  v[L.P_LIMIT_MAX] = p.concurrencyMax
  v[L.P_TRIP_P] = p.tripPressure
  v[L.P_TRIP_AFTER_S] = p.tripAfterS
  v[L.P_MAX_RETRY_S] = p.maxRetryAfterS
  v[L.P_A_FAST] = 1 - Math.exp(-tickS / p.signalTauS)
  v[L.P_A_MOM] = 1 - Math.exp(-tickS / p.momentumTauS)
  v[L.P_A_LIMIT] = 1 - Math.exp(-tickS / p.limitTauS)
  v[L.P_A_SHORT] = 1 - Math.exp(-tickS / p.shortLatencyTauS)
  v[L.P_A_BASE] = 1 - Math.exp(-tickS / p.baseTrackTauS)
  v[L.P_W_P] = p.pressureOhm
  v[L.P_W_M] = p.momentumOhm
  v[L.P_W_S] = p.scarOhm
  v[L.P_R_BASE] = p.baseOhm
  v[L.P_SAT_T] = p.saturationThreshold
  // Five time constants: the smoothed signals have forgotten 99% of what they knew.
  v[L.P_STALE_MS] = 5 * p.signalTauS * 1000
  v[L.P_SPREAD_MS] = p.spreadMs
  v[L.P_TOLERANCE] = p.latencyTolerance
  v[L.P_GROWTH] = p.limitGrowthPerS * tickS
  v[L.P_OVERLOAD_BACKOFF] = p.overloadBackoff
  v[L.P_DRAIN_MS] = p.drainPeriodS * 1000
  v[L.P_DRAIN_FRACTION] = p.drainFraction
  v[L.P_DRAIN_SAMPLES] = p.drainSamples
  v[L.P_DRAIN_SHRINK_S] = p.drainAfterShrinkS
  v[L.P_DRAIN_GIVEUP] = p.drainGiveUp
  v[L.P_OUTAGE_OK] = p.outageOkFraction
  v[L.P_OUTAGE_AFTER_S] = p.outageAfterS
  v[L.P_OUTAGE_SAMPLES] = p.outageSamples
  v[L.P_SILENCE] = p.silenceFactor
  v[L.P_RAMP_START] = p.rampStart
  v[L.P_RAMP_GROWTH] = Math.pow(2, tickS / p.rampDoubleS)
  v[L.P_RESERVE] = p.priorityReserve
  v[L.P_ASK_MS] = p.askWindowS * 1000
  v[L.P_RAMP_DOUBLE_S] = p.rampDoubleS
  v[L.P_QUEUE] = p.queueAllowance
  v[L.P_RAMP_RESUME] = p.rampResume
  v[L.P_BASE_Z] = p.baseConfidence
  v[L.P_GROW_Z] = p.growthConfidence
  v[L.P_DRAIN_RELEASE] = p.drainRelease
  v[L.P_RESUME_AT_ANSWER] = p.resumeAtAnswer
  v[L.P_SLO] = p.sloMs
  v[L.P_START_EVIDENCE] = p.startEvidence
  v[L.P_SUPERSEDE] = p.drainSupersedes
  return v
}
