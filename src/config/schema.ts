/**
 * The governor's config: one zod schema, the single source of truth. Types come from it with
 * `z.infer`; defaults live in it; docs/config.md documents each field.
 *
 * `zod/mini` keeps the Worker bundle small; the English locale gives readable messages.
 *
 * @module
 */

import * as z from 'zod/mini'
import { en } from 'zod/locales'
import { parseBlock } from '../http/forwarding.ts'
import type { GovernorConfig, GovernorConfigInput, ProfileName, RouteOptions } from './types.ts'
import {
  BREAKER_DEFAULTS,
  CONCURRENCY_DEFAULTS,
  PHYSICS_DEFAULTS,
  withDefaults,
} from './defaults.ts'

export type {
  AdminConfig,
  Breaker,
  Concurrency,
  CustomProfile,
  DecisionLogConfig,
  GovernorConfig,
  GovernorConfigInput,
  Match,
  PhysicsConfig,
  PriorityRule,
  Profile,
  ProfileName,
  RouteConfig,
  RouteOptions,
  SyncConfig,
  Thresholds,
} from './types.ts'

z.config(en())

/** Built-in workload profiles: the latency a healthy request of that kind takes. */
export const PROFILES = {
  LIGHT: { baselineLatencyMs: 10, requiresLease: false, heartbeatMs: 1000 },
  STANDARD: { baselineLatencyMs: 100, requiresLease: false, heartbeatMs: 1000 },
  HEAVY: { baselineLatencyMs: 5000, requiresLease: true, heartbeatMs: 1000 },
  EXTREME: { baselineLatencyMs: 60000, requiresLease: true, heartbeatMs: 5000 },
} as const satisfies Record<ProfileName, BuiltInProfile>

/** What a built-in profile says. */
export interface BuiltInProfile {
  readonly baselineLatencyMs: number
  readonly requiresLease: boolean
  readonly heartbeatMs: number
}

export const PROFILE_NAMES = Object.keys(PROFILES) as ProfileName[]

/**
 * Most routes one isolate keeps. Each held route costs about 0.95 KB of engine, exchange and
 * stats arrays and map entries (measured with 20-character ids in Node 24, both engines), up to
 * 1.25 KB with 200-character ids. A Workers isolate has 128 MB for everything; giving the governor
 * at most a quarter of it (32 MiB) leaves room for the code, the WASM module and the requests in
 * flight: 32 MiB / 1.25 KB ≈ 26,800, rounded down. docs/config.md.
 */
export const MAX_ROUTES_BOUND = 25_000

/** Most routes a config lists: each is compiled and matched in order on every request. */
export const MAX_CONFIG_ROUTES = 1000

/** Longest `match.path` pattern, characters. */
export const MAX_PATTERN_LENGTH = 1000

/** An HTTP field name: an RFC 9110 §5.1 token. */
export const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/

const positive = () => z.number().check(z.positive())
const openFraction = () => z.number().check(z.gt(0), z.lt(1))
const count = () => z.number().check(z.int(), z.gte(1))

/** A profile of one's own: at least the healthy latency. */
export const CustomProfileSchema = z.strictObject({
  /** Latency of a healthy request, ms. */
  baselineLatencyMs: positive(),
  /** Tasks of this profile must hold a lease with an AbortController. @default false */
  requiresLease: z.optional(z.boolean()),
  /** Expected heartbeat interval of a lease, ms; a lease dies after 1.5 of these. @default 1000 */
  heartbeatMs: z.optional(positive()),
})

export const ProfileSchema = z.union([z.enum(PROFILE_NAMES), CustomProfileSchema])

