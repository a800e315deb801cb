// Property 20 of docs/physics.md, injected pressure, on both engines in virtual time: it raises R,
// it blends with the measured pressure by the max (not a sum), and it ends at its ttl by the
// injected clock, whether requests arrive meanwhile or not.
import { describe, expect, it } from 'vitest'
import { drive, ENGINES, rig, warmUp } from '../support/harness.ts'

describe.each(ENGINES)('20. injected pressure on the %s engine', (engine) => {
  it('inject() raises pressure and R from the next tick until the ttl, then lets go', () => {
    const r = rig(engine)
    warmUp(r, 'checkout')
    const healthy = r.gov.snapshot('checkout')!
    expect(healthy.pressure.combined).toBeLessThan(0.1)
    const t0 = r.clock.now
    r.gov.inject('checkout', 0.6, 5)
    r.clock.now = t0 + 100
    const during = r.gov.snapshot('checkout')!
    expect(during.pressure.combined).toBe(0.6)
    expect(during.resistanceOhm).toBeGreaterThan(healthy.resistanceOhm + 5)
    expect(during.injected).toEqual({ pressure: 0.6, untilMs: t0 + 5000 })
    // The last tick that ends by the ttl still has it.
    r.clock.now = t0 + 4999
    expect(r.gov.snapshot('checkout')!.pressure.combined).toBe(0.6)
    // Idle throughout: the tick the injection ends in brings the measured pressure back.
    r.clock.now = t0 + 5200
    const after = r.gov.snapshot('checkout')!
    expect(after.pressure.combined).toBe(healthy.pressure.combined)
    expect(after.injected).toBeNull()
  })

  it('inject() ends at its ttl under traffic too, and a replacement wins over the first', () => {
    const r = rig(engine)
    warmUp(r, 'api')
    r.gov.inject('api', 0.9, 10)
    r.gov.inject('api', 0.4, 2)
    drive(r, { route: 'api', rps: 50, seconds: 1.5, latencyMs: () => 50 })
    expect(r.gov.snapshot('api')!.pressure.combined).toBe(0.4)
    drive(r, { route: 'api', rps: 50, seconds: 1, latencyMs: () => 50 })
    expect(r.gov.snapshot('api')!.pressure.combined).toBeLessThan(0.1)
  })

  it('inject() takes the max with the measured pressure, never the sum', () => {
    // Two routes under the same measured pressure (reported saturation); one also gets an
    // injection below it, which changes nothing: not its pressure, R, limit or decisions.
    const a = rig(engine)
    const b = rig(engine)
    const saturated = (x: typeof a, seconds: number) => {
      const out: boolean[] = []
      for (let k = 0; k < seconds * 10; k++) {
        x.gov.observe('slow', { saturation: 0.95 })
        drive(x, {
          route: 'slow',
          rps: 50,
          seconds: 0.1,
          latencyMs: () => 50,
          onDecision: (d) => out.push(d.allow),
        })
      }
      return out
    }
    for (const x of [a, b]) {
      warmUp(x, 'slow')
      saturated(x, 3)
    }
    const measured = a.gov.snapshot('slow')!.pressure.combined
    expect(measured).toBeGreaterThan(0.3)
    b.gov.inject('slow', measured / 2, 30)
    const plainDecisions = saturated(a, 2)
    const injectedDecisions = saturated(b, 2)
    const plain = a.gov.snapshot('slow')!
    const injected = b.gov.snapshot('slow')!
    expect(injectedDecisions).toEqual(plainDecisions)
    expect(injected.pressure.combined).toBe(plain.pressure.combined)
    expect(injected.resistanceOhm).toBe(plain.resistanceOhm)
    expect(injected.capacity.localLimit).toBe(plain.capacity.localLimit)
    // Above the measured pressure, the injection is the pressure and scales the limit.
    b.gov.inject('slow', 0.99, 30)
    drive(b, { route: 'slow', rps: 50, seconds: 0.5, latencyMs: () => 50 })
    const strong = b.gov.snapshot('slow')!
    expect(strong.pressure.combined).toBe(0.99)
    expect(strong.capacity.localLimit).toBeCloseTo(strong.capacity.limit * 0.01, 9)
  })

  it('inject() refuses a pressure outside 0..1 and a ttl that is not a positive number', () => {
    const r = rig(engine)
    for (const pressure of [-0.1, 1.1, NaN]) {
      expect(() => r.gov.inject('x', pressure, 1)).toThrow(RangeError)
    }
    for (const ttlS of [0, -1, NaN, Infinity]) {
      expect(() => r.gov.inject('x', 0.5, ttlS)).toThrow(RangeError)
    }
  })
})
