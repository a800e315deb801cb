/**
 * `npm run tunnel:trace -- FILE [--from S] [--to S] [--isolate I] [--set path=value]…
 * [--engine ts|wasm]`: runs the `rheostat` strategy through one wind-tunnel scenario and prints,
 * per tick (100 ms) of virtual time between `--from` and `--to`, what one isolate's governor
 * decided and saw: its mode, capacity estimate, ramp, requests in flight, and the requests it
 * admitted and shed and the answers it got in that tick. A debugging aid for the law
 * (docs/physics.md): the tables of `npm run tunnel` say how much was lost, this says when and why.
 *
 * Exit codes: 0 done, 1 a file is missing or invalid, 2 a usage error.
 *
 * @module
 */

import { readFileSync } from 'node:fs'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { CliError } from './error.ts'
import { ConfigError } from '../config/schema.ts'
import { applyOverrides, parseSetArg } from '../tunnel/grid.ts'
import { parseScenario } from '../tunnel/scenario.ts'
import { simulate } from '../tunnel/simulator.ts'
import { rheostatStrategy, ROUTE_ID } from '../tunnel/strategies/rheostat.ts'
import { observed } from '../tunnel/strategy.ts'

const USAGE = `Usage: npm run tunnel:trace -- FILE [options]

Runs rheostat through one scenario and prints one isolate's governor per 100 ms tick.

Options:
  --from S          first second to print (default 0)
  --to S            second to stop printing at (default: the scenario's end)
  --isolate I       the isolate to trace (default 0)
  --set path=value  a governor-config override (as in tunnel:grid), repeatable
  --engine ts|wasm  engine (default wasm)
  --seed N          overrides the scenario's seed
  -h, --help        this text`

const TICK_MS = 100

/** The governors of one run, one per isolate, as the strategy hands them to its hook. */
type Governors = Parameters<NonNullable<Parameters<typeof rheostatStrategy>[0]>>[0]

interface TickCounts {
  admitted: number
  shed: number
  ok: number
  failed: number
  lost: number
}

function zero(): TickCounts {
  return { admitted: 0, shed: 0, ok: 0, failed: 0, lost: 0 }
}

async function main(argv: string[]): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        from: { type: 'string' },
        to: { type: 'string' },
        isolate: { type: 'string' },
        set: { type: 'string', multiple: true },
        engine: { type: 'string' },
        seed: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    })
  } catch (error) {
    throw new CliError(2, `${error instanceof Error ? error.message : String(error)}\n${USAGE}`)
  }
  const { values, positionals } = parsed
  if (values.help === true) {
    process.stdout.write(`${USAGE}\n`)
    return 0
  }
  if (positionals.length !== 1) throw new CliError(2, USAGE)
  const file = positionals[0] as string
  let scenario
  try {
    scenario = parseScenario(JSON.parse(readFileSync(file, 'utf8')))
  } catch (error) {
    throw new CliError(
      1,
      `Cannot read "${file}": ${error instanceof Error ? error.message : error}`,
    )
  }
  try {
    const overrides = (values.set ?? []).map((arg) => {
      const { path, values: vs } = parseSetArg(arg)
      return { path, value: vs[0] }
    })
    scenario = applyOverrides(scenario, overrides)
  } catch (error) {
    const reason = error instanceof ConfigError
      ? error.problems.map((p) => `${p.path}: ${p.message}`).join('; ')
      : error instanceof Error
      ? error.message
      : String(error)
    throw new CliError(1, `Invalid --set: ${reason}`)
  }
  const fromMs = Number(values.from ?? 0) * 1000
  const toMs = values.to === undefined ? scenario.durationS * 1000 : Number(values.to) * 1000
  const isolate = Number(values.isolate ?? 0)
  const engine = values.engine === 'ts' ? 'ts' : 'wasm'

  let governors: Governors = []
  const inner = rheostatStrategy((g) => {
    governors = g
  })
  let tick = Math.floor(fromMs / TICK_MS)
  let counts = zero()
  process.stdout.write(
    'tick_s  mode         limit  local   ramp  inflight  base_ms short_ms  adm shed   ok fail lost\n',
  )
  const flush = (nowMs: number) => {
    while ((tick + 1) * TICK_MS <= nowMs) {
      const startMs = tick * TICK_MS
      if (startMs >= fromMs && startMs < toMs) {
        const snap = governors[isolate]?.snapshot(ROUTE_ID)
        const c = snap?.capacity
        const f = (x: number | undefined, w: number, d: number) => (x ?? NaN).toFixed(d).padStart(w)
        process.stdout.write(
          `${(startMs / 1000).toFixed(1).padStart(6)}  ${(snap?.mode ?? '-').padEnd(11)} ${
            f(c?.limit, 6, 1)
          } ${f(c?.localLimit, 6, 1)} ${f(c?.ramp, 6, 3)} ${f(snap?.inflight, 9, 0)} ${
            f(c?.unqueuedLatencyMs, 8, 1)
          } ${f(c?.shortLatencyMs, 8, 1)} ${String(counts.admitted).padStart(4)} ${
            String(counts.shed).padStart(4)
          } ${String(counts.ok).padStart(4)} ${String(counts.failed).padStart(4)} ${
            String(counts.lost).padStart(4)
          }\n`,
        )
      }
      counts = zero()
      tick++
    }
  }
  const before = (nowMs: number) => {
    // Nothing before --from is counted.
    if (nowMs < tick * TICK_MS) return true
    return false
  }
  const traced = observed(inner, {
    admitted(i, d, nowMs) {
      if (i !== isolate) return
      flush(nowMs)
      if (before(nowMs)) return
      if (d.allow) counts.admitted++
      else counts.shed++
    },
    completed(i, outcome, nowMs) {
      if (i !== isolate) return
      flush(nowMs)
      if (before(nowMs)) return
      if (outcome.ok) counts.ok++
      else if (outcome.status === undefined) counts.lost++
      else counts.failed++
    },
  })
  const seed = values.seed === undefined ? undefined : Number(values.seed)
  const result = await simulate(scenario, traced, { engine, seed })
  const m = result.metrics
  process.stdout.write(
    `goodput ${m.goodputRatio} critical ${m.criticalGoodRatio} transitions ${m.modeTransitions}\n`,
  )
  return 0
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error) => {
    if (error instanceof CliError) {
      process.stderr.write(`${error.message}\n`)
      process.exit(error.code)
    }
    throw error
  },
)