/** Thresholds of one route. */
export const ThresholdsSchema = z.strictObject({
  /** Latency threshold while the route is still learning, ms. @default the profile's baseline */
  latencyMs: z.optional(positive()),
  /**
   * The route's SLO, ms: an answer later than this is of no use to its callers. With
   * `physics.sloQueue` on, the queue the capacity law keeps must fit in the SLO's room past the
   * unqueued answers' 99th percentile (docs/physics.md §4). @default none
   */
  sloMs: z.optional(positive()),
  /** Error rate that starts error pressure. @default 0.05 */
  errorRate: z.optional(openFraction()),
  /** Reported saturation (0..1) that starts saturation pressure. @default 0.8 */
  saturation: z.optional(openFraction()),
  /** Healthy seconds to learn before the learned latency threshold is used. @default 10 */
  warmupS: z.optional(z.number().check(z.gte(0))),
  /** The learned threshold sits this many σ above the learned mean. @default 3 */
  z: z.optional(positive()),
  /** Floor on σ, as a fraction of the learned mean. @default 0.1 */
  sigmaFloor: z.optional(positive()),
  /** The learned threshold never exceeds this multiple of the baseline. @default 4 */
  learnCeiling: z.optional(z.number().check(z.gte(1))),
})

/** The capacity estimate of one route: requests in flight at the whole origin (docs/physics.md §4). */
export const ConcurrencySchema = z.strictObject({
  /** The first window of slow start (docs/physics.md §4). @default 10 */
  initial: z.optional(count()),
  /** @default 1 */
  min: z.optional(count()),
  /** @default 10000 */
  max: z.optional(count()),
})

/** The circuit breaker of one route. */
export const BreakerSchema = z.strictObject({
  /** Combined pressure that counts towards a trip. @default 0.95 */
  tripPressure: z.optional(openFraction()),
  /** Seconds at or above tripPressure before the breaker opens. @default 1 */
  tripAfterS: z.optional(positive()),
  /** Pressure at or below which HALF_OPEN closes. @default 0.3 */
  closePressure: z.optional(openFraction()),
  /** Seconds open before probing. @default 5 */
  cooldownS: z.optional(positive()),
  /** Probe outcomes HALF_OPEN needs before it may close. @default 5 */
  probes: z.optional(count()),
  /** Spacing of probes, ms. @default 250 */
  probeIntervalMs: z.optional(positive()),
  /** Least seconds in a mode before the breaker may trip again. @default 5 */
  minDwellS: z.optional(z.number().check(z.gte(0))),
})

/** Options of one route, without its id: also the shape of `defaults`. */
const routeOptionShape = {
  /** Workload profile. @default "STANDARD" */
  profile: z.optional(ProfileSchema),
  /** Priority class of requests that name none. @default the middle class */
  priority: z.optional(z.string().check(z.minLength(1))),
  /** Scales the scar tissue of this route (0 turns it off). @default 1 */
  scarFactor: z.optional(z.number().check(z.gte(0), z.lte(10))),
  thresholds: z.optional(ThresholdsSchema),
  concurrency: z.optional(ConcurrencySchema),
  breaker: z.optional(BreakerSchema),
}

export const RouteOptionsSchema = z.strictObject(routeOptionShape)

/** Which requests a route governs. */
export const MatchSchema = z.strictObject({
  /** HTTP methods, upper case; absent means all. */
  methods: z.optional(
    z.array(z.string().check(z.regex(/^[A-Z]+$/, 'Methods are upper-case words like "POST"'))),
  ),
  /**
   * A URLPattern pathname, e.g. "/api/checkout/*" or "/users/:id", matched against the
   * normalised path (docs/http.md "Paths"). Regular-expression groups (`(…)`) are refused: a
   * pattern is matched on every request, and a user-written regex could backtrack for seconds.
   */
  path: z.string().check(
    z.startsWith('/', 'A path pattern starts with "/"'),
    z.maxLength(MAX_PATTERN_LENGTH),
    z.refine(
      (path) => !/[()]/.test(path),
      'A path pattern cannot hold a regular-expression group "(…)": use a named group like ' +
        '":id" or a wildcard "*"',
    ),
  ),
  /**
   * Lets paths holding an encoded "/" or "\\" (`%2F`, `%5C`) through on this route; otherwise they
   * answer 400 problem, since an origin that decodes them sees other segments than the route did.
   * @default false
   */
  allowEncodedSlashes: z.optional(z.boolean()),
})

