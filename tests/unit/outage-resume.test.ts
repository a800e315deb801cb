// A black hole ends at the answer that proves it (docs/physics.md §9, `physics.resumeAtAnswer`):
// the test the end of the tick would make on its answers (no failing tick since the outage, most
// answers successes, their mean within the tolerance of the unqueued latency) is made when each
// answer arrives, so the route is back at its remembered capacity from that answer on, not from
// the end of its tick. Without the switch the same answer leaves the route in the outage mode,
// shedding everything but probes, until the tick closes.
import { describe, expect, it } from 'vitest'
import { ReferenceEngine } from '../../src/engine/reference/engine.ts'
import { loadWasmEngine } from '../../src/engine/wasm/loader.ts'
import { wasmModule } from '../../src/adapter/node/mod.ts'
import { paramBlock } from '../../src/engine/params.ts'
import { physicsFor, resolveProfile } from '../../src/governor/physics-params.ts'
import { parseConfig } from '../../src/config/schema.ts'
import type { EngineCore } from '../../src/engine/types.ts'
import { S_LIMIT } from '../../src/engine/reference/layout.ts'
import { decisionAllows, modeOf, OUTCOME, transitionsOf } from '../../src/engine/view.ts'

const engines: [string, () => EngineCore][] = [
  ['ts', () => new ReferenceEngine(1, 1)],
  ['wasm', () => loadWasmEngine(wasmModule(), 1, 1)],
]

const HOLE_MS = 20_000
const HOLE_END_MS = 23_000
const STEP_MS = 5
const TIMEOUT_MS = 2000

interface Resume {
  /** The mode right after the first success sent after the hole was completed. */
  modeAtAnswer: string
  /** Ms from that answer until the route admitted a request other than as a probe. */
  fullAfterMs: number
  /** Mode changes from the hole's start to the end of the run. */
  transitions: number
  /** The limit when the hole began, and 300 ms after the first healthy answer. */
  limitBefore: number
  limitAfter: number
}

/**
 * One isolate: 200 req/s, each answered after `latencyMs` (after the hole, the answers of probes
 * take `returnLatencyMs`). From HOLE_MS to HOLE_END_MS nothing sent is answered (its timeout comes
 * back as a lost request after TIMEOUT_MS).
 */
function blackHole(
  make: () => EngineCore,
  resumeAtAnswer: number,
  latencyMs: number,
  returnLatencyMs: number,
): Resume {
  const e = make()
  const config = parseConfig({ physics: { resumeAtAnswer } })
  e.setParams(0, paramBlock(physicsFor(config, {}, resolveProfile('STANDARD'))))
  e.initSlot(0, 0, 0)
  // [due, latency, ok] of each request out, in order of due time.
  const pending: [number, number, number][] = []
  let firstAnswer = -1
  let modeAtAnswer = ''
  let fullAt = -1
  let transitionsAtHole = 0
  let limitBefore = NaN
  let limitAfter = NaN
  const end = HOLE_END_MS + 3000
  for (let now = 0; now < end; now += STEP_MS) {
    pending.sort((a, b) => a[0] - b[0])
    while (pending.length > 0 && (pending[0] as [number, number, number])[0] <= now) {
      const [, lat, ok] = pending.shift() as [number, number, number]
      e.complete(0, lat, ok === 1 ? OUTCOME.ok : OUTCOME.lost, NaN, now, 1)
      if (ok === 1 && now >= HOLE_END_MS && firstAnswer < 0) {
        firstAnswer = now
        modeAtAnswer = modeOf(e, 0)
      }
    }
    if (now === HOLE_MS) {
      transitionsAtHole = transitionsOf(e, 0)
      limitBefore = e.readState(0, S_LIMIT)
    }
    if (firstAnswer >= 0 && now === firstAnswer + 300) limitAfter = e.readState(0, S_LIMIT)
    const code = e.admit(0, 0, now)
    if (decisionAllows(code)) {
      const inHole = now >= HOLE_MS && now < HOLE_END_MS
      if (inHole) pending.push([now + TIMEOUT_MS, TIMEOUT_MS, 0])
      else {
        const lat = now >= HOLE_END_MS ? returnLatencyMs : latencyMs
        pending.push([now + lat, lat, 1])
      }
      if (firstAnswer >= 0 && fullAt < 0 && modeOf(e, 0) === 'OPERATIONAL') fullAt = now
    }
  }
  return {
    modeAtAnswer,
    fullAfterMs: fullAt - firstAnswer,
    transitions: transitionsOf(e, 0) - transitionsAtHole,
    limitBefore,
    limitAfter,
  }
}

describe.each(engines)('a black hole resumes at its answer on the %s engine', (_name, make) => {
  it("the first healthy answer after the hole ends the outage mode at once, not at its tick's end", () => {
    // Answers of 37 ms: an answer never falls on a tick's end, so the tick closes after it.
    const on = blackHole(make, 1, 37, 37)
    expect(on.modeAtAnswer).toBe('OPERATIONAL')
    expect(on.fullAfterMs).toBe(0)
    // Two mode changes for the hole: into the outage and out of it.
    expect(on.transitions).toBe(2)
    // The timeouts of probes sent into the hole that came back in the resume's tick, before the
    // resume, were the outage's: the capacity law does not take them for overload answers.
    expect(on.limitAfter).toBeGreaterThanOrEqual(on.limitBefore)

    const off = blackHole(make, 0, 37, 37)
    expect(off.modeAtAnswer).toBe('CIRCUIT_BREAKER')
    expect(off.fullAfterMs).toBeGreaterThan(0)
    expect(off.transitions).toBe(2)
  })

  it('an answer slower than the tolerance allows (a queue, or a slower origin) keeps the ramp', () => {
    // Probes answered at 3× the unqueued latency: no resume at the answer, nor at the tick's end.
    const slow = blackHole(make, 1, 37, 111)
    expect(slow.modeAtAnswer).toBe('CIRCUIT_BREAKER')
    expect(slow.fullAfterMs).toBeGreaterThan(100)
  })
})
