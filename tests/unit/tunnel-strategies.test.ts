// The wind tunnel's baseline strategies, each algorithm alone in virtual time: token bucket,
// cockatiel-style breaker, Netflix Gradient2 and the Atrion reference model; and the config the
// `rheostat` strategy gives the real governor.
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  type ClassSpec,
  governorConfig,
  parseScenario,
  type Scenario,
} from '../../src/tunnel/scenario.ts'
import type { Strategy, StrategyInstance } from '../../src/tunnel/strategy.ts'
import { nominalCapacityRps, tokenBucket } from '../../src/tunnel/strategies/token-bucket.ts'
import {
  breaker,
  BREAKER_HALF_OPEN_AFTER_MS,
  BREAKER_THRESHOLD,
} from '../../src/tunnel/strategies/breaker.ts'
import {
  gradient2,
  GRADIENT2_DEFAULTS,
  gradient2Sample,
  gradient2State,
} from '../../src/tunnel/strategies/gradient2.ts'
import { atrion } from '../../src/tunnel/strategies/atrion.ts'
import { prng } from '../support/differential.ts'

function scenario(overrides: Record<string, unknown> = {}): Scenario {
  return parseScenario({
    name: 'unit',
    durationS: 60,
    isolates: 2,
    origin: { concurrency: 64, queueLimit: 512, serviceMs: { p50: 40, p99: 160 }, timeoutMs: 5000 },
    classes: [
      { name: 'checkout', priority: 'critical', share: 0.15, sloMs: 800 },
      { name: 'search', priority: 'low', share: 0.85, sloMs: 400 },
    ],
    load: [{ atS: 0, rps: 800 }],
    ...overrides,
  })
}

const OPTIONS = { engine: 'ts' } as const

function classes(s: Scenario): [ClassSpec, ClassSpec] {
  return [s.classes[0] as ClassSpec, s.classes[1] as ClassSpec]
}

describe('token-bucket', () => {
  it('nominalCapacityRps() is concurrency over the lognormal mean service time', () => {
    const flat = scenario({
      origin: {
        concurrency: 10,
        queueLimit: 0,
        serviceMs: { p50: 100, p99: 100 },
        timeoutMs: 1000,
      },
    })
    expect(nominalCapacityRps(flat)).toBeCloseTo(100, 9)
    // σ = ln(4)/2.3263 = 0.5959, mean = 40·e^(σ²/2) = 47.77 ms, 64 servers: 1,339.7 req/s
    expect(nominalCapacityRps(scenario())).toBeCloseTo(1339.7, 0)
  })

  it('admit() passes rate·t + burst requests per isolate and no more, whatever the class', () => {
    // 100 req/s over 2 isolates: 50 req/s each, a bucket of 50
    const s = scenario({
      origin: {
        concurrency: 10,
        queueLimit: 0,
        serviceMs: { p50: 100, p99: 100 },
        timeoutMs: 1000,
      },
    })
    const [critical, low] = classes(s)
    const count = (cls: ClassSpec) => {
      const tb = tokenBucket.create(s, OPTIONS)
      let admitted = 0
      for (let t = 0; t <= 2000; t++) if (tb.admit(0, cls, t).allow) admitted++
      return admitted
    }
    expect(count(low)).toBe(50 + 50 * 2)
    expect(count(critical)).toBe(count(low))
    const tb = tokenBucket.create(s, OPTIONS)
    for (let t = 0; t <= 2000; t++) tb.admit(0, low, t)
    // The other isolate's bucket is untouched: a full burst, then one token per 20 ms.
    let other = 0
    for (let i = 0; i < 60; i++) if (tb.admit(1, low, 2000).allow) other++
    expect(other).toBe(50)
    expect(tb.admit(1, low, 2019).allow).toBe(false)
    expect(tb.admit(1, low, 2020).allow).toBe(true)
  })
})

