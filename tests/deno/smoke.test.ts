// Deno (>= 2.1) imports `.wasm` as an ES module whose exports are already instantiated.
import assert from 'node:assert/strict'
import * as wasm from '../../wasm/build/rheostat.wasm'

Deno.test('deno smoke: wasm import gives instantiated exports', () => {
  assert.equal(typeof wasm.abiVersion, 'function')
  assert.equal(wasm.abiVersion(), 3)
})
