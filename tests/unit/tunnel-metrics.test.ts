// The wind tunnel's measurements on hand-checked inputs, and its building blocks: the event
// queue's order and the seeded random streams.
import { describe, expect, it } from 'vitest'
import { EventQueue } from '../../src/tunnel/event-queue.ts'
import { idealSeries, Recorder } from '../../src/tunnel/metrics.ts'
import { createRandom } from '../../src/tunnel/random.ts'
import { parseScenario, type Scenario } from '../../src/tunnel/scenario.ts'

const PRIORITIES = ['critical', 'normal', 'low'] as const

function scenario(overrides: Record<string, unknown> = {}): Scenario {
  return parseScenario({
    name: 'hand',
    durationS: 4,
    // One server, always 100 ms: 10 req/s of capacity.
    origin: { concurrency: 1, queueLimit: 2, serviceMs: { p50: 100, p99: 100 }, timeoutMs: 1000 },
    classes: [
      { name: 'a', priority: 'critical', share: 0.5, sloMs: 100 },
      { name: 'b', priority: 'low', share: 0.5, sloMs: 100 },
    ],
    load: [{ atS: 0, rps: 10 }],
    faults: [{ kind: 'errors', atS: 1, untilS: 2, rate: 0.5 }],
    ...overrides,
  })
}

describe('idealSeries()', () => {
  it('idealSeries() is (1 − errors) · min(offered, servers / mean service time) per second', () => {
    const offered = Float64Array.from([4, 6, 6, 4, 20, 0, 0, 0]) // (second, class) cells
    // s0: min(10, 10) = 10. s1: errors 0.5, mean 0.5·100 + 0.5·5 = 52.5 ms, capacity 19.05/s,
    // ideal 0.5·min(10, 19.05) = 5. s2: min(20, 10) = 10. s3: nothing offered.
    expect(idealSeries(scenario(), offered, 2)).toEqual([10, 5, 10, 0])
    const faults = [
      { kind: 'latency', atS: 0, untilS: 1, factor: 2 },
      { kind: 'capacity', atS: 1, untilS: 2, factor: 3 },
      { kind: 'blackhole', atS: 2, untilS: 3 },
    ]
    const lognormal = {
      concurrency: 10,
      queueLimit: 0,
      serviceMs: { p50: 100, p99: 400 },
      timeoutMs: 1000,
    }
    // σ = ln 4 / 2.3263, mean = 100·e^(σ²/2) = 119.43 ms: 83.73 req/s from 10 servers.
    const mean = 100 * Math.exp((Math.log(4) / 2.3263478740408408) ** 2 / 2)
    const ideal = idealSeries(
      scenario({ faults, origin: lognormal }),
      Float64Array.from([100, 100, 100, 100, 100, 100, 50, 50]),
      2,
    )
    expect(ideal[0]).toBeCloseTo(10_000 / (mean * 2), 9) // slowed twice: 41.9
    expect(ideal[1]).toBe(200) // 30 servers: capacity 251, demand 200
    expect(ideal[2]).toBe(0) // blackhole
    expect(ideal[3]).toBeCloseTo(Math.min(100, 10_000 / mean), 9)
  })
})

