// The two layout files (TypeScript and AssemblyScript) must declare the same constants with the
// same values, and the WASM build must export the ABI the loader expects.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import * as layout from '../../src/engine/reference/layout.ts'
import { wasmModule } from '../../src/adapter/node/mod.ts'

function constants(path: string): Record<string, number> {
  const src = readFileSync(new URL(path, import.meta.url), 'utf8')
  const out: Record<string, number> = {}
  for (const m of src.matchAll(/^export const (\w+)(?::\s*\w+)? = ([\d.e+-]+)$/gm)) {
    out[m[1] as string] = Number(m[2])
  }
  return out
}

describe('layout twins', () => {
  it('wasm/assembly/layout.ts declares exactly the constants of src/engine/reference/layout.ts', () => {
    const ts = constants('../../src/engine/reference/layout.ts')
    const as = constants('../../wasm/assembly/layout.ts')
    expect(Object.keys(ts).length).toBeGreaterThan(80)
    expect(as).toEqual(ts)
    expect(ts).toEqual(
      Object.fromEntries(Object.entries(layout).filter(([, v]) => typeof v === 'number')),
    )
  })

  it('field and parameter indices are unique and within their blocks', () => {
    const entries = Object.entries(layout) as [string, number][]
    const group = (prefix: string) =>
      entries.filter(([k]) => k.startsWith(prefix)).map(([, v]) => v)
    for (
      const [prefix, size] of [['S_', layout.SLOT_FIELDS], ['P_', layout.PARAM_FIELDS], [
        'X_',
        layout.SCRATCH_FIELDS,
      ]] as const
    ) {
      const values = group(prefix)
      expect(new Set(values).size).toBe(values.length)
      for (const v of values) expect(v).toBeLessThan(size)
    }
    expect(layout.X_ADMIT0 + layout.MAX_CLASSES).toBeLessThanOrEqual(layout.SCRATCH_FIELDS)
  })

  it('the WASM module imports nothing and exports the engine ABI', () => {
    const mod = wasmModule()
    expect(WebAssembly.Module.imports(mod)).toEqual([])
    const names = WebAssembly.Module.exports(mod).map((e) => e.name).sort()
    expect(names).toEqual([
      'abiVersion',
      'absorb',
      'admission',
      'admit',
      'advance',
      'complete',
      'init',
      'initSlot',
      'inject',
      'inspect',
      'memory',
      'observe',
      'paramsPtr',
      'scratchPtr',
      'slotPtr',
    ])
  })
})
