// The wind tunnel's simulator in virtual time: determinism, arrivals, the origin model, faults in
// their windows, retries, exchanges at their virtual times, and rheostat against no protection.
import { describe, expect, it } from 'vitest'
import { parseScenario, type Scenario } from '../../src/tunnel/scenario.ts'
import { simulate } from '../../src/tunnel/simulator.ts'
import type { Outcome, Strategy } from '../../src/tunnel/strategy.ts'
import { none } from '../../src/tunnel/strategies/none.ts'
import { rheostat } from '../../src/tunnel/strategies/rheostat.ts'

function scenario(overrides: Record<string, unknown> = {}): Scenario {
  return parseScenario({
    name: 'unit',
    seed: 11,
    durationS: 20,
    origin: { concurrency: 64, queueLimit: 512, serviceMs: { p50: 40, p99: 160 }, timeoutMs: 5000 },
    classes: [
      { name: 'checkout', priority: 'critical', share: 0.25, sloMs: 800 },
      { name: 'search', priority: 'low', share: 0.75, sloMs: 400 },
    ],
    load: [{ atS: 0, rps: 200 }],
    ...overrides,
  })
}

/** A sum over every class of one per-second series. */
function total(series: Record<string, number[]>, from: number, to: number): number {
  let sum = 0
  for (const values of Object.values(series)) {
    for (let s = from; s < to; s++) sum += values[s] as number
  }
  return sum
}

describe('simulate() determinism', () => {
  it('simulate() gives identical metrics for the same seed and different ones for another', async () => {
    const sc = scenario({ faults: [{ kind: 'latency', atS: 5, untilS: 10, factor: 5 }] })
    const a = await simulate(sc, rheostat, { engine: 'ts' })
    const b = await simulate(sc, rheostat, { engine: 'ts' })
    const c = await simulate(sc, rheostat, { engine: 'ts', seed: 12 })
    expect(JSON.stringify(a)).toBe(JSON.stringify(b))
    expect(JSON.stringify(c)).not.toBe(JSON.stringify(a))
    expect(c.seed).toBe(12)
  })

  it('simulate() runs rheostat identically on the ts and wasm engines (bit-identical twins)', async () => {
    const sc = scenario({
      isolates: 3,
      load: [{ atS: 0, rps: 400 }, { atS: 5, rps: 3000, rampS: 2 }],
      faults: [{ kind: 'errors', atS: 8, untilS: 12, rate: 0.6 }],
    })
    const ts = await simulate(sc, rheostat, { engine: 'ts' })
    const wasm = await simulate(sc, rheostat, { engine: 'wasm' })
    expect(JSON.stringify(wasm.metrics)).toBe(JSON.stringify(ts.metrics))
  })

  it('simulate() offers every strategy the same requests', async () => {
    const sc = scenario({ load: [{ atS: 0, rps: 3000 }] })
    const a = await simulate(sc, none)
    const b = await simulate(sc, rheostat, { engine: 'ts' })
    expect(b.metrics.series.offered).toEqual(a.metrics.series.offered)
    expect(b.metrics.ideal).toBe(a.metrics.ideal)
  })
})

describe('simulate() arrivals', () => {
  it('simulate() produces rps × duration requests, split by class share', async () => {
    const { metrics } = await simulate(scenario({ load: [{ atS: 0, rps: 1000 }] }), none)
    expect(metrics.requests / 20_000).toBeCloseTo(1, 1)
    expect(Math.abs(metrics.requests - 20_000)).toBeLessThan(20_000 * 0.02)
    const share = (metrics.classes.checkout?.offered as number) / metrics.requests
    expect(Math.abs(share - 0.25)).toBeLessThan(0.01)
  })

  it('simulate() follows the load curve: nothing before the first point, a linear ramp, steps', async () => {
    const sc = scenario({
      durationS: 30,
      load: [{ atS: 5, rps: 0 }, { atS: 10, rps: 1000, rampS: 10 }, { atS: 25, rps: 200 }],
    })
    const { metrics } = await simulate(sc, none)
    const offered = metrics.series.offered
    expect(total(offered, 0, 10)).toBe(0)
    // The ramp from 0 to 1000 over 10 s: 5,000 requests, and about 550 in its sixth second.
    expect(Math.abs(total(offered, 10, 20) - 5000)).toBeLessThan(5000 * 0.04)
    expect(Math.abs(total(offered, 15, 16) - 550)).toBeLessThan(550 * 0.15)
    expect(Math.abs(total(offered, 20, 25) - 5000)).toBeLessThan(5000 * 0.04)
    expect(Math.abs(total(offered, 25, 30) - 1000)).toBeLessThan(1000 * 0.1)
  })
})

