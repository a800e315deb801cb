// Entry worker for the workerd test project. Workers cannot compile WebAssembly from bytes at
// run time, so the `.wasm` import gives a precompiled `WebAssembly.Module` to instantiate.
import wasmModule from '../../wasm/build/rheostat.wasm'

// Durable Object classes must be exports of the main module to be bound (wrangler.toml).
export { ConfigDO, RouteStateDO } from '../../src/store/durable-object/index.ts'
// Test-only: a RouteStateDO that throws on demand (store-failure tests).
export { FlakyRouteStateDO } from './flaky-route-state.ts'

type RheostatExports = {
  abiVersion(): number
}

export function instantiateRheostat(): RheostatExports {
  const instance = new WebAssembly.Instance(wasmModule, {})
  return instance.exports as unknown as RheostatExports
}

export default {
  fetch(request: Request): Response {
    const url = new URL(request.url)
    if (url.pathname === '/abi') {
      return Response.json({ abiVersion: instantiateRheostat().abiVersion() })
    }
    return new Response('not found', { status: 404 })
  },
} satisfies ExportedHandler<Env>
