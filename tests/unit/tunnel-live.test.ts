// Live mode: the same scenario file against real processes. The short run below starts the tunnel
// command as a user does (`--live --speed 4`): an origin process, the Worker bundled by wrangler and
// served by workerd, and the load generator, all on 127.0.0.1. Its assertions are causal facts of
// the run (who reached the origin, when the governor shed), not timings.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { liveProblems, planArrivals } from '../../src/tunnel/live/run.ts'
import { startOrigin, wallNowMs } from '../../src/tunnel/live/origin.ts'
import { CLASS_HEADER, liveConfig } from '../../src/tunnel/live/workerd.ts'
import { parseScenario } from '../../src/tunnel/scenario.ts'
import { simulate } from '../../src/tunnel/simulator.ts'
import { none } from '../../src/tunnel/strategies/none.ts'

const CLI = new URL('../../src/cli/tunnel.ts', import.meta.url).pathname
const SMOKE = new URL('../fixtures/live-smoke.json', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'rheostat-tunnel-live-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const TINY = {
  name: 'tiny',
  durationS: 30,
  origin: { concurrency: 2, queueLimit: 1, serviceMs: { p50: 400, p99: 800 }, timeoutMs: 3000 },
  classes: [
    { name: 'a', priority: 'critical', share: 0.3, sloMs: 1000 },
    { name: 'b', priority: 'low', share: 0.7, sloMs: 1000 },
  ],
  load: [{ atS: 0, rps: 40 }, { atS: 10, rps: 120, rampS: 5 }],
}

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (c: Buffer) => (stdout += c.toString()))
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()))
    child.on('close', (code) => done({ code, stdout, stderr }))
  })
}

describe('live mode parts', () => {
  it("planArrivals() offers the simulator's arrivals, second by second and class by class", async () => {
    const scenario = parseScenario(TINY)
    const plan = planArrivals(scenario, scenario.seed)
    const { metrics } = await simulate(scenario, none)
    for (const [ci, c] of scenario.classes.entries()) {
      const perSecond = new Array<number>(30).fill(0)
      for (const a of plan) if (a.cls === ci) perSecond[Math.floor(a.t / 1000)]++
      expect(perSecond).toEqual(metrics.series.offered[c.name])
    }
    expect(plan.length).toBe(metrics.requests)
  })

  it('liveProblems() refuses speeds out of range and scenarios too large for live mode', () => {
    const scenario = parseScenario(TINY)
    expect(liveProblems(scenario, 1)).toEqual([])
    expect(liveProblems(scenario, 0)[0]).toMatch(/^Speed must lie within 0\.1\.\.20, got 0/)
    const big = parseScenario({ ...TINY, load: [{ atS: 0, rps: 1000 }] })
    expect(liveProblems(big, 2)[0]).toMatch(
      /^Scenario "tiny" is too large for live mode at speed 2: .* above the cap of 1500 req\/s; use --speed 1\.\d or less$/,
    )
    const long = parseScenario({ ...TINY, durationS: 200 })
    expect(liveProblems(long, 0.1)[0]).toMatch(
      /^Scenario "tiny" would take 2000 s of wall time per strategy at speed 0\.1, above the cap of 900 s; use --speed 0\.3 or more$/,
    )
  })

  it('liveConfig() governs every class on one route with its priority, timeout on the wall clock', () => {
    const scenario = parseScenario({
      ...TINY,
      governor: {
        defaults: { profile: { baselineLatencyMs: 50 } },
        routes: [{ id: 'origin', profile: 'LIGHT' }, { id: 'other' }],
      },
    })
    const config = liveConfig(scenario, 'http://127.0.0.1:1', 4) as Record<string, unknown>
    expect(config.routes).toEqual([
      {
        id: 'origin',
        profile: 'LIGHT',
        match: { path: '/*' },
        origin: 'http://127.0.0.1:1',
        timeoutMs: 750,
      },
    ])
    expect(config.priorityRules).toEqual([
      { header: CLASS_HEADER, equals: 'a', priority: 'critical' },
      { header: CLASS_HEADER, equals: 'b', priority: 'low' },
    ])
    expect(config.sync).toEqual({ store: 'memory' })
    // The route's SLO is stated as the simulated strategy states it: the most important class's.
    expect(config.defaults).toEqual({
      profile: { baselineLatencyMs: 50 },
      thresholds: { sloMs: 1000 },
    })
  })

  it('startOrigin() answers from its servers and queue, and a full queue with a plain 503', async () => {
    // 2 servers, a queue of 1, 400 ms service: of 5 requests at once, 2 are served, 1 waits and
    // 2 find the queue full.
    const origin = await startOrigin(parseScenario(TINY), 1)
    try {
      origin.start(wallNowMs())
      const answers = await Promise.all(
        Array.from(
          { length: 5 },
          () =>
            fetch(`${origin.url}/c/a`, { headers: { 'x-tunnel-z': '0', 'x-tunnel-u': '0.5' } })
              .then(async (r) => {
                await r.arrayBuffer()
                return { status: r.status, why: r.headers.get('x-tunnel-origin') }
              }),
        ),
      )
      expect(answers.filter((a) => a.status === 200)).toHaveLength(3)
      expect(answers.filter((a) => a.status === 503 && a.why === 'queue-full')).toHaveLength(2)
      const log = origin.log()
      expect(log).toMatchObject({ received: 5, ok: 3, queueFull: 2, errors: 0 })
      // Queue events: [ms, length] pairs; it reached 1 and emptied again.
      expect(log.queue.filter((_, i) => i % 2 === 1)).toEqual([1, 0])
    } finally {
      await origin.close()
    }
  })
})