describe('simulate() origin model', () => {
  it('simulate() answers with the lognormal service time at low load: p50 and p99 as configured', async () => {
    const { metrics } = await simulate(scenario({ durationS: 60 }), none)
    expect(Math.abs((metrics.p50Ms as number) - 40)).toBeLessThan(4)
    expect(Math.abs((metrics.p99Ms as number) - 160)).toBeLessThan(160 * 0.15)
    expect(metrics.queueMax).toBeLessThan(5)
    expect(metrics.classes.search?.failed).toBe(0)
    expect(metrics.goodputRatio).toBeGreaterThan(0.97)
  })

  it('simulate() answers 503 at once when every server is busy and the queue is full', async () => {
    // 2 servers × 100 ms = 20 req/s of capacity against 200 req/s.
    const sc = scenario({
      origin: { concurrency: 2, queueLimit: 4, serviceMs: { p50: 100, p99: 100 }, timeoutMs: 5000 },
    })
    const { metrics } = await simulate(sc, none)
    const failed = (metrics.classes.checkout?.failed as number) +
      (metrics.classes.search?.failed as number)
    const served = metrics.attempts - failed
    expect(Math.abs(served - 20 * 20)).toBeLessThan(20)
    expect(metrics.queueMax).toBe(4)
    expect(metrics.fullQueueS).toBeGreaterThan(15)
    // The 503s take no time: most admitted attempts answered in 0 ms.
    expect(metrics.p50Ms).toBe(0)
  })

  it('simulate() fails an attempt at the client timeout while the origin still works on it', async () => {
    // One server, 100 ms each (10 req/s) against 20 req/s: the queue grows without bound.
    const sc = scenario({
      origin: {
        concurrency: 1,
        queueLimit: 10_000,
        serviceMs: { p50: 100, p99: 100 },
        timeoutMs: 250,
      },
      load: [{ atS: 0, rps: 20 }],
    })
    const { metrics } = await simulate(sc, none)
    expect(Math.abs((metrics.p99Ms as number) - 250)).toBeLessThan(2.5)
    const failed = (metrics.classes.checkout?.failed as number) +
      (metrics.classes.search?.failed as number)
    expect(failed).toBeGreaterThan(metrics.attempts * 0.8)
    // The origin does not know the clients left: it keeps serving the queue, 10 per second, and
    // the queue keeps growing by about 10 per second.
    expect(metrics.queueMax).toBeGreaterThan(150)
  })
})

