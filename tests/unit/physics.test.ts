// The physics properties of docs/physics.md, one block each, run on both engines in virtual time.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import type { Decision } from '../../src/mod.ts'
import { drive, ENGINES, mixed, rig, warmUp } from '../support/harness.ts'

describe.each(ENGINES)('physics on the %s engine', (engine) => {
  describe('1. time, not calls', () => {
    it('admit() gives resistances within 10% at 10 and 1,000 req/s under the same slow latency', () => {
      const results = [10, 1000].map((rps) => {
        const r = rig(engine)
        warmUp(r)
        drive(r, { rps, seconds: 30, latencyMs: () => 300 })
        return r.gov.snapshot('route')!
      })
      const [slow, fast] = results as [typeof results[0], typeof results[0]]
      expect(slow.resistanceOhm).toBeGreaterThan(2)
      expect(Math.abs(slow.resistanceOhm - fast.resistanceOhm) / fast.resistanceOhm).toBeLessThan(
        0.1,
      )
      expect(Math.abs(slow.scar - fast.scar)).toBeLessThan(0.1 * Math.max(fast.scar, 0.01))
    })

    it('admit() gives mean resistances within 10% at 10 and 1,000 req/s with 20% errors', () => {
      const means = [10, 1000].map((rps) => {
        const r = rig(engine)
        warmUp(r)
        let sum = 0
        let n = 0
        drive(r, {
          rps,
          seconds: 30,
          latencyMs: () => 50,
          ok: (_t, i) => i % 5 !== 0,
          onDecision: (d, t) => {
            if (t >= 10000) {
              sum += d.resistance
              n++
            }
          },
        })
        return sum / n
      })
      const [slow, fast] = means as [number, number]
      expect(fast).toBeGreaterThan(2)
      expect(Math.abs(slow - fast) / fast).toBeLessThan(0.1)
    })
  })

  describe('2. healthy means zero', () => {
    it.each(['LIGHT', 'STANDARD', 'HEAVY', 'EXTREME'] as const)(
      'admit() admits everything with zero pressure at or below the %s baseline',
      (profile) => {
        const r = rig(engine, { defaults: { profile } })
        const baseline = { LIGHT: 10, STANDARD: 100, HEAVY: 5000, EXTREME: 60000 }[profile]
        const result = drive(r, {
          rps: 200,
          seconds: 60,
          latencyMs: (_t, i) => baseline * ((i * 7919) % 1000) / 1000,
          priority: mixed,
        })
        expect(result.shed).toBe(0)
        const s = r.gov.snapshot('route')!
        expect(s.pressure).toEqual({ latency: 0, errors: 0, saturation: 0, combined: 0 })
        expect(s.resistanceOhm).toBe(1)
        expect(s.admission).toEqual({ critical: 1, normal: 1, low: 1 })
      },
    )

    it('latency pressure is one-sided, bounded and smooth in the latency', () => {
      const pressures = [50, 100, 101, 110, 150, 200, 400, 1000, 10000, 1e7].map((latencyMs) => {
        const r = rig(engine)
        warmUp(r)
        drive(r, { rps: 50, seconds: 10, latencyMs: () => latencyMs })
        return r.gov.snapshot('route')!.pressure.latency
      })
      expect(pressures.slice(0, 2)).toEqual([0, 0])
      for (let i = 1; i < pressures.length; i++) {
        expect(pressures[i]).toBeGreaterThanOrEqual(pressures[i - 1] as number)
        expect(pressures[i]).toBeLessThanOrEqual(1)
      }
      // Smooth at the threshold: 1% above it gives almost nothing, not a jump.
      expect(pressures[2]).toBeLessThan(0.001)
    })
  })

  describe('3. profiles are real', () => {
    it('2 s latency is heavy pressure on STANDARD and none on HEAVY', () => {
      const on = (profile: 'STANDARD' | 'HEAVY') => {
        const r = rig(engine, { defaults: { profile } })
        drive(r, { rps: 20, seconds: 30, latencyMs: () => 2000 })
        return r.gov.snapshot('route')!.pressure.latency
      }
      expect(on('STANDARD')).toBeGreaterThan(0.9)
      expect(on('HEAVY')).toBe(0)
    })

    it('a custom profile sets its own baseline', () => {
      const r = rig(engine, { defaults: { profile: { baselineLatencyMs: 500 } } })
      drive(r, { rps: 20, seconds: 30, latencyMs: () => 450 })
      expect(r.gov.snapshot('route')!.pressure.latency).toBe(0)
      drive(r, { rps: 20, seconds: 10, latencyMs: () => 3000 })
      expect(r.gov.snapshot('route')!.pressure.latency).toBeGreaterThan(0.5)
    })

    it('per-call profile keeps separate physics for the same route id', () => {
      const r = rig(engine)
      drive(r, { rps: 20, seconds: 10, latencyMs: () => 2000 })
      const d = r.gov.admit('route', { profile: 'HEAVY' })
      expect(d.allow).toBe(true)
      expect(r.gov.snapshot('route', { profile: 'HEAVY' })!.pressure.latency).toBe(0)
      expect(r.gov.snapshot('route')!.pressure.latency).toBeGreaterThan(0.9)
    })
  })

  describe('4. saturation knows concurrency', () => {
    it('admit() bounds in-flight requests by the adaptive limit in front of a queueing origin', () => {
      // An origin with 20 servers and 50 ms service: latency grows with the queue (Little's law).
      const r = rig(engine, { defaults: { concurrency: { initial: 100, min: 4, max: 1000 } } })
      warmUp(r)
      const servers = 20
      const serviceMs = 50
      const pending: { at: number; ticket: NonNullable<Decision['ticket']> }[] = []
      let inflight = 0
      let maxInflight = 0
      let concurrencyShed = 0
      let maxLimit = 0
      const lateLatencies: number[] = []
      for (let i = 0; i < 2000 * 30; i++) {
        const now = r.clock.now + 0.5
        r.clock.now = now
        while (pending.length > 0 && (pending[0] as { at: number }).at <= now) {
          const p = pending.shift()!
          inflight--
          r.gov.complete(p.ticket, { latencyMs: now - p.ticket.startMs, ok: true })
          if (i > 2000 * 20) lateLatencies.push(now - p.ticket.startMs)
        }
        if (i % 100 === 0) maxLimit = Math.max(maxLimit, r.gov.snapshot('route')!.concurrencyLimit)
        const d = r.gov.admit('route', { priority: mixed(i) })
        if (d.reason === 'concurrency') concurrencyShed++
        if (!d.ticket) continue
        inflight++
        maxInflight = Math.max(maxInflight, inflight)
        const latency = serviceMs * Math.max(1, inflight / servers)
        const at = now + latency
        let k = pending.length
        while (k > 0 && (pending[k - 1] as { at: number }).at > at) k--
        pending.splice(k, 0, { at, ticket: d.ticket })
      }
      expect(concurrencyShed).toBeGreaterThan(0)
      expect(maxInflight).toBeLessThanOrEqual(maxLimit + 1)
      // The limit has shrunk from its peak towards the origin's real concurrency.
      expect(r.gov.snapshot('route')!.concurrencyLimit).toBeLessThan(maxLimit)
      // Without the governor the queue would hold ~100 requests at 250 ms; with it, latency stays
      // within a few service times.
      const mean = lateLatencies.reduce((a, b) => a + b, 0) / lateLatencies.length
      expect(mean).toBeLessThan(4 * serviceMs)
    })

    it('the concurrency limit grows while it is in use and latency is healthy', () => {
      const r = rig(engine, { defaults: { concurrency: { initial: 10, min: 4, max: 1000 } } })
      const held: NonNullable<Decision['ticket']>[] = []
      for (let i = 0; i < 20000; i++) {
        r.clock.now += 1
        const d = r.gov.admit('route')
        if (d.ticket) held.push(d.ticket)
        // Keep ~8 requests in flight, each taking 8 ms: busy, healthy.
        if (held.length > 8) r.gov.complete(held.shift()!, { latencyMs: 8, ok: true })
      }
      expect(r.gov.snapshot('route')!.concurrencyLimit).toBeGreaterThan(12)
    })

    it('reported saturation raises saturation pressure', () => {
      const r = rig(engine)
      warmUp(r)
      for (let i = 0; i < 50; i++) {
        r.clock.now += 100
        r.gov.observe('route', { saturation: 0.97 })
      }
      expect(r.gov.snapshot('route')!.pressure.saturation).toBeGreaterThan(0.5)
    })
  })

  describe('5. momentum warns early', () => {
    it('rising pressure sheds earlier than the pressure level alone would', () => {
      // The control moves momentum's weight to scar, which stays 0 before trauma: the weights'
      // sum, and so the excess scale, is the same in both runs.
      const run = (momentumOhm: number) => {
        const r = rig(engine, { physics: { momentumOhm, scarOhm: 8 - momentumOhm } })
        warmUp(r)
        let firstLowShedMs = Infinity
        drive(r, {
          rps: 100,
          seconds: 10,
          priority: mixed,
          latencyMs: (t) => 50 * Math.pow(1.5, t / 1000),
          onDecision: (d, t, i) => {
            if (!d.allow && mixed(i) === 'low' && firstLowShedMs === Infinity) firstLowShedMs = t
          },
        })
        return firstLowShedMs
      }
      const withMomentum = run(4)
      const without = run(0)
      expect(withMomentum).toBeLessThan(without)
    })

    it('momentum is positive while pressure rises and decays once it holds', () => {
      const r = rig(engine)
      warmUp(r)
      drive(r, { rps: 100, seconds: 1, latencyMs: (t) => 100 + t })
      expect(r.gov.snapshot('route')!.momentumPerS).toBeGreaterThan(0.1)
      drive(r, { rps: 100, seconds: 10, latencyMs: () => 1100 })
      expect(Math.abs(r.gov.snapshot('route')!.momentumPerS)).toBeLessThan(0.01)
    })
  })

  describe('6. scar tissue remembers', () => {
    const trauma = (rps: number, scarFactor = 1) => {
      const r = rig(engine, { defaults: { scarFactor }, physics: { scarHalfLifeS: 30 } })
      warmUp(r)
      drive(r, { rps, seconds: 3, latencyMs: () => 2000 })
      return r
    }

    it('grows with time under trauma, not with the number of requests', () => {
      const a = trauma(10).gov.snapshot('route')!.scar
      const b = trauma(1000).gov.snapshot('route')!.scar
      expect(a).toBeGreaterThan(0.05)
      expect(Math.abs(a - b) / b).toBeLessThan(0.1)
    })

    it('decays with its half-life and stays within 0..1', () => {
      const r = trauma(50)
      // Let pressure fall below the trauma level first, then time one half-life (30 s).
      drive(r, { rps: 50, seconds: 5, latencyMs: () => 50 })
      expect(r.gov.snapshot('route')!.pressure.combined).toBeLessThan(0.5)
      const s0 = r.gov.snapshot('route')!.scar
      drive(r, { rps: 50, seconds: 30, latencyMs: () => 50 })
      const s1 = r.gov.snapshot('route')!.scar
      expect(s1 / s0).toBeCloseTo(0.5, 3)
      const long = trauma(50)
      drive(long, { rps: 50, seconds: 120, latencyMs: () => 5000 })
      expect(long.gov.snapshot('route')!.scar).toBeLessThanOrEqual(1)
      expect(long.gov.snapshot('route')!.scar).toBeGreaterThan(0.9)
    })

    it('stale pressure is not trauma: through silence scar only decays, on the clock', () => {
      const r = trauma(50)
      // Within the 5 s staleness horizon the last evidence still counts; after it, nothing does.
      r.clock.now += 10000
      const s0 = r.gov.snapshot('route')!.scar
      r.clock.now += 60000 // two half-lives
      const s1 = r.gov.snapshot('route')!.scar
      expect(s0).toBeGreaterThan(0.1)
      expect(s1 / s0).toBeCloseTo(0.25, 6)
    })

    it('scales with the route scarFactor: R = 1 + 10·P + 4·M + 4·scarFactor·scar', () => {
      for (const scarFactor of [0, 1, 2.5]) {
        const s = trauma(50, scarFactor).gov.snapshot('route')!
        const m = Math.min(Math.max(s.momentumPerS, -1), 1)
        const expected = 1 + Math.max(0, 10 * s.pressure.combined + 4 * m + 4 * scarFactor * s.scar)
        expect(s.scar).toBeGreaterThan(0.05)
        expect(s.resistanceOhm).toBeCloseTo(expected, 9)
      }
    })
  })

  describe('7. adaptive thresholds that cannot be boiled', () => {
    it('a latency rising 1% per second for 5 minutes ends in shedding, not a new normal', () => {
      const r = rig(engine)
      drive(r, { rps: 50, seconds: 120, latencyMs: (_t, i) => 70 + (i % 10) })
      const before = r.gov.snapshot('route')!
      expect(before.thresholds.warm).toBe(true)
      let lowTail = 0
      let lowTailShed = 0
      drive(r, {
        rps: 50,
        seconds: 300,
        priority: mixed,
        latencyMs: (t, i) => (70 + (i % 10)) * Math.pow(1.01, t / 1000),
        onDecision: (d, t, i) => {
          if (mixed(i) === 'low' && t >= 270000) {
            lowTail++
            if (!d.allow) lowTailShed++
          }
        },
      })
      const after = r.gov.snapshot('route')!
      // Over the last 30 s the low class is shed (a probe may pass now and then).
      expect(lowTailShed / lowTail).toBeGreaterThan(0.9)
      expect(after.admission.low).toBe(0)
      expect(after.thresholds.latencyMs).toBeLessThan(1.5 * before.thresholds.latencyMs)
    })

    it('learns a route slower than its baseline and stops counting it as pressure', () => {
      const r = rig(engine)
      drive(r, { rps: 50, seconds: 60, latencyMs: (_t, i) => 180 + (i % 40) })
      const s = r.gov.snapshot('route')!
      expect(s.thresholds.warm).toBe(true)
      expect(s.thresholds.learnedLatencyMs).toBeGreaterThan(150)
      expect(s.thresholds.latencyMs).toBeGreaterThan(200)
      expect(s.pressure.latency).toBe(0)
    })

    it('never learns above the ceiling, and uses the config threshold while warming up', () => {
      const r = rig(engine, { defaults: { thresholds: { latencyMs: 150, warmupS: 30 } } })
      drive(r, { rps: 50, seconds: 5, latencyMs: () => 120 })
      expect(r.gov.snapshot('route')!.thresholds.latencyMs).toBe(150)
      expect(r.gov.snapshot('route')!.mode).toBe('BOOTSTRAP')
      const high = rig(engine)
      drive(high, { rps: 50, seconds: 120, latencyMs: () => 1000 })
      expect(high.gov.snapshot('route')!.thresholds.latencyMs).toBeLessThanOrEqual(400)
    })
  })

  describe('8. priority shedding', () => {
    it('sheds low before normal before critical as resistance rises', () => {
      const r = rig(engine)
      warmUp(r)
      const seen: { low: number; normal: number; critical: number }[] = []
      for (const latencyMs of [120, 150, 200, 300, 500, 1000, 3000]) {
        drive(r, { rps: 60, seconds: 3, latencyMs: () => latencyMs, priority: mixed })
        const a = r.gov.snapshot('route')!.admission as {
          low: number
          normal: number
          critical: number
        }
        seen.push(a)
        expect(a.low).toBeLessThanOrEqual(a.normal)
        expect(a.normal).toBeLessThanOrEqual(a.critical)
      }
      expect(seen.some((a) => a.low === 0 && a.critical === 1)).toBe(true)
      expect(seen.some((a) => a.low > 0 && a.low < 1)).toBe(true)
    })

    it('fractional admission is deterministic and evenly spread', () => {
      const r = rig(engine)
      warmUp(r)
      // Find a steady state in which the low class is partly admitted.
      let latencyMs = 120
      let fraction = 1
      while (latencyMs < 2000) {
        drive(r, { rps: 50, seconds: 5, latencyMs: () => latencyMs })
        fraction = r.gov.snapshot('route')!.admission.low as number
        if (fraction > 0.15 && fraction < 0.85) break
        latencyMs += 20
      }
      expect(fraction).toBeGreaterThan(0.15)
      expect(fraction).toBeLessThan(0.85)
      // 200 low requests at one instant: no tick passes, so the fraction holds.
      const pattern: boolean[] = []
      for (let i = 0; i < 200; i++) {
        const d = r.gov.admit('route', { priority: 'low' })
        pattern.push(d.allow)
        if (d.ticket) r.gov.complete(d.ticket, { latencyMs })
      }
      const admitted = pattern.filter(Boolean).length
      // The first may pass as a probe; the rest follow the per-mille credit exactly.
      expect(Math.abs(admitted - 200 * fraction)).toBeLessThanOrEqual(2)
      let gap = 0
      let maxGap = 0
      for (const a of pattern.slice(1)) {
        gap = a ? 0 : gap + 1
        maxGap = Math.max(maxGap, gap)
      }
      expect(maxGap).toBeLessThanOrEqual(Math.ceil(1 / fraction))
    })

    it('configurable classes: a route with four classes sheds the last first', () => {
      const r = rig(engine, { priorities: ['p0', 'p1', 'p2', 'p3'] })
      warmUp(r)
      drive(r, { rps: 60, seconds: 5, latencyMs: () => 400 })
      const a = r.gov.snapshot('route')!.admission
      expect(a.p3).toBeLessThan(a.p0 as number)
      expect(() => r.gov.admit('route', { priority: 'low' })).toThrow(/Unknown priority "low"/)
    })
  })

  describe('9. a breaker that heals itself and does not flap', () => {
    it('trips on hard failure and sheds everything with circuit-open', () => {
      const r = rig(engine)
      warmUp(r)
      drive(r, { rps: 100, seconds: 5, latencyMs: () => 20, ok: () => false, priority: mixed })
      const d = r.gov.admit('route', { priority: 'critical' })
      expect(d.mode).toBe('CIRCUIT_BREAKER')
      expect(d.allow).toBe(false)
      expect(d.reason).toBe('circuit-open')
    })

    it('with no traffic for 60 s after a trip, probes pass and healthy outcomes close it within 10 s', () => {
      const r = rig(engine)
      warmUp(r)
      drive(r, { rps: 100, seconds: 4, latencyMs: () => 20, ok: () => false })
      expect(r.gov.snapshot('route')!.mode).toBe('CIRCUIT_BREAKER')
      r.clock.now += 60000
      const resumed = r.clock.now
      let operationalAt = Infinity
      let firstProbe: Decision | undefined
      drive(r, {
        rps: 20,
        seconds: 15,
        latencyMs: () => 50,
        onDecision: (d, t) => {
          if (!firstProbe && d.allow) firstProbe = d
          if (d.mode === 'OPERATIONAL' && operationalAt === Infinity) operationalAt = t
        },
      })
      expect(firstProbe?.reason).toBe('probe')
      expect(firstProbe?.mode).toBe('HALF_OPEN')
      expect(operationalAt).toBeLessThan(10000)
      expect(r.gov.snapshot('route')!.mode).toBe('OPERATIONAL')
      expect(r.clock.now).toBeGreaterThan(resumed)
    })

    it('a dead origin keeps the breaker probing in HALF_OPEN without flapping', () => {
      const r = rig(engine)
      warmUp(r)
      const before = r.gov.snapshot('route')!.modeTransitions
      drive(r, { rps: 100, seconds: 120, latencyMs: () => 20, ok: () => false })
      const s = r.gov.snapshot('route')!
      expect(s.mode).toBe('HALF_OPEN')
      expect(s.modeTransitions - before).toBe(2)
    })

    it('a condition hovering at the trip threshold for 120 s causes at most 2 mode transitions', () => {
      for (const offset of [-0.06, -0.03, 0, 0.03, 0.06]) {
        const r = rig(engine)
        warmUp(r)
        const before = r.gov.snapshot('route')!.modeTransitions
        // The error rate at which error pressure reaches the trip level (0.95) is ~0.486; the
        // rate swings ±0.05 around threshold + offset every 2 s.
        const rate = (t: number) => 0.486 + offset + (Math.floor(t / 2000) % 2 === 0 ? 0.05 : -0.05)
        drive(r, {
          rps: 100,
          seconds: 120,
          latencyMs: () => 50,
          ok: (t, i) => ((i * 0.6180339887) % 1) >= rate(t),
        })
        const transitions = r.gov.snapshot('route')!.modeTransitions - before
        expect(transitions, `offset ${offset}`).toBeLessThanOrEqual(2)
      }
    })
  })

  describe('signals go stale', () => {
    it('after a silence longer than 5 τ the first fresh samples replace the old signals', () => {
      const r = rig(engine)
      warmUp(r)
      drive(r, { rps: 50, seconds: 1, latencyMs: () => 400 })
      expect(r.gov.snapshot('route')!.signals.latencyMs).toBeGreaterThan(200)
      r.clock.now += 10000
      drive(r, { rps: 50, seconds: 0.2, latencyMs: () => 50 })
      expect(r.gov.snapshot('route')!.signals.latencyMs).toBe(50)
      expect(r.gov.snapshot('route')!.pressure.latency).toBe(0)
    })
  })

  describe('10. gray failure', () => {
    it('all 200s at 10× baseline latency is detected and shed within 2 s', () => {
      const r = rig(engine)
      warmUp(r)
      let firstShedMs = Infinity
      drive(r, {
        rps: 100,
        seconds: 5,
        priority: mixed,
        latencyMs: () => 1000,
        ok: () => true,
        onDecision: (d, t) => {
          if (!d.allow && firstShedMs === Infinity) firstShedMs = t
        },
      })
      expect(firstShedMs).toBeLessThanOrEqual(2000)
    })
  })

  describe('11. Retry-After from the physics', () => {
    it('every shed decision carries a whole Retry-After within 1..maxRetryAfterS', () => {
      const r = rig(engine)
      warmUp(r)
      const retries: number[] = []
      const collect = (d: Decision) => {
        if (!d.allow) retries.push(d.retryAfterS)
        else expect(d.retryAfterS).toBe(0)
      }
      drive(r, {
        rps: 100,
        seconds: 5,
        latencyMs: () => 3000,
        priority: mixed,
        onDecision: collect,
      })
      drive(r, { rps: 100, seconds: 5, latencyMs: () => 20, ok: () => false, onDecision: collect })
      drive(r, { rps: 100, seconds: 10, latencyMs: () => 20, ok: () => false, onDecision: collect })
      expect(retries.length).toBeGreaterThan(100)
      for (const s of retries) {
        expect(Number.isInteger(s)).toBe(true)
        expect(s).toBeGreaterThanOrEqual(1)
        expect(s).toBeLessThanOrEqual(30)
      }
    })

    it('circuit-open Retry-After counts down the cooldown; lower classes wait at least as long', () => {
      const r = rig(engine)
      warmUp(r)
      drive(r, { rps: 100, seconds: 3, latencyMs: () => 20, ok: () => false })
      const d = r.gov.admit('route')
      expect(d.reason).toBe('circuit-open')
      expect(d.retryAfterS).toBeGreaterThanOrEqual(1)
      expect(d.retryAfterS).toBeLessThanOrEqual(5)

      const p = rig(engine)
      warmUp(p)
      drive(p, { rps: 50, seconds: 3, latencyMs: () => 700 })
      const low = p.gov.admit('route', { priority: 'low' })
      const normal = p.gov.admit('route', { priority: 'normal' })
      expect(low.allow).toBe(false)
      if (!normal.allow) expect(low.retryAfterS).toBeGreaterThanOrEqual(normal.retryAfterS)
    })
  })

  describe('12. hostile input is harmless', () => {
    it('arbitrary doubles in telemetry, outcomes and the clock never throw or leak NaN', () => {
      fc.assert(
        fc.property(
          fc.array(
            fc.record({
              dt: fc.double(),
              latencyMs: fc.double(),
              errorRate: fc.double(),
              saturation: fc.double(),
              ok: fc.boolean(),
              kind: fc.constantFrom('admit', 'observe', 'route'),
            }),
            { maxLength: 60 },
          ),
          (steps) => {
            const r = rig(engine)
            for (const s of steps) {
              r.clock.now = r.clock.now + s.dt
              if (s.kind === 'observe') {
                r.gov.observe('route', s)
                continue
              }
              const d = s.kind === 'route' ? r.gov.route('route', s) : r.gov.admit('route')
              expect(Number.isFinite(d.resistance)).toBe(true)
              if (d.ticket) r.gov.complete(d.ticket, { latencyMs: s.latencyMs, ok: s.ok })
            }
            const snap = r.gov.snapshot('route')
            if (snap === undefined) return
            // `injected` is null by design (nothing injected); any other null was a NaN.
            expect(snap.injected).toBeNull()
            const numbers = JSON.stringify({ ...snap, injected: 0 }).match(/-?[\d.e+-]+|null/g) ??
              []
            expect(numbers).not.toContain('null')
            expect(snap.resistanceOhm).toBeGreaterThanOrEqual(1)
            expect(snap.resistanceOhm).toBeLessThanOrEqual(19)
            for (const v of Object.values(snap.pressure)) {
              expect(v).toBeGreaterThanOrEqual(0)
              expect(v).toBeLessThanOrEqual(1)
            }
          },
        ),
        { numRuns: 300 },
      )
    })

    it('a clock that returns NaN, goes backwards or jumps decades keeps decisions finite', () => {
      const r = rig(engine)
      warmUp(r)
      for (const t of [NaN, -1e300, 1e300, Infinity, -Infinity, 0, 1e15]) {
        r.clock.now = t
        const d = r.gov.admit('route')
        expect(Number.isFinite(d.resistance)).toBe(true)
        expect(['BOOTSTRAP', 'OPERATIONAL', 'HALF_OPEN', 'CIRCUIT_BREAKER']).toContain(d.mode)
        if (d.ticket) r.gov.complete(d.ticket, { latencyMs: NaN })
      }
    })
  })

  describe('13. deterministic', () => {
    it('the same clock and inputs give the same decisions, bit for bit', () => {
      const run = () => {
        const r = rig(engine)
        const out: unknown[] = []
        drive(r, {
          rps: 137,
          seconds: 90,
          priority: mixed,
          latencyMs: (t, i) => (t > 30000 && t < 60000 ? 900 : 40) + (i % 17),
          ok: (t, i) => !(t > 45000 && t < 55000 && i % 3 === 0),
          onDecision: (d) => out.push([d.allow, d.mode, d.reason, d.retryAfterS, d.resistance]),
        })
        out.push(r.gov.snapshot('route'))
        return JSON.stringify(out)
      }
      expect(run()).toBe(run())
    })
  })
})

describe('13. deterministic core', () => {
  it('src/engine uses no Date.now, Math.random, timers or module-level mutable state', async () => {
    const { readdirSync, readFileSync } = await import('node:fs')
    const files = (readdirSync(new URL('../../src/engine/', import.meta.url), {
      recursive: true,
    }) as string[]).filter((f) => f.endsWith('.ts'))
    const wasmFiles = readdirSync(new URL('../../wasm/assembly/', import.meta.url))
    expect(files.length).toBeGreaterThan(4)
    const sources = [
      ...files.map((f) => readFileSync(new URL(`../../src/engine/${f}`, import.meta.url), 'utf8')),
      ...wasmFiles.map((f) =>
        readFileSync(new URL(`../../wasm/assembly/${f}`, import.meta.url), 'utf8')
      ),
    ]
    for (const src of sources) {
      expect(src).not.toMatch(/Date\.now|Math\.random|setTimeout|setInterval|performance\.now/)
      // No module-level `let`, except the AssemblyScript memory layout set once by init() in
      // each instance.
      const lets = src.match(/^let \w+/gm) ?? []
      expect(lets.filter((l) => l !== 'let paramsBase' && l !== 'let slotsBase')).toEqual([])
    }
  })
})
