// Grids and ablations of governor overrides over scenarios (src/tunnel/grid.ts, npm run
// tunnel:grid): parsing, combinations, overrides written and validated, sums, and the command.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { afterAll, describe, expect, it } from 'vitest'
import { ConfigError } from '../../src/config/schema.ts'
import {
  applyOverrides,
  gridVariants,
  parseAblations,
  parseSetArg,
  runGrid,
  summarise,
  withAblations,
} from '../../src/tunnel/grid.ts'
import { parseScenario } from '../../src/tunnel/scenario.ts'
import { rheostat } from '../../src/tunnel/strategies/rheostat.ts'
import { tokenBucket } from '../../src/tunnel/strategies/token-bucket.ts'

const CLI = new URL('../../src/cli/tunnel-grid.ts', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'rheostat-grid-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCENARIO = {
  name: 'grid-overload',
  seed: 3,
  durationS: 15,
  origin: { concurrency: 8, queueLimit: 64, serviceMs: { p50: 40, p99: 160 }, timeoutMs: 2000 },
  classes: [
    { name: 'checkout', priority: 'critical', share: 0.2, sloMs: 600 },
    { name: 'search', priority: 'low', share: 0.8, sloMs: 400 },
  ],
  load: [{ atS: 0, rps: 100 }, { atS: 5, rps: 600 }],
}

describe('grid variants', () => {
  it('parseSetArg() reads JSON values and refuses a missing path or value', () => {
    expect(parseSetArg('physics.scarHalfLifeS=10,2.5')).toEqual({
      path: 'physics.scarHalfLifeS',
      values: [10, 2.5],
    })
    expect(parseSetArg('a.b=true,null,"x",y')).toEqual({
      path: 'a.b',
      values: [true, null, 'x', 'y'],
    })
    expect(() => parseSetArg('=1')).toThrow(/--set path=value/)
    expect(() => parseSetArg('physics.x')).toThrow(/--set path=value/)
    expect(() => parseSetArg('physics.x=')).toThrow(/No value/)
  })

  it('gridVariants() gives every combination, the first path slowest, and withAblations() one mechanism off at a time', () => {
    const grid = gridVariants([{ path: 'a', values: [1, 2] }, { path: 'b', values: [3, 4] }])
    expect(grid.map((v) => v.name)).toEqual(['a=1 b=3', 'a=1 b=4', 'a=2 b=3', 'a=2 b=4'])
    expect(gridVariants([])).toEqual([{ name: 'as shipped', overrides: [] }])
    const ablations = parseAblations({ 'no-x': { 'physics.x': 0 }, 'no-y': { 'physics.y': 0 } })
    const all = withAblations(gridVariants([]), ablations)
    expect(all.map((v) => v.name)).toEqual(['as shipped', 'no-x', 'no-y'])
    const crossed = withAblations(grid.slice(0, 1), ablations.slice(0, 1))
    expect(crossed[1]?.overrides).toEqual([
      { path: 'a', value: 1 },
      { path: 'b', value: 3 },
      { path: 'physics.x', value: 0 },
    ])
    expect(() => parseAblations([1])).toThrow(/JSON object/)
    expect(() => parseAblations({ a: 1 })).toThrow(/"a" must be an object/)
  })

  it("applyOverrides() writes into the scenario's governor field and validates it", () => {
    const sc = parseScenario({
      ...SCENARIO,
      governor: { defaults: { profile: { baselineLatencyMs: 50 } } },
    })
    const out = applyOverrides(sc, [
      { path: 'physics.scarHalfLifeS', value: 12 },
      { path: 'defaults.breaker.tripPressure', value: 0.9 },
    ])
    expect(out.governor).toEqual({
      defaults: { profile: { baselineLatencyMs: 50 }, breaker: { tripPressure: 0.9 } },
      physics: { scarHalfLifeS: 12 },
    })
    // The scenario itself is not changed.
    expect(sc.governor).toEqual({ defaults: { profile: { baselineLatencyMs: 50 } } })
    expect(() => applyOverrides(sc, [{ path: 'physics.noSuchKnob', value: 1 }])).toThrow(
      ConfigError,
    )
  })

  it('summarise() sums goodput and critical, averages the ideal share and counts leads', () => {
    const run = (
      goodput: number,
      share: number,
      collapsed: boolean,
      t: number,
      leads: boolean,
    ) => ({
      scenario: 's',
      seed: 1,
      goodput,
      criticalGood: goodput / 2,
      idealShare: share,
      collapsed,
      modeTransitions: t,
      leads,
    })
    const row = summarise({ name: 'v', overrides: [] }, [
      run(0.5, 0.6, false, 2, true),
      run(0.9, 1, true, 5, false),
    ])
    expect(row).toMatchObject({
      sumGoodput: 1.4,
      sumCritical: 0.7,
      meanIdealShare: 0.8,
      minIdealShare: 0.6,
      collapses: 1,
      sumTransitions: 7,
      maxTransitions: 5,
      leads: 1,
    })
  })
})

