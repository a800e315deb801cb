/**
 * `npx node scripts/tunnel-trace.ts SCENARIO.json [--from S] [--to S] [--step MS] [--isolate N]
 * [--set path=value]… [--engine ts|wasm]`: runs the `rheostat` strategy through one scenario and
 * prints, per step of virtual time (default 100 ms), what decided and what the origin did: the
 * engine's limit, one isolate's local limit, unqueued and short latency, drains done, mode and
 * requests in flight (from that isolate's snapshot), and over all isolates the requests admitted,
 * shed, answered within their SLO, late and failed in the step, with the origin's servers and
 * occupancy (the simulator's truth, which no governor sees). A debugging aid for docs/physics.md
 * (docs/wind-tunnel.md, "Grids and ablations").
 *
 * @module
 */

import { readFileSync } from 'node:fs'
import process from 'node:process'
import { parseArgs } from 'node:util'
import type { Governor } from '../src/adapter/node/mod.ts'
import { applyOverrides, parseSetArg } from '../src/tunnel/grid.ts'
import type { StrategyMetrics } from '../src/tunnel/metrics.ts'
import { parseScenario, type Scenario } from '../src/tunnel/scenario.ts'
import { simulate } from '../src/tunnel/simulator.ts'
import { rheostat, ROUTE_ID } from '../src/tunnel/strategies/rheostat.ts'
import type { ClassSpec, Strategy, StrategyInstance } from '../src/tunnel/strategy.ts'

/** One step of a trace. */
export interface TraceRow {
  /** End of the step, s. */
  t: number
  limit: number
  localLimit: number
  unqueuedMs: number
  shortMs: number
  drains: number
  mode: string
  inflight: number
  /** Over all isolates, within the step. */
  admitted: number
  shed: number
  good: number
  late: number
  failed: number
  /** The origin's servers and attempts at it (in service and queued) at the end of the step. */
  servers: number
  occupancy: number
}

/** Options of `trace`. */
export interface TraceOptions {
  fromMs?: number
  toMs?: number
  stepMs?: number
  isolate?: number
  engine?: 'ts' | 'wasm'
}

/**
 * Runs `rheostat` through a scenario and records a row per step.
 *
 * @example Usage
 * ```ts
 * import { parseScenario } from '../src/tunnel/scenario.ts'
 * const sc = parseScenario({
 *   name: 'tiny', durationS: 3,
 *   origin: { concurrency: 4, queueLimit: 8, serviceMs: { p50: 20, p99: 60 }, timeoutMs: 1000 },
 *   classes: [{ name: 'all', priority: 'normal', share: 1, sloMs: 200 }],
 *   load: [{ atS: 0, rps: 50 }],
 * })
 * const { rows } = await trace(sc, { stepMs: 1000 })
 * if (rows.length !== 2) throw new Error(String(rows.length))
 * ```
 */
export async function trace(
  scenario: Scenario,
  o: TraceOptions = {},
): Promise<{ rows: TraceRow[]; metrics: StrategyMetrics }> {
  const stepMs = o.stepMs ?? 100
  const fromMs = o.fromMs ?? 0
  const toMs = o.toMs ?? Infinity
  const iso = o.isolate ?? 0
  const rows: TraceRow[] = []
  const traced: Strategy = {
    name: 'rheostat',
    source: rheostat.source,
    create(sc, options) {
      const inner = rheostat.create(sc, options) as StrategyInstance & {
        governors: readonly Governor[]
      }
      let next = Math.max(fromMs, stepMs)
      let admitted = 0, shed = 0, good = 0, late = 0, failed = 0
      const flush = (now: number) => {
        while (now >= next && next <= toMs) {
          const snap = (inner.governors[iso] as Governor).snapshot(ROUTE_ID)
          if (snap !== undefined && next > fromMs) {
            rows.push({
              t: next / 1000,
              limit: snap.capacity.limit,
              localLimit: snap.capacity.localLimit,
              unqueuedMs: snap.capacity.unqueuedLatencyMs,
              shortMs: snap.capacity.shortLatencyMs,
              drains: snap.capacity.drains,
              mode: snap.mode,
              inflight: snap.inflight,
              admitted,
              shed,
              good,
              late,
              failed,
              servers: options.oracle?.servers() ?? NaN,
              occupancy: options.oracle?.occupancy() ?? NaN,
            })
          }
          admitted =
            shed =
            good =
            late =
            failed =
              0
          next += stepMs
        }
      }
      return {
        ...inner,
        admit(isolate, cls, nowMs) {
          flush(nowMs)
          const d = inner.admit(isolate, cls, nowMs)
          if (d.allow) admitted++
          else shed++
          return { allow: d.allow, handle: d.allow ? { h: d.handle, cls } : d.handle }
        },
        complete(isolate, handle, outcome, nowMs) {
          flush(nowMs)
          const h = handle as { h: unknown; cls: ClassSpec }
          if (outcome.ok && outcome.latencyMs <= h.cls.sloMs) good++
          else if (outcome.ok) late++
          else failed++
          inner.complete(isolate, h.h, outcome, nowMs)
        },
      }
    },
  }
  const result = await simulate(scenario, traced, { engine: o.engine ?? 'ts' })
  return { rows, metrics: result.metrics }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      from: { type: 'string', default: '0' },
      to: { type: 'string' },
      step: { type: 'string', default: '100' },
      isolate: { type: 'string', default: '0' },
      set: { type: 'string', multiple: true, default: [] },
      engine: { type: 'string', default: 'ts' },
    },
  })
  const file = positionals[0]
  if (file === undefined || (values.engine !== 'ts' && values.engine !== 'wasm')) {
    console.error(
      'Usage: npx node scripts/tunnel-trace.ts SCENARIO.json [--from S] [--to S] [--step MS] ' +
        '[--isolate N] [--set path=value]… [--engine ts|wasm]',
    )
    process.exit(2)
  }
  const scenario = applyOverrides(
    parseScenario(JSON.parse(readFileSync(file, 'utf8'))),
    (values.set ?? []).map((arg) => {
      const { path, values: v } = parseSetArg(arg)
      return { path, value: v[0] }
    }),
  )
  const { rows, metrics } = await trace(scenario, {
    fromMs: Number(values.from) * 1000,
    toMs: values.to === undefined ? Infinity : Number(values.to) * 1000,
    stepMs: Number(values.step),
    isolate: Number(values.isolate),
    engine: values.engine,
  })
  const f = (x: number) => (Number.isFinite(x) ? x.toFixed(1) : String(x))
  console.log(
    't\tlimit\tlocal\tbase\tshort\tdrains\tmode\tinfl\tadm\tshed\tgood\tlate\tfail\tsrv\tocc',
  )
  for (const r of rows) {
    console.log([
      r.t.toFixed(2),
      f(r.limit),
      f(r.localLimit),
      f(r.unqueuedMs),
      f(r.shortMs),
      r.drains,
      r.mode.slice(0, 4),
      r.inflight,
      r.admitted,
      r.shed,
      r.good,
      r.late,
      r.failed,
      r.servers,
      r.occupancy,
    ].join('\t'))
  }
  console.log(
    `goodput ${metrics.goodputRatio} critical ${metrics.criticalGoodRatio} ` +
      `transitions ${metrics.modeTransitions} collapsed ${metrics.collapsed}`,
  )
}

if (import.meta.main) await main()
