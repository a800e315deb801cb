// Deno entry: `deno run --allow-net=127.0.0.1 --config deno.json examples/fetch-handler/main.ts`.
// Deno imports `.wasm` as an instantiated module: its exports are the engine, usable once.
import * as wasm from '../../wasm/build/rheostat.wasm'
import { createGovernor, withGovernor } from '../../src/mod.ts'
import { config, createHandler } from './handler.ts'

export const governor = createGovernor({ config, wasm })

// A function back, with Deno's connection info passed through; unmatched paths run ungoverned.
export const handler = withGovernor(createHandler(), { governor })

if (import.meta.main) Deno.serve({ hostname: '127.0.0.1', port: 8000 }, handler)
