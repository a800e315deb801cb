/**
 * Wind-tunnel scenario files: JSON, validated here. The field names are fixed so scenario files
 * keep working (fields may be added). docs/wind-tunnel.md documents them.
 *
 * @module
 */

import * as z from 'zod/mini'
import { ConfigError, type ConfigProblem, parseConfig, problemsOf } from '../config/schema.ts'

const nonNegative = () => z.number().check(z.gte(0))
const positive = () => z.number().check(z.positive())

/** Request classes: a name, a priority class of the governor, a share of the load, an SLO. */
export const ClassSpecSchema = z.strictObject({
  name: z.string().check(z.minLength(1)),
  priority: z.string().check(z.minLength(1)),
  /** Share of arrivals, 0..1; shares are normalised to sum 1. */
  share: z.number().check(z.gt(0), z.lte(1)),
  /** A request is good when it succeeds within this, ms. */
  sloMs: positive(),
})

/** One point of the load curve: from `atS`, `rps` arrivals per second, reached linearly over `rampS`. */
export const LoadPointSchema = z.strictObject({
  atS: nonNegative(),
  rps: nonNegative(),
  rampS: z.optional(nonNegative()),
})

/** A fault active from `atS` until `untilS` (untilS ≤ atS: until the end). */
export const FaultSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('latency'),
    atS: nonNegative(),
    untilS: nonNegative(),
    factor: positive(),
  }),
  z.strictObject({
    kind: z.literal('errors'),
    atS: nonNegative(),
    untilS: nonNegative(),
    rate: z.number().check(z.gte(0), z.lte(1)),
  }),
  z.strictObject({
    kind: z.literal('capacity'),
    atS: nonNegative(),
    untilS: nonNegative(),
    factor: positive(),
  }),
  z.strictObject({
    kind: z.literal('gray'),
    atS: nonNegative(),
    untilS: nonNegative(),
    factor: positive(),
  }),
  z.strictObject({ kind: z.literal('blackhole'), atS: nonNegative(), untilS: nonNegative() }),
])

export const ScenarioSchema = z.strictObject({
  name: z.string().check(z.minLength(1)),
  description: z._default(z.string(), ''),
  seed: z._default(z.number().check(z.int()), 1),
  durationS: positive(),
  /** Governor instances sharing state. */
  isolates: z._default(z.number().check(z.int(), z.gte(1), z.lte(5000)), 1),
  sync: z._default(
    z.strictObject({
      /** Exchange period, ms. */
      intervalMs: z._default(positive(), 250),
      /** Store round-trip time, ms. */
      latencyMs: z._default(nonNegative(), 30),
    }),
    { intervalMs: 250, latencyMs: 30 },
  ),
  origin: z.strictObject({
    /** Servers working in parallel. */
    concurrency: z.number().check(z.int(), z.gte(1)),
    /** FIFO queue in front of them; a request arriving to a full queue gets an immediate 503. */
    queueLimit: z.number().check(z.int(), z.gte(0)),
    /** Lognormal service time with this median and 99th percentile, ms. */
    serviceMs: z.strictObject({ p50: positive(), p99: positive() }),
    /** The client gives up (and the request fails) after this, ms. */
    timeoutMs: positive(),
    /** A full queue's 503 carries `Retry-After` with this many whole seconds; without it, none. */
    retryAfterS: z.optional(z.number().check(z.int(), z.gte(1))),
  }),
  classes: z.array(ClassSpecSchema).check(z.minLength(1)),
  load: z.array(LoadPointSchema).check(z.minLength(1)),
  faults: z._default(z.array(FaultSchema), []),
  clients: z._default(
    z.strictObject({
      /** Retries of a failed or shed request. */
      retries: z._default(z.number().check(z.int(), z.gte(0), z.lte(10)), 0),
      retryBackoffMs: z._default(nonNegative(), 100),
    }),
    { retries: 0, retryBackoffMs: 100 },
  ),
  /**
   * Overrides of the governor config for the rheostat strategy (validated with the governor's
   * schema when the scenario runs, so its errors name the config's paths).
   */
  governor: z._default(z.record(z.string(), z.unknown()), {}),
})

export type Scenario = z.infer<typeof ScenarioSchema>
export type ClassSpec = z.infer<typeof ClassSpecSchema>
export type Fault = z.infer<typeof FaultSchema>

/**
 * Validates a scenario, including its governor overrides and that every class's priority is one
 * of the governor's priorities.
 *
 * @throws {ConfigError} Listing the path and reason of every problem.
 */
export function parseScenario(input: unknown): Scenario {
  const result = ScenarioSchema.safeParse(input)
  if (!result.success) {
    throw new ConfigError(problemsOf(result.error.issues))
  }
  const scenario = result.data
  const problems: ConfigProblem[] = []
  let priorities: string[] | null = null
  try {
    priorities = parseConfig(scenario.governor).priorities
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    for (const p of error.problems) {
      problems.push({ path: p.path ? `governor.${p.path}` : 'governor', message: p.message })
    }
  }
  const { p50, p99 } = scenario.origin.serviceMs
  if (p99 < p50) {
    problems.push({
      path: 'origin.serviceMs.p99',
      message: `The 99th percentile (${p99}) is below the median (${p50})`,
    })
  }
  const names = new Set<string>()
  scenario.classes.forEach((c, i) => {
    if (names.has(c.name)) {
      problems.push({ path: `classes.${i}.name`, message: `Duplicate class name "${c.name}"` })
    }
    names.add(c.name)
  })
  if (priorities !== null) {
    const known = priorities
    scenario.classes.forEach((c, i) => {
      if (!known.includes(c.priority)) {
        problems.push({
          path: `classes.${i}.priority`,
          message: `Unknown priority "${c.priority}": expected one of ${
            known.map((p) => `"${p}"`).join(', ')
          }`,
        })
      }
    })
  }
  if (problems.length > 0) throw new ConfigError(problems)
  return scenario
}

/**
 * The scenario's governor config, with the route's SLO (`thresholds.sloMs`) stated as a user would
 * state it, unless the scenario sets one: the SLO of the most important class present (the
 * tightest, if several classes share that priority). The law protects that class first; the less
 * important get what remains at the latency its SLO allows (docs/physics.md §4).
 */
export function governorConfig(scenario: Scenario): Record<string, unknown> {
  const config = scenario.governor as Record<string, unknown>
  const defaults = (config.defaults ?? {}) as Record<string, unknown>
  const thresholds = (defaults.thresholds ?? {}) as Record<string, unknown>
  if (thresholds.sloMs !== undefined) return config
  const priorities = parseConfig(config).priorities
  let rank = Infinity
  let sloMs = Infinity
  for (const c of scenario.classes) {
    const r = priorities.indexOf(c.priority)
    if (r < rank) {
      rank = r
      sloMs = c.sloMs
    } else if (r === rank && c.sloMs < sloMs) sloMs = c.sloMs
  }
  return { ...config, defaults: { ...defaults, thresholds: { ...thresholds, sloMs } } }
}