describe('tunnel --live', () => {
  it(
    'tunnel --live runs the governor in workerd and the unprotected origin on the same arrivals',
    async () => {
      const json = join(dir, 'live.json')
      const r = await run([SMOKE, '--live', '--speed', '4', '--json', json])
      expect(r.code, r.stderr).toBe(0)
      expect(r.stdout).toContain('seed 11 · 20 s · 1 isolate · live at speed 4')
      expect(r.stdout).toMatch(/^\| rheostat /m)
      expect(r.stdout).toMatch(/^\| none /m)
      expect(r.stderr).toContain('building the Worker')

      const report = JSON.parse(readFileSync(json, 'utf8')).scenarios[0]
      expect(report).toMatchObject({ name: 'live-smoke', mode: 'live', speed: 4, isolates: 1 })
      const { rheostat, none: bare } = report.strategies
      const scenario = parseScenario(JSON.parse(readFileSync(SMOKE, 'utf8')))
      const offered = planArrivals(scenario, scenario.seed).length

      // Every arrival was offered to both; nothing was held back by the generator.
      for (const m of [rheostat, bare]) {
        expect(m.requests).toBe(offered)
        expect(m.live.clientCapped).toBe(0)
        for (
          const key of ['goodputRatio', 'criticalGoodRatio', 'p50Ms', 'p95Ms', 'p99Ms', 'shedRatio']
        ) {
          expect(Number.isFinite(m[key]), key).toBe(true)
        }
        expect(m.collapsed).toBe(false)
      }

      // Without protection every attempt reached the origin, and the outage's 5xx came back.
      expect(bare.shedRatio).toBe(0)
      expect(bare.live.governorShed).toBe(0)
      expect(bare.live.origin.received).toBe(bare.live.sent)
      expect(bare.live.origin.errors).toBeGreaterThan(0)
      expect(bare.modeTransitions).toBe(null)

      // The governor let requests through, shed none before the outage began at 8 s, shed during
      // it, and what it shed never reached the origin.
      const shedBySecond: number[] = rheostat.series.shed
      expect(rheostat.live.origin.received).toBeGreaterThan(0)
      expect(shedBySecond.slice(0, 8).every((n) => n === 0)).toBe(true)
      expect(shedBySecond.slice(8, 14).reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
      expect(rheostat.live.governorShed).toBe(shedBySecond.reduce((a, b) => a + b, 0))
      expect(rheostat.live.origin.received).toBe(rheostat.live.sent - rheostat.live.governorShed)
      expect(rheostat.live.origin.errors).toBeLessThan(bare.live.origin.errors)
      expect(rheostat.detectS).toBeGreaterThanOrEqual(0)
      // The probe reported the governor's mode each second, and it left OPERATIONAL/BOOTSTRAP.
      expect(rheostat.series.mode.every((m: string | null) => typeof m === 'string')).toBe(true)
      expect(rheostat.modeTransitions).toBeGreaterThan(0)
    },
    120_000,
  )
})
