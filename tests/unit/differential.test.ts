// Two engines, one answer: random operation sequences (fast-check) and golden vectors, run on the
// TypeScript reference and the WebAssembly build; every decision and every state field must match.
import { describe, expect, it } from 'vitest'
import { ReferenceEngine } from '../../src/engine/reference/engine.ts'
import { loadWasmEngine } from '../../src/engine/wasm/loader.ts'
import { wasmModule } from '../../src/adapter/node/mod.ts'
import { firstDifference, runSequence, scriptedSequence } from '../support/differential.ts'
import { assertRandomParity } from '../support/arbitraries.ts'
import golden from '../fixtures/golden.json' with { type: 'json' }
import { compareGolden } from '../support/golden.ts'

const newTs = () => new ReferenceEngine(4, 4)
const newWasm = () => loadWasmEngine(wasmModule(), 4, 4)

describe('differential', () => {
  // A ceiling for a loaded machine (it runs in about 3 s on a quiet one), not a timing.
  it(
    'runSequence() gives identical decisions and state on both engines for 10,000 random sequences',
    () => {
      assertRandomParity(10000, newTs, newWasm)
    },
    120_000,
  )

  it('scripted sequences exercise every mode and reason on both engines', () => {
    const ts = runSequence(newTs(), scriptedSequence(7, 20000))
    const wasm = runSequence(newWasm(), scriptedSequence(7, 20000))
    expect(firstDifference(ts, wasm)).toBeNull()
    const modes = new Set(ts.codes.map((c) => (c >> 4) & 3))
    const reasons = new Set(ts.codes.map((c) => (c >> 1) & 7))
    expect([...modes].sort()).toEqual([0, 1, 2, 3])
    expect([...reasons].sort()).toEqual([0, 1, 2, 3, 4, 5].filter((r) => reasons.has(r)))
    expect(reasons.has(2) && reasons.has(4) && reasons.has(5)).toBe(true)
  })

  it('scripted sequences with injected pressure agree on both engines, and the injections matter', () => {
    const seq = scriptedSequence(8, 20000, { inject: true })
    expect(seq.ops.filter((o) => o.op === 'inject').length).toBeGreaterThan(50)
    const ts = runSequence(newTs(), seq)
    expect(firstDifference(ts, runSequence(newWasm(), seq))).toBeNull()
    const inert = {
      ...seq,
      ops: seq.ops.map((o) => (o.op === 'inject' ? { ...o, pressure: 0 } : o)),
    }
    expect(runSequence(newTs(), inert).codes).not.toEqual(ts.codes)
  })

  it('golden vectors in tests/fixtures/golden.json match both engines', () => {
    expect(compareGolden(golden, newTs)).toEqual([])
    expect(compareGolden(golden, newWasm)).toEqual([])
  })
})
