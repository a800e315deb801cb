// Issue 11's bound, per fault and per isolate: at most two mode transitions in each fault's window
// (from its start to the next fault's), one (out of BOOTSTRAP) before the first fault. The
// tunnel's `modeTransitions` column is a run's total on its busiest isolate, which an isolate with
// three transitions in one fault and one in another would pass; this counts each window.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { Governor } from '../../src/adapter/node/mod.ts'
import { parseScenario } from '../../src/tunnel/scenario.ts'
import { simulate } from '../../src/tunnel/simulator.ts'
import { rheostatStrategy, ROUTE_ID } from '../../src/tunnel/strategies/rheostat.ts'
import { observed } from '../../src/tunnel/strategy.ts'

/** Transitions per isolate per window: index 0 before the first fault, k in fault k's window. */
async function transitionsPerWindow(file: string): Promise<number[][]> {
  const scenario = parseScenario(
    JSON.parse(readFileSync(new URL(`../../examples/scenarios/${file}`, import.meta.url), 'utf8')),
  )
  const starts = scenario.faults.map((f) => f.atS * 1000).sort((a, b) => a - b)
  const windowOf = (tMs: number) => starts.filter((s) => s <= tMs).length
  const counts = Array.from(
    { length: scenario.isolates },
    () => new Array<number>(starts.length + 1).fill(0),
  )
  const seen = new Array<number>(scenario.isolates).fill(0)
  let governors: readonly Governor[] = []
  const inner = rheostatStrategy((g) => {
    governors = g
  })
  // Each isolate's transitions, read after its every decision and answer: a change is dated to
  // the event that showed it (at most one tick late, never in the wrong window but at its edge).
  const look = (i: number, nowMs: number) => {
    const n = governors[i]?.snapshot(ROUTE_ID)?.modeTransitions ?? 0
    if (n > (seen[i] as number)) {
      const row = counts[i] as number[]
      row[windowOf(nowMs)] = (row[windowOf(nowMs)] as number) + n - (seen[i] as number)
      seen[i] = n
    }
  }
  const watched = observed(inner, {
    admitted: (i, _d, nowMs) => look(i, nowMs),
    completed: (i, _o, nowMs) => look(i, nowMs),
  })
  await simulate(scenario, watched, { engine: 'wasm' })
  return counts
}

describe('mode transitions per fault window (issue 11: at most two)', () => {
  it.each(['cb-recovery.json', 'flapping-origin.json'])('%s', async (file) => {
    const counts = await transitionsPerWindow(file)
    for (const row of counts) {
      expect(row[0]).toBeLessThanOrEqual(1)
      for (const n of row.slice(1)) expect(n).toBeLessThanOrEqual(2)
      // Every fault is an outage here: each window has its two, into the mode and out of it.
      expect(row.slice(1).every((n) => n === 2)).toBe(true)
    }
  })
})