describe('breaker', () => {
  const fail = { latencyMs: 5, ok: false }
  const pass = { latencyMs: 5, ok: true }

  function tripped(b: StrategyInstance, cls: ClassSpec, isolate: number, atMs: number): void {
    for (let i = 0; i < BREAKER_THRESHOLD; i++) {
      const d = b.admit(isolate, cls, atMs)
      expect(d.allow).toBe(true)
      b.complete(isolate, d.handle, fail, atMs)
    }
  }

  it('uses cockatiel README values: ConsecutiveBreaker(5), halfOpenAfter 10 s', () => {
    expect(BREAKER_THRESHOLD).toBe(5)
    expect(BREAKER_HALF_OPEN_AFTER_MS).toBe(10_000)
  })

  it('admit() keeps passing until 5 failures in a row, a success resetting the count', () => {
    const s = scenario()
    const [, low] = classes(s)
    const b = breaker.create(s, OPTIONS)
    for (let round = 0; round < 3; round++) {
      for (let i = 0; i < BREAKER_THRESHOLD - 1; i++) {
        const d = b.admit(0, low, 0)
        b.complete(0, d.handle, fail, 0)
      }
      const d = b.admit(0, low, 0)
      expect(d.allow).toBe(true)
      b.complete(0, d.handle, pass, 0)
    }
    expect(b.probe!(0)).toEqual({ mode: 'CLOSED', modeTransitions: 0 })
    tripped(b, low, 0, 100)
    expect(b.probe!(100)).toEqual({ mode: 'OPEN', modeTransitions: 1 })
    expect(b.admit(0, low, 101).allow).toBe(false)
    // Per isolate: isolate 1 is still closed.
    expect(b.admit(1, low, 101).allow).toBe(true)
  })

  it('admit() half-opens after 10 s with one test call, and its success closes the circuit', () => {
    const s = scenario()
    const [critical, low] = classes(s)
    const b = breaker.create(s, OPTIONS)
    tripped(b, low, 0, 1000)
    expect(b.admit(0, critical, 1000 + BREAKER_HALF_OPEN_AFTER_MS - 1).allow).toBe(false)
    const test = b.admit(0, low, 1000 + BREAKER_HALF_OPEN_AFTER_MS)
    expect(test.allow).toBe(true)
    expect(b.probe!(0).mode).toBe('HALF_OPEN')
    // Callers that cockatiel would park behind the test are refused.
    expect(b.admit(0, critical, 11_001).allow).toBe(false)
    b.complete(0, test.handle, pass, 11_040)
    expect(b.probe!(0)).toEqual({ mode: 'CLOSED', modeTransitions: 3 })
    expect(b.admit(0, low, 11_041).allow).toBe(true)
  })

  it('complete() reopens on a failed test call and restarts the 10 s timer', () => {
    const s = scenario()
    const [, low] = classes(s)
    const b = breaker.create(s, OPTIONS)
    tripped(b, low, 0, 0)
    const test = b.admit(0, low, 10_000)
    b.complete(0, test.handle, fail, 15_000)
    expect(b.probe!(0)).toEqual({ mode: 'OPEN', modeTransitions: 3 })
    expect(b.admit(0, low, 24_999).allow).toBe(false)
    expect(b.admit(0, low, 25_000).allow).toBe(true)
    expect(b.probe!(0).mode).toBe('HALF_OPEN')
  })

  it('does not see slow successes: a 5 s answer that succeeds keeps the circuit closed', () => {
    const s = scenario()
    const [, low] = classes(s)
    const b = breaker.create(s, OPTIONS)
    for (let i = 0; i < 100; i++) {
      const d = b.admit(0, low, i)
      b.complete(0, d.handle, { latencyMs: 5000, ok: true }, i + 5000)
    }
    expect(b.probe!(0).mode).toBe('CLOSED')
  })
})

