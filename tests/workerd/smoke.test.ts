import { exports } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import wasmModule from '../../wasm/build/rheostat.wasm'

describe('workerd smoke', () => {
  it('imports .wasm as a WebAssembly.Module', () => {
    expect(wasmModule).toBeInstanceOf(WebAssembly.Module)
    const instance = new WebAssembly.Instance(wasmModule, {})
    const { abiVersion } = instance.exports as { abiVersion: () => number }
    expect(abiVersion()).toBe(3)
  })

  it('serves the wasm ABI version through the entry worker', async () => {
    const response = await exports.default.fetch('https://rheostat.test/abi')
    expect(response.status).toBe(200)
    expect(await response.json()).toEqual({ abiVersion: 3 })
  })
})
