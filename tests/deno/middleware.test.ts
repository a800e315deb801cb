// The `governor()` Hono middleware under Deno (STYLE #21: a smoke test; the middleware's behaviour
// is covered in vitest). Deno-specific: the WASM engine from the `.wasm` import, and Hono's
// `c.executionCtx`, which throws outside Workers, so the exchange runs on its own.
import assert from 'node:assert/strict'
import { Hono } from 'hono'
import * as wasm from '../../wasm/build/rheostat.wasm'
import { createGovernor, governor, type WasmSource } from '../../src/mod.ts'
import { createSyncer } from '../../src/governor/sync.ts'
import { MemoryStore } from '../../src/store/memory/store.ts'

Deno.test('governor() admits, sheds and syncs a Hono app under Deno', async () => {
  let now = 1_700_000_000_000
  const gov = createGovernor({
    engine: 'wasm',
    wasm: wasm as unknown as WasmSource,
    clock: () => now,
    // An exchange after every completed request: this test is about the wiring under Deno.
    config: { sync: { onStoreFailure: 'closed', samplesPerExchange: 1 } },
  })
  const sync = createSyncer({ governor: gov, store: new MemoryStore(), clock: () => now })
  const app = new Hono()
  app.use('/api/*', governor({ governor: gov, route: 'api', sync, clock: () => now }))
  app.get('/api/hello', (c) => c.text('hello'))

  const ok = await app.request('/api/hello')
  assert.equal(ok.status, 200)
  assert.equal(await ok.text(), 'hello')
  assert.equal(ok.headers.get('ratelimit'), '"api:normal";r=100;t=1')
  await new Promise((resolve) => setTimeout(resolve, 0))
  assert.equal(sync.status().exchanges, 1)
  assert.equal(gov.snapshot('api')?.engine, 'wasm')

  // A failing store with onStoreFailure "closed" sheds all but the top class.
  gov.setStoreDegraded(true)
  now += 1000
  const shed = await app.request('/api/hello', { headers: {} })
  assert.equal(shed.status, 503)
  assert.equal(shed.headers.get('retry-after'), '1')
  assert.equal(shed.headers.get('content-type'), 'application/problem+json')
  assert.equal((await shed.json()).reason, 'store-unavailable')
})
