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
    // Two routes under the same slow traffic; one also gets an injection below its pressure.
    const a = rig(engine)
    const b = rig(engine)
    for (const x of [a, b]) {
      warmUp(x, 'slow')
      drive(x, { route: 'slow', rps: 50, seconds: 3, latencyMs: () => 220 })
    }
    const measured = a.gov.snapshot('slow')!.pressure.combined
    expect(measured).toBeGreaterThan(0.3)
    b.gov.inject('slow', measured / 2, 30)
    for (const x of [a, b]) drive(x, { route: 'slow', rps: 50, seconds: 2, latencyMs: () => 220 })
    const plain = a.gov.snapshot('slow')!
    const injected = b.gov.snapshot('slow')!
    expect(injected.pressure.combined).toBe(plain.pressure.combined)
    expect(injected.resistanceOhm).toBe(plain.resistanceOhm)
    // Above the measured pressure, the injection is the pressure.
    b.gov.inject('slow', 0.99, 30)
    drive(b, { route: 'slow', rps: 50, seconds: 0.5, latencyMs: () => 220 })
    expect(b.gov.snapshot('slow')!.pressure.combined).toBe(0.99)
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
