// Variants of a wind-tunnel scenario (src/tunnel/variants.ts, npm run tunnel:variants): what each
// changes, that the rest is kept, and the command's files and refusals.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { afterAll, describe, expect, it } from 'vitest'
import { parseScenario } from '../../src/tunnel/scenario.ts'
import { scenarioVariants } from '../../src/tunnel/variants.ts'

const CLI = new URL('../../src/cli/tunnel-variants.ts', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'rheostat-variants-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCENARIO = {
  name: 'base',
  seed: 5,
  durationS: 20,
  isolates: 3,
  origin: { concurrency: 5, queueLimit: 9, serviceMs: { p50: 40, p99: 160 }, timeoutMs: 2000 },
  classes: [{ name: 'api', priority: 'normal', share: 1, sloMs: 500 }],
  load: [{ atS: 0, rps: 100 }, { atS: 5, rps: 300, rampS: 2 }],
  faults: [{ kind: 'errors', atS: 5, untilS: 10, rate: 0.3 }],
}

describe('scenario variants', () => {
  it('each variant changes one thing and keeps the seed, classes and faults', () => {
    const v = Object.fromEntries(scenarioVariants(SCENARIO).map((x) => [x.name, x.scenario]))
    expect(Object.keys(v)).toEqual([
      'base~double',
      'base~half',
      'base~iso',
      'base~over1.5',
      'base~slow2',
    ])
    for (const s of Object.values(v)) {
      const parsed = parseScenario(s)
      expect(parsed.seed).toBe(5)
      expect(parsed.faults).toEqual(SCENARIO.faults)
      expect(parsed.classes).toEqual(SCENARIO.classes)
    }
    const origin = (name: string) => parseScenario(v[name]).origin
    const rps = (name: string) => parseScenario(v[name]).load.map((p) => p.rps)
    expect([origin('base~double').concurrency, origin('base~double').queueLimit]).toEqual([10, 18])
    expect(rps('base~double')).toEqual([200, 600])
    expect([origin('base~half').concurrency, origin('base~half').queueLimit]).toEqual([3, 5])
    expect(rps('base~half')).toEqual([50, 150])
    expect(parseScenario(v['base~iso']).isolates).toBe(6)
    expect(rps('base~iso')).toEqual([100, 300])
    expect(rps('base~over1.5')).toEqual([150, 450])
    expect(origin('base~over1.5').concurrency).toBe(5)
    expect(origin('base~slow2').serviceMs).toEqual({ p50: 80, p99: 320 })
    expect(rps('base~slow2')).toEqual([100, 300])
    // The input is not changed.
    expect(SCENARIO.origin.concurrency).toBe(5)
  })

  it('a half-size origin keeps one server, and twice the isolates stops at 5,000', () => {
    const one = { ...SCENARIO, isolates: 3000, origin: { ...SCENARIO.origin, concurrency: 1 } }
    const v = Object.fromEntries(scenarioVariants(one).map((x) => [x.name, x.scenario]))
    expect(parseScenario(v['base~half']).origin.concurrency).toBe(1)
    expect(parseScenario(v['base~iso']).isolates).toBe(5000)
  })
})

describe('npm run tunnel:variants', () => {
  it('writes five valid files per scenario and refuses bad input with the reason', () => {
    const file = join(dir, 'base.json')
    writeFileSync(file, JSON.stringify(SCENARIO))
    const out = join(dir, 'out')
    const r = spawnSync(process.execPath, [CLI, '--out', out, file], { encoding: 'utf8' })
    expect(r.status).toBe(0)
    expect(r.stdout).toMatch(/Wrote 5 variants/)
    expect(readdirSync(out).sort()).toEqual([
      'base~double.json',
      'base~half.json',
      'base~iso.json',
      'base~over1.5.json',
      'base~slow2.json',
    ])
    const half = JSON.parse(readFileSync(join(out, 'base~half.json'), 'utf8'))
    expect(half.name).toBe('base~half')

    const bad = join(dir, 'bad.json')
    writeFileSync(bad, JSON.stringify({ ...SCENARIO, origin: { concurrency: 0 } }))
    const refused = spawnSync(process.execPath, [CLI, '--out', out, bad], { encoding: 'utf8' })
    expect(refused.status).toBe(1)
    expect(refused.stderr).toMatch(/Scenario ".*bad\.json" is invalid: origin/)

    const usage = spawnSync(process.execPath, [CLI, file], { encoding: 'utf8' })
    expect(usage.status).toBe(2)
    expect(usage.stderr).toMatch(/No --out folder given/)
  })
})
