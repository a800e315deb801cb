// What shared state costs in the wind tunnel (src/tunnel/store-ops.ts): store operations counted
// by key and per virtual second, reported for the rheostat strategy, within the bounds of issue 13
// on many isolates; and the scale scenarios of examples/scale stay valid.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { createGovernor } from '../../src/adapter/node/mod.ts'
import { NEWS_TELLERS } from '../../src/governor/sync.ts'
import { renderMarkdown, runScenario } from '../../src/tunnel/report.ts'
import { parseScenario } from '../../src/tunnel/scenario.ts'
import { simulate } from '../../src/tunnel/simulator.ts'
import { OpCounter } from '../../src/tunnel/store-ops.ts'
import { none } from '../../src/tunnel/strategies/none.ts'
import { rheostat } from '../../src/tunnel/strategies/rheostat.ts'

/** Many quiet isolates sharing one origin that slows down from 20 to 35 s. */
const many = (isolates: number, durationS = 40) =>
  parseScenario({
    name: 'many',
    durationS,
    isolates,
    origin: { concurrency: 48, queueLimit: 200, serviceMs: { p50: 60, p99: 300 }, timeoutMs: 5000 },
    classes: [
      { name: 'buy', priority: 'critical', share: 0.1, sloMs: 2000 },
      { name: 'browse', priority: 'normal', share: 0.9, sloMs: 800 },
    ],
    load: [{ atS: 0, rps: 500 }],
    faults: [{ kind: 'latency', atS: 20, untilS: 35, factor: 2.5 }],
    governor: { maxRoutes: 4, defaults: { profile: { baselineLatencyMs: 75 } } },
  })

describe('OpCounter', () => {
  it('OpCounter counts operations per key and per virtual second', () => {
    const c = new OpCounter()
    for (let i = 0; i < 5; i++) c.add('route:a', 1000 + i)
    for (let i = 0; i < 3; i++) c.add('route:b', 1500 + i)
    c.add('route:a', 2000) // a new second for route:a
    c.add('config', 2500)
    expect(c.result(2000)).toEqual({
      total: 10,
      per1kRequests: 5,
      peakPerSPerKey: 5,
      peakKey: 'route:a',
    })
    expect(new OpCounter().result(0)).toEqual({
      total: 0,
      per1kRequests: 0,
      peakPerSPerKey: 0,
      peakKey: null,
    })
  })
})

