// Deno entry: `deno run --allow-net=127.0.0.1 --config deno.json examples/hono-middleware/main.ts`.
// Deno imports `.wasm` as an instantiated module: its exports are the engine, usable once.
import * as wasm from '../../wasm/build/rheostat.wasm'
import { createGovernor } from '../../src/mod.ts'
import { config, createApp } from './app.ts'

export const governor = createGovernor({ config, wasm })
export const app = createApp({ governor })

if (import.meta.main) Deno.serve({ hostname: '127.0.0.1', port: 8000 }, app.fetch)
