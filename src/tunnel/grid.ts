/**
 * Tools to find the law, not to fit it: runs the `rheostat` strategy (or another) over many
 * scenarios under variants of the governor config (a grid of overrides, and ablations that turn
 * one mechanism off at a time) and sums what each variant achieved. `src/cli/tunnel-grid.ts` is the
 * command; docs/wind-tunnel.md ("Grids and ablations") says how to read it.
 *
 * A variant is a set of overrides, each a dotted path into a scenario's `governor` field (the
 * edge-config format of docs/config.md, e.g. `physics.scarHalfLifeS` or
 * `defaults.breaker.tripPressure`) and a JSON value. The overrides are written over the scenario's
 * own `governor` field and the result is validated as any scenario is, so a path the governor's
 * schema does not know is refused with its reason.
 *
 * @module
 */

import { ConfigError } from '../config/schema.ts'
import type { StrategyMetrics } from './metrics.ts'
import { round } from './metrics.ts'
import { parseScenario, type Scenario } from './scenario.ts'
import { simulate } from './simulator.ts'
import { ideal } from './strategies/ideal.ts'
import type { Strategy } from './strategy.ts'

/** One override: a dotted path into the governor config and its value. */
export interface Override {
  path: string
  value: unknown
}

/** A named set of overrides (the empty set is the scenarios as shipped). */
export interface Variant {
  name: string
  overrides: Override[]
}

/**
 * Parses one `--set path=v1,v2,…` argument. Each value is JSON (a number, `true`, `null`, a quoted
 * string); anything that is not JSON is taken as a plain string.
 *
 * @param arg The argument after `--set`.
 * @returns The path and its values, in order.
 * @throws {Error} Without a path, `=` or value.
 * @example Usage
 * ```ts
 * const { path, values } = parseSetArg('physics.scarHalfLifeS=10,20')
 * if (path !== 'physics.scarHalfLifeS' || values.join() !== '10,20') throw new Error(path)
 * ```
 */
export function parseSetArg(arg: string): { path: string; values: unknown[] } {
  const eq = arg.indexOf('=')
  const path = eq < 0 ? '' : arg.slice(0, eq).trim()
  if (eq < 0 || !/^[A-Za-z0-9_]+(\.[A-Za-z0-9_]+)*$/.test(path)) {
    throw new Error(`Expected "--set path=value[,value…]", got "${arg}"`)
  }
  const raw = arg.slice(eq + 1)
  if (raw.trim() === '') throw new Error(`No value given for "${path}"`)
  const values = raw.split(',').map((v) => {
    try {
      return JSON.parse(v) as unknown
    } catch {
      return v.trim()
    }
  })
  return { path, values }
}

/**
 * Every combination of the `--set` values (the first path varies slowest), each a variant named
 * after its overrides; one unnamed variant ("as shipped") without any.
 *
 * @example Usage
 * ```ts
 * const names = gridVariants([{ path: 'a', values: [1, 2] }, { path: 'b', values: [true] }])
 *   .map((v) => v.name)
 * if (names.join() !== 'a=1 b=true,a=2 b=true') throw new Error(names.join())
 * ```
 */
export function gridVariants(sets: readonly { path: string; values: unknown[] }[]): Variant[] {
  let variants: Override[][] = [[]]
  for (const { path, values } of sets) {
    variants = variants.flatMap((v) => values.map((value) => [...v, { path, value }]))
  }
  return variants.map((overrides) => ({ name: variantName(overrides), overrides }))
}

/**
 * Ablations: a JSON object of named override sets, `{ "no-drain": { "physics.drainPeriodS": 0 },
 * … }`, each applied on top of every grid variant, after that variant itself.
 *
 * @param json The parsed file.
 * @returns The named override sets, in the file's order.
 * @throws {Error} When the file is not an object of objects.
 */
export function parseAblations(json: unknown): Variant[] {
  if (json === null || typeof json !== 'object' || Array.isArray(json)) {
    throw new Error('An ablation file is a JSON object: { "name": { "path": value, … }, … }')
  }
  return Object.entries(json as Record<string, unknown>).map(([name, set]) => {
    if (set === null || typeof set !== 'object' || Array.isArray(set)) {
      throw new Error(`Ablation "${name}" must be an object of "path": value`)
    }
    return {
      name,
      overrides: Object.entries(set as Record<string, unknown>).map(([path, value]) => ({
        path,
        value,
      })),
    }
  })
}

/** The grid variants, each followed by itself with every ablation on top. */
export function withAblations(grid: readonly Variant[], ablations: readonly Variant[]): Variant[] {
  return grid.flatMap((g) => [
    g,
    ...ablations.map((a) => ({
      name: g.overrides.length === 0 ? a.name : `${g.name} ${a.name}`,
      overrides: [...g.overrides, ...a.overrides],
    })),
  ])
}

