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
 * Merges a route's options over the config's defaults (field by field within each group) and
 * produces the engine's parameters.
 */
export function physicsFor(
  config: GovernorConfig,
  route: RouteOptions,
  profile: ResolvedProfile,
): PhysicsParams {
  const d = config.defaults
  const t = { ...d.thresholds, ...route.thresholds }
  const c = { ...d.concurrency, ...route.concurrency }
  const b = { ...d.breaker, ...route.breaker }
  const ph = config.physics
  return {
    tickMs: ph.tickMs ?? 100,
    baselineLatencyMs: t.latencyMs ?? profile.baselineLatencyMs,
    warmupS: t.warmupS ?? 10,
    scarFactor: route.scarFactor ?? d.scarFactor ?? 1,
    classes: config.priorities.length,
    concurrencyInitial: c.initial ?? 10,
    concurrencyMin: c.min ?? 1,
    concurrencyMax: c.max ?? 10000,
    tripPressure: b.tripPressure ?? 0.95,
    tripAfterS: b.tripAfterS ?? 1,
    maxRetryAfterS: ph.maxRetryAfterS ?? 30,
    signalTauS: ph.signalTauS ?? 1,
    momentumTauS: ph.momentumTauS ?? 1,
    limitTauS: ph.limitTauS ?? 0.45,
    shortLatencyTauS: ph.shortLatencyTauS ?? 0.15,
    baseTrackTauS: ph.baseTrackTauS ?? 2,
    pressureOhm: ph.pressureOhm ?? 10,
    momentumOhm: ph.momentumOhm ?? 4,
    scarOhm: ph.scarOhm ?? 4,
    baseOhm: ph.baseOhm ?? 1,
    saturationThreshold: t.saturation ?? 0.8,
    errorRateThreshold: t.errorRate ?? 0.05,
    latencyTolerance: ph.latencyTolerance ?? 1.5,
    limitGrowthPerS: ph.limitGrowthPerS ?? 2,
    overloadBackoff: ph.overloadBackoff ?? 0.5,
    drainPeriodS: ph.drainPeriodS ?? 10,
    drainFraction: ph.drainFraction ?? 0.25,
    drainSamples: ph.drainSamples ?? 3,
    drainAfterShrinkS: ph.drainAfterShrinkS ?? 1,
    drainGiveUp: ph.drainGiveUp ?? 20,
    outageOkFraction: ph.outageOkFraction ?? 0.05,
    outageAfterS: ph.outageAfterS ?? 0.3,
    outageSamples: ph.outageSamples ?? 10,
    silenceFactor: ph.silenceFactor ?? 8,
    rampStart: ph.rampStart ?? 0.0625,
    rampDoubleS: ph.rampDoubleS ?? 0.1,
    priorityReserve: ph.priorityReserve ?? 1,
    askWindowS: ph.askWindowS ?? 1,
    queueAllowance: ph.queueAllowance ?? 0,
    spreadMs: config.sync.intervalMs,
  }
}
