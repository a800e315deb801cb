// Silence is counted from the last answer heard (docs/physics.md §8): another isolate's successes
// restart the silence clock when the exchange brings them, not on each tick over which the engine
// then folds them in. A black hole cuts this isolate and its peer off at once; the peer's last
// report (its successes from before the hole) must not hold off the detection past 1 s.
import { describe, expect, it } from 'vitest'
import { ReferenceEngine } from '../../src/engine/reference/engine.ts'
import { loadWasmEngine } from '../../src/engine/wasm/loader.ts'
import { wasmModule } from '../../src/adapter/node/mod.ts'
import { paramBlock } from '../../src/engine/params.ts'
import { physicsFor, resolveProfile } from '../../src/governor/physics-params.ts'
import { parseConfig } from '../../src/config/schema.ts'
import type { EngineCore } from '../../src/engine/types.ts'
import { decisionAllows, modeOf, OUTCOME } from '../../src/engine/view.ts'

const engines: [string, () => EngineCore][] = [
  ['ts', () => new ReferenceEngine(1, 1)],
  ['wasm', () => loadWasmEngine(wasmModule(), 1, 1)],
]

const HOLE_MS = 20_000
const LATENCY_MS = 50

/**
 * One isolate of two: 200 req/s answered in 50 ms, and every 250 ms the peer's report of the same
 * traffic (50 answers). From HOLE_MS nothing is answered; the peer's next report still carries
 * `lastReport` successes it had before the hole, and after it the peer reports nothing.
 * Returns when the route entered the outage mode (ms after the hole), or Infinity.
 */
function detection(make: () => EngineCore, lastReport: number): number {
  const e = make()
  e.setParams(0, paramBlock(physicsFor(parseConfig({}), {}, resolveProfile('STANDARD'))))
  e.initSlot(0, 0, 0)
  const pending: number[] = []
  for (let now = 0; now < HOLE_MS + 3000; now += 5) {
    // Answers due now (only requests sent before the hole come back).
    while (pending.length > 0 && (pending[0] as number) + LATENCY_MS <= now) {
      pending.shift()
      e.complete(0, LATENCY_MS, OUTCOME.ok, NaN, now, 1)
    }
    if (now % 250 === 0) {
      const count = now < HOLE_MS ? 50 : now < HOLE_MS + 250 ? lastReport : 0
      e.absorb(0, count, count * LATENCY_MS, 0, 2, now)
    }
    if (decisionAllows(e.admit(0, 0, now)) && now < HOLE_MS) pending.push(now)
    if (now >= HOLE_MS && modeOf(e, 0) === 'CIRCUIT_BREAKER') return now - HOLE_MS
  }
  return Infinity
}

describe.each(engines)('silence on the %s engine', (_name, make) => {
  it("a peer's last report before a black hole does not delay its detection past 1 s", () => {
    // 8 × 50 ms of silence after the last answer heard: the peer's report 0–250 ms after the hole
    // restarts the clock once. Folded in over the following ticks (0.4 of the pool a tick), a
    // report of 60 successes would restart it for 8 more ticks: detection after 1.2 s.
    const late = detection(make, 60)
    expect(late).toBeLessThanOrEqual(1000)
    // With no report at all the hole is seen no later, and not before 8 latencies of silence.
    const none = detection(make, 0)
    expect(none).toBeLessThanOrEqual(late)
    expect(none).toBeGreaterThanOrEqual(8 * LATENCY_MS - 100)
  })
})
