// The `ideal` reference: its depth and headroom formulas, that it sends nothing into a blackhole,
// serves the most important class first, beats every baseline where it should, and that every
// report carries each strategy's share of its goodput.
import { describe, expect, it } from 'vitest'
import { runScenario } from '../../src/tunnel/report.ts'
import { parseScenario, type Scenario } from '../../src/tunnel/scenario.ts'
import { simulate } from '../../src/tunnel/simulator.ts'
import { ideal, idealBuffer, idealDepth, idealHeadroom } from '../../src/tunnel/strategies/ideal.ts'
import { STRATEGIES } from '../../src/tunnel/strategies/index.ts'

function scenario(overrides: Record<string, unknown> = {}): Scenario {
  return parseScenario({
    name: 'ideal-unit',
    seed: 5,
    durationS: 30,
    origin: { concurrency: 16, queueLimit: 200, serviceMs: { p50: 40, p99: 160 }, timeoutMs: 2000 },
    classes: [
      { name: 'checkout', priority: 'critical', share: 0.2, sloMs: 600 },
      { name: 'browse', priority: 'normal', share: 0.3, sloMs: 400 },
      { name: 'crawler', priority: 'low', share: 0.5, sloMs: 400 },
    ],
    load: [{ atS: 0, rps: 200 }, { atS: 10, rps: 1500 }],
    ...overrides,
  })
}

describe('ideal formulas', () => {
  it('idealDepth() lets the queue grow as far as the SLO allows, never below the servers or past the queue', () => {
    // 64 servers, mean 47.8 ms, p99 160 ms, SLO 400 ms: ⌊64·240/47.8⌋ = 321 queued.
    expect(idealDepth(64, 47.8, 160, 400, 512)).toBe(64 + 321)
    expect(idealDepth(64, 47.8, 160, 400, 100)).toBe(164)
    // The SLO is shorter than the p99 service: no queue, but every server still used.
    expect(idealDepth(8, 50, 900, 400, 100)).toBe(8)
  })

  it('idealBuffer() shrinks as the overload grows and is unbounded without one', () => {
    expect(idealBuffer(0.9)).toBe(Infinity)
    expect(idealBuffer(1)).toBe(Infinity)
    const b = [1.2, 2, 5, 30].map(idealBuffer)
    for (let i = 1; i < b.length; i++) expect(b[i]).toBeLessThanOrEqual(b[i - 1] as number)
    // ρ^−(b+1) ≤ 1% and not with one less.
    for (const rho of [1.2, 2, 5, 30]) {
      const n = idealBuffer(rho)
      expect(rho ** -(n + 1)).toBeLessThanOrEqual(0.01)
      if (n > 0) expect(rho ** -n).toBeGreaterThan(0.01)
    }
  })

  it('idealHeadroom() refuses at most 1% of the more important attempts, and all room at ρ ≥ 1', () => {
    expect(idealHeadroom(0)).toBe(0)
    expect(idealHeadroom(0.5)).toBe(7)
    expect(0.5 ** 7).toBeLessThan(0.01)
    expect(0.5 ** 6).toBeGreaterThan(0.01)
    expect(idealHeadroom(0.001)).toBe(1)
    expect(idealHeadroom(1)).toBe(Infinity)
  })
})

describe('ideal strategy', () => {
  it("ideal cannot run without the simulator's origin (live)", () => {
    expect(() => ideal.create(scenario(), { engine: 'ts' })).toThrow(/cannot run live/)
  })

  it('ideal sends nothing into a blackhole and admits again the moment it ends', async () => {
    const sc = scenario({
      load: [{ atS: 0, rps: 200 }],
      faults: [{ kind: 'blackhole', atS: 10, untilS: 15 }],
    })
    const { metrics } = await simulate(sc, ideal)
    const admitted = (s: number) =>
      Object.values(metrics.series.admitted).reduce((a, v) => a + (v[s] as number), 0)
    for (let s = 10; s < 15; s++) expect(admitted(s)).toBe(0)
    expect(admitted(15)).toBeGreaterThan(150)
    expect(Object.values(metrics.classes).every((c) => c.failedNoAnswer === 0)).toBe(true)
  })

  it('ideal serves the most important class first: critical whole, low shed first', async () => {
    // 16 servers ≈ 335 req/s; 1,500 req/s offered from 10 s: critical (300) fits, normal only
    // in part, low not at all.
    const { metrics } = await simulate(scenario(), ideal)
    const c = metrics.classes
    expect(c.checkout?.goodRatio as number).toBeGreaterThan(0.99)
    expect(c.browse?.goodRatio as number).toBeLessThan(0.99)
    expect(c.browse?.good as number).toBeGreaterThan(c.crawler?.good as number)
    const lowAfter = metrics.series.good.crawler?.slice(12).reduce((a, b) => a + b, 0) as number
    expect(lowAfter).toBeLessThan(0.01 * (c.crawler?.offered as number))
    expect(metrics.goodputRatio as number).toBeGreaterThan(0.97)
    expect(metrics.collapsed).toBe(false)
  })

  it("ideal is at least every other strategy's goodput under overload with errors, a capacity drop and a blackhole", async () => {
    const sc = scenario({
      isolates: 3,
      load: [{ atS: 0, rps: 300 }, { atS: 5, rps: 1000 }],
      faults: [
        { kind: 'errors', atS: 5, untilS: 25, rate: 0.3 },
        { kind: 'capacity', atS: 12, untilS: 18, factor: 0.5 },
        { kind: 'blackhole', atS: 20, untilS: 22 },
      ],
    })
    const report = await runScenario(sc, STRATEGIES.filter((s) => s.name !== 'ideal'))
    const idealGood = report.strategies.ideal?.good as number
    for (const [name, m] of Object.entries(report.strategies)) {
      expect({ name, good: m.good }).toEqual({ name, good: expect.any(Number) })
      if (name !== 'ideal') expect(m.good, name).toBeLessThanOrEqual(idealGood * 1.005)
      expect(m.idealShare).toBe(Math.round((m.good / idealGood) * 1e4) / 1e4)
    }
    expect(report.strategies.ideal?.idealShare).toBe(1)
  })
})