describe('simulate() faults', () => {
  it('simulate() applies a latency fault only within its window', async () => {
    const sc = scenario({ faults: [{ kind: 'latency', atS: 10, untilS: 15, factor: 4 }] })
    const { metrics } = await simulate(sc, none)
    const p95 = metrics.series.p95Ms as number[]
    for (let s = 2; s < 10; s++) expect(p95[s]).toBeLessThan(200)
    for (let s = 11; s < 15; s++) expect(p95[s]).toBeGreaterThan(350)
    for (let s = 16; s < 20; s++) expect(p95[s]).toBeLessThan(200)
  })

  it('simulate() fails that share of attempts fast under an errors fault', async () => {
    const sc = scenario({ faults: [{ kind: 'errors', atS: 10, untilS: 15, rate: 0.5 }] })
    const { metrics } = await simulate(sc, none)
    const failed = metrics.series.failed
    const sum = (from: number, to: number) => failed.slice(from, to).reduce((a, b) => a + b, 0)
    expect(sum(0, 10)).toBe(0)
    expect(sum(15, 20)).toBeLessThan(3)
    const inWindow = sum(10, 15) / total(metrics.series.offered, 10, 15)
    expect(Math.abs(inWindow - 0.5)).toBeLessThan(0.05)
    expect(metrics.ideal).toBeLessThan(metrics.requests * 0.9)
  })

  it('simulate() halves throughput under a capacity fault of 0.5', async () => {
    // 10 servers × 100 ms = 100 req/s, halved to 50 from 10 s on, against 200 req/s.
    const sc = scenario({
      origin: {
        concurrency: 10,
        queueLimit: 10,
        serviceMs: { p50: 100, p99: 100 },
        timeoutMs: 5000,
      },
      classes: [{ name: 'all', priority: 'normal', share: 1, sloMs: 1000 }],
      faults: [{ kind: 'capacity', atS: 10, untilS: 0, factor: 0.5 }],
    })
    const { metrics } = await simulate(sc, none)
    const good = metrics.series.good.all as number[]
    const sum = (from: number, to: number) => good.slice(from, to).reduce((a, b) => a + b, 0)
    expect(Math.abs(sum(2, 10) / 8 - 100)).toBeLessThan(5)
    expect(Math.abs(sum(12, 20) / 8 - 50)).toBeLessThan(3)
    expect(metrics.ideal).toBeCloseTo(10 * 100 + 10 * 50, -1)
  })

  it('simulate() never answers attempts sent into a blackhole: they fail at the client timeout', async () => {
    const sc = scenario({
      origin: {
        concurrency: 64,
        queueLimit: 512,
        serviceMs: { p50: 40, p99: 160 },
        timeoutMs: 2000,
      },
      faults: [{ kind: 'blackhole', atS: 5, untilS: 10 }],
    })
    const { metrics } = await simulate(sc, none)
    const failed = metrics.series.failed
    // Sent in [5, 10) s, failed in [7, 12) s: two seconds later.
    expect(failed.slice(0, 7).reduce((a, b) => a + b, 0)).toBe(0)
    expect(
      Math.abs(
        failed.slice(7, 12).reduce((a, b) => a + b, 0) - total(metrics.series.offered, 5, 10),
      ),
    )
      .toBeLessThan(3)
    expect(metrics.p99Ms).toBeCloseTo(2000, -2)
    expect(metrics.series.ideal[7]).toBe(0)
  })
})

