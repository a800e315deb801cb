// The stronger baselines of issue 11, each law alone in virtual time: Netflix VegasLimit, Envoy's
// gradient controller, Google SRE client-side throttling and the Sentinel/Kratos BBR limit. Each
// test checks a property of the published law that a wrong port would break.
import { describe, expect, it } from 'vitest'
import { createRandom } from '../../src/tunnel/random.ts'
import { parseScenario } from '../../src/tunnel/scenario.ts'
import { simulate } from '../../src/tunnel/simulator.ts'
import { bbr, BbrLimiter, bbrMaxInFlight } from '../../src/tunnel/strategies/bbr.ts'
import {
  ENVOY_GRADIENT_DEFAULTS,
  envoyGradient,
  EnvoyGradientController,
  envoyGradientLimit,
} from '../../src/tunnel/strategies/envoy-gradient.ts'
import {
  sreAccepted,
  sreRejectProbability,
  SreThrottle,
  sreThrottle,
} from '../../src/tunnel/strategies/sre-throttle.ts'
import {
  vegas,
  VEGAS_DEFAULTS,
  vegasLog10,
  vegasOutcome,
  vegasSample,
  vegasState,
} from '../../src/tunnel/strategies/vegas.ts'

const rng = () => createRandom(7, 101)

describe('vegas', () => {
  it('vegasLog10() is ⌊log10⌋ at least 1 below 1000 and ⌊√⌋ from 1000', () => {
    expect([1, 9, 10, 99, 100, 999].map(vegasLog10)).toEqual([1, 1, 1, 1, 2, 2])
    expect(vegasLog10(1000)).toBe(31)
  })

  it('vegasSample() grows fast without a queue and shrinks under a standing queue', () => {
    const st = vegasState(rng())
    const r = rng()
    vegasSample(st, 40, 20, false, r) // the first sample is the no-load RTT
    expect(st.rttNoLoadMs).toBe(40)
    // No queue (rtt = no-load): + beta = 6·log10(20) = 6.
    expect(vegasSample(st, 40, 20, false, r)).toBe(26)
    // A standing queue: rtt twice the no-load RTT means L/2 = 13 queued > beta: − log10 each.
    const before = st.estimatedLimit
    for (let i = 0; i < 5; i++) vegasSample(st, 80, Math.trunc(st.estimatedLimit), false, r)
    expect(st.estimatedLimit).toBe(before - 5)
    // Below half the limit in flight, a no-queue sample changes nothing (no upward drift).
    const now = st.estimatedLimit
    vegasSample(st, 40, 5, false, r)
    expect(st.estimatedLimit).toBe(now)
    // A drop decreases whatever the RTT.
    vegasSample(st, 40, 5, true, r)
    expect(st.estimatedLimit).toBe(now - 1)
  })

  it('vegasSample() takes a new no-load RTT after probeMultiplier × limit × jitter samples', () => {
    const st = vegasState(rng())
    const r = rng()
    vegasSample(st, 10, 20, false, r)
    let n = 1
    while (st.rttNoLoadMs === 10) {
      vegasSample(st, 50, 1, false, r)
      n++
      expect(n).toBeLessThan(VEGAS_DEFAULTS.probeMultiplier * st.estimatedLimit + 2)
    }
    expect(st.rttNoLoadMs).toBe(50)
    expect(n).toBeGreaterThanOrEqual(0.5 * VEGAS_DEFAULTS.probeMultiplier * 20)
  })

  it('vegasOutcome() counts 503s and timeouts as drops and ignores application errors', () => {
    expect(vegasOutcome({ latencyMs: 5, ok: true, status: 200 })).toBe('success')
    expect(vegasOutcome({ latencyMs: 5, ok: false, status: 503 })).toBe('drop')
    expect(vegasOutcome({ latencyMs: 5, ok: false })).toBe('drop')
    expect(vegasOutcome({ latencyMs: 5, ok: false, status: 500 })).toBe('ignore')
  })
})

