// The cost of a route's start (docs/physics.md §6, "The route's first drain is owed to a queue"),
// run on both engines in virtual time against the queueing origin model of
// tests/support/harness.ts. 7a fails with the rule off (startEvidence 0, asserted in the same
// test): the initial window binds at once, the first drain starts at the first tick and sheds
// nearly everything for the rounds its sample takes. 7b is the guard: an origin that does queue
// behind the window still gets its first drain early, and it measures the service.
import { describe, expect, it } from 'vitest'
import type { EngineKind } from '../../src/engine/types.ts'
import { ENGINES, type OriginModel, rig, serve } from '../support/harness.ts'

/** Deterministic service times spread evenly over [ms − spread, ms + spread). */
function around(ms: number, spread: number): (t: number) => number {
  return (t) => ms - spread + 2 * spread * ((t * 0.6180339887) % 1)
}

interface Run {
  /** Requests shed in the first `firstS` seconds. */
  shed: number
  offered: number
  /** Drains and the unqueued latency at the end of the run. */
  drains: number
  unqueuedMs: number
  /** ms since the run began when the first drain was seen under way, or Infinity. */
  firstDrainAt: number
}

function run(
  engine: EngineKind,
  startEvidence: number,
  rps: number,
  seconds: number,
  origin: OriginModel,
  firstS: number,
): Run {
  // The route's unqueued latency starts as the STANDARD profile's guess, 100 ms.
  const r = rig(engine, { physics: { startEvidence } })
  let shed = 0
  let offered = 0
  let firstDrainAt = Infinity
  serve(r, {
    rps,
    seconds,
    origin,
    onDecision: (d, t) => {
      if (t < firstS * 1000) {
        offered++
        if (d.ticket === null) shed++
      }
      if (firstDrainAt === Infinity) {
        const c = r.gov.snapshot('route')!.capacity
        if (c.drains > 0 || c.localLimit < 0.5 * c.limit * c.share) firstDrainAt = t
      }
    },
  })
  const c = r.gov.snapshot('route')!.capacity
  return { shed, offered, drains: c.drains, unqueuedMs: c.unqueuedLatencyMs, firstDrainAt }
}

describe.each(ENGINES)('the start of a route on the %s engine', (engine) => {
  it('7a. a window that binds on an origin with room sheds only the window, and no drain', () => {
    // 100 servers, answers of 60–100 ms (mean 80, within the tolerance of the 100 ms guess),
    // 400 requests a second: 32 in flight, far below the servers, so no queue ever forms. The
    // initial window of 10 binds in the first tick (40 arrivals); its answers, 3 or more a tick,
    // come back at the unqueued latency.
    const origin: OriginModel = { servers: () => 100, serviceMs: around(80, 20) }
    const on = run(engine, 1, 400, 5, origin, 2)
    const off = run(engine, 0, 400, 5, origin, 2)
    // With the rule: slow start doubles the window per round of answers, and nothing else sheds:
    // no queue, so no drain is owed in 5 s (the next periodic one needs the limit to bind again).
    expect(on.drains).toBe(0)
    expect(on.firstDrainAt).toBe(Infinity)
    // The window's own shedding: under 60 of the first 800 requests (measured: 39; 128 without).
    expect(on.shed).toBeLessThan(60)
    // Without it the binding window starts the first drain in the first tick, and the drain holds
    // one request out (the answer rate still warming up) for the rounds of its sample.
    expect(off.firstDrainAt).toBeLessThan(200)
    expect(off.shed).toBeGreaterThan(on.shed + 30)
  })

  it('7b. an origin that queues behind the window still drains first, and measures it', () => {
    // 2 servers, answers of 70–90 ms: the window of 10 puts 8 in the queue at once, the answers
    // within a tick are too few (two or three) to excuse the drain, and the queue shows.
    const origin: OriginModel = { servers: () => 2, serviceMs: around(80, 10) }
    const on = run(engine, 1, 200, 5, origin, 1)
    expect(on.firstDrainAt).toBeLessThan(1000)
    expect(on.drains).toBeGreaterThanOrEqual(1)
    expect(on.unqueuedMs).toBeGreaterThan(0.8 * 80)
    expect(on.unqueuedMs).toBeLessThan(1.6 * 80)
  })
})