describe('store operations in the tunnel', () => {
  // docs/sync.md, cost model: ops ≈ I (first words) + R / S (routine) + I · T / H (heartbeats,
  // two operations each) + news (NEWS_TELLERS per fleet-wide change, each a streak of at most
  // log2(S) + 1 reports, and at most one echo each). Every term is computed from the run.
  it('a cold start of 400 quiet isolates (50 requests each) costs what the cost model says: one first word per isolate, routine exchanges paid by samples, heartbeats by their phase, news by its tellers; the same on every run', async () => {
    const scenario = many(400)
    const a = await simulate(scenario, rheostat, { engine: 'ts' })
    const b = await simulate(scenario, rheostat, { engine: 'ts' })
    const ops = a.storeOps!
    expect(ops).toEqual(b.storeOps)
    expect(ops.per1kRequests).toBeCloseTo((ops.total / a.simulatedRequests) * 1000, 9)
    const sync = createGovernor({ engine: 'ts', config: scenario.governor }).config.sync
    const I = scenario.isolates
    const R = a.simulatedRequests
    const S = sync.samplesPerExchange
    const p = (scenario.durationS * 1000) / sync.heartbeatMs
    const ex = { first: 0, samples: 0, heartbeat: 0, news: 0, echo: 0, ...ops.exchanges }
    // Every exchange is one operation on the route's object, a heartbeat one more on the config
    // object: the breakdown accounts for every operation counted.
    const exchanges = Object.values(ex).reduce((x, y) => x + y, 0)
    expect(ops.total).toBe(exchanges + ex.heartbeat)
    // Knowing one's share costs one operation per isolate per lifetime: every isolate says it,
    // none twice.
    expect(ex.first).toBeGreaterThanOrEqual(0.95 * I)
    expect(ex.first).toBeLessThanOrEqual(I)
    expect(ex.samples).toBeLessThanOrEqual(R / (0.75 * S))
    // Heartbeat phases spread over the period: the share p of them falls due within the run
    // (three standard deviations of a binomial above).
    const beats = I * p + 3 * Math.sqrt(I * p * (1 - p))
    expect(ex.heartbeat).toBeLessThanOrEqual(beats)
    // Two fleet-wide changes (the fault's start and end).
    const news = 2 * NEWS_TELLERS * (Math.log2(S) + 1)
    expect(ex.news).toBeLessThanOrEqual(news)
    expect(ex.echo).toBeLessThanOrEqual(ex.news)
    expect(ops.total).toBeLessThanOrEqual(I + R / (0.75 * S) + 2 * beats + 2 * news)
    // The first words alone are 1,000 × I / R = 20 per 1,000 requests here: over the 10,
    // which is about isolates that serve hundreds of requests (next test). With one exchange per
    // isolate per 250 ms interval, 400 isolates would make 1,600 per second.
    expect(ops.peakPerSPerKey).toBeLessThanOrEqual(500)
    // The busiest key is the route's (the first words) or, when quiet isolates have little news
    // for it, the config heartbeat's.
    expect(['route:origin', 'config']).toContain(ops.peakKey)
    expect(ops.total / scenario.durationS).toBeLessThan(0.05 * 1600)
  })

  it('isolates that serve hundreds of requests each (50 isolates, 1,200 each, a fault) stay within 10 store operations per 1,000 requests and 500 per second on a key', async () => {
    const scenario = many(50, 120)
    const a = await simulate(scenario, rheostat, { engine: 'ts' })
    const ops = a.storeOps!
    expect(a.simulatedRequests / scenario.isolates).toBeGreaterThanOrEqual(200)
    expect(ops.exchanges?.first).toBe(scenario.isolates)
    expect(ops.exchanges?.news).toBeGreaterThan(0)
    expect(ops.per1kRequests).toBeLessThanOrEqual(10)
    expect(ops.peakPerSPerKey).toBeLessThanOrEqual(500)
  })

  it('one isolate and strategies without a store report no storeOps', async () => {
    expect((await simulate(many(1), rheostat, { engine: 'ts' })).storeOps).toBeUndefined()
    expect((await simulate(many(50), none)).storeOps).toBeUndefined()
  })

  it('renderMarkdown() puts a line of store operations under the table', async () => {
    const report = await runScenario(many(20), [rheostat, none], { engine: 'ts' })
    const text = renderMarkdown(report)
    expect(text).toMatch(
      /Store operations \(rheostat\): \d+ in all, \d+\.\d\d per 1,000 requests, at most \d+\/s on one key \(route:origin\)\./,
    )
    expect(text).not.toContain('Store operations (none)')
    expect(report.strategies.rheostat!.storeOps!.total).toBeGreaterThan(0)
  })
})

describe('examples/scale', () => {
  const dir = new URL('../../examples/scale/', import.meta.url)
  const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()

  it('examples/scale holds the 100, 1,000 and 5,000 isolate scenarios at 2,000 req/s and 5,000 at 2 req/s each, all valid', () => {
    expect(files).toEqual([
      'isolates-100.json',
      'isolates-1000.json',
      'isolates-5000-busy.json',
      'isolates-5000.json',
    ])
    for (const f of files) {
      const s = parseScenario(JSON.parse(readFileSync(new URL(f, dir), 'utf8')))
      expect(s.name).toBe(f.replace(/\.json$/, ''))
      expect(s.isolates).toBe(Number(s.name.split('-')[1]))
      const rps = f.includes('busy') ? 2 * s.isolates : 2000
      expect(s.load).toEqual([{ atS: 0, rps }])
    }
  })

  it('parseScenario() takes up to 5,000 isolates and refuses more', () => {
    const base = JSON.parse(readFileSync(new URL('isolates-5000.json', dir), 'utf8'))
    expect(() => parseScenario({ ...base, isolates: 5001 })).toThrow(/isolates/)
  })
})
