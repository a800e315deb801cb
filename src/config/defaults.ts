/**
 * The defaults of a route's physics options and of the shared physics constants: one table that
 * the schema's cross-field checks (src/config/schema.ts), the engine's parameters
 * (src/governor/physics-params.ts) and the docs (docs/config.md, docs/physics.md) come from.
 * `tests/unit/config-defaults.test.ts` holds the schema's `@default` notes and the docs' tables
 * to it. Fields the capacity law no longer reads are listed too, so that their documented
 * defaults have one place as well.
 *
 * @module
 */

import type { Breaker, Concurrency, PhysicsConfig, Thresholds } from './types.ts'

/** A config group with every field present. */
type Filled<T> = { readonly [K in keyof T]-?: Exclude<T[K], undefined> }

/**
 * `thresholds` of a route (`latencyMs` defaults to the profile's baseline and `sloMs` to none, so
 * they are not here).
 */
export const THRESHOLD_DEFAULTS: Filled<Omit<Thresholds, 'latencyMs' | 'sloMs'>> = Object.freeze({
  errorRate: 0.05,
  saturation: 0.8,
  warmupS: 10,
  z: 3,
  sigmaFloor: 0.1,
  learnCeiling: 4,
})

/** `concurrency` of a route: the capacity estimate, requests in flight at the whole origin. */
export const CONCURRENCY_DEFAULTS: Filled<Concurrency> = Object.freeze({
  initial: 10,
  min: 1,
  max: 10000,
})

/** `breaker` of a route. */
export const BREAKER_DEFAULTS: Filled<Breaker> = Object.freeze({
  tripPressure: 0.95,
  tripAfterS: 1,
  closePressure: 0.3,
  cooldownS: 5,
  probes: 5,
  probeIntervalMs: 250,
  minDwellS: 5,
})

/** A route's `scarFactor`. */
export const SCAR_FACTOR_DEFAULT = 1

/** `physics`: the constants shared by all routes (docs/physics.md §12). */
export const PHYSICS_DEFAULTS: Filled<PhysicsConfig> = Object.freeze({
  tickMs: 100,
  signalTauS: 1,
  momentumTauS: 1,
  limitTauS: 0.45,
  learnTauS: 300,
  scarHalfLifeS: 30,
  scarGainPerS: 0.1,
  traumaPressure: 0.5,
  pressureOhm: 10,
  momentumOhm: 4,
  scarOhm: 4,
  baseOhm: 1,
  latencyScale: 1,
  errorScale: 2,
  saturationRatio: 0.75,
  maxRetryAfterS: 30,
  bootstrapMaxS: 60,
  shortLatencyTauS: 0.15,
  baseTrackTauS: 2,
  latencyTolerance: 1.5,
  limitGrowthPerS: 2,
  overloadBackoff: 0.5,
  drainPeriodS: 10,
  drainFraction: 0.25,
  drainSamples: 3,
  drainAfterShrinkS: 1,
  drainGiveUp: 20,
  outageOkFraction: 0.05,
  outageAfterS: 0.3,
  outageSamples: 10,
  silenceFactor: 8,
  rampStart: 0.0625,
  rampDoubleS: 0.1,
  rampResume: 1,
  priorityReserve: 1,
  askWindowS: 1,
  queueAllowance: 0,
  baseConfidence: 3,
  growthConfidence: 3,
  drainRelease: 1,
  resumeAtAnswer: 1,
  sloQueue: 1,
  startEvidence: 1,
  drainSupersedes: 0,
})

/**
 * Fills the fields `layers` leave unset from `base`, later layers winning; a field given as
 * `undefined` counts as unset.
 *
 * @param base The defaults, every field present.
 * @param layers Partial groups, e.g. the config's `defaults` then the route's own.
 * @returns A new object with every field of `base`.
 *
 * @example Usage
 * ```ts
 * import { CONCURRENCY_DEFAULTS, withDefaults } from './defaults.ts'
 * const c = withDefaults(CONCURRENCY_DEFAULTS, { max: 50 }, { min: 2, max: undefined })
 * const kept = c.initial === CONCURRENCY_DEFAULTS.initial
 * if (c.min !== 2 || c.max !== 50 || !kept) throw new Error('layers fill in order')
 * ```
 */
export function withDefaults<T extends object>(
  base: T,
  ...layers: ({ readonly [K in keyof T]?: T[K] | undefined } | undefined)[]
): T {
  const out = { ...base } as Record<PropertyKey, unknown>
  for (const layer of layers) {
    if (layer === undefined) continue
    for (const [key, value] of Object.entries(layer)) {
      if (value !== undefined) out[key] = value
    }
  }
  return out as T
}
