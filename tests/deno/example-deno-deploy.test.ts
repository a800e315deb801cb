// examples/deno-deploy: the entry file serves the config from RHEOSTAT_CONFIG with the `.wasm`
// engine, and the sample config next to it is valid. Its own test file, so the example's handler
// is the first (and only) one of this isolate, as on Deno Deploy.
import assert from 'node:assert/strict'
import { parseEdgeConfigText } from '../../src/config/schema.ts'

const EXAMPLE = new URL('../../examples/deno-deploy/', import.meta.url)

Deno.test('examples/deno-deploy/rheostat.json is a valid edge config for the demo origin', async () => {
  const config = parseEdgeConfigText(await Deno.readTextFile(new URL('rheostat.json', EXAMPLE)))
  assert.deepEqual(config.routes.map((r) => r.id), ['checkout', 'search', 'api'])
  for (const route of config.routes) assert.equal(route.origin, 'http://127.0.0.1:9000')
  assert.equal(config.sync.store, 'memory') // absent in the file: memory, on every runtime
})

Deno.test('examples/deno-deploy/main.ts forwards to the origin RHEOSTAT_CONFIG names', async () => {
  const origin = Deno.serve(
    { hostname: '127.0.0.1', port: 0, onListen() {} },
    (request) => new Response(`origin saw ${new URL(request.url).pathname}`),
  )
  Deno.env.set(
    'RHEOSTAT_CONFIG',
    JSON.stringify({
      routes: [{
        id: 'search',
        match: { path: '/api/search' },
        origin: `http://127.0.0.1:${origin.addr.port}`,
        priority: 'low',
      }],
      unmatched: 'reject',
    }),
  )
  Deno.env.delete('UPSTASH_REDIS_REST_URL')
  Deno.env.delete('UPSTASH_REDIS_REST_TOKEN')
  try {
    const { handler } = await import('../../examples/deno-deploy/main.ts')
    assert.equal(handler.governor.engineKind, 'wasm')
    assert.equal(handler.store.kind, 'memory')
    const res = await handler.fetch(new Request('http://edge.test/api/search?q=1'))
    assert.equal(res.status, 200)
    assert.equal(await res.text(), 'origin saw /api/search')
    assert.equal(res.headers.get('ratelimit'), '"search:low";r=100;t=1')
    const rejected = await handler.fetch(new Request('http://edge.test/other'))
    assert.equal(rejected.status, 404)
    await rejected.body?.cancel()
    await new Promise((resolve) => setTimeout(resolve, 0))
  } finally {
    Deno.env.delete('RHEOSTAT_CONFIG')
    await origin.shutdown()
  }
})
