// The typed readers of src/engine/view.ts against the layout they hide: each reader returns the
// field its name promises, on both engines, and the decision-code readers decode what the engines
// encode.
import { describe, expect, it } from 'vitest'
import * as L from '../../src/engine/reference/layout.ts'
import { ReferenceEngine } from '../../src/engine/reference/engine.ts'
import { loadWasmEngine } from '../../src/engine/wasm/loader.ts'
import { wasmModule } from '../../src/adapter/node/mod.ts'
import { paramBlock } from '../../src/engine/params.ts'
import { physicsFor, resolveProfile } from '../../src/governor/physics-params.ts'
import { parseConfig } from '../../src/config/schema.ts'
import type { EngineCore } from '../../src/engine/types.ts'
import { MODES, REASONS } from '../../src/engine/types.ts'
import {
  decisionAllows,
  decisionMode,
  decisionReason,
  decisionRetryAfterS,
  inflightOf,
  limitOf,
  modeIndexOf,
  modeOf,
  OUTCOME,
  paramSetOf,
  readRoute,
  resistanceOf,
  transitionsOf,
} from '../../src/engine/view.ts'

const engines: [string, () => EngineCore][] = [
  ['ts', () => new ReferenceEngine(2, 2)],
  ['wasm', () => loadWasmEngine(wasmModule(), 2, 2)],
]

/** An engine whose slot 1 (parameter set 1) has lived through load, an injection and overload. */
function exercised(make: () => EngineCore): { e: EngineCore; now: number; codes: number[] } {
  const e = make()
  const config = parseConfig({})
  e.setParams(1, paramBlock(physicsFor(config, {}, resolveProfile('STANDARD'))))
  e.initSlot(1, 1, 0)
  const codes: number[] = []
  let now = 0
  for (let i = 0; i < 3000; i++) {
    now += 2
    const code = e.admit(1, i % 3, now)
    codes.push(code)
    if (decisionAllows(code) && i % 4 !== 0) {
      e.complete(1, 40 + (i % 700), i % 9 === 0 ? OUTCOME.overload : OUTCOME.ok, NaN, now, 1)
    }
    if (i === 1500) e.inject(1, 0.5, now + 60_000, now)
  }
  e.advance(1, now)
  return { e, now, codes }
}

describe('engine/view.ts reads what the layout names', () => {
  it.each(engines)('%s: the one-number readers', (_name, make) => {
    const { e } = exercised(make)
    expect(modeIndexOf(e, 1)).toBe(e.readState(1, L.S_MODE))
    expect(modeOf(e, 1)).toBe(MODES[e.readState(1, L.S_MODE)])
    expect(resistanceOf(e, 1)).toBe(e.readState(1, L.S_R))
    expect(limitOf(e, 1)).toBe(e.readState(1, L.S_LIMIT))
    expect(inflightOf(e, 1)).toBe(e.readState(1, L.S_INFLIGHT))
    expect(inflightOf(e, 1)).toBeGreaterThan(0)
    expect(transitionsOf(e, 1)).toBe(e.readState(1, L.S_TRANSITIONS))
    expect(paramSetOf(e, 1)).toBe(1)
  })

  it.each(engines)('%s: readRoute gathers the state and the scratch registers', (_name, make) => {
    const { e, now } = exercised(make)
    const v = readRoute(e, 1, 3, now)
    // readRoute ran inspect: the scratch registers now hold this slot's values.
    expect(v.resistanceOhm).toBe(e.readScratch(L.X_R))
    expect(v.pressure).toEqual({
      latency: e.readScratch(L.X_PL),
      errors: e.readScratch(L.X_PE),
      saturation: e.readScratch(L.X_PS),
      combined: e.readState(1, L.S_P),
    })
    expect(v.queueThresholdMs).toBe(e.readScratch(L.X_T))
    expect(v.localLimit).toBe(e.readScratch(L.X_E))
    expect(v.admission).toEqual([0, 1, 2].map((i) => e.readScratch(L.X_ADMIT0 + i)))
    expect(v.mode).toBe(MODES[e.readState(1, L.S_MODE)])
    expect(v.momentumPerS).toBe(e.readState(1, L.S_M))
    expect(v.scar).toBe(e.readState(1, L.S_SCAR))
    expect(v.unqueuedLatencyMs).toBe(e.readState(1, L.S_BASE))
    expect(v.shortLatencyMs).toBe(e.readState(1, L.S_SHORT))
    expect(v.drains).toBe(e.readState(1, L.S_DRAINS))
    expect(v.limit).toBe(e.readState(1, L.S_LIMIT))
    expect(v.share).toBe(e.readState(1, L.S_SHARE))
    expect(v.ramp).toBe(e.readState(1, L.S_RAMP))
    expect(v.signals).toEqual({
      latencyMs: e.readState(1, L.S_LAT),
      errorRate: e.readState(1, L.S_ERR),
      saturation: e.readState(1, L.S_SAT),
    })
    expect(v.inflight).toBe(e.readState(1, L.S_INFLIGHT))
    expect(v.transitions).toBe(e.readState(1, L.S_TRANSITIONS))
    expect(v.injected).toEqual({ pressure: 0.5, untilMs: e.readState(1, L.S_INJ_UNTIL) })
    // Past its end, an injection is no longer reported.
    expect(readRoute(e, 1, 3, e.readState(1, L.S_INJ_UNTIL)).injected).toBeNull()
  })

  it('both engines give the same view', () => {
    const [ts, wasm] = engines.map(([, make]) => exercised(make)) as [
      ReturnType<typeof exercised>,
      ReturnType<typeof exercised>,
    ]
    expect(ts.codes).toEqual(wasm.codes)
    expect(readRoute(wasm.e, 1, 3, wasm.now)).toEqual(readRoute(ts.e, 1, 3, ts.now))
  })

  it('the decision-code readers decode what the layout encodes', () => {
    for (let mode = 0; mode < MODES.length; mode++) {
      for (let reason = 0; reason < REASONS.length; reason++) {
        for (const [allow, retry] of [[1, 0], [0, 7], [0, 65535]]) {
          const code = (allow as number) | (reason << L.CODE_REASON_SHIFT) |
            (mode << L.CODE_MODE_SHIFT) | ((retry as number) << L.CODE_RETRY_SHIFT)
          expect(decisionAllows(code)).toBe(allow === 1)
          expect(decisionMode(code)).toBe(MODES[mode])
          expect(decisionReason(code)).toBe(REASONS[reason])
          expect(decisionRetryAfterS(code)).toBe(retry)
        }
      }
    }
  })

  it('OUTCOME names the layout outcome kinds', () => {
    expect(OUTCOME).toEqual({
      ok: L.OUTCOME_OK,
      error: L.OUTCOME_ERROR,
      overload: L.OUTCOME_OVERLOAD,
      lost: L.OUTCOME_LOST,
    })
  })
})