export const RouteSchema = z.strictObject({
  /** Route id: the key of its state. */
  id: z.string().check(z.minLength(1), z.maxLength(200)),
  /** Which requests this route governs (required by the edge app). */
  match: z.optional(MatchSchema),
  /** Where admitted requests go, an http(s) URL (required by the edge app). */
  origin: z.optional(z.url({ protocol: /^https?$/, error: 'Origin must be an http or https URL' })),
  /** Longest wait for the origin's response headers, ms. @default 10000 */
  timeoutMs: z.optional(z.number().check(z.positive(), z.lte(600000))),
  ...routeOptionShape,
})

/** How isolates share state. docs/sync.md. */
export const SyncSchema = z.strictObject({
  /**
   * Where shared state lives: a backend of src/store/backends.ts ("memory", "durable-object",
   * "upstash"), checked against that table when the edge starts. @default "memory"
   */
  store: z._default(z.string().check(z.minLength(1), z.maxLength(64)), 'memory'),
  /** Least time between two exchanges of one isolate, ms. @default 250 */
  intervalMs: z._default(z.number().check(z.gte(10), z.lte(60000)), 250),
  /**
   * An isolate exchanges once it has completed this many requests since its last exchange (all
   * routes together), so routine exchanges cost at most 1,000 / samplesPerExchange store
   * operations per 1,000 requests, whatever the number of isolates. docs/sync.md. @default 200
   */
  samplesPerExchange: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000000)), 200),
  /**
   * Fewest new samples of a route that can be news (a mode change, or errors or latency far from
   * what the store last said): the isolate then exchanges early. Doubles after each early
   * exchange until a routine one. docs/sync.md. @default 8
   */
  newsSamples: z._default(z.number().check(z.int(), z.gte(1), z.lte(1000000)), 8),
  /**
   * An isolate that served anything exchanges at least this often, whatever it has to say: the
   * isolate registry and config versions ride on it. An idle isolate never exchanges. @default 600000
   */
  heartbeatMs: z._default(z.number().check(z.gte(1000), z.lte(600000)), 600000),
  /** An exchange slower than this counts as failed, ms. @default 1000 */
  timeoutMs: z._default(z.number().check(z.gte(1), z.lte(60000)), 1000),
  /** While the store fails: decide from local state, or shed all but the top class. @default "local" */
  onStoreFailure: z._default(z.enum(['local', 'closed']), 'local'),
})

/** The admin API (docs/operations.md). It answers only when the `RHEOSTAT_ADMIN_TOKEN` secret is set. */
export const AdminSchema = z.strictObject({
  /** Path prefix of the admin API and dashboard. @default "/__rheostat" */
  prefix: z._default(
    z.string().check(
      z.regex(
        /^\/[A-Za-z0-9._~-]+(\/[A-Za-z0-9._~-]+)*$/,
        'An admin prefix is a path like "/__rheostat": a leading "/", no trailing "/", no wildcards',
      ),
      z.refine(
        (prefix) => !prefix.split('/').some((segment) => segment === '.' || segment === '..'),
        'An admin prefix has no "." or ".." segment: no normalised path could reach it',
      ),
    ),
    '/__rheostat',
  ),
  /** Largest request body the admin API reads, bytes. @default 65536 */
  maxBodyBytes: z._default(z.number().check(z.int(), z.gte(1024), z.lte(1048576)), 65536),
})

/**
 * The NDJSON decision log (docs/operations.md): one line per mode change and per sampled decision
 * through the runtime's console (Workers Logs, Deno Deploy logs). Off by default.
 */
export const DecisionLogSchema = z.strictObject({
  /** @default false */
  enabled: z._default(z.boolean(), false),
  /** Decision lines per second per isolate; mode changes are always logged. @default 1 */
  maxDecisionsPerS: z._default(z.number().check(z.int(), z.gte(0), z.lte(1000)), 1),
})

