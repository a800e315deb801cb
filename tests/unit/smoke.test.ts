import { describe, expect, it } from 'vitest'
import { compileRheostat, instantiateRheostat } from '../support/wasm-node.ts'

describe('node smoke', () => {
  it('compiles the wasm build', async () => {
    const mod = await compileRheostat()
    const names = WebAssembly.Module.exports(mod).map((entry) => entry.name)
    expect(names).toContain('abiVersion')
    expect(WebAssembly.Module.imports(mod)).toEqual([])
  })

  it('reports ABI version 3', async () => {
    const { abiVersion } = await instantiateRheostat<{ abiVersion: () => number }>()
    expect(abiVersion()).toBe(3)
  })
})