describe('simulate() outcomes say what failed', () => {
  /** Admits everything and keeps each outcome with the virtual time it came at. */
  function recording(seen: { t: number; outcome: Outcome }[]): Strategy {
    return {
      name: 'recording',
      source: 'test',
      create: () => ({
        admit: () => ({ allow: true, handle: undefined }),
        complete: (_isolate, _handle, outcome, nowMs) => void seen.push({ t: nowMs, outcome }),
      }),
    }
  }

  it('simulate() passes 200 for a success, 500 for an errors fault, 503 for a full queue, no status for a timeout', async () => {
    const seen: { t: number; outcome: Outcome }[] = []
    const sc = scenario({
      durationS: 30,
      origin: {
        concurrency: 4,
        queueLimit: 4,
        serviceMs: { p50: 40, p99: 160 },
        timeoutMs: 500,
      },
      load: [{ atS: 0, rps: 20 }, { atS: 10, rps: 400 }, { atS: 15, rps: 20 }],
      faults: [
        { kind: 'errors', atS: 5, untilS: 8, rate: 0.5 },
        { kind: 'blackhole', atS: 20, untilS: 23 },
      ],
    })
    const { metrics } = await simulate(sc, recording(seen))
    const by = (from: number, to: number) =>
      seen.filter((s) => s.t >= from * 1000 && s.t < to * 1000).map((s) => s.outcome)
    // Healthy and light: every answer a 200, ok.
    expect(by(0, 5).every((o) => o.status === 200 && o.ok)).toBe(true)
    // The errors fault: failures are 500s (application errors), never overload.
    const errors = by(5, 8).filter((o) => !o.ok)
    expect(errors.length).toBeGreaterThan(10)
    expect(errors.every((o) => o.status === 500)).toBe(true)
    // 400 req/s on 4 servers of ~48 ms (≈ 84 req/s): the queue fills, 503s come back at once.
    const overload = by(10, 15).filter((o) => !o.ok)
    expect(overload.some((o) => o.status === 503 && o.latencyMs === 0)).toBe(true)
    expect(overload.every((o) => o.status === 503 || o.status === undefined)).toBe(true)
    expect(overload.every((o) => o.retryAfterS === undefined)).toBe(true)
    // Sent into the blackhole: no answer, so no status, at the client's timeout.
    const holes = seen.filter((s) => s.t >= 20_500 && s.t < 23_500 && !s.outcome.ok)
    expect(holes.length).toBeGreaterThan(10)
    expect(holes.every((s) => s.outcome.status === undefined && s.outcome.latencyMs === 500))
      .toBe(true)
    // The report counts them by kind, and they add up to the failures.
    const m = metrics.classes.search as NonNullable<typeof metrics.classes.search>
    expect(m.failedOverload + m.failedError + m.failedNoAnswer).toBe(m.failed)
    expect(m.failedOverload).toBeGreaterThan(0)
    expect(m.failedError).toBeGreaterThan(0)
    expect(m.failedNoAnswer).toBeGreaterThan(0)
  })

  it("simulate() adds Retry-After to a full queue's 503 when the origin sets retryAfterS", async () => {
    const seen: { t: number; outcome: Outcome }[] = []
    const sc = scenario({
      origin: {
        concurrency: 2,
        queueLimit: 2,
        serviceMs: { p50: 40, p99: 160 },
        timeoutMs: 5000,
        retryAfterS: 2,
      },
      load: [{ atS: 0, rps: 300 }],
      faults: [{ kind: 'errors', atS: 0, untilS: 20, rate: 0.2 }],
    })
    await simulate(sc, recording(seen))
    const full = seen.filter((s) => s.outcome.status === 503)
    const failed = seen.filter((s) => s.outcome.status === 500)
    expect(full.length).toBeGreaterThan(100)
    expect(full.every((s) => s.outcome.retryAfterS === 2)).toBe(true)
    expect(failed.length).toBeGreaterThan(10)
    expect(failed.every((s) => s.outcome.retryAfterS === undefined)).toBe(true)
  })
})

describe('simulate() clients', () => {
  it('simulate() retries failed attempts with exponential backoff, as offered load', async () => {
    const sc = scenario({
      faults: [{ kind: 'errors', atS: 0, untilS: 0, rate: 1 }],
      clients: { retries: 2, retryBackoffMs: 100 },
    })
    const { metrics, simulatedRequests } = await simulate(sc, none)
    const retries = (metrics.classes.checkout?.retries as number) +
      (metrics.classes.search?.retries as number)
    // Every request fails, so every request is retried twice (bar the last 0.3 s).
    expect(retries / metrics.requests).toBeGreaterThan(1.95)
    expect(simulatedRequests).toBe(metrics.requests + retries)
    expect(metrics.attempts).toBe(simulatedRequests)
    expect(metrics.good).toBe(0)
  })

  it('simulate() counts the SLO from the first attempt, retries and backoff included', async () => {
    // A shed first attempt, retried 100 ms later and answered in 40 ms: 140 ms for the user.
    let calls = 0
    const shedFirst: Strategy = {
      name: 'shed-first',
      source: 'test',
      create: () => ({
        admit: () => ({ allow: calls++ % 2 === 1, handle: null }),
        complete: () => {},
      }),
    }
    const sc = scenario({
      durationS: 5,
      origin: {
        concurrency: 64,
        queueLimit: 512,
        serviceMs: { p50: 40, p99: 40 },
        timeoutMs: 5000,
      },
      classes: [
        { name: 'tight', priority: 'critical', share: 0.5, sloMs: 120 },
        { name: 'loose', priority: 'low', share: 0.5, sloMs: 160 },
      ],
      load: [{ atS: 0, rps: 1 }],
      clients: { retries: 1, retryBackoffMs: 100 },
    })
    const { metrics } = await simulate(sc, shedFirst)
    expect(metrics.classes.tight?.good).toBe(0)
    expect(metrics.classes.tight?.late).toBe(metrics.classes.tight?.offered)
    expect(metrics.classes.loose?.good).toBe(metrics.classes.loose?.offered)
  })
})