describe('envoy-gradient', () => {
  it('envoyGradientLimit() grows by the buffer and √ headroom at minRTT and halves at most', () => {
    expect(envoyGradientLimit(100, 40, 40)).toBe(Math.trunc(125 + Math.sqrt(125)))
    // sampleRTT 4× minRTT: gradient 0.3125 clamped to 0.5.
    expect(envoyGradientLimit(100, 40, 160)).toBe(Math.trunc(50 + Math.sqrt(50)))
    expect(envoyGradientLimit(3, 40, 400)).toBe(ENVOY_GRADIENT_DEFAULTS.minConcurrency)
    expect(envoyGradientLimit(900, 40, 1)).toBe(ENVOY_GRADIENT_DEFAULTS.maxConcurrencyLimit)
  })

  it('EnvoyGradientController pins the limit for the minRTT, then follows the gradient, and measures again', () => {
    const c = new EnvoyGradientController(createRandom(1, 102))
    expect(c.measuring).toBe(true)
    expect(c.limit).toBe(3)
    let t = 0
    // Serve in waves of 3 (the pinned limit) at 40 ms until 50 samples give the minRTT.
    while (c.measuring) {
      const sent: number[] = []
      while (c.admit(t)) sent.push(t)
      expect(sent.length).toBeLessThanOrEqual(3)
      t += 40
      for (const s of sent) c.complete(s, 40, t)
    }
    expect(c.minRttMs).toBe(40)
    expect(c.measurements).toBe(1)
    const pinnedAt = t
    // Healthy answers at minRTT: the limit grows window after window.
    let last = c.limit
    for (let w = 0; w < 5; w++) {
      const sent: number[] = []
      while (c.admit(t)) sent.push(t)
      t += 100
      for (const s of sent) c.complete(s, 40, t)
      c.advance(t)
      expect(c.limit).toBeGreaterThan(last)
      last = c.limit
    }
    // 60 s (+ up to 15% jitter) later it pins the limit to 3 again to measure.
    c.advance(pinnedAt + 59_000)
    expect(c.measuring).toBe(false)
    c.advance(pinnedAt + 69_001)
    expect(c.measuring).toBe(true)
    expect(c.limit).toBe(3)
  })

  it('EnvoyGradientController halves the limit under a standing queue', () => {
    const c = new EnvoyGradientController(createRandom(1, 102))
    let t = 0
    while (c.measuring) {
      const sent: number[] = []
      while (c.admit(t)) sent.push(t)
      t += 40
      for (const s of sent) c.complete(s, 40, t)
    }
    for (let w = 0; w < 10; w++) {
      const sent: number[] = []
      while (c.admit(t)) sent.push(t)
      t += 100
      for (const s of sent) c.complete(s, 40, t)
    }
    const high = c.limit
    // Answers at 10× the minRTT: the gradient is clamped at 0.5, so a window at most halves the
    // limit (plus √ headroom), and two windows bring it below that.
    for (let w = 0; w < 2; w++) {
      const sent: number[] = []
      while (c.admit(t)) sent.push(t)
      t += 100
      for (const s of sent) c.complete(s, 400, t)
    }
    c.advance(t + 100)
    const half = high * 0.5
    expect(c.limit).toBeLessThan(Math.trunc(half + Math.sqrt(half)))
    expect(c.limit).toBeGreaterThanOrEqual(Math.trunc(half * 0.5))
  })
})

