/**
 * Runs scenarios against strategies and renders the results: a Markdown table per scenario and
 * the JSON report. Both are pure functions of the scenarios, strategies, engine and seed, so the
 * same inputs give the same bytes.
 *
 * @module
 */

import { round, type StrategyMetrics } from './metrics.ts'
import type { Scenario } from './scenario.ts'
import type { StoreOps } from './store-ops.ts'
import { simulate } from './simulator.ts'
import type { Strategy } from './strategy.ts'
import { ideal } from './strategies/ideal.ts'

/** One strategy's results in a report. */
export type StrategyReport = StrategyMetrics & {
  simulatedRequests: number
  /**
   * Its good answers ÷ the `ideal` reference's in the same scenario and seed; null when the ideal
   * has none (or, live, when it was not run).
   */
  idealShare: number | null
  /** The store operations of a strategy that shares state through a store (docs/sync.md). */
  storeOps?: StoreOps
}

/** Options of `runScenario`. */
export interface RunOptions {
  /** @default 'wasm' */
  engine?: 'ts' | 'wasm' | undefined
  /** Overrides the scenario's seed. */
  seed?: number | undefined
  /** Progress of each strategy's run, 0..1. */
  onProgress?: ((strategy: string, fraction: number) => void) | undefined
  /** Called after each strategy's run with its work and, given `cpuTimeS`, its CPU time. */
  onRun?: ((run: RunTiming) => void) | undefined
  /** CPU seconds used so far by this process (the CLI passes `process.cpuUsage`'s). */
  cpuTimeS?: (() => number) | undefined
}

/** What one run cost. */
export interface RunTiming {
  scenario: string
  strategy: string
  simulatedRequests: number
  /** NaN without `cpuTimeS`. */
  cpuS: number
}

/** One scenario's results, as the JSON report holds them. */
export interface ScenarioReport {
  name: string
  description: string
  seed: number
  durationS: number
  isolates: number
  /** Live mode only: scenario seconds per wall second. */
  speed?: number
  strategies: Record<string, StrategyReport>
}

/** The JSON report. */
export interface TunnelReport {
  engine: 'ts' | 'wasm'
  scenarios: ScenarioReport[]
}

/**
 * Runs every strategy on one scenario, one after the other, on the same arrivals, and the `ideal`
 * reference after them when it is not among them: every report has it, and every strategy's
 * `idealShare` is its good answers ÷ the ideal's.
 *
 * @param scenario A scenario from `parseScenario`.
 * @param strategies The strategies, in report order.
 * @param options Engine, seed override, progress and timing callbacks.
 * @returns The scenario's report.
 *
 * @example Usage
 * ```ts
 * import { parseScenario } from './scenario.ts'
 * import { none } from './strategies/none.ts'
 * import { renderMarkdown, runScenario } from './report.ts'
 * const scenario = parseScenario({
 *   name: 'tiny', durationS: 5,
 *   origin: { concurrency: 4, queueLimit: 8, serviceMs: { p50: 20, p99: 60 }, timeoutMs: 1000 },
 *   classes: [{ name: 'all', priority: 'normal', share: 1, sloMs: 200 }],
 *   load: [{ atS: 0, rps: 50 }],
 * })
 * const report = await runScenario(scenario, [none])
 * console.log(renderMarkdown(report))
 * ```
 */
export async function runScenario(
  scenario: Scenario,
  strategies: readonly Strategy[],
  options: RunOptions = {},
): Promise<ScenarioReport> {
  const seed = options.seed ?? scenario.seed
  const out: ScenarioReport = {
    name: scenario.name,
    description: scenario.description,
    seed,
    durationS: scenario.durationS,
    isolates: scenario.isolates,
    strategies: {},
  }
  const all = strategies.some((s) => s.name === ideal.name) ? strategies : [...strategies, ideal]
  for (const strategy of all) {
    const cpuStart = options.cpuTimeS?.() ?? NaN
    const result = await simulate(scenario, strategy, {
      engine: options.engine,
      seed,
      onProgress: options.onProgress && ((f) => options.onProgress?.(strategy.name, f)),
    })
    options.onRun?.({
      scenario: scenario.name,
      strategy: strategy.name,
      simulatedRequests: result.simulatedRequests,
      cpuS: (options.cpuTimeS?.() ?? NaN) - cpuStart,
    })
    out.strategies[strategy.name] = {
      ...result.metrics,
      simulatedRequests: result.simulatedRequests,
      idealShare: null,
      ...(result.storeOps === undefined ? {} : { storeOps: result.storeOps }),
    }
  }
  setIdealShares(out.strategies)
  return out
}

