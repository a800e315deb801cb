/**
 * Engine selection: `auto` takes WebAssembly where a module is supplied and loads, and falls back
 * to the TypeScript twin with a logged reason; `wasm` insists; `ts` never tries.
 *
 * @module
 */

import { ReferenceEngine } from './reference/engine.ts'
import { loadWasmEngine, type WasmSource } from './wasm/loader.ts'
import type { EngineChoice, EngineCore } from './types.ts'

export interface EngineOptions {
  engine: EngineChoice
  /** The compiled engine; required for `wasm`, optional for `auto`. */
  wasm?: WasmSource | undefined
  maxSlots: number
  maxParamSets: number
  /** Where `auto` reports why it fell back. */
  warn: (message: string) => void
}

/**
 * Creates the engine that `options.engine` asks for.
 *
 * @throws {Error} With `engine: 'wasm'`, when no module is supplied or it fails to load.
 */
export function createEngine(options: EngineOptions): EngineCore {
  const { engine, wasm, maxSlots, maxParamSets } = options
  if (engine === 'ts') return new ReferenceEngine(maxSlots, maxParamSets)
  if (wasm === undefined) {
    if (engine === 'wasm') {
      throw new Error(
        'Cannot use engine "wasm": no WASM module was supplied (pass `wasm`, e.g. the default ' +
          'import of wasm/build/rheostat.wasm, or use rheostat/node which loads it for you)',
      )
    }
    options.warn('Rheostat engine "auto" runs TypeScript: no WASM module was supplied')
    return new ReferenceEngine(maxSlots, maxParamSets)
  }
  try {
    return loadWasmEngine(wasm, maxSlots, maxParamSets)
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error)
    if (engine === 'wasm') throw new Error(`Cannot use engine "wasm": ${reason}`)
    options.warn(`Rheostat engine "auto" runs TypeScript: the WASM module did not load (${reason})`)
    return new ReferenceEngine(maxSlots, maxParamSets)
  }
}
