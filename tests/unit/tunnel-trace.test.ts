// The trace command (src/cli/tunnel-trace.ts, npm run tunnel:trace): one isolate's governor per
// 100 ms tick of a wind-tunnel run, and its refusals.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { afterAll, describe, expect, it } from 'vitest'

const CLI = new URL('../../src/cli/tunnel-trace.ts', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'rheostat-trace-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCENARIO = {
  name: 'trace-blackhole',
  seed: 5,
  durationS: 10,
  origin: { concurrency: 8, queueLimit: 64, serviceMs: { p50: 40, p99: 120 }, timeoutMs: 1000 },
  classes: [{ name: 'all', priority: 'normal', share: 1, sloMs: 400 }],
  load: [{ atS: 0, rps: 100 }],
  faults: [{ kind: 'blackhole', atS: 4, untilS: 6 }],
}

describe('tunnel:trace command', { timeout: 60_000 }, () => {
  it('prints one row per tick of the window: the outage mode in the black hole, not after it', () => {
    const file = join(dir, 'trace.json')
    writeFileSync(file, JSON.stringify(SCENARIO))
    const r = spawnSync(
      process.execPath,
      [CLI, file, '--from', '3', '--to', '8', '--engine', 'ts'],
      {
        encoding: 'utf8',
      },
    )
    expect(r.stderr).toBe('')
    expect(r.status).toBe(0)
    const lines = r.stdout.trim().split('\n')
    expect(lines[0]).toMatch(/^tick_s +mode +limit +local +ramp +inflight/)
    const rows = lines.slice(1, -1).map((l) => l.trim().split(/\s+/))
    expect(rows).toHaveLength(50)
    expect(rows.map((row) => Number(row[0]))).toEqual(
      Array.from({ length: 50 }, (_, i) => Number((3 + i / 10).toFixed(1))),
    )
    const modeAt = (t: number) => rows.find((row) => Number(row[0]) === t)?.[1]
    // Below capacity nothing drains, so the route is still warming up when the black hole comes.
    expect(modeAt(3)).toBe('BOOTSTRAP')
    expect(modeAt(5)).toBe('CIRCUIT_BREAKER')
    expect(modeAt(7.5)).toBe('OPERATIONAL')
    // Admitted and shed per tick add up to the offered load (about 10 per tick at 100 req/s).
    const offered = rows.reduce((sum, row) => sum + Number(row[8]) + Number(row[9]), 0)
    expect(offered).toBeGreaterThan(400)
    expect(offered).toBeLessThan(600)
    expect(lines.at(-1)).toMatch(/^goodput [\d.]+ critical [\d.]+ transitions 2$/)
  })

  it('refuses a missing file (1), a bad override (1) and no file (2)', () => {
    const file = join(dir, 'trace.json')
    writeFileSync(file, JSON.stringify(SCENARIO))
    const missing = spawnSync(process.execPath, [CLI, join(dir, 'nope.json')], { encoding: 'utf8' })
    expect(missing.status).toBe(1)
    expect(missing.stderr).toContain('nope.json')
    const bad = spawnSync(process.execPath, [CLI, file, '--set', 'physics.rampResume=7'], {
      encoding: 'utf8',
    })
    expect(bad.status).toBe(1)
    expect(bad.stderr).toContain('Invalid --set')
    const usage = spawnSync(process.execPath, [CLI], { encoding: 'utf8' })
    expect(usage.status).toBe(2)
  })
})