describe('gradient2', () => {
  /** A state grown to a limit of at least `limit` with healthy, busy samples. */
  function grown(limit: number) {
    const st = gradient2State()
    for (let i = 0; i < 1000 && st.estimatedLimit < limit; i++) {
      gradient2Sample(st, 40, Math.ceil(st.estimatedLimit))
    }
    return st
  }

  it('gradient2Sample() grows the limit by queueSize·smoothing when healthy and busy', () => {
    const st = gradient2State()
    expect(st.estimatedLimit).toBe(GRADIENT2_DEFAULTS.initialLimit)
    expect(gradient2Sample(st, 40, 20)).toBe(20)
    expect(st.estimatedLimit).toBeCloseTo(20.8, 12)
    gradient2Sample(st, 40, 20)
    expect(st.estimatedLimit).toBeCloseTo(21.6, 12)
  })

  it('gradient2Sample() does not grow the limit when app-limited (inflight < limit / 2)', () => {
    const st = grown(40)
    const before = st.estimatedLimit
    for (let i = 0; i < 50; i++) gradient2Sample(st, 40, Math.floor(before / 2) - 1)
    expect(st.estimatedLimit).toBe(before)
  })

  it('gradient2Sample() shrinks the limit when latency exceeds 1.5x the long-term average', () => {
    const st = grown(40)
    const before = st.estimatedLimit
    gradient2Sample(st, 400, 40)
    // gradient clamped at 0.5: limit·0.8 + (limit·0.5 + 4)·0.2
    expect(st.estimatedLimit).toBeCloseTo(before * 0.9 + 0.8, 9)
    for (let i = 0; i < 100; i++) gradient2Sample(st, 400, 40)
    expect(st.estimatedLimit).toBe(GRADIENT2_DEFAULTS.minLimit)
  })

  it('gradient2Sample() tolerates latency up to 1.5x the long-term average', () => {
    const st = grown(40)
    const before = st.estimatedLimit
    gradient2Sample(st, 55, 40)
    expect(st.estimatedLimit).toBeGreaterThan(before)
  })

  it('gradient2Sample() caps the limit at maxConcurrency 200', () => {
    const st = gradient2State()
    // +0.8 per sample: 20 → 200 takes 225 samples
    for (let i = 0; i < 400; i++) gradient2Sample(st, 40, Math.ceil(st.estimatedLimit))
    expect(st.estimatedLimit).toBe(GRADIENT2_DEFAULTS.maxConcurrency)
  })

  it('admit() passes while inflight < the integer limit, per isolate', () => {
    const s = scenario()
    const [critical] = classes(s)
    const g = gradient2.create(s, OPTIONS)
    const handles: unknown[] = []
    for (let i = 0; i < 20; i++) {
      const d = g.admit(0, critical, 0)
      expect(d.allow).toBe(true)
      handles.push(d.handle)
    }
    expect(g.admit(0, critical, 0).allow).toBe(false)
    expect(g.admit(1, critical, 0).allow).toBe(true)
    // A healthy completion sampled at inflight 20 frees a slot and raises the limit to 20.8.
    g.complete(0, handles[19], { latencyMs: 40, ok: true }, 40)
    expect(g.admit(0, critical, 40).allow).toBe(true)
    expect(g.admit(0, critical, 40).allow).toBe(false)
  })
})

describe('atrion', () => {
  const P50 = 40

  /** Calls every `gapMs` on isolate 0, each answered at once with `latencyMs(t)`. */
  function drive(
    a: StrategyInstance,
    cls: ClassSpec,
    fromMs: number,
    toMs: number,
    gapMs: number,
    latencyMs: (t: number) => number,
  ): { maxOhm: number; refused: number } {
    let maxOhm = 0
    let refused = 0
    for (let t = fromMs; t < toMs; t += gapMs) {
      const d = a.admit(0, cls, t)
      maxOhm = Math.max(maxOhm, a.probe!(t).resistance ?? 0)
      if (!d.allow) {
        refused++
        continue
      }
      a.complete(0, d.handle, { latencyMs: latencyMs(t), ok: true }, t)
    }
    return { maxOhm, refused }
  }

  it('admit() bootstraps for 10 calls at 12 Ω, then floors R at 10 Ω for healthy telemetry', () => {
    const s = scenario()
    const [critical] = classes(s)
    const a = atrion.create(s, OPTIONS)
    for (let i = 0; i < 9; i++) expect(a.admit(0, critical, i * 10).allow).toBe(true)
    expect(a.probe!(90)).toEqual({ resistance: 12, mode: 'BOOTSTRAP', modeTransitions: 0 })
    a.admit(0, critical, 90)
    expect(a.probe!(90)).toEqual({ resistance: 10, mode: 'OPERATIONAL', modeTransitions: 1 })
  })

  it('admit() raises R with momentum per call: a step in latency weighs 100x more at 1,000 calls/s than at 10', () => {
    const s = scenario()
    const [, low] = classes(s)
    const peak = (gapMs: number) => {
      const a = atrion.create(s, OPTIONS)
      drive(a, low, 0, 10_000, gapMs, () => P50)
      // 1.5x the baseline: pressure tanh(0.5) = 0.46, under the 0.7 that scars
      return drive(a, low, 10_000, 11_000, gapMs, () => 1.5 * P50).maxOhm
    }
    const fast = peak(1)
    const slow = peak(100)
    // μ·‖ΔP‖/Δt = 20·0.462/1 ms ≈ 9.2 Ω at 1,000 calls/s, 0.09 Ω at 10 calls/s (under the floor)
    expect(slow).toBeCloseTo(10, 6)
    expect(fast).toBeGreaterThan(17)
    expect(fast).toBeLessThan(18)
  })

  it('admit() adds scar per call: the same 100 ms of slow answers shed at 1,000 calls/s only', () => {
    const s = scenario()
    const [critical] = classes(s)
    const run = (gapMs: number) => {
      const a = atrion.create(s, OPTIONS)
      drive(a, critical, 0, 10_000, gapMs, () => P50)
      // 3x the baseline: pressure tanh(2) = 0.96 > 0.7, σ = 5 Ω of scar per call
      drive(a, critical, 10_000, 10_100, gapMs, () => 3 * P50)
      const after = drive(a, critical, 10_100, 11_000, gapMs, () => P50)
      return { ...after, probe: a.probe!(11_000) }
    }
    const fast = run(1)
    const slow = run(100)
    expect(fast.maxOhm).toBeGreaterThan(100)
    expect(fast.refused).toBeGreaterThan(0)
    expect(fast.probe.modeTransitions).toBeGreaterThanOrEqual(2)
    expect(slow.maxOhm).toBeLessThan(30)
    expect(slow.refused).toBe(0)
  })

  it('admit() refuses every class alike once R reaches V = 100', () => {
    const s = scenario()
    const [critical, low] = classes(s)
    const a = atrion.create(s, OPTIONS)
    drive(a, low, 0, 1000, 1, () => P50)
    drive(a, low, 1000, 1030, 1, () => 10 * P50)
    expect(a.probe!(1030).resistance).toBeGreaterThan(100)
    expect(a.admit(0, critical, 1030).allow).toBe(false)
    expect(a.admit(0, low, 1031).allow).toBe(false)
  })
})

