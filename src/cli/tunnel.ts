/**
 * `npm run tunnel -- FILES… [--strategies a,b] [--engine ts|wasm] [--seed N] [--json FILE]
 * [--plot DIR] [--timing] [--live [--speed N]]`: runs wind-tunnel scenario files against
 * strategies and prints a Markdown table per scenario on stdout. The same files, strategies,
 * engine and seed print the same bytes (in simulation; `--live` runs real processes).
 *
 * Exit codes: 0 done, 1 a scenario file is missing or invalid, or cannot run live, 2 a usage
 * error, 130 interrupted.
 *
 * @module
 */

import { mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { CliError, errorMessage } from './error.ts'
import { ConfigError } from '../config/schema.ts'
import { renderPlot } from '../tunnel/plot.ts'
import { renderJson, renderMarkdown, runScenario, type ScenarioReport } from '../tunnel/report.ts'
import { parseScenario, type Scenario } from '../tunnel/scenario.ts'
import { STRATEGIES, strategyByName } from '../tunnel/strategies/index.ts'
import {
  killLiveChildren,
  LIVE_STRATEGIES,
  liveProblems,
  type LiveScenarioReport,
  type LiveStrategy,
  MAX_SPEED,
  MIN_SPEED,
  runLive,
} from '../tunnel/live/run.ts'
import { LiveSetupError } from '../tunnel/live/workerd.ts'
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
  --live             runs the scenarios against real processes instead: an origin process,
                     the Worker under workerd (strategy rheostat) or nothing (none), and a
                     load generator on 127.0.0.1 (strategies: ${LIVE_STRATEGIES.join(', ')})
  --speed N          live mode: scenario seconds per wall second, ${MIN_SPEED}..${MAX_SPEED} (default 1)
  -h, --help         this text`

interface Args {
  files: string[]
  strategies: Strategy[]
  engine: 'ts' | 'wasm'
  seed: number | undefined
  json: string | undefined
  plot: string | undefined
  timing: boolean
  /** Scenario ms per wall ms in live mode; undefined in simulation. */
  live: number | undefined
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
        live: { type: 'boolean' },
        speed: { type: 'string' },
      },
    })
  } catch (error) {
    throw new CliError(2, `${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  if (values.help) return null
  let live: number | undefined
  if (values.live) {
    live = values.speed === undefined ? 1 : Number(values.speed)
    if (values.speed !== undefined && !/^\d+(\.\d+)?$/.test(values.speed)) {
      throw new CliError(2, `Speed must be a number, got "${values.speed}"`)
    }
    if (!(live >= MIN_SPEED && live <= MAX_SPEED)) {
      throw new CliError(2, `Speed must lie within ${MIN_SPEED}..${MAX_SPEED}, got ${live}`)
    }
    for (const option of ['engine', 'timing'] as const) {
      if (values[option] !== undefined) {
        throw new CliError(
          2,
          `Option "--${option}" does not apply to --live: the Worker runs the WebAssembly engine ` +
            'under workerd',
        )
      }
    }
  } else if (values.speed !== undefined) {
    throw new CliError(2, 'Option "--speed" needs "--live"')
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
  let strategies: Strategy[] = live === undefined
    ? [...STRATEGIES]
    : STRATEGIES.filter((k) => (LIVE_STRATEGIES as readonly string[]).includes(k.name))
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
    const notLive = strategies.filter((k) =>
      !(LIVE_STRATEGIES as readonly string[]).includes(k.name)
    )
    if (live !== undefined && notLive.length > 0) {
      throw new CliError(
        2,
        `Strategy "${notLive[0]?.name}" cannot run live: --live runs ${
          LIVE_STRATEGIES.map((k) => `"${k}"`).join(' and ')
        }`,
      )
    }
  }
  return {
    files: positionals,
    strategies,
    engine,
    seed,
    json: values.json,
    plot: values.plot,
    timing: values.timing ?? false,
    live,
  }
}

function load(file: string): Scenario {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new CliError(1, `Cannot read scenario "${file}": ${errorMessage(error)}`)
  }
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch (error) {
    throw new CliError(1, `Scenario "${file}" is not valid JSON: ${errorMessage(error)}`)
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
      throw new CliError(1, `Cannot create "${args.plot}": ${errorMessage(error)}`)
    }
  }
  if (args.live !== undefined) {
    const speed = args.live
    // Every scenario is checked before anything starts, as files are.
    const problems = scenarios.flatMap((sc) => liveProblems(sc, speed, args.seed))
    if (problems.length > 0) throw new CliError(1, problems.join('\n'))
  }
  for (const scenario of scenarios) {
    if (args.live !== undefined) {
      let report: LiveScenarioReport
      try {
        report = await runLive(scenario, {
          speed: args.live,
          seed: args.seed,
          strategies: args.strategies.map((k) => k.name as LiveStrategy),
          onProgress: (strategy, f) => bar.update(`${scenario.name} · ${strategy} (live)`, f),
          log: (line) => {
            bar.clear()
            process.stderr.write(`${line}\n`)
          },
        })
      } catch (error) {
        if (error instanceof LiveSetupError) throw new CliError(1, error.message)
        throw error
      }
      bar.clear()
      reports.push(report)
      process.stdout.write(`${renderMarkdown(report)}\n${renderLiveFacts(report)}\n`)
      writePlot(args.plot, scenario, report)
      continue
    }
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
    writePlot(args.plot, scenario, report)
  }
  if (args.json !== undefined) {
    try {
      writeFileSync(args.json, renderJson({ engine: args.engine, scenarios: reports }))
    } catch (error) {
      throw new CliError(1, `Cannot write "${args.json}": ${errorMessage(error)}`)
    }
  }
  return 0
}

function writePlot(dir: string | undefined, scenario: Scenario, report: ScenarioReport): void {
  if (dir === undefined) return
  const path = join(dir, `${scenario.name.replace(/[/\\]/g, '_')}.svg`)
  try {
    writeFileSync(path, renderPlot(scenario, report))
  } catch (error) {
    throw new CliError(1, `Cannot write "${path}": ${errorMessage(error)}`)
  }
  process.stderr.write(`${path}\n`)
}

/** What only a live run shows, one line per strategy, under its table. */
function renderLiveFacts(report: LiveScenarioReport): string {
  const lines = Object.entries(report.strategies).map(([name, m]) => {
    const f = m.live
    if (f === undefined) {
      return `- ${name}: simulated on the same arrivals (it reads the simulator's origin, so it ` +
        'cannot run live); the ideal share of the others is measured against it'
    }
    return `- ${name}: ${f.sent} attempts sent, ${f.governorShed} shed by the governor; origin ` +
      `received ${f.origin.received} (${f.origin.ok} ok, ${f.origin.errors} errors, ` +
      `${f.origin.queueFull} queue full, ${f.origin.blackholed} blackholed), queue max ` +
      `${m.queueMax}; ${f.clientTimeouts} client timeouts, ${f.connectionErrors} connection ` +
      `errors, ${f.clientCapped} not sent (in-flight cap); send lag ≤ ${
        Math.round(f.maxSendLagMs)
      } ms; ${f.wallS} s wall`
  })
  return `${lines.join('\n')}\n`
}

// Ctrl-C: no origin or workerd of a live run may outlive the command.
let interrupted = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.once(signal, () => {
    interrupted = true
    process.stderr.write(`\nInterrupted: stopping the live run's processes\n`)
    void killLiveChildren().finally(() => process.exit(130))
  })
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  // The run fails as its processes are ended; the signal handler exits with 130.
  if (interrupted) await new Promise(() => {})
  if (!(error instanceof CliError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exitCode = error.code
}