describe('Recorder', () => {
  it('finish() computes goodput, critical good, percentiles, detection, recovery and the queue by hand', () => {
    const rec = new Recorder(scenario())
    // Second 0: class a (0) offers 4, all admitted: 3 answered in 50 ms (good), 1 in 150 ms
    // (late). Class b (1) offers 6: 3 admitted and good, 3 shed before the fault.
    for (let i = 0; i < 4; i++) {
      rec.arrival(0, 100 + i)
      rec.decision(0, 100 + i, true, false)
    }
    for (let i = 0; i < 3; i++) rec.answer(0, 200 + i, 50, 50, true)
    rec.answer(0, 300, 150, 150, true)
    for (let i = 0; i < 6; i++) {
      rec.arrival(1, 400 + i)
      rec.decision(1, 400 + i, i < 3, false)
    }
    for (let i = 0; i < 3; i++) rec.answer(1, 500 + i, 50, 50, true)
    rec.queue(2, 500) // full from 0.5 s …
    rec.closeSecond(0, { resistance: 1, mode: 'OPERATIONAL', modeTransitions: 0 })
    // Second 1 (errors fault from 1 s): 10 of b, the first shed at 1.25 s, 9 admitted and failed.
    for (let i = 0; i < 10; i++) {
      rec.arrival(1, 1250 + i)
      rec.decision(1, 1250 + i, i > 0, false)
    }
    // By kind: 5 application errors (500), 2 overloads (503, 504), 2 without an answer.
    const statuses = [500, 500, 500, 500, 500, 503, 504, undefined, undefined]
    for (let i = 0; i < 9; i++) rec.answer(1, 1300 + i, 5, 5, false, statuses[i])
    rec.queue(0, 1500) // … to 1.5 s
    rec.closeSecond(1, { resistance: 5, mode: 'OPERATIONAL', modeTransitions: 1 })
    // Second 2: 20 of b, 10 admitted and good, 1 shed (10/11 < 95%: not yet recovered), 9
    // decided later (they never were: still 11 attempts).
    for (let i = 0; i < 20; i++) rec.arrival(1, 2000 + i)
    for (let i = 0; i < 11; i++) rec.decision(1, 2000 + i, i < 10, false)
    for (let i = 0; i < 10; i++) rec.answer(1, 2100 + i, 80, 80, true)
    rec.closeSecond(2, {})
    // Second 3: one admitted attempt: recovered.
    rec.decision(1, 3000, true, true)
    rec.closeSecond(3, { resistance: 1, mode: 'OPERATIONAL', modeTransitions: 2 })

    const m = rec.finish(PRIORITIES)
    expect(m.ideal).toBe(25) // 10 + 5 + 10 + 0 (see idealSeries above)
    expect(m.good).toBe(3 + 3 + 10)
    expect(m.goodputRatio).toBe(0.64)
    expect(m.criticalGoodRatio).toBe(0.75) // 3 of a's 4
    expect(m.classes.a).toEqual({
      priority: 'critical',
      offered: 4,
      retries: 0,
      admitted: 4,
      good: 3,
      late: 1,
      shed: 0,
      failed: 0,
      failedOverload: 0,
      failedError: 0,
      failedNoAnswer: 0,
      goodRatio: 0.75,
    })
    expect(m.classes.b).toMatchObject({
      offered: 36,
      retries: 1,
      admitted: 23,
      shed: 5,
      failed: 9,
      failedOverload: 2,
      failedError: 5,
      failedNoAnswer: 2,
    })
    expect(m.attempts).toBe(4 + 6 + 10 + 11 + 1)
    expect(m.shedRatio).toBe(round4(5 / 32))
    // 26 latencies: 9 × 5, 6 × 50, 10 × 80, 1 × 150 (within the histogram's 0.5%).
    expect(m.p50Ms as number).toBeCloseTo(50, -0.5)
    expect(Math.abs((m.p95Ms as number) - 80)).toBeLessThan(0.5)
    expect(Math.abs((m.p99Ms as number) - 150)).toBeLessThan(0.8)
    expect(m.detectS).toBe(0.25)
    expect(m.recoverS).toBe(1)
    expect(m.modeTransitions).toBe(2)
    expect(m.queueMax).toBe(2)
    expect(m.fullQueueS).toBe(1)
    expect(m.series.queue).toEqual([1, 1, 0, 0])
    expect(m.series.resistance).toEqual([1, 5, null, 1])
    expect(m.series.failed).toEqual([0, 9, 0, 0])
    expect(m.series.shed).toEqual([3, 1, 1, 0])
    expect(m.collapsed).toBe(false)
  })

  it('finish() reports no detection or recovery without faults, and none when the last fault lasts', () => {
    const quiet = new Recorder(scenario({ faults: [] }))
    for (let s = 0; s < 4; s++) quiet.closeSecond(s, {})
    expect(quiet.finish(PRIORITIES)).toMatchObject({
      detectS: null,
      recoverS: null,
      goodputRatio: null,
      criticalGoodRatio: null,
    })
    const lasting = new Recorder(
      scenario({ faults: [{ kind: 'latency', atS: 1, untilS: 0, factor: 2 }] }),
    )
    for (let s = 0; s < 4; s++) {
      lasting.decision(0, s * 1000 + 500, true, false)
      lasting.closeSecond(s, {})
    }
    expect(lasting.finish(PRIORITIES).recoverS).toBeNull()
  })

  it('finish() flags collapse when the queue grows past 85% and p95 doubles within 10 s', () => {
    const run = (p95AtFill: number) => {
      const rec = new Recorder(
        scenario({
          durationS: 20,
          origin: {
            concurrency: 1,
            queueLimit: 10,
            serviceMs: { p50: 100, p99: 100 },
            timeoutMs: 1000,
          },
          faults: [],
        }),
      )
      for (let s = 0; s < 20; s++) {
        const t = s * 1000
        // The queue fills from 15 s on: means 0 … 0, 9.5, 10, 10, …
        if (s === 15) rec.queue(9, t)
        if (s === 15) rec.queue(10, t + 500)
        rec.answer(1, t + 1, s < 15 ? 100 : p95AtFill, 0, true)
        rec.closeSecond(s, {})
      }
      return rec.finish(PRIORITIES)
    }
    expect(run(200)).toMatchObject({ collapsed: true, collapsedAtS: 15, queueMax: 10 })
    expect(run(150)).toMatchObject({ collapsed: false, collapsedAtS: null })
  })
})

describe('EventQueue', () => {
  it('pop() returns events by time, and events at the same time in insertion order', () => {
    const q = new EventQueue(2)
    const rng = createRandom(1)
    const pushed: [number, number][] = []
    for (let i = 0; i < 500; i++) {
      const t = Math.floor(rng.next() * 50)
      q.push(t, i % 16, i)
      pushed.push([t, i])
    }
    pushed.sort((a, b) => a[0] - b[0] || a[1] - b[1])
    const popped: [number, number][] = []
    while (q.pop()) {
      expect(q.kind).toBe(q.id % 16)
      popped.push([q.time, q.id])
    }
    expect(popped).toEqual(pushed)
    expect(q.peekTime()).toBe(Infinity)
  })
})

describe('createRandom()', () => {
  it('createRandom() repeats per seed and stream, and its normals have mean 0 and variance 1', () => {
    const draw = (seed: number, stream: number) => {
      const r = createRandom(seed, stream)
      return Array.from({ length: 5 }, () => r.next())
    }
    expect(draw(7, 0)).toEqual(draw(7, 0))
    expect(draw(7, 0)).not.toEqual(draw(7, 1))
    expect(draw(7, 0)).not.toEqual(draw(8, 0))
    const r = createRandom(42)
    let sum = 0
    let squares = 0
    let lo = 1
    let hi = 0
    const n = 100_000
    for (let i = 0; i < n; i++) {
      const z = r.normal()
      sum += z
      squares += z * z
      const u = r.next()
      if (u < lo) lo = u
      if (u > hi) hi = u
    }
    expect(lo).toBeGreaterThanOrEqual(0)
    expect(hi).toBeLessThan(1)
    expect(Math.abs(sum / n)).toBeLessThan(0.02)
    expect(Math.abs(squares / n - 1)).toBeLessThan(0.02)
  })
})

function round4(x: number): number {
  return Math.round(x * 1e4) / 1e4
}