describe('simulate() exchanges', () => {
  it('simulate() calls exchange every interval per isolate, interleaved, and runs scheduled tasks on time', async () => {
    const log: string[] = []
    const probe: Strategy = {
      name: 'probe',
      source: 'test',
      create: (_scenario, options) => ({
        admit: () => ({ allow: true, handle: null }),
        complete: () => {},
        exchange: (isolate, sendMs, latencyMs) => {
          log.push(`send ${isolate} ${sendMs}`)
          return new Promise<void>((resolve) => {
            options.schedule?.(sendMs + latencyMs / 2, async () => {
              await Promise.resolve()
              log.push(`store ${isolate} ${sendMs + latencyMs / 2}`)
            })
            options.schedule?.(sendMs + latencyMs, () => {
              log.push(`answer ${isolate} ${sendMs + latencyMs}`)
              resolve()
            })
          })
        },
      }),
    }
    const sc = scenario({ durationS: 1, isolates: 2, sync: { intervalMs: 250, latencyMs: 30 } })
    await simulate(sc, probe)
    expect(log.slice(0, 6)).toEqual([
      'send 0 125',
      'store 0 140',
      'answer 0 155',
      'send 1 250',
      'store 1 265',
      'answer 1 280',
    ])
    expect(log.filter((l) => l.startsWith('send'))).toHaveLength(7)
  })
})

describe('rheostat in the tunnel', () => {
  it('rheostat has more goodput than no protection in a heavy overload, and does not collapse', async () => {
    // 3× the origin's capacity (64 servers / 47.8 ms mean ≈ 1,340 req/s) for a minute, with the
    // origin slowed 3× for 20 s in the middle.
    const sc = parseScenario({
      name: 'heavy-overload',
      seed: 3,
      durationS: 90,
      isolates: 2,
      origin: {
        concurrency: 64,
        queueLimit: 512,
        serviceMs: { p50: 40, p99: 160 },
        timeoutMs: 5000,
      },
      classes: [
        { name: 'checkout', priority: 'critical', share: 0.2, sloMs: 800 },
        { name: 'search', priority: 'low', share: 0.8, sloMs: 400 },
      ],
      load: [{ atS: 0, rps: 800 }, { atS: 20, rps: 4000, rampS: 5 }, { atS: 80, rps: 800 }],
      faults: [{ kind: 'latency', atS: 40, untilS: 60, factor: 3 }],
    })
    const base = await simulate(sc, none)
    const gov = await simulate(sc, rheostat, { engine: 'wasm' })
    expect(base.metrics.collapsed).toBe(true)
    expect(gov.metrics.collapsed).toBe(false)
    expect(gov.metrics.goodputRatio as number).toBeGreaterThan(
      (base.metrics.goodputRatio as number) + 0.2,
    )
    expect(gov.metrics.criticalGoodRatio as number).toBeGreaterThan(
      base.metrics.criticalGoodRatio as number,
    )
  })
})
