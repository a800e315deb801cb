// The examples under Deno: what differs from Workers is the `.wasm` import (instantiated exports,
// usable by one governor per program) and serving with Deno.serve. The sheds are covered in
// workerd (tests/workerd/examples.test.ts).
import assert from 'node:assert/strict'
import { app, governor } from '../../examples/hono-middleware/main.ts'
import { config, createHandler } from '../../examples/fetch-handler/handler.ts'
import { createGovernor, withGovernor } from '../../src/mod.ts'

/** Serves `handler` on an ephemeral 127.0.0.1 port for the duration of `run`. */
async function served(
  handler: Deno.ServeHandler,
  run: (base: string) => Promise<void>,
): Promise<void> {
  const server = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, handler)
  try {
    await run(`http://127.0.0.1:${server.addr.port}`)
  } finally {
    await server.shutdown()
  }
}

Deno.test('examples/hono-middleware main.ts runs the WASM engine from the .wasm import', async () => {
  assert.equal(governor.engineKind, 'wasm')
  await served(app.fetch, async (base) => {
    const res = await fetch(`${base}/api/search?q=anvil`)
    assert.deepEqual(await res.json(), ['anvil'])
    assert.equal(res.headers.get('RateLimit'), '"search:low";r=100;t=1')
  })
})

Deno.test('examples/fetch-handler withGovernor() serves the function form with Deno.serve', async () => {
  // main.ts would share this program's one `.wasm` instance; a compiled module makes its own.
  const wasm = new WebAssembly.Module(
    await Deno.readFile(new URL('../../wasm/build/rheostat.wasm', import.meta.url)),
  )
  const gov = createGovernor({ config, engine: 'wasm', wasm })
  await served(withGovernor(createHandler(), { governor: gov }), async (base) => {
    const res = await fetch(`${base}/stock/rocket-skates`)
    assert.deepEqual(await res.json(), { sku: 'rocket-skates', stock: 1 })
    assert.equal(res.headers.get('RateLimit'), '"stock:normal";r=100;t=1')
    const other = await fetch(`${base}/nope`)
    assert.equal(other.status, 404)
    await other.body?.cancel()
    assert.equal(other.headers.get('RateLimit'), null)
  })
})
