/**
 * `npm run tunnel:grid -- FILES… [--set path=v1,v2]… [--ablate FILE] [--strategy NAME]
 * [--baselines] [--seeds a,b] [--engine ts|wasm] [--per-scenario] [--json FILE]`: runs a
 * strategy (rheostat by default) over scenario files under a grid of governor-config overrides
 * and, optionally, ablations, and prints one Markdown row per variant with the sums over every
 * scenario (src/tunnel/grid.ts, docs/wind-tunnel.md "Grids and ablations").
 *
 * Exit codes: 0 done, 1 a file is missing or invalid or a variant makes a scenario invalid, 2 a
 * usage error.
 *
 * @module
 */

import { readFileSync, writeFileSync } from 'node:fs'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { CliError, errorMessage } from './error.ts'
import { ConfigError } from '../config/schema.ts'
import {
  gridVariants,
  parseAblations,
  parseSetArg,
  renderGrid,
  runGrid,
  type Variant,
  withAblations,
} from '../tunnel/grid.ts'
import { parseScenario, type Scenario } from '../tunnel/scenario.ts'
import { STRATEGIES, strategyByName } from '../tunnel/strategies/index.ts'
import type { Strategy } from '../tunnel/strategy.ts'

const USAGE = `Usage: npm run tunnel:grid -- FILES… [options]

Runs one strategy over wind-tunnel scenario files under variants of the scenarios' "governor"
field and prints, per variant, the sums over every scenario (and seed).

Options:
  --set path=v1,v2   a governor-config path (e.g. physics.scarHalfLifeS) and the values to try;
                     repeat it for a grid (every combination is one variant); values are JSON
  --ablate FILE      JSON { "name": { "path": value, … }, … }: each set of overrides on top of
                     every grid variant, one at a time (examples/ablations.json)
  --strategy NAME    the strategy under test (default: rheostat)
  --baselines        also counts the runs where it leads every baseline (goodput and critical
                     goodput at least theirs, 0.005 slack); runs each baseline once per scenario
  --seeds a,b        runs every scenario at each of these seeds (default: its own seed)
  --engine ts|wasm   engine of the rheostat strategy (default: wasm)
  --per-scenario     prints every variant's runs too
  --json FILE        writes every row and run as JSON
  -h, --help         this text`

function readJson(file: string, what: string): unknown {
  let text: string
  try {
    text = readFileSync(file, 'utf8')
  } catch (error) {
    throw new CliError(1, `Cannot read ${what} "${file}": ${errorMessage(error)}`)
  }
  try {
    return JSON.parse(text)
  } catch (error) {
    throw new CliError(
      1,
      `${what[0]?.toUpperCase()}${what.slice(1)} "${file}" is not valid JSON: ${
        errorMessage(error)
      }`,
    )
  }
}

function loadScenario(file: string): Scenario {
  try {
    return parseScenario(readJson(file, 'scenario'))
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    throw new CliError(
      1,
      `Scenario "${file}" is invalid:\n` +
        error.problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n'),
    )
  }
}

async function main(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        set: { type: 'string', multiple: true },
        ablate: { type: 'string' },
        strategy: { type: 'string' },
        baselines: { type: 'boolean' },
        seeds: { type: 'string' },
        engine: { type: 'string' },
        'per-scenario': { type: 'boolean' },
        json: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    throw new CliError(2, `${errorMessage(error)}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  if (values.help) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (positionals.length === 0) throw new CliError(2, `No scenario files given\n\n${USAGE}`)
  const engine = values.engine ?? 'wasm'
  if (engine !== 'ts' && engine !== 'wasm') {
    throw new CliError(2, `Unknown engine "${engine}": expected "ts" or "wasm"`)
  }
  const strategy = strategyByName(values.strategy ?? 'rheostat')
  if (strategy === undefined || strategy.name === 'ideal') {
    throw new CliError(
      2,
      `Unknown strategy "${values.strategy}": expected one of ${
        STRATEGIES.filter((s) => s.name !== 'ideal').map((s) => `"${s.name}"`).join(', ')
      }`,
    )
  }
  let seeds: number[] | undefined
  if (values.seeds !== undefined) {
    seeds = values.seeds.split(',').map((s) => {
      const n = Number(s)
      if (!/^-?\d+$/.test(s.trim()) || !Number.isSafeInteger(n)) {
        throw new CliError(2, `Seeds must be integers, got "${s}"`)
      }
      return n
    })
  }
  let grid: Variant[]
  try {
    const sets = (values.set ?? []).map(parseSetArg)
    // The scenarios as shipped come first, to compare with.
    grid = sets.length === 0 ? gridVariants([]) : [...gridVariants([]), ...gridVariants(sets)]
  } catch (error) {
    throw new CliError(2, errorMessage(error))
  }
  let variants = grid
  if (values.ablate !== undefined) {
    try {
      variants = withAblations(grid, parseAblations(readJson(values.ablate, 'ablation file')))
    } catch (error) {
      if (error instanceof CliError) throw error
      throw new CliError(1, errorMessage(error))
    }
  }
  const scenarios = positionals.map(loadScenario)
  const baselines: Strategy[] = values.baselines
    ? STRATEGIES.filter((s) => s.name !== 'ideal' && s.name !== strategy.name)
    : []
  const tty = process.stderr.isTTY === true
  let rows
  try {
    rows = await runGrid(scenarios, variants, {
      strategy,
      engine,
      seeds,
      baselines,
      onRun: (variant, scenario, done, total) => {
        if (tty) process.stderr.write(`\r\x1b[K${done}/${total} ${variant} · ${scenario}`)
      },
    })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    throw new CliError(1, error.problems.map((p) => p.message).join('\n'))
  }
  if (tty) process.stderr.write('\r\x1b[K')
  process.stdout.write(renderGrid(rows, { perScenario: values['per-scenario'] ?? false }))
  if (values.json !== undefined) {
    try {
      writeFileSync(
        values.json,
        `${JSON.stringify({ strategy: strategy.name, engine, rows }, null, 2)}\n`,
      )
    } catch (error) {
      throw new CliError(1, `Cannot write "${values.json}": ${errorMessage(error)}`)
    }
  }
  return 0
}

try {
  process.exitCode = await main(process.argv.slice(2))
} catch (error) {
  if (!(error instanceof CliError)) throw error
  process.stderr.write(`${error.message}\n`)
  process.exitCode = error.code
}
