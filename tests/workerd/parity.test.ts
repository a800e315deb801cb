// Parity inside workerd: the engine loads from a `.wasm` import (a precompiled WebAssembly.Module,
// as Workers require) and agrees with the TypeScript twin on golden vectors and random sequences.
import { describe, expect, it } from 'vitest'
import wasmModule from '../../wasm/build/rheostat.wasm'
import { createGovernor } from '../../src/mod.ts'
import { ReferenceEngine } from '../../src/engine/reference/engine.ts'
import { loadWasmEngine } from '../../src/engine/wasm/loader.ts'
import { firstDifference, runSequence, scriptedSequence } from '../support/differential.ts'
import { assertRandomParity } from '../support/arbitraries.ts'
import { compareGolden, type GoldenFile } from '../support/golden.ts'
import golden from '../fixtures/golden.json'

const newTs = () => new ReferenceEngine(4, 4)
const newWasm = () => loadWasmEngine(wasmModule, 4, 4)

describe('parity in workerd', () => {
  it('compiling WASM from bytes is forbidden here, so "auto" needs the module import', () => {
    const warnings: string[] = []
    const bytes = new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0])
    const gov = createGovernor({
      engine: 'auto',
      wasm: bytes,
      logger: { warn: (m) => warnings.push(m) },
    })
    expect(gov.engineKind).toBe('ts')
    expect(warnings[0]).toMatch(/did not load/)
    expect(createGovernor({ engine: 'wasm', wasm: wasmModule }).engineKind).toBe('wasm')
  })

  it('golden vectors match both engines', () => {
    expect(compareGolden(golden as GoldenFile, newTs)).toEqual([])
    expect(compareGolden(golden as GoldenFile, newWasm)).toEqual([])
  })

  it('a long scripted sequence gives identical decisions and state', () => {
    const seq = scriptedSequence(11, 20000)
    expect(firstDifference(runSequence(newTs(), seq), runSequence(newWasm(), seq))).toBeNull()
  })

  it('1,000 random sequences give identical decisions and state', () => {
    assertRandomParity(1000, newTs, newWasm)
  })

  it('the governor gives the same decisions on both engines', () => {
    const run = (engine: 'ts' | 'wasm') => {
      let now = 0
      const gov = createGovernor({ engine, wasm: wasmModule, clock: () => now })
      const out: unknown[] = []
      for (let i = 0; i < 20000; i++) {
        now += 5
        const d = gov.admit('checkout', { priority: ['critical', 'normal', 'low'][i % 3] })
        out.push([d.allow, d.reason, d.mode, d.retryAfterS, d.resistance])
        const slow = now > 30000 && now < 60000
        if (d.ticket) {
          gov.complete(d.ticket, { latencyMs: slow ? 1200 : 40, ok: !(slow && i % 4 === 0) })
        }
      }
      return out
    }
    expect(run('wasm')).toEqual(run('ts'))
  })
})
