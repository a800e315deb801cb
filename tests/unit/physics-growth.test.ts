// The growth rules of the capacity law (docs/physics.md §4, "The round of answers clocks the
// growth" and "A faster origin restarts slow start"), run on both engines in virtual time against
// the queueing origin model of tests/support/harness.ts. Each property fails when its rule alone is
// taken out of either engine (checked by hand: k forced to 1 fails only 3b's 800 ms test; the
// resume after a faster drain removed fails only 3c). 3b and 3c run with the bigger-origin rule off
// (growthConfidence 0): their origins have room beyond the limit with no queue, where that rule
// grows the limit as slow start does; 3d asserts that rule, and the same run with it off; 3e runs
// the same origin with drainSupersedes on and off.
import { describe, expect, it } from 'vitest'
import { PHYSICS_DEFAULTS } from '../../src/config/defaults.ts'
import type { EngineKind } from '../../src/engine/types.ts'
import { ENGINES, type OriginModel, rig, serve } from '../support/harness.ts'

const TICK_MS = PHYSICS_DEFAULTS.tickMs
const TOLERANCE = PHYSICS_DEFAULTS.latencyTolerance
/** The additive step per tick, in units of max(1, √L). */
const STEP = PHYSICS_DEFAULTS.limitGrowthPerS * TICK_MS / 1000

interface Sample {
  /** ms since the run began: the first decision of a tick, after the engine closed the last. */
  t: number
  limit: number
  unqueuedMs: number
  drains: number
}

/** Runs `serve` and samples the capacity estimate once per tick. */
function limits(
  engine: EngineKind,
  rps: number,
  seconds: number,
  origin: OriginModel,
  growthConfidence = 0,
): Sample[] {
  const r = rig(engine, { physics: { growthConfidence } })
  const samples: Sample[] = []
  let lastTick = -1
  serve(r, {
    rps,
    seconds,
    origin,
    onDecision: (_d, t) => {
      const tick = Math.floor(t / TICK_MS)
      if (tick === lastTick) return
      lastTick = tick
      const c = r.gov.snapshot('route')!.capacity
      samples.push({ t, limit: c.limit, unqueuedMs: c.unqueuedLatencyMs, drains: c.drains })
    },
  })
  return samples
}

/** The samples in [from, to) ms. */
function during(samples: Sample[], from: number, to: number): Sample[] {
  return samples.filter((s) => s.t >= from && s.t < to)
}

/**
 * Additive steps taken between consecutive samples, each in units of STEP × max(1, √L): one per
 * tick when every tick grows by a whole step.
 */
function steps(samples: Sample[]): number {
  let sum = 0
  for (let k = 1; k < samples.length; k++) {
    const a = samples[k - 1] as Sample
    const b = samples[k] as Sample
    sum += (b.limit - a.limit) / (STEP * Math.max(1, Math.sqrt(a.limit)))
  }
  return sum
}

/** Deterministic service times spread evenly over [ms − spread, ms + spread). */
function around(ms: number, spread: number): (t: number) => number {
  return (t) => ms - spread + 2 * spread * ((t * 0.6180339887) % 1)
}

/** 503s for the requests served in [from, from + 100 ms): an overload cut, which ends slow start. */
const cutAt = (from: number) => (t: number) => (t >= from && t < from + 100 ? 503 : 200)

