// What shared state costs in the wind tunnel (src/tunnel/store-ops.ts): store operations counted
// by key and per virtual second, reported for the rheostat strategy, within the bounds of issue 13
// on many isolates; and the scale scenarios of examples/scale stay valid.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { renderMarkdown, runScenario } from '../../src/tunnel/report.ts'
import { parseScenario } from '../../src/tunnel/scenario.ts'
import { simulate } from '../../src/tunnel/simulator.ts'
import { OpCounter } from '../../src/tunnel/store-ops.ts'
import { none } from '../../src/tunnel/strategies/none.ts'
import { rheostat } from '../../src/tunnel/strategies/rheostat.ts'

/** Many quiet isolates sharing one origin that slows down half-way. */
const many = (isolates: number) =>
  parseScenario({
    name: 'many',
    durationS: 40,
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
  it('simulate() reports storeOps for rheostat on many isolates, within 10 per 1,000 requests and 500 per second on a key, the same on every run', async () => {
    const scenario = many(400)
    const a = await simulate(scenario, rheostat, { engine: 'ts' })
    const b = await simulate(scenario, rheostat, { engine: 'ts' })
    const ops = a.storeOps!
    expect(ops).toEqual(b.storeOps)
    expect(ops.total).toBeGreaterThan(0)
    expect(ops.per1kRequests).toBeCloseTo((ops.total / a.simulatedRequests) * 1000, 9)
    expect(ops.per1kRequests).toBeLessThanOrEqual(10)
    expect(ops.peakPerSPerKey).toBeLessThanOrEqual(500)
    // The busiest key is the route's or, when quiet isolates have little news for it (400
    // isolates at 1.25 req/s each, none shedding from slow start on), the config heartbeat's.
    expect(['route:origin', 'config']).toContain(ops.peakKey)
    // With one exchange per isolate per 250 ms interval, 400 isolates would make 1,600 per second.
    expect(ops.total / scenario.durationS).toBeLessThan(0.05 * 1600)
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

  it('examples/scale holds the 100, 1,000 and 5,000 isolate scenarios, all valid', () => {
    expect(files).toEqual(['isolates-100.json', 'isolates-1000.json', 'isolates-5000.json'])
    for (const f of files) {
      const s = parseScenario(JSON.parse(readFileSync(new URL(f, dir), 'utf8')))
      expect(s.name).toBe(f.replace(/\.json$/, ''))
      expect(s.isolates).toBe(Number(s.name.slice('isolates-'.length)))
      expect(s.load).toEqual([{ atS: 0, rps: 2000 }])
    }
  })

  it('parseScenario() takes up to 5,000 isolates and refuses more', () => {
    const base = JSON.parse(readFileSync(new URL('isolates-5000.json', dir), 'utf8'))
    expect(() => parseScenario({ ...base, isolates: 5001 })).toThrow(/isolates/)
  })
})
