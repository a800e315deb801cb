/**
 * `npm run tunnel -- FILES… [--strategies a,b] [--engine ts|wasm] [--seed N] [--json FILE]
 * [--plot DIR] [--timing]`: runs wind-tunnel scenario files against strategies and prints a Markdown table per
 * scenario on stdout. The same files, strategies, engine and seed print the same bytes.
 *
 * Exit codes: 0 done, 1 a scenario file is missing or invalid, 2 a usage error.
 *
 * @module
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { ConfigError } from '../config/schema.ts'
import { renderPlot } from '../tunnel/plot.ts'
import { renderJson, renderMarkdown, runScenario, type ScenarioReport } from '../tunnel/report.ts'
import { parseScenario, type Scenario } from '../tunnel/scenario.ts'
import { STRATEGIES, strategyByName } from '../tunnel/strategies/index.ts'
import type { Strategy } from '../tunnel/strategy.ts'

const USAGE = `Usage: npm run tunnel -- FILES… [options]

Runs wind-tunnel scenario files (JSON, docs/wind-tunnel.md) and prints a Markdown table per
scenario.

Options:
  --strategies a,b   strategies to run (default: all: ${STRATEGIES.map((s) => s.name).join(', ')})
  --engine ts|wasm   engine of the rheostat strategy (default: wasm)
  --seed N           overrides every scenario's seed
  --json FILE        also writes the full report, with per-second series, as JSON
  --plot DIR         also writes one SVG time-series plot per scenario, DIR/<scenario>.svg
  --timing           prints simulated requests per CPU second of each run on stderr
  -h, --help         this text`

/** A failure with its exit code and message. */
class CliError extends Error {
  readonly code: number
  constructor(code: number, message: string) {
    super(message)
    this.code = code
  }
}

interface Args {
  files: string[]
  strategies: Strategy[]
  engine: 'ts' | 'wasm'
  seed: number | undefined
  json: string | undefined
  plot: string | undefined
  timing: boolean
}

function parse(argv: string[]): Args | null {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        strategies: { type: 'string' },
        engine: { type: 'string' },
        seed: { type: 'string' },
        json: { type: 'string' },
        timing: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
        plot: { type: 'string' },
        // Issue 4 §6, not built yet: named so they fail clearly instead of as unknown.
        live: { type: 'boolean' },
        speed: { type: 'string' },
      },
    })
  } catch (error) {
    throw new CliError(2, `${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  if (values.help) return null
  for (const option of ['live', 'speed'] as const) {
    if (values[option] !== undefined) {
      throw new CliError(2, `Option "--${option}" is not available yet`)
    }
  }
  if (positionals.length === 0) throw new CliError(2, `No scenario files given\n\n${USAGE}`)
  const engine = values.engine ?? 'wasm'
  if (engine !== 'ts' && engine !== 'wasm') {
    throw new CliError(2, `Unknown engine "${engine}": expected "ts" or "wasm"`)
  }
  let seed: number | undefined
  if (values.seed !== undefined) {
    seed = Number(values.seed)
    if (!/^-?\d+$/.test(values.seed) || !Number.isSafeInteger(seed)) {
      throw new CliError(2, `Seed must be an integer, got "${values.seed}"`)
    }
  }
  let strategies: Strategy[] = [...STRATEGIES]
  if (values.strategies !== undefined) {
    const names = values.strategies.split(',').map((n) => n.trim()).filter((n) => n.length > 0)
    if (names.length === 0) throw new CliError(2, 'No strategies given to "--strategies"')
    strategies = names.map((name) => {
      const s = strategyByName(name)
      if (s === undefined) {
        throw new CliError(
          2,
          `Unknown strategy "${name}": expected one of ${
            STRATEGIES.map((k) => `"${k.name}"`).join(', ')
          }`,
        )
      }
      return s
    })
    strategies = strategies.filter((s, i) => strategies.indexOf(s) === i)
  }
  return {
    files: positionals,
    strategies,
    engine,
    seed,
    json: values.json,
    plot: values.plot,
    timing: values.timing ?? false,
  }
}

function load(file: string): Scenario {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new CliError(1, `Cannot read scenario "${file}": ${describe(error)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new CliError(1, `Scenario "${file}" is not valid JSON: ${describe(error)}`)
  }
  try {
    return parseScenario(json)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    const n = error.problems.length
    throw new CliError(
      1,
      `Scenario "${file}" is invalid: ${n} problem${n === 1 ? '' : 's'}\n` +
        error.problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n'),
    )
  }
}

/** A progress bar on stderr, drawn only when stderr is a terminal. */
function progressBar(): {
  update(label: string, fraction: number): void
  clear(): void
} {
  const tty = process.stderr.isTTY === true
  let last = ''
  return {
    update(label, fraction) {
      if (!tty) return
      const width = 30
      const filled = Math.round(fraction * width)
      const text = `[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${
        String(Math.floor(fraction * 100)).padStart(3)
      }% ${label}`
      if (text === last) return
      last = text
      process.stderr.write(`\r${text.slice(0, (process.stderr.columns ?? 80) - 1)}\x1b[K`)
    },
    clear() {
      if (tty && last !== '') process.stderr.write('\r\x1b[K')
      last = ''
    },
  }
}

async function main(argv: string[]): Promise<number> {
  const args = parse(argv)
  if (args === null) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  // Every file is validated before anything runs: a typo in the last file should not cost the
  // minutes the first ones take.
  const scenarios = args.files.map(load)
  const bar = progressBar()
  const cpuTimeS = () => {
    const u = process.cpuUsage()
    return (u.user + u.system) / 1e6
  }
  const reports: ScenarioReport[] = []
  if (args.plot !== undefined) {
    try {
      mkdirSync(args.plot, { recursive: true })
    } catch (error) {
      throw new CliError(1, `Cannot create "${args.plot}": ${describe(error)}`)
    }
  }
  for (const scenario of scenarios) {
    const report = await runScenario(scenario, args.strategies, {
      engine: args.engine,
      seed: args.seed,
      onProgress: (strategy, f) => bar.update(`${scenario.name} · ${strategy}`, f),
      cpuTimeS,
      onRun: (run) => {
        if (!args.timing) return
        bar.clear()
        const rate = Math.round(run.simulatedRequests / run.cpuS)
        process.stderr.write(
          `${run.scenario} · ${run.strategy}: ${run.simulatedRequests} simulated requests in ${
            run.cpuS.toFixed(2)
          } CPU s, ${rate} per CPU second\n`,
        )
      },
    })
    bar.clear()
    reports.push(report)
    process.stdout.write(`${renderMarkdown(report)}\n`)
    if (args.plot !== undefined) {
      const path = join(args.plot, `${scenario.name.replace(/[/\\]/g, '_')}.svg`)
      try {
        writeFileSync(path, renderPlot(scenario, report))
      } catch (error) {
        throw new CliError(1, `Cannot write "${path}": ${describe(error)}`)
      }
      process.stderr.write(`${path}\n`)
    }
  }
  if (args.json !== undefined) {
    try {
      writeFileSync(args.json, renderJson({ engine: args.engine, scenarios: reports }))
    } catch (error) {
      throw new CliError(1, `Cannot write "${args.json}": ${describe(error)}`)
    }
  }
  return 0
}

function describe(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof CliError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exitCode = error.code
}
