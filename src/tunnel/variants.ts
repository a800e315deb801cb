/**
 * Variants of a wind-tunnel scenario at other sizes, rates, speeds and isolate counts: the
 * stand-in for the scenarios kept aside (docs/wind-tunnel.md, "Scenarios kept aside"). A change
 * to the law that helps the shipped scenarios and loses on their variants is a fit, not a law.
 *
 * Each variant keeps the scenario's faults, classes, SLOs, seed and governor overrides and
 * changes one thing:
 *
 * | suffix    | change                                                               |
 * | --------- | -------------------------------------------------------------------- |
 * | `~double` | servers, queue and offered load × 2 (the same overload, twice the size) |
 * | `~half`   | servers, queue and offered load × ½ (at least one server)             |
 * | `~iso`    | twice the isolates (at most 5,000), each seeing its share of the load |
 * | `~over1.5`| offered load × 1.5 against the same origin                            |
 * | `~slow2`  | service time × 2 (p50 and p99) against the same SLOs                  |
 *
 * @example Five variants of a scenario
 * ```ts
 * import { scenarioVariants } from './variants.ts'
 * const base = { name: 'x', isolates: 2, origin: { concurrency: 8, queueLimit: 16,
 *   serviceMs: { p50: 20, p99: 80 }, timeoutMs: 1000 }, load: [{ atS: 0, rps: 100 }] }
 * const names = scenarioVariants(base).map((v) => v.name)
 * if (names.join() !== 'x~double,x~half,x~iso,x~over1.5,x~slow2') throw new Error()
 * ```
 *
 * @module
 */

/** A scenario as its JSON file holds it (validated later, by `parseScenario`). */
export type ScenarioJson = Record<string, unknown> & { name: string }

/** One variant: its name (`<scenario>~<suffix>`) and its JSON. */
export interface ScenarioVariant {
  name: string
  scenario: ScenarioJson
}

interface OriginJson {
  concurrency: number
  queueLimit: number
  serviceMs: { p50: number; p99: number }
}

interface LoadJson {
  rps: number
}

function scaled(scenario: ScenarioJson, size: number, load: number): ScenarioJson {
  const copy = structuredClone(scenario)
  const origin = copy.origin as OriginJson
  origin.concurrency = Math.max(1, Math.round(origin.concurrency * size))
  origin.queueLimit = Math.round(origin.queueLimit * size)
  for (const point of copy.load as LoadJson[]) point.rps = point.rps * size * load
  return copy
}

/** The five variants of a scenario, in the order of the table above. */
export function scenarioVariants(scenario: ScenarioJson): ScenarioVariant[] {
  const named = (suffix: string, s: ScenarioJson): ScenarioVariant => {
    const name = `${scenario.name}~${suffix}`
    return { name, scenario: { ...s, name } }
  }
  const iso = structuredClone(scenario)
  iso.isolates = Math.min(5000, 2 * ((scenario.isolates as number | undefined) ?? 1))
  const slow = structuredClone(scenario)
  const service = (slow.origin as OriginJson).serviceMs
  service.p50 *= 2
  service.p99 *= 2
  return [
    named('double', scaled(scenario, 2, 1)),
    named('half', scaled(scenario, 0.5, 1)),
    named('iso', iso),
    named('over1.5', scaled(scenario, 1, 1.5)),
    named('slow2', slow),
  ]
}