describe('determinism', () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  /** Poisson arrivals over 2 isolates, lognormal-ish latencies, 10% failures; a decision trace. */
  function trace(strategy: Strategy, seed: number): string {
    const s = scenario()
    const cls = classes(s)
    const inst = strategy.create(s, OPTIONS)
    const rand = prng(seed)
    const pending: { atMs: number; isolate: number; handle: unknown; latencyMs: number }[] = []
    const out: string[] = []
    let t = 0
    for (let i = 0; i < 20_000; i++) {
      t += -Math.log(1 - rand()) * 0.5
      pending.sort((x, y) => x.atMs - y.atMs)
      while (pending.length > 0 && (pending[0] as { atMs: number }).atMs <= t) {
        const p = pending.shift() as (typeof pending)[number]
        inst.complete(p.isolate, p.handle, { latencyMs: p.latencyMs, ok: rand() > 0.1 }, p.atMs)
      }
      const isolate = i % 2
      const d = inst.admit(isolate, cls[rand() < 0.15 ? 0 : 1], t)
      out.push(d.allow ? '1' : '0')
      if (d.allow) {
        const latencyMs = 40 * Math.exp(0.6 * (rand() + rand() + rand() - 1.5) * 2)
        pending.push({ atMs: t + latencyMs, isolate, handle: d.handle, latencyMs })
      }
    }
    return out.join('') + JSON.stringify(inst.probe?.(t) ?? {})
  }

  it.each([tokenBucket, breaker, gradient2, atrion])(
    '$name gives the same decisions for the same inputs, without Math.random or Date.now',
    (strategy) => {
      vi.spyOn(Math, 'random').mockImplementation(() => {
        throw new Error('Math.random called')
      })
      vi.spyOn(Date, 'now').mockImplementation(() => {
        throw new Error('Date.now called')
      })
      const first = trace(strategy, 7)
      expect(trace(strategy, 7)).toBe(first)
      expect(first).toContain('1')
      expect(strategy.source.length).toBeGreaterThan(20)
    },
  )
})

describe('rheostat', () => {
  it("governorConfig() states the most important class's SLO as the route's, unless set", () => {
    // critical 800 ms beside low 400 ms: the queue is sized for the class protected first.
    const s = scenario()
    const d = governorConfig(s).defaults as { thresholds: { sloMs: number } }
    expect(d.thresholds.sloMs).toBe(800)
    // Two classes of that priority: the tighter.
    const two = scenario({
      classes: [
        { name: 'a', priority: 'normal', share: 0.5, sloMs: 700 },
        { name: 'b', priority: 'normal', share: 0.3, sloMs: 500 },
        { name: 'c', priority: 'low', share: 0.2, sloMs: 100 },
      ],
    })
    expect((governorConfig(two).defaults as { thresholds: { sloMs: number } }).thresholds.sloMs)
      .toBe(500)
    // A scenario that sets its own keeps it, and the rest of its governor field.
    const own = scenario({
      governor: { defaults: { thresholds: { sloMs: 250 }, profile: 'LIGHT' } },
    })
    expect(governorConfig(own)).toEqual(own.governor)
  })
})
