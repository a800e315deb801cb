/**
 * The config's types, written out. The zod schema in `schema.ts` validates and fills defaults;
 * these interfaces are what the public API names, so that JSR can read them without inferring a
 * schema's type (its "no slow types" rule) and so that editors show the fields by name.
 * `tests/unit/config-types.test.ts` proves at type level that each interface is exactly what the
 * schema infers: a field added to one and not the other fails `npm run check`.
 * docs/config.md documents every field.
 *
 * @module
 */

/** Name of a built-in profile. */
export type ProfileName = 'LIGHT' | 'STANDARD' | 'HEAVY' | 'EXTREME'

/** A profile of one's own: at least the healthy latency. */
export interface CustomProfile {
  /** Latency of a healthy request, ms. */
  baselineLatencyMs: number
  /** Tasks of this profile must hold a lease with an AbortController. @default false */
  requiresLease?: boolean | undefined
  /** Expected heartbeat interval of a lease, ms. @default 1000 */
  heartbeatMs?: number | undefined
}

/** A built-in profile's name or a profile of one's own. */
export type Profile = ProfileName | CustomProfile

/** Thresholds of one route (docs/physics.md §12). */
export interface Thresholds {
  latencyMs?: number | undefined
  sloMs?: number | undefined
  errorRate?: number | undefined
  saturation?: number | undefined
  warmupS?: number | undefined
  z?: number | undefined
  sigmaFloor?: number | undefined
  learnCeiling?: number | undefined
}

/** The capacity estimate of one route: requests in flight at the whole origin. */
export interface Concurrency {
  initial?: number | undefined
  min?: number | undefined
  max?: number | undefined
}

/** The outage mode of one route (docs/physics.md §8, §14). */
export interface Breaker {
  tripPressure?: number | undefined
  tripAfterS?: number | undefined
  closePressure?: number | undefined
  cooldownS?: number | undefined
  probes?: number | undefined
  probeIntervalMs?: number | undefined
  minDwellS?: number | undefined
}

/** Options of one route, without its id: also the shape of `defaults`. */
export interface RouteOptions {
  profile?: Profile | undefined
  priority?: string | undefined
  scarFactor?: number | undefined
  thresholds?: Thresholds | undefined
  concurrency?: Concurrency | undefined
  breaker?: Breaker | undefined
}

/** Which requests a route governs. */
export interface Match {
  /** A URLPattern pathname, e.g. "/api/checkout/*" or "/users/:id". */
  path: string
  /** HTTP methods, upper case; absent means all. */
  methods?: string[] | undefined
  /** Lets paths holding an encoded "/" or "\\" through on this route. @default false */
  allowEncodedSlashes?: boolean | undefined
}

/** One route of the config. */
export interface RouteConfig extends RouteOptions {
  /** Route id: the key of its state. */
  id: string
  /** Which requests this route governs (required by the edge app). */
  match?: Match | undefined
  /** Where admitted requests go, an http(s) URL (required by the edge app). */
  origin?: string | undefined
  /** Longest wait for the origin's response headers, ms. @default 10000 */
  timeoutMs?: number | undefined
}

/** Physics constants shared by all routes (docs/physics.md §12). */
export interface PhysicsConfig {
  tickMs?: number | undefined
  signalTauS?: number | undefined
  momentumTauS?: number | undefined
  limitTauS?: number | undefined
  learnTauS?: number | undefined
  scarHalfLifeS?: number | undefined
  scarGainPerS?: number | undefined
  traumaPressure?: number | undefined
  pressureOhm?: number | undefined
  momentumOhm?: number | undefined
  scarOhm?: number | undefined
  baseOhm?: number | undefined
  latencyScale?: number | undefined
  errorScale?: number | undefined
  saturationRatio?: number | undefined
  maxRetryAfterS?: number | undefined
  bootstrapMaxS?: number | undefined
  shortLatencyTauS?: number | undefined
  baseTrackTauS?: number | undefined
  latencyTolerance?: number | undefined
  limitGrowthPerS?: number | undefined
  overloadBackoff?: number | undefined
  drainPeriodS?: number | undefined
  drainFraction?: number | undefined
  drainSamples?: number | undefined
  drainAfterShrinkS?: number | undefined
  drainGiveUp?: number | undefined
  outageOkFraction?: number | undefined
  outageAfterS?: number | undefined
  outageSamples?: number | undefined
  silenceFactor?: number | undefined
  rampStart?: number | undefined
  rampDoubleS?: number | undefined
  rampResume?: number | undefined
  priorityReserve?: number | undefined
  askWindowS?: number | undefined
  queueAllowance?: number | undefined
  baseConfidence?: number | undefined
  growthConfidence?: number | undefined
  drainRelease?: number | undefined
  resumeAtAnswer?: number | undefined
  sloQueue?: number | undefined
  startEvidence?: number | undefined
  drainSupersedes?: number | undefined
}

/** How isolates share state (docs/sync.md), defaults filled in. */
export interface SyncConfig {
  /** A backend's name in src/store/backends.ts; the edge refuses one it does not know. */
  store: string
  intervalMs: number
  samplesPerExchange: number
  newsSamples: number
  heartbeatMs: number
  timeoutMs: number
  onStoreFailure: 'local' | 'closed'
}

/** Sets a request's priority from a header. The first rule that matches wins. */
export interface PriorityRule {
  /** Header name, case-insensitive. */
  header: string
  /** Exact value to match; absent means "header present". */
  equals?: string | undefined
  /** The class it sets. */
  priority: string
}

/** The admin API and dashboard (docs/operations.md), defaults filled in. */
export interface AdminConfig {
  prefix: string
  maxBodyBytes: number
}

/** The NDJSON decision log (docs/operations.md), defaults filled in. */
export interface DecisionLogConfig {
  enabled: boolean
  maxDecisionsPerS: number
}

/** The governor's whole config after validation, defaults filled in. */
export interface GovernorConfig {
  engine: 'auto' | 'wasm' | 'ts'
  priorities: string[]
  maxRoutes: number
  defaults: RouteOptions
  routes: RouteConfig[]
  physics: PhysicsConfig
  sync: SyncConfig
  priorityRules: PriorityRule[]
  admin: AdminConfig
  decisionLog: DecisionLogConfig
  trustedProxies: string[]
  unmatched: 'pass' | 'reject'
}

/** Config as a user writes it: every field optional but a route's id (docs/config.md). */
export interface GovernorConfigInput {
  engine?: GovernorConfig['engine'] | undefined
  priorities?: string[] | undefined
  maxRoutes?: number | undefined
  defaults?: RouteOptions | undefined
  routes?: RouteConfig[] | undefined
  physics?: PhysicsConfig | undefined
  sync?: Partial<SyncConfig> | undefined
  priorityRules?: PriorityRule[] | undefined
  admin?: Partial<AdminConfig> | undefined
  decisionLog?: Partial<DecisionLogConfig> | undefined
  trustedProxies?: string[] | undefined
  unmatched?: GovernorConfig['unmatched'] | undefined
}