function variantName(overrides: readonly Override[]): string {
  if (overrides.length === 0) return 'as shipped'
  return overrides.map((o) => `${o.path}=${JSON.stringify(o.value)}`).join(' ')
}

/**
 * A scenario with overrides written into its `governor` field, validated.
 *
 * @throws {ConfigError} When the result is not a valid scenario (an unknown path, a bad value).
 */
export function applyOverrides(scenario: Scenario, overrides: readonly Override[]): Scenario {
  if (overrides.length === 0) return scenario
  const governor = structuredClone(scenario.governor) as Record<string, unknown>
  for (const { path, value } of overrides) {
    const keys = path.split('.')
    let node: Record<string, unknown> = governor
    for (const key of keys.slice(0, -1)) {
      const next = node[key]
      if (next === undefined || next === null || typeof next !== 'object') node[key] = {}
      node = node[key] as Record<string, unknown>
    }
    node[keys[keys.length - 1] as string] = value
  }
  return parseScenario({ ...scenario, governor })
}

/** One run: a variant on a scenario at a seed. */
export interface GridRun {
  scenario: string
  seed: number
  goodput: number | null
  criticalGood: number | null
  idealShare: number | null
  collapsed: boolean
  modeTransitions: number | null
  /** Goodput and critical goodput at least every baseline's, 0.005 slack (with baselines only). */
  leads: boolean | null
}

/** What one variant achieved over every scenario and seed. */
export interface GridRow {
  variant: string
  overrides: Override[]
  runs: GridRun[]
  sumGoodput: number
  sumCritical: number
  meanIdealShare: number | null
  minIdealShare: number | null
  collapses: number
  sumTransitions: number
  maxTransitions: number
  /** Runs where it leads every baseline; null without baselines. */
  leads: number | null
}

/** Options of `runGrid`. */
export interface GridOptions {
  strategy: Strategy
  engine?: 'ts' | 'wasm'
  /** Each scenario runs once per seed; default: its own seed. */
  seeds?: readonly number[] | undefined
  /** Baselines to compare with (run once per scenario and seed, whatever the variant). */
  baselines?: readonly Strategy[]
  /** Called after each run. */
  onRun?: (variant: string, scenario: string, done: number, total: number) => void
}

/** The slack with which a goodput counts as at least another's. */
export const LEAD_SLACK = 0.005

/**
 * Runs every variant over every scenario and seed, with the ideal (and the baselines) once per
 * scenario and seed.
 *
 * @throws {ConfigError} When a variant makes a scenario invalid (before anything runs).
 */
export async function runGrid(
  scenarios: readonly Scenario[],
  variants: readonly Variant[],
  options: GridOptions,
): Promise<GridRow[]> {
  // Every variant is applied to every scenario first: a typo fails before minutes of runs.
  const applied = variants.map((v) =>
    scenarios.map((sc) => {
      try {
        return applyOverrides(sc, v.overrides)
      } catch (error) {
        if (!(error instanceof ConfigError)) throw error
        const problems = error.problems.map((p) => `${p.path}: ${p.message}`).join('; ')
        throw new ConfigError([{
          path: '',
          message: `Variant "${v.name}" on ${sc.name}: ${problems}`,
        }])
      }
    })
  )
  const engine = options.engine ?? 'wasm'
  const seedsOf = (sc: Scenario) => options.seeds ?? [sc.seed]
  const total = variants.length * scenarios.reduce((n, sc) => n + seedsOf(sc).length, 0)
  // The references, per scenario and seed.
  const refs = new Map<string, { ideal: StrategyMetrics; baselines: StrategyMetrics[] }>()
  for (const sc of scenarios) {
    for (const seed of seedsOf(sc)) {
      const idealRun = await simulate(sc, ideal, { engine, seed })
      const baselines: StrategyMetrics[] = []
      for (const b of options.baselines ?? []) {
        baselines.push((await simulate(sc, b, { engine, seed })).metrics)
      }
      refs.set(`${sc.name}\u0000${seed}`, { ideal: idealRun.metrics, baselines })
    }
  }
  const rows: GridRow[] = []
  let done = 0
  for (const [vi, variant] of variants.entries()) {
    const runs: GridRun[] = []
    for (const sc of applied[vi] as Scenario[]) {
      for (const seed of seedsOf(sc)) {
        const { metrics: m } = await simulate(sc, options.strategy, { engine, seed })
        const ref = refs.get(`${sc.name}\u0000${seed}`) as NonNullable<ReturnType<typeof refs.get>>
        runs.push({
          scenario: sc.name,
          seed,
          goodput: m.goodputRatio,
          criticalGood: m.criticalGoodRatio,
          idealShare: ref.ideal.good > 0 ? round(m.good / ref.ideal.good, 4) : null,
          collapsed: m.collapsed,
          modeTransitions: m.modeTransitions,
          leads: options.baselines === undefined || options.baselines.length === 0
            ? null
            : ref.baselines.every((b) =>
              (m.goodputRatio ?? 0) >= (b.goodputRatio ?? 0) - LEAD_SLACK &&
              (m.criticalGoodRatio ?? 0) >= (b.criticalGoodRatio ?? 0) - LEAD_SLACK
            ),
        })
        options.onRun?.(variant.name, sc.name, ++done, total)
      }
    }
    rows.push(summarise(variant, runs))
  }
  return rows
}