/** Sets a request's priority from a header. The first rule that matches wins. */
export const PriorityRuleSchema = z.strictObject({
  /** Header name, case-insensitive: an HTTP token (letters, digits, ``!#$%&'*+-.^_`|~``). */
  header: z.string().check(
    z.regex(HEADER_NAME, "A header name is an HTTP token: letters, digits and !#$%&'*+-.^_`|~"),
    z.maxLength(256),
  ),
  /** Exact value to match; absent means "header present". */
  equals: z.optional(z.string()),
  priority: z.string().check(z.minLength(1)),
})

/** Advanced physics constants shared by all routes. docs/physics.md explains each. */
export const PhysicsSchema = z.strictObject({
  /** @default 100 */
  tickMs: z.optional(z.number().check(z.gte(1), z.lte(10000))),
  /** @default 1 */
  signalTauS: z.optional(positive()),
  /** @default 1 */
  momentumTauS: z.optional(positive()),
  /** @default 0.45 */
  limitTauS: z.optional(positive()),
  /** @default 300 */
  learnTauS: z.optional(positive()),
  /** @default 30 */
  scarHalfLifeS: z.optional(positive()),
  /** @default 0.1 */
  scarGainPerS: z.optional(z.number().check(z.gte(0))),
  /** @default 0.5 */
  traumaPressure: z.optional(openFraction()),
  /** @default 10 */
  pressureOhm: z.optional(z.number().check(z.gte(0))),
  /** @default 4 */
  momentumOhm: z.optional(z.number().check(z.gte(0))),
  /** @default 4 */
  scarOhm: z.optional(z.number().check(z.gte(0))),
  /** @default 1 */
  baseOhm: z.optional(z.number().check(z.gte(0))),
  /** @default 1 */
  latencyScale: z.optional(positive()),
  /** @default 2 */
  errorScale: z.optional(positive()),
  /** @default 0.75 */
  saturationRatio: z.optional(openFraction()),
  /** @default 30 */
  maxRetryAfterS: z.optional(z.number().check(z.int(), z.gte(1), z.lte(3600))),
  /** @default 60 (no effect under the capacity law; kept so configs load) */
  bootstrapMaxS: z.optional(positive()),
  /** Short window of the latency of successes, s. @default 0.15 */
  shortLatencyTauS: z.optional(positive()),
  /** Passive tracking of the unqueued latency while nothing is limited, s. @default 2 */
  baseTrackTauS: z.optional(positive()),
  /** Short latency up to this × the unqueued latency is not a standing queue. @default 1.5 */
  latencyTolerance: z.optional(z.number().check(z.gte(1), z.lte(100))),
  /** Growth of the limit per second while in use without a queue, × max(1, √limit). @default 2 */
  limitGrowthPerS: z.optional(z.number().check(z.gte(0), z.lte(1000))),
  /** Share of the limit cut per share of overload answers in a tick (0: off). @default 0.5 */
  overloadBackoff: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** Period of the drains that measure the unqueued latency, s (0: off). @default 10 */
  drainPeriodS: z.optional(z.number().check(z.gte(0), z.lte(3600))),
  /** Drain level, share of the limit. @default 0.25 */
  drainFraction: z.optional(openFraction()),
  /** Samples admitted at the drain level a drain waits for. @default 3 */
  drainSamples: z.optional(count()),
  /** Seconds of a shrinking limit that start a drain before its period. @default 1 */
  drainAfterShrinkS: z.optional(positive()),
  /** A drain not done after this many latencies is abandoned. @default 20 */
  drainGiveUp: z.optional(positive()),
  /** A tick with fewer successes than this share of its answers fails (0: off). @default 0.05 */
  outageOkFraction: z.optional(z.number().check(z.gte(0), z.lt(1))),
  /** Seconds of failing ticks that make an outage. @default 0.3 */
  outageAfterS: z.optional(positive()),
  /** Answers a failing streak needs before it is an outage. @default 10 */
  outageSamples: z.optional(count()),
  /** No answer for this many latencies with requests out is an outage (0: off). @default 8 */
  silenceFactor: z.optional(z.number().check(z.gte(0), z.lte(1000))),
  /** First ramp level after an outage, share of the capacity (1: no ramp). @default 0.0625 */
  rampStart: z.optional(z.number().check(z.gt(0), z.lte(1))),
  /** The recovery ramp doubles in this many seconds while probes are answered. @default 0.1 */
  rampDoubleS: z.optional(positive()),
  /**
   * The ramp level a black hole's first healthy answers resume, share of the capacity (0: off,
   * the ramp goes on doubling). @default 1
   */
  rampResume: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** Multiple of the more important classes' in-flight demand held back for them (0: off). @default 1 */
  priorityReserve: z.optional(z.number().check(z.gte(0), z.lte(10))),
  /** A class counts as asking for this long after its last request, s. @default 1 */
  askWindowS: z.optional(positive()),
  /** Multiple of √limit the gradient allows as queue on top of the latency tolerance. @default 0 */
  queueAllowance: z.optional(z.number().check(z.gte(0), z.lte(10))),
  /**
   * Standard errors within which a drain's mean is taken for the same unqueued latency and pooled
   * with the answers the old one rests on (0: off, each drain's mean replaces it). @default 3
   */
  baseConfidence: z.optional(z.number().check(z.gte(0), z.lte(10))),
  /**
   * Standard errors by which the answers' short mean must lie below the tolerance's level, while
   * the limit binds in full with no queue, to call the origin bigger and grow that tick as slow
   * start does (0: off). @default 3
   */
  growthConfidence: z.optional(z.number().check(z.gte(0), z.lte(10))),
  /**
   * 1: a drain holds its level only until its sample has been admitted into the emptied queue
   * (first come, first served: later arrivals queue behind the sample), not until every one of
   * them has answered (0: off). @default 1
   */
  drainRelease: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /**
   * 1: a black hole's return resumes the remembered capacity at the answer that proves it (the
   * test of the tick's end, made on the answers heard so far), not at the end of that tick (0:
   * off). @default 1
   */
  resumeAtAnswer: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /**
   * A route with an SLO (`thresholds.sloMs`) keeps at most the queue whose wait fits in the SLO's
   * room past the unqueued answers' 99th percentile (1: on, 0: off, the tolerance's queue alone).
   * @default 1
   */
  sloQueue: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /**
   * Successes of one tick, in drain samples, that excuse the route's first drain while slow
   * start's window binds and they show no queue against the unqueued latency (0: off, the window
   * binding starts it; docs/physics.md §6). @default 1
   */
  startEvidence: z.optional(z.number().check(z.gte(0), z.lte(100))),
  /**
   * 1: a drain that finds the origin faster than the tolerance forgives restarts the unqueued and
   * the short latency from its own mean and drops the other isolates' answers still pooled, so that
   * the slower origin's answers neither hold the estimate nor cut the limit (0: off; off by default:
   * on main 747f5e1 it does not meet the rule for landing, docs/physics.md §4). @default 0
   */
  drainSupersedes: z.optional(z.number().check(z.gte(0), z.lte(1))),
})