describe.each(ENGINES)('growth of the limit on the %s engine', (engine) => {
  describe('3b. the round of answers clocks the additive growth', () => {
    // No queue at any limit (more servers than requests in flight), demand 400 requests in
    // flight, far above the limit: only the growth rule decides how fast the limit rises.
    const demand = 400
    const origin = (serviceMs: (t: number) => number): OriginModel => ({
      servers: () => 2 * demand,
      serviceMs,
      status: cutAt(4000),
    })

    it('answers of 800 ms grow it by at most about one step per round of answers (8 ticks)', () => {
      // 700–900 ms spread over the ticks (answers of one fixed latency come back in the same
      // ticks round after round, and a tick without answers does not grow).
      const samples = limits(engine, demand / 0.8, 20, origin(around(800, 100)))
      // From 6 s (the cut's answers came back by 5 s) to the periodic drain at 20 s; the drain at
      // 10 s holds the limit for two rounds. Nothing but growth moves it: no queue, no cut.
      const window = during(samples, 6000, 19900)
      for (let k = 1; k < window.length; k++) {
        expect(window[k]!.limit).toBeGreaterThanOrEqual(window[k - 1]!.limit)
      }
      expect(window.at(-1)!.limit).toBeLessThan(demand)
      const rounds = (window.at(-1)!.t - window[0]!.t) / 800
      const perRound = steps(window) / rounds
      // 0.66 here; with the step taken per tick whatever the round (k = 1), 6.5.
      expect(perRound).toBeLessThanOrEqual(1.1)
      // And it does grow: the limit is in use and nothing else holds it.
      expect(perRound).toBeGreaterThan(0.5)
    })

    it('answers of 20 ms (within a tick) grow it by one step per tick, as before the rule', () => {
      const samples = limits(engine, demand / 0.02, 6, origin(() => 20))
      // From the cut at 4.1 s until the limit outgrows the demand (twice the requests in flight).
      const window = during(samples, 4500, 6000)
      expect(window.at(-1)!.limit).toBeLessThan(2 * demand)
      const ticks = (window.at(-1)!.t - window[0]!.t) / TICK_MS
      const perTick = steps(window) / ticks
      expect(perTick).toBeGreaterThan(0.9)
      expect(perTick).toBeLessThanOrEqual(1.0001)
    })
  })

  describe('3c. a faster origin restarts slow start', () => {
    it('a drain that measures 50 ms where answers took 800: within 1 s, 3× past additive growth', () => {
      // Slow start ended by a cut at 4 s; the origin gets 16 times faster at 9 s, and the
      // periodic drain at 10 s measures it. Demand: 10,000 req/s, 500 requests in flight at 50 ms.
      const samples = limits(engine, 10000, 12, {
        servers: () => 1000,
        serviceMs: (t) => (t < 9000 ? 800 : 50),
        status: cutAt(4000),
      })
      // Until then the drains measured the slow origin (the first sample holds the profile's guess).
      const slow = during(samples, 4000, 9000)
      for (const s of slow) expect(s.unqueuedMs).toBeGreaterThan(700)
      const measured = samples.findIndex((s) => s.t >= 9000 && s.unqueuedMs < 800 / TOLERANCE)
      expect(measured).toBeGreaterThan(0)
      const at = samples[measured]!
      const before = samples[measured - 1]!
      const after = during(samples, at.t + 1000, Infinity)[0]!
      // Additive growth adds at most STEP·√L a tick: √L grows by at most STEP/2 a tick.
      const additive = (Math.sqrt(before.limit) + (STEP / 2) * (after.t - before.t) / TICK_MS) ** 2
      // 16.5 → 1,057 here (the demand's 500 in flight stop it); additive growth alone (the resume
      // taken out) reaches 25.5 of the bound's 26.7.
      expect(after.limit).toBeGreaterThan(3 * additive)
    })
  })

  describe("3e. a drain that finds a faster origin supersedes the slower origin's answers", () => {
    it('answers of 400 ms that become 50 ms at the drain: the limit is not cut after it', () => {
      // 20 servers, demand 1,000 req/s: a standing queue throughout. The service becomes 8 times
      // faster at 10 s, the instant the periodic drain starts; the requests already in service
      // finish at the old speed during phase 1, and the drain's sample, served at once, times the
      // new one. The short latency still holds the old answers (300–500 ms) when the drain ends.
      const run = (drainSupersedes: number) => {
        const r = rig(engine, { physics: { drainSupersedes, growthConfidence: 0 } })
        const samples: (Sample & { shortMs: number })[] = []
        let lastTick = -1
        serve(r, {
          rps: 1000,
          seconds: 12,
          origin: {
            servers: () => 20,
            serviceMs: (t) => (t < 10000 ? around(400, 100)(t) : around(50, 25)(t)),
          },
          onDecision: (_d, t) => {
            const tick = Math.floor(t / TICK_MS)
            if (tick === lastTick) return
            lastTick = tick
            const c = r.gov.snapshot('route')!.capacity
            samples.push({
              t,
              limit: c.limit,
              unqueuedMs: c.unqueuedLatencyMs,
              drains: c.drains,
              shortMs: c.shortLatencyMs,
            })
          },
        })
        const at = samples.findIndex((s) => s.t >= 10000 && s.unqueuedMs < 400 / TOLERANCE)
        expect(at).toBeGreaterThan(0)
        const end = samples[at]!
        const next = during(samples, end.t, end.t + 1000)
        return { end, low: Math.min(...next.map((s) => s.limit)) }
      }
      const on = run(1)
      // The short latency restarts from the drain's own mean (48 ms here), and the limit is not cut
      // below its value at the drain's end within the next second (23.4 here; slow start then
      // doubles it twice, to 90.8, and the queue of the new answers cuts it back to 30 by 1.5 s).
      expect(on.end.shortMs).toBeLessThan(400 / TOLERANCE)
      expect(on.low).toBeGreaterThanOrEqual(on.end.limit)
      // Off: the old answers (short 311 ms against a base of 48) cut it to 18.6 within 0.3 s.
      const off = run(0)
      expect(off.end.shortMs).toBeGreaterThan(TOLERANCE * off.end.unqueuedMs)
      expect(off.low).toBeLessThan(0.9 * off.end.limit)
    })
  })

  describe('3d. a bigger origin grows the limit as slow start does', () => {
    it('servers × 8 at the same service time: within 2 s, 3× past additive growth', () => {
      // 8 servers until 8 s, then 64, answers of 40–60 ms throughout; demand 2,000 req/s (100
      // requests in flight at 50 ms). Before 8 s the queue ends slow start and the drains measure
      // the unqueued latency; after it the limit binds with no queue: no drain can find a faster
      // origin (the service time did not change), only the limit in full use with answers at the
      // unqueued latency says the origin got bigger.
      const run = (z: number) =>
        limits(
          engine,
          2000,
          11,
          { servers: (t) => (t < 8000 ? 8 : 64), serviceMs: around(50, 25) },
          z,
        )
      const samples = run(PHYSICS_DEFAULTS.growthConfidence)
      const small = during(samples, 5000, 8000)
      // The small origin held the limit near its servers × the tolerance (12), slow start long over.
      for (const s of small) expect(s.limit).toBeLessThan(24)
      expect(small.at(-1)!.drains).toBeGreaterThan(0)
      const before = during(samples, 8000, Infinity)[0]!
      const after = during(samples, before.t + 2000, Infinity)[0]!
      const additive = (Math.sqrt(before.limit) + (STEP / 2) * (after.t - before.t) / TICK_MS) ** 2
      // With the rule the limit passes the 64 servers within the 2 s.
      expect(after.limit).toBeGreaterThan(3 * additive)
      expect(after.limit).toBeGreaterThan(64)
      // With it off (growthConfidence 0) additive growth alone stays below the bound.
      const off = run(0)
      const offAfter = during(off, after.t, Infinity)[0]!
      expect(offAfter.limit).toBeLessThan(additive)
    })
  })
})
