// Cloudflare Workers entry: `npx wrangler dev -c examples/fetch-handler/wrangler.toml`.
// Workers forbid compiling WebAssembly at run time; the `.wasm` import is precompiled.
import wasm from '../../wasm/build/rheostat.wasm'
import { createGovernor, withGovernor } from '../../src/mod.ts'
import { config, createHandler } from './handler.ts'

// One governor per isolate: it learns from every request this isolate serves.
const governor = createGovernor({ config, wasm })
const handle = createHandler()

// The same object comes back with `fetch` governed; `scheduled`, `queue`… would be kept.
export default withGovernor(
  {
    fetch(request) {
      return handle(request)
    },
  } satisfies ExportedHandler,
  { governor },
)
