// Parity under Deno: the `.wasm` import (instantiated exports) and a module compiled from the
// file both run the engine, and both agree with the TypeScript twin.
import assert from 'node:assert/strict'
import * as wasmExports from '../../wasm/build/rheostat.wasm'
import { createGovernor } from '../../src/mod.ts'
import { ReferenceEngine } from '../../src/engine/reference/engine.ts'
import { loadWasmEngine, type WasmEngineExports } from '../../src/engine/wasm/loader.ts'
import { firstDifference, runSequence, scriptedSequence } from '../support/differential.ts'
import { assertRandomParity } from '../support/arbitraries.ts'
import { compareGolden, type GoldenFile } from '../support/golden.ts'
import golden from '../fixtures/golden.json' with { type: 'json' }

const bytes = await Deno.readFile(new URL('../../wasm/build/rheostat.wasm', import.meta.url))
const module = new WebAssembly.Module(bytes)
const newTs = () => new ReferenceEngine(4, 4)
const newWasm = () => loadWasmEngine(module, 4, 4)

Deno.test('loadWasmEngine() runs the .wasm import once and refuses to share it', () => {
  const engine = loadWasmEngine(wasmExports as unknown as WasmEngineExports, 4, 4)
  assert.equal(engine.kind, 'wasm')
  assert.throws(
    () => loadWasmEngine(wasmExports as unknown as WasmEngineExports, 4, 4),
    /already backs an engine/,
  )
})

Deno.test('golden vectors match both engines under Deno', () => {
  assert.deepEqual(compareGolden(golden as GoldenFile, newTs), [])
  assert.deepEqual(compareGolden(golden as GoldenFile, newWasm), [])
})

Deno.test('runSequence() agrees on a long scripted sequence and 1,000 random ones', () => {
  const seq = scriptedSequence(13, 20000)
  assert.equal(firstDifference(runSequence(newTs(), seq), runSequence(newWasm(), seq)), null)
  assertRandomParity(1000, newTs, newWasm)
})

Deno.test('createGovernor() runs WASM from a compiled module and sheds when answers stop', () => {
  let now = 0
  const gov = createGovernor({ engine: 'wasm', wasm: module, clock: () => now })
  assert.equal(gov.engineKind, 'wasm')
  let shed = 0
  for (let i = 0; i < 6000; i++) {
    now += 10
    const d = gov.admit('api', { priority: 'low' })
    if (!d.allow) shed++
    // From 30 s on no request gets an answer (a timeout): an outage (docs/physics.md §8).
    if (d.ticket) gov.complete(d.ticket, { latencyMs: 40, ok: now <= 30000 })
  }
  assert.ok(shed > 0)
  assert.equal(gov.snapshot('api')?.engine, 'wasm')
  assert.equal(gov.snapshot('api')?.mode, 'CIRCUIT_BREAKER')
})
