// `npm run tunnel`: the command in a child process, as a user runs it. Reports repeat byte for
// byte; mistakes give clear messages and non-zero exit codes.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'

const CLI = new URL('../../src/cli/tunnel.ts', import.meta.url).pathname
let runs = 0
const dir = mkdtempSync(join(tmpdir(), 'rheostat-tunnel-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCENARIO = {
  name: 'cli-overload',
  seed: 5,
  durationS: 20,
  isolates: 2,
  origin: { concurrency: 16, queueLimit: 64, serviceMs: { p50: 40, p99: 160 }, timeoutMs: 2000 },
  classes: [
    { name: 'checkout', priority: 'critical', share: 0.2, sloMs: 800 },
    { name: 'search', priority: 'low', share: 0.8, sloMs: 400 },
  ],
  load: [{ atS: 0, rps: 200 }, { atS: 5, rps: 900, rampS: 2 }, { atS: 15, rps: 200 }],
  faults: [{ kind: 'latency', atS: 8, untilS: 12, factor: 3 }],
}

function file(name: string, content: unknown): string {
  const path = join(dir, name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content))
  return path
}

function tunnel(...args: string[]) {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' })
  return { code: r.status, stdout: r.stdout, stderr: r.stderr }
}

// Each test spawns the command several times (every strategy, ideal included, by default): on a
// shared 2-core machine that takes longer than vitest's 5 s default. A ceiling, not a timing.
describe('tunnel command', { timeout: 120_000 }, () => {
  it('tunnel prints one Markdown row per strategy and writes the JSON report', () => {
    const json = join(dir, 'report.json')
    const r = tunnel(file('a.json', SCENARIO), '--strategies', 'rheostat,none', '--json', json)
    expect(r.stderr).toBe('')
    expect(r.code).toBe(0)
    const lines = r.stdout.split('\n')
    expect(lines[0]).toBe('### cli-overload')
    expect(lines[2]).toBe('seed 5 · 20 s · 2 isolates')
    expect(lines[4]).toMatch(
      /^\| strategy \| goodput \| ideal share \| critical good \| p99 ms \| mode transitions/,
    )
    expect(lines.filter((l) => l.startsWith('| rheostat '))).toHaveLength(1)
    expect(lines.filter((l) => l.startsWith('| none '))).toHaveLength(1)
    // The ideal reference runs in every report, asked for or not.
    expect(lines.filter((l) => l.startsWith('| ideal '))).toHaveLength(1)
    const report = JSON.parse(readFileSync(json, 'utf8'))
    expect(report.engine).toBe('wasm')
    expect(report.scenarios).toHaveLength(1)
    const [s] = report.scenarios
    expect(s.name).toBe('cli-overload')
    expect(Object.keys(s.strategies)).toEqual(['rheostat', 'none', 'ideal'])
    expect(s.strategies.ideal.idealShare).toBe(1)
    for (const m of Object.values<Record<string, unknown>>(s.strategies)) {
      expect(m.idealShare).toBe(
        Math.round(((m.good as number) / s.strategies.ideal.good) * 1e4) / 1e4,
      )
      for (const key of ['goodputRatio', 'criticalGoodRatio', 'modeTransitions', 'detectS']) {
        expect(m).toHaveProperty(key)
      }
      for (const key of ['recoverS', 'collapsed', 'p99Ms', 'classes', 'series']) {
        expect(m).toHaveProperty(key)
      }
      expect(Object.keys(m.classes as object)).toEqual(['checkout', 'search'])
    }
  })

  it('tunnel prints the same bytes for the same file and seed, and others for another seed', () => {
    const path = file('b.json', SCENARIO)
    const run = (seed: string) => {
      const json = join(dir, `seed-${seed}-${++runs}.json`)
      const r = tunnel(path, '--seed', seed, '--json', json, '--engine', 'ts')
      expect(r.code).toBe(0)
      return r.stdout + readFileSync(json, 'utf8')
    }
    const first = run('9')
    expect(run('9')).toBe(first)
    expect(run('10')).not.toBe(first)
    expect(first).toContain('seed 9 ·')
  })

  it('tunnel names every problem of an invalid scenario with its path and exits 1', () => {
    const bad = {
      ...SCENARIO,
      durationS: -1,
      classes: [{ name: 'x', priority: 'urgent', share: 1, sloMs: 100 }],
    }
    let r = tunnel(file('bad.json', bad))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('is invalid')
    expect(r.stderr).toContain('  - durationS:')
    r = tunnel(file('prio.json', { ...SCENARIO, classes: bad.classes }))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('classes.0.priority: Unknown priority "urgent"')
    r = tunnel(file('broken.json', '{ "name": '))
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('is not valid JSON')
    r = tunnel(join(dir, 'missing.json'))
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Cannot read scenario ".*missing\.json"/)
    expect(r.stdout).toBe('')
  })

  it('tunnel refuses unknown strategies, engines, seeds and options with exit code 2', () => {
    const path = file('c.json', SCENARIO)
    let r = tunnel(path, '--strategies', 'rheostat,leaky')
    expect(r.code).toBe(2)
    expect(r.stderr).toMatch(/^Unknown strategy "leaky": expected one of "rheostat", "none"/)
    r = tunnel(path, '--engine', 'asm')
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Unknown engine "asm"')
    r = tunnel(path, '--seed', '1.5')
    expect(r.code).toBe(2)
    r = tunnel(path, '--bogus')
    expect(r.code).toBe(2)
    r = tunnel()
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('No scenario files given')
    r = tunnel(path, '--live', '--speed', '50')
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Speed must lie within 0.1..20, got 50')
    r = tunnel(path, '--speed', '2')
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Option "--speed" needs "--live"')
    r = tunnel(path, '--live', '--strategies', 'rheostat,gradient2')
    expect(r.code).toBe(2)
    expect(r.stderr).toContain('Strategy "gradient2" cannot run live')
    // 900 req/s at speed 2 is above the cap of 1500 req/s of wall time: refused before any start.
    r = tunnel(path, '--live', '--speed', '2')
    expect(r.code).toBe(1)
    expect(r.stderr).toMatch(/^Scenario "cli-overload" is too large for live mode at speed 2/)
    expect(tunnel('--help').code).toBe(0)
    // Thirteen command starts: more than the default 5 s on a busy machine.
  }, 60_000)
})