describe('sre-throttle', () => {
  it('sreRejectProbability() is 0 until accepts fall below half of requests (K = 2)', () => {
    expect(sreRejectProbability(100, 50, 2)).toBe(0)
    expect(sreRejectProbability(100, 85, 2)).toBe(0)
    expect(sreRejectProbability(100, 10, 2)).toBeCloseTo(80 / 101, 12)
  })

  it('sreAccepted() counts application errors as accepted and overloads and timeouts as not', () => {
    expect(sreAccepted({ latencyMs: 1, ok: false, status: 500 })).toBe(true)
    expect(sreAccepted({ latencyMs: 1, ok: true, status: 200 })).toBe(true)
    expect(sreAccepted({ latencyMs: 1, ok: false, status: 503 })).toBe(false)
    expect(sreAccepted({ latencyMs: 1, ok: false })).toBe(false)
  })

  it('SreThrottle refuses about (requests − 2·accepts)/requests and forgets after two minutes', () => {
    const th = new SreThrottle(createRandom(3, 103))
    // The backend accepts one in ten of what is sent: the client refuses most requests.
    let refused = 0
    let t = 0
    for (let i = 0; i < 20_000; i++, t += 5) {
      if (th.admit(t)) {
        if (i % 10 === 0) th.accept(t)
      } else refused++
    }
    expect(refused / 20_000).toBeGreaterThan(0.5)
    // Two minutes of nothing: the history is gone, nothing is refused.
    t += 121_000
    expect(th.probability(t)).toBe(0)
  })

  it('sre-throttle refuses nothing at a 30% error rate that does not depend on load (once answers come)', async () => {
    const sc = parseScenario({
      name: 'errors',
      durationS: 30,
      origin: { concurrency: 32, queueLimit: 64, serviceMs: { p50: 20, p99: 60 }, timeoutMs: 1000 },
      classes: [{ name: 'all', priority: 'normal', share: 1, sloMs: 300 }],
      load: [{ atS: 0, rps: 300 }],
      faults: [{ kind: 'errors', atS: 0, untilS: 0, rate: 0.3 }],
    })
    const { metrics } = await simulate(sc, sreThrottle)
    // Before the first answer, (requests − 0)/(requests + 1) refuses a few: the formula's start.
    expect(metrics.series.shed.slice(1).every((n) => n === 0)).toBe(true)
    expect(metrics.series.shed[0]).toBeLessThan(10)
  })
})

describe('bbr', () => {
  it('bbrMaxInFlight() is the bandwidth-delay product, floored', () => {
    expect(bbrMaxInFlight(130, 48, 10)).toBe(62)
    expect(bbrMaxInFlight(1, 1, 10)).toBe(0)
  })

  it('BbrLimiter limits in flight to maxPass × minRT only while the origin signals overload, and 1 s after', () => {
    const l = new BbrLimiter()
    let t = 0
    // 5 s of 20 answers per 100 ms at 50 ms, at most 10 in flight: BDP 20 × 50 × 10 / 1000 = 10.
    for (; t < 5000; t += 5) {
      if (l.admit(t)) l.complete(50, 200, t)
    }
    expect(l.maxInFlight(t)).toBeGreaterThanOrEqual(10)
    const bdp = l.maxInFlight(t)
    // No overload signal: no limit at all.
    for (let i = 0; i < bdp * 3; i++) expect(l.admit(t)).toBe(true)
    // A 503 comes back: above the BDP, requests are dropped.
    l.complete(0, 503, t)
    expect(l.admit(t)).toBe(false)
    while (l.inflight > bdp) l.complete(50, 200, t)
    expect(l.admit(t)).toBe(true)
    expect(l.admit(t + 1)).toBe(false)
    // 1 s without overload ends the gate, and the cool-down 1 s after the first drop.
    expect(l.admit(t + 2100)).toBe(true)
  })

  it('bbr, vegas, envoy-gradient and sre-throttle run deterministically in the simulator', async () => {
    const sc = parseScenario({
      name: 'overload',
      durationS: 20,
      isolates: 2,
      origin: {
        concurrency: 16,
        queueLimit: 64,
        serviceMs: { p50: 40, p99: 160 },
        timeoutMs: 1000,
      },
      classes: [{ name: 'all', priority: 'normal', share: 1, sloMs: 400 }],
      load: [{ atS: 0, rps: 200 }, { atS: 5, rps: 1200 }],
      faults: [{ kind: 'errors', atS: 8, untilS: 12, rate: 0.3 }],
    })
    for (const strategy of [bbr, vegas, envoyGradient, sreThrottle]) {
      const a = await simulate(sc, strategy)
      const b = await simulate(sc, strategy)
      expect(JSON.stringify(a.metrics)).toBe(JSON.stringify(b.metrics))
      expect(a.metrics.shedRatio, strategy.name).toBeGreaterThan(0)
    }
  })
})