describe('runGrid()', () => {
  it('runGrid() runs each variant with its overrides, the references once, and refuses a bad variant before running', async () => {
    const sc = parseScenario(SCENARIO)
    const variants = gridVariants([{ path: 'physics.tickMs', values: [50, 250] }])
    const rows = await runGrid([sc], variants, {
      strategy: rheostat,
      engine: 'ts',
      seeds: [3, 4],
      baselines: [tokenBucket],
    })
    expect(rows.map((r) => r.variant)).toEqual(['physics.tickMs=50', 'physics.tickMs=250'])
    for (const r of rows) {
      expect(r.runs.map((x) => x.seed)).toEqual([3, 4])
      expect(r.runs.every((x) => typeof x.leads === 'boolean')).toBe(true)
      expect(r.meanIdealShare).toBeGreaterThan(0)
    }
    // The override reached the governor: another tick changes what it did.
    expect(JSON.stringify(rows[0]?.runs)).not.toBe(JSON.stringify(rows[1]?.runs))
    let ran = 0
    await expect(
      runGrid([sc], gridVariants([{ path: 'physics.noSuchKnob', values: [1] }]), {
        strategy: rheostat,
        onRun: () => void ran++,
      }),
    ).rejects.toThrow(/Variant "physics.noSuchKnob=1" on grid-overload/)
    expect(ran).toBe(0)
  })
})

describe('tunnel:grid command', { timeout: 120_000 }, () => {
  it('tunnel:grid prints one row per variant, the shipped one first, with ablations, and writes JSON', () => {
    const file = join(dir, 'grid.json')
    writeFileSync(file, JSON.stringify(SCENARIO))
    const ablate = join(dir, 'ablate.json')
    writeFileSync(ablate, JSON.stringify({ 'short-scar': { 'physics.scarHalfLifeS': 1 } }))
    const json = join(dir, 'out.json')
    const r = spawnSync(process.execPath, [
      CLI,
      file,
      '--set',
      'defaults.breaker.tripPressure=0.9',
      '--ablate',
      ablate,
      '--json',
      json,
      '--engine',
      'ts',
    ], { encoding: 'utf8' })
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^\| variant +\| Σ goodput \(1\) \| Σ critical \| mean ideal share/)
    expect(lines.slice(2).map((l) => l.split('|')[1]?.trim())).toEqual([
      'as shipped',
      'short-scar',
      'defaults.breaker.tripPressure=0.9',
      'defaults.breaker.tripPressure=0.9 short-scar',
    ])
    const report = JSON.parse(readFileSync(json, 'utf8'))
    expect(report.strategy).toBe('rheostat')
    expect(report.rows).toHaveLength(4)

    const bad = spawnSync(process.execPath, [CLI, file, '--set', 'physics.noSuchKnob=1'], {
      encoding: 'utf8',
    })
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain('physics.noSuchKnob=1')
    const usage = spawnSync(process.execPath, [CLI, file, '--strategy', 'ideal'], {
      encoding: 'utf8',
    })
    expect(usage.status).toBe(2)
  })
})