export const DEFAULT_PRIORITIES = ['critical', 'normal', 'low'] as const

/** The governor's whole config (the schema; its types are written out in types.ts). */
const configSchema = z.strictObject({
  /** Which engine runs the physics. @default "auto" */
  engine: z._default(z.enum(['auto', 'wasm', 'ts']), 'auto'),
  /** Priority classes, most important first: shed last → first. @default critical, normal, low */
  priorities: z._default(
    z.array(z.string().check(z.minLength(1))).check(z.minLength(1), z.maxLength(8)),
    [...DEFAULT_PRIORITIES],
  ),
  /**
   * Most routes one isolate keeps; the least recently used is evicted. At most 25000, what fits a
   * Workers isolate's memory (MAX_ROUTES_BOUND). @default 10000
   */
  maxRoutes: z._default(z.number().check(z.int(), z.gte(1), z.lte(MAX_ROUTES_BOUND)), 10000),
  /** Options of every route that does not set its own, including routes not configured. */
  defaults: z._default(RouteOptionsSchema, {}),
  routes: z._default(z.array(RouteSchema).check(z.maxLength(MAX_CONFIG_ROUTES)), []),
  physics: z._default(PhysicsSchema, {}),
  sync: z._default(SyncSchema, {
    store: 'memory',
    intervalMs: 250,
    samplesPerExchange: 200,
    newsSamples: 8,
    heartbeatMs: 600000,
    timeoutMs: 1000,
    onStoreFailure: 'local',
  }),
  priorityRules: z._default(z.array(PriorityRuleSchema), []),
  admin: z._default(AdminSchema, { prefix: '/__rheostat', maxBodyBytes: 65536 }),
  decisionLog: z._default(DecisionLogSchema, { enabled: false, maxDecisionsPerS: 1 }),
  /**
   * Proxies in front of the edge whose forwarding fields (X-Forwarded-For, Forwarded, X-Real-IP …)
   * the proxy passes on: IP addresses or CIDR blocks. From any other peer those fields are
   * dropped and X-Forwarded-For is the peer's address alone (docs/http.md). @default []
   */
  trustedProxies: z._default(
    z.array(
      z.string().check(
        z.refine((text) => parseBlock(text) !== null, 'Expected an IP address or a CIDR block'),
      ),
    ).check(z.maxLength(256)),
    [],
  ),
  /** Requests that match no route: forwarded ungoverned, or answered 404. @default "pass" */
  unmatched: z._default(z.enum(['pass', 'reject']), 'pass'),
}).check(
  z.superRefine((config, ctx) => {
    const known = new Set(config.priorities)
    if (known.size !== config.priorities.length) {
      ctx.issues.push({
        code: 'custom',
        input: config.priorities,
        path: ['priorities'],
        message: 'Priorities must be unique',
      })
    }
    // A route's groups are checked as they take effect: the route's fields over the config's
    // `defaults` over the table of defaults.ts.
    const checkOptions = (
      options: z.infer<typeof RouteOptionsSchema>,
      path: PropertyKey[],
      under?: RouteOptions,
    ) => {
      if (options.priority !== undefined && !known.has(options.priority)) {
        ctx.issues.push({
          code: 'custom',
          input: options.priority,
          path: [...path, 'priority'],
          message: `Unknown priority "${options.priority}": expected one of ${
            config.priorities.map((p) => `"${p}"`).join(', ')
          }`,
        })
      }
      const c = options.concurrency
      if (c) {
        const { min, max, initial } = withDefaults(CONCURRENCY_DEFAULTS, under?.concurrency, c)
        if (min > max) {
          ctx.issues.push({
            code: 'custom',
            input: c,
            path: [...path, 'concurrency'],
            message: `Concurrency min (${min}) exceeds max (${max})`,
          })
        } else if (initial < min || initial > max) {
          ctx.issues.push({
            code: 'custom',
            input: c,
            path: [...path, 'concurrency', 'initial'],
            message: `Initial concurrency (${initial}) must lie within min..max (${min}..${max})`,
          })
        }
      }
      const b = options.breaker &&
        withDefaults(BREAKER_DEFAULTS, under?.breaker, options.breaker)
      if (b && b.closePressure >= b.tripPressure) {
        ctx.issues.push({
          code: 'custom',
          input: b,
          path: [...path, 'breaker', 'closePressure'],
          message: 'Breaker closePressure must be below tripPressure',
        })
      }
    }
    const ph = withDefaults(PHYSICS_DEFAULTS, config.physics)
    if (ph.pressureOhm + ph.momentumOhm + ph.scarOhm <= 0) {
      ctx.issues.push({
        code: 'custom',
        input: ph,
        path: ['physics', 'pressureOhm'],
        message: 'At least one of pressureOhm, momentumOhm, scarOhm must be above 0',
      })
    }
    checkOptions(config.defaults, ['defaults'])
    config.priorityRules.forEach((rule, i) => {
      if (!known.has(rule.priority)) {
        ctx.issues.push({
          code: 'custom',
          input: rule.priority,
          path: ['priorityRules', i, 'priority'],
          message: `Unknown priority "${rule.priority}": expected one of ${
            config.priorities.map((p) => `"${p}"`).join(', ')
          }`,
        })
      }
    })
    const ids = new Set<string>()
    config.routes.forEach((route, i) => {
      if (ids.has(route.id)) {
        ctx.issues.push({
          code: 'custom',
          input: route.id,
          path: ['routes', i, 'id'],
          message: `Duplicate route id "${route.id}"`,
        })
      }
      ids.add(route.id)
      checkOptions(route, ['routes', i], config.defaults)
    })
  }),
)