/** Sums and means of one variant's runs. */
export function summarise(variant: Variant, runs: GridRun[]): GridRow {
  const shares = runs.map((r) => r.idealShare).filter((s): s is number => s !== null)
  const transitions = runs.map((r) => r.modeTransitions ?? 0)
  const led = runs.map((r) => r.leads)
  return {
    variant: variant.name,
    overrides: variant.overrides,
    runs,
    sumGoodput: round(runs.reduce((a, r) => a + (r.goodput ?? 0), 0), 3),
    sumCritical: round(runs.reduce((a, r) => a + (r.criticalGood ?? 0), 0), 3),
    meanIdealShare: shares.length > 0
      ? round(shares.reduce((a, b) => a + b, 0) / shares.length, 4)
      : null,
    minIdealShare: shares.length > 0 ? Math.min(...shares) : null,
    collapses: runs.filter((r) => r.collapsed).length,
    sumTransitions: transitions.reduce((a, b) => a + b, 0),
    maxTransitions: transitions.length > 0 ? Math.max(...transitions) : 0,
    leads: led.some((l) => l === null) ? null : led.filter((l) => l === true).length,
  }
}

/**
 * The grid as Markdown: one row per variant, and under it the runs where the variant did worst
 * against the ideal (optional).
 */
export function renderGrid(rows: readonly GridRow[], options: { perScenario?: boolean } = {}) {
  const runsEach = rows[0]?.runs.length ?? 0
  const withLeads = rows.some((r) => r.leads !== null)
  const header = [
    'variant',
    `Σ goodput (${runsEach})`,
    'Σ critical',
    'mean ideal share',
    'min ideal share',
    'collapses',
    'Σ transitions',
    'max transitions',
    ...(withLeads ? ['leads baselines'] : []),
  ]
  const fmt = (v: number | null, d: number) => (v === null ? '–' : v.toFixed(d))
  const body = rows.map((r) => [
    r.variant,
    fmt(r.sumGoodput, 3),
    fmt(r.sumCritical, 3),
    fmt(r.meanIdealShare, 3),
    fmt(r.minIdealShare, 3),
    String(r.collapses),
    String(r.sumTransitions),
    String(r.maxTransitions),
    ...(withLeads ? [`${r.leads ?? '–'}/${r.runs.length}`] : []),
  ])
  const out = [table(header, body)]
  if (options.perScenario) {
    for (const r of rows) {
      out.push(
        '',
        `#### ${r.variant}`,
        '',
        table(
          ['scenario', 'seed', 'goodput', 'critical', 'ideal share', 'collapsed', 'transitions'],
          r.runs.map((x) => [
            x.scenario,
            String(x.seed),
            fmt(x.goodput, 3),
            fmt(x.criticalGood, 3),
            fmt(x.idealShare, 3),
            x.collapsed ? 'yes' : 'no',
            x.modeTransitions === null ? '–' : String(x.modeTransitions),
          ]),
        ),
      )
    }
  }
  return `${out.join('\n')}\n`
}

/**
 * A Markdown table, first column left-aligned and the others right-aligned, padded.
 *
 * @example Usage
 * ```ts
 * import { table } from './grid.ts'
 * if (table(['a', 'b'], [['x', '1']]) !== '| a   |   b |\n| --- | --: |\n| x   |   1 |') throw new Error()
 * ```
 */
export function table(header: string[], rows: string[][]): string {
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => (r[i] ?? '').length))
  )
  const line = (cells: string[]) =>
    `| ${
      cells.map((
        c,
        i,
      ) => (i === 0 ? c.padEnd(widths[i] as number) : c.padStart(widths[i] as number)))
        .join(' | ')
    } |`
  const rule = `| ${
    widths.map((w, i) => (i === 0 ? '-'.repeat(w) : `${'-'.repeat(w - 1)}:`)).join(' | ')
  } |`
  return [line(header), rule, ...rows.map(line)].join('\n')
}
