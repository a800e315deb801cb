// Cloudflare Workers entry: `npx wrangler dev -c examples/hono-middleware/wrangler.toml`.
// Workers forbid compiling WebAssembly at run time; the `.wasm` import is precompiled.
import wasm from '../../wasm/build/rheostat.wasm'
import { createGovernor } from '../../src/mod.ts'
import { config, createApp } from './app.ts'

// One governor per isolate: it learns from every request this isolate serves.
const governor = createGovernor({ config, wasm })

export default createApp({ governor })