/**
 * The governor's whole config: validates a config as written (`GovernorConfigInput`) and gives it
 * back with defaults filled in (`GovernorConfig`). `parseConfig` wraps it with readable errors.
 */
export const GovernorConfigSchema: z.ZodMiniType<GovernorConfig, GovernorConfigInput> = configSchema

/** The schema's own types, for the type-level test that types.ts matches them. @internal */
export type InferredConfig = z.infer<typeof configSchema>
/** @internal */
export type InferredConfigInput = z.input<typeof configSchema>

/** One problem found in a config. */
export interface ConfigProblem {
  /** Where, as a dotted path (`routes.0.priority`); empty for the whole config. */
  path: string
  /** Why, in a sentence. */
  message: string
}

/** A config that failed validation, with every problem found. */
export class ConfigError extends Error {
  readonly problems: ConfigProblem[]
  constructor(problems: ConfigProblem[]) {
    super(
      `Invalid Rheostat config: ${problems.length} problem${problems.length === 1 ? '' : 's'}\n` +
        problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n'),
    )
    this.name = 'ConfigError'
    this.problems = problems
  }
}

/**
 * Validates a config and fills in defaults.
 *
 * @param input The config as written (an object, e.g. parsed JSON).
 * @returns The validated config.
 * @throws {ConfigError} Listing the path and reason of every problem.
 *
 * @example Usage
 * ```ts
 * import { parseConfig } from './schema.ts'
 * const config = parseConfig({ routes: [{ id: 'checkout', priority: 'critical' }] })
 * if (config.maxRoutes !== 10000) throw new Error('default maxRoutes')
 * ```
 */
