/**
 * Node entry: the same API as the runtime-neutral one, with the WebAssembly engine loaded from
 * `wasm/build/rheostat.wasm` (built by `npm install`) unless you pass your own.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from './mod.ts'
 * const gov = createGovernor({ engine: 'wasm' })
 * if (gov.engineKind !== 'wasm') throw new Error('expected the WASM engine')
 * ```
 *
 * @module
 */

import { readFileSync } from 'node:fs'
import { createGovernor as createNeutral, type Governor, type GovernorOptions } from '../../mod.ts'

export * from '../../mod.ts'

/** Where `npm install` builds the engine. */
export const WASM_PATH: URL = new URL('../../../wasm/build/rheostat.wasm', import.meta.url)

let compiled: WebAssembly.Module | undefined

/**
 * The compiled engine module, read and compiled once per process.
 *
 * @throws {Error} When the file is missing (run `npm run wasm:build`).
 */
export function wasmModule(): WebAssembly.Module {
  if (compiled === undefined) {
    let bytes: Uint8Array<ArrayBuffer>
    try {
      bytes = new Uint8Array(readFileSync(WASM_PATH))
    } catch (error) {
      throw new Error(
        `Cannot read the WASM engine at "${WASM_PATH.pathname}" (run \`npm run wasm:build\`): ${
          error instanceof Error ? error.message : String(error)
        }`,
      )
    }
    compiled = new WebAssembly.Module(bytes)
  }
  return compiled
}

/** `createGovernor` with the WASM engine supplied from the build. */
export function createGovernor(options: GovernorOptions = {}): Governor {
  if (options.wasm !== undefined || options.engine === 'ts') return createNeutral(options)
  let wasm: WebAssembly.Module | undefined
  try {
    wasm = wasmModule()
  } catch (error) {
    if (options.engine === 'wasm') throw error
    const message = error instanceof Error ? error.message : String(error)
    ;(options.logger ?? console).warn(`Rheostat engine "auto" runs TypeScript: ${message}`)
    return createNeutral({ ...options, engine: 'ts' })
  }
  return createNeutral({ ...options, wasm })
}