/**
 * Sets every strategy's `idealShare` from the `ideal` entry's good answers (null without one, or
 * when it has none).
 */
export function setIdealShares(strategies: Record<string, StrategyReport>): void {
  const reference = strategies[ideal.name]?.good ?? 0
  for (const m of Object.values(strategies)) {
    m.idealShare = reference > 0 ? round(m.good / reference, 4) : null
  }
}

/** The columns of the Markdown table: header, alignment, cell. */
const COLUMNS: readonly [string, 'left' | 'right', (m: StrategyReport) => string][] = [
  ['goodput', 'right', (m) => fixed(m.goodputRatio, 3)],
  ['ideal share', 'right', (m) => fixed(m.idealShare, 3)],
  ['critical good', 'right', (m) => fixed(m.criticalGoodRatio, 3)],
  ['p99 ms', 'right', (m) => fixed(m.p99Ms, 0)],
  [
    'mode transitions',
    'right',
    (m) => (m.modeTransitions === null ? '–' : String(m.modeTransitions)),
  ],
  ['detect s', 'right', (m) => fixed(m.detectS, 1)],
  ['recover s', 'right', (m) => fixed(m.recoverS, 1)],
  ['collapsed', 'left', (m) => (m.collapsed ? `yes (${m.collapsedAtS} s)` : 'no')],
  ['shed %', 'right', (m) => fixed(m.shedRatio * 100, 1)],
]

/**
 * One scenario as Markdown: a heading, a line of facts and a table with one row per strategy.
 * Columns are padded the way `deno fmt` pads them, so the output can be pasted into the docs as is.
 */
export function renderMarkdown(report: ScenarioReport): string {
  const header = ['strategy', ...COLUMNS.map(([h]) => h)]
  const align: ('left' | 'right')[] = ['left', ...COLUMNS.map(([, a]) => a)]
  const rows = Object.entries(report.strategies).map(([name, m]) => [
    name,
    ...COLUMNS.map(([, , cell]) => cell(m)),
  ])
  const widths = header.map((h, i) =>
    Math.max(3, h.length, ...rows.map((r) => (r[i] as string).length))
  )
  const line = (cells: string[]) =>
    `| ${
      cells.map((
        c,
        i,
      ) => (align[i] === 'right' ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number)))
        .join(' | ')
    } |`
  const rule = `| ${
    widths.map((w, i) => (align[i] === 'right' ? `${'-'.repeat(w - 1)}:` : '-'.repeat(w))).join(
      ' | ',
    )
  } |`
  const facts = `seed ${report.seed} · ${report.durationS} s · ${report.isolates} isolate${
    report.isolates === 1 ? '' : 's'
  }${report.speed === undefined ? '' : ` · live at speed ${report.speed}`}`
  const costs = Object.entries(report.strategies).flatMap(([name, m]) =>
    m.storeOps === undefined ? [] : [storeOpsLine(name, m.storeOps)]
  )
  return [
    `### ${report.name}`,
    '',
    facts,
    '',
    line(header),
    rule,
    ...rows.map(line),
    ...(costs.length > 0 ? ['', ...costs] : []),
    '',
  ].join('\n')
}

/** One strategy's store cost as a sentence under the table. */
function storeOpsLine(name: string, ops: StoreOps): string {
  return `Store operations (${name}): ${ops.total} in all, ${
    ops.per1kRequests.toFixed(2)
  } per 1,000 requests, at most ${ops.peakPerSPerKey}/s on one key${
    ops.peakKey === null ? '' : ` (${ops.peakKey})`
  }.`
}

/** The JSON report, two-space indented, with a final newline. */
export function renderJson(report: TunnelReport): string {
  return `${JSON.stringify(report, null, 2)}\n`
}

function fixed(value: number | null, digits: number): string {
  return value === null ? '–' : value.toFixed(digits)
}