export function parseConfig(input: unknown): GovernorConfig {
  const result = configSchema.safeParse(input ?? {})
  if (result.success) return result.data
  throw new ConfigError(problemsOf(result.error.issues))
}

/** zod issues as config problems: a dotted path and the message. */
export function problemsOf(
  issues: readonly { path: readonly PropertyKey[]; message: string }[],
): ConfigProblem[] {
  return issues.map((issue) => ({ path: issue.path.map(String).join('.'), message: issue.message }))
}

/**
 * Validates a config for the edge app: on top of `parseConfig`, every route needs `match.path`
 * and `origin`, and every path must be a valid URLPattern.
 *
 * @throws {ConfigError} Listing the path and reason of every problem.
 */
export function parseEdgeConfig(input: unknown): GovernorConfig {
  const config = parseConfig(input)
  const problems: ConfigProblem[] = []
  config.routes.forEach((route, i) => {
    if (route.match === undefined) {
      problems.push({ path: `routes.${i}.match`, message: 'A route of the edge app needs "match"' })
    } else {
      try {
        new URLPattern({ pathname: route.match.path })
      } catch (error) {
        problems.push({
          path: `routes.${i}.match.path`,
          message: `Invalid URLPattern pathname "${route.match.path}": ${
            error instanceof Error ? error.message : String(error)
          }`,
        })
      }
    }
    if (route.origin === undefined) {
      problems.push({
        path: `routes.${i}.origin`,
        message: 'A route of the edge app needs "origin"',
      })
    }
  })
  if (problems.length > 0) throw new ConfigError(problems)
  return config
}

/**
 * Parses config text (JSON) as the Worker reads `RHEOSTAT_CONFIG`.
 *
 * @throws {ConfigError} For text that is not JSON (path "") or a config that fails validation.
 */
export function parseEdgeConfigText(text: string): GovernorConfig {
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch (error) {
    throw new ConfigError([{
      path: '',
      message: `Config is not valid JSON: ${
        error instanceof Error ? error.message : String(error)
      }`,
    }])
  }
  return parseEdgeConfig(input)
}
