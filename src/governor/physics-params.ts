/**
 * From validated config to the engine's physics parameters, route by route.
 *
 * @module
 */

import type { PhysicsParams } from '../engine/params.ts'
import {
  type GovernorConfig,
  type Profile,
  PROFILE_NAMES,
  type ProfileName,
  PROFILES,
  type RouteOptions,
} from '../config/schema.ts'
import {
  BREAKER_DEFAULTS,
  CONCURRENCY_DEFAULTS,
  PHYSICS_DEFAULTS,
  SCAR_FACTOR_DEFAULT,
  THRESHOLD_DEFAULTS,
  withDefaults,
} from '../config/defaults.ts'

/** A profile with every field filled in. */
export interface ResolvedProfile {
  name: string
  baselineLatencyMs: number
  requiresLease: boolean
  heartbeatMs: number
}

/** The built-in profiles, resolved once: routes share them instead of holding a copy each. */
const BUILT_IN: Readonly<Record<ProfileName, ResolvedProfile>> = Object.freeze(
  Object.fromEntries(
    PROFILE_NAMES.map((name) => [name, Object.freeze({ name, ...PROFILES[name] })]),
  ) as Record<ProfileName, ResolvedProfile>,
)

/** Fills in a profile given by name or by its own fields. */
export function resolveProfile(profile: Profile | undefined): ResolvedProfile {
  if (profile === undefined) return BUILT_IN.STANDARD
  if (typeof profile === 'string') return BUILT_IN[profile]
  return {
    name: `custom:${profile.baselineLatencyMs}ms`,
    baselineLatencyMs: profile.baselineLatencyMs,
    requiresLease: profile.requiresLease ?? false,
    heartbeatMs: profile.heartbeatMs ?? 1000,
  }
}

/**
 * Merges a route's options over the config's defaults over the table of src/config/defaults.ts
 * (field by field within each group) and produces the engine's parameters.
 */
export function physicsFor(
  config: GovernorConfig,
  route: RouteOptions,
  profile: ResolvedProfile,
): PhysicsParams {
  const d = config.defaults
  const t = withDefaults(THRESHOLD_DEFAULTS, d.thresholds, route.thresholds)
  const c = withDefaults(CONCURRENCY_DEFAULTS, d.concurrency, route.concurrency)
  const b = withDefaults(BREAKER_DEFAULTS, d.breaker, route.breaker)
  const ph = withDefaults(PHYSICS_DEFAULTS, config.physics)
  return {
    tickMs: ph.tickMs,
    baselineLatencyMs: route.thresholds?.latencyMs ?? d.thresholds?.latencyMs ??
      profile.baselineLatencyMs,
    warmupS: t.warmupS,
    scarFactor: route.scarFactor ?? d.scarFactor ?? SCAR_FACTOR_DEFAULT,
    classes: config.priorities.length,
    concurrencyInitial: c.initial,
    concurrencyMin: c.min,
    concurrencyMax: c.max,
    tripPressure: b.tripPressure,
    tripAfterS: b.tripAfterS,
    maxRetryAfterS: ph.maxRetryAfterS,
    signalTauS: ph.signalTauS,
    momentumTauS: ph.momentumTauS,
    limitTauS: ph.limitTauS,
    shortLatencyTauS: ph.shortLatencyTauS,
    baseTrackTauS: ph.baseTrackTauS,
    pressureOhm: ph.pressureOhm,
    momentumOhm: ph.momentumOhm,
    scarOhm: ph.scarOhm,
    baseOhm: ph.baseOhm,
    saturationThreshold: t.saturation,
    errorRateThreshold: t.errorRate,
    latencyTolerance: ph.latencyTolerance,
    limitGrowthPerS: ph.limitGrowthPerS,
    overloadBackoff: ph.overloadBackoff,
    drainPeriodS: ph.drainPeriodS,
    drainFraction: ph.drainFraction,
    drainSamples: ph.drainSamples,
    drainAfterShrinkS: ph.drainAfterShrinkS,
    drainGiveUp: ph.drainGiveUp,
    outageOkFraction: ph.outageOkFraction,
    outageAfterS: ph.outageAfterS,
    outageSamples: ph.outageSamples,
    silenceFactor: ph.silenceFactor,
    rampStart: ph.rampStart,
    rampDoubleS: ph.rampDoubleS,
    rampResume: ph.rampResume,
    priorityReserve: ph.priorityReserve,
    askWindowS: ph.askWindowS,
    queueAllowance: ph.queueAllowance,
    baseConfidence: ph.baseConfidence,
    growthConfidence: ph.growthConfidence,
    drainRelease: ph.drainRelease,
    resumeAtAnswer: ph.resumeAtAnswer,
    sloMs: ph.sloQueue > 0 ? (route.thresholds?.sloMs ?? d.thresholds?.sloMs ?? 0) : 0,
    startEvidence: ph.startEvidence,
    drainSupersedes: ph.drainSupersedes,
    spreadMs: config.sync.intervalMs,
  }
}
