// Hostile requests through createProxyApp() in Node against a real loopback origin (issue 12):
// Expect and hop-by-hop fields, requests the runtime refuses to send, path spellings and encoded
// separators, client aborts, 502 bodies, and a fast-check fuzz over methods, paths, header sets
// and body sizes (tests/support/hostile.ts holds the invariants, shared with workerd).
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createGovernor, createProxyApp, type GovernorConfigInput } from '../../src/mod.ts'
import { normalizePath } from '../../src/http/path.ts'
import { compileRoutes } from '../../src/http/routes.ts'
import { parseConfig } from '../../src/config/schema.ts'
import {
  canonicalPathArb,
  checkRequest,
  fuzzConfig,
  type FuzzTally,
  requestArb,
  type Seen,
  snapshotState,
  spellingArb,
} from '../support/hostile.ts'
import { freePort } from '../support/ports.ts'

const seen: Seen[] = []
let server: Server
let origin = ''
let closedOrigin = ''

function handle(req: IncomingMessage, res: ServerResponse): void {
  let bytes = 0
  req.on('data', (chunk: Buffer) => bytes += chunk.length)
  req.on('end', () => {
    seen.push({
      method: req.method ?? '',
      target: req.url ?? '',
      headers: req.headers as Record<string, string>,
      bodyBytes: bytes,
    })
    if ((req.url ?? '').includes('/hang')) return
    res.writeHead(200, { 'content-type': 'text/plain' })
    res.end('ok')
  })
}

beforeAll(async () => {
  server = createServer(handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  closedOrigin = `http://127.0.0.1:${await freePort()}/internal/base`
})

afterAll(async () => {
  server.closeAllConnections()
  server.close()
  await once(server, 'close')
})

function proxy(config: GovernorConfigInput) {
  const clock = { now: 0 }
  const gov = createGovernor({ engine: 'ts', config, clock: () => clock.now })
  const app = createProxyApp({ governor: gov, decodedBodies: true })
  return { gov, app, clock }
}

describe('hop-level fields and failures (item 2)', () => {
  it('createProxyApp() forwards a POST with Expect: 100-continue and a 2 KiB body to the origin', async () => {
    const { gov, app } = proxy(fuzzConfig(origin))
    const before = seen.length
    const res = await app.request('https://edge.example/api/checkout/pay', {
      method: 'POST',
      headers: { 'expect': '100-continue', 'content-type': 'application/octet-stream' },
      body: new Uint8Array(2048),
    })
    expect(res.status).toBe(200)
    expect(seen.length).toBe(before + 1)
    expect(seen.at(-1)!.bodyBytes).toBe(2048)
    expect(seen.at(-1)!.headers['expect']).toBeUndefined()
    expect(gov.snapshot('checkout')!.signals.errorRate).toBe(0)
  })

  it('createProxyApp() forwards a request whose Connection lists names that are no field names', async () => {
    // Headers.delete throws on them: the proxy used to answer 500 and book an origin failure.
    const { gov, app } = proxy(fuzzConfig(origin))
    const res = await app.request('https://edge.example/api/items', {
      headers: { connection: 'x y, (comment), @@', 'x-kept': '1' },
    })
    expect(res.status).toBe(200)
    expect(seen.at(-1)!.headers['x-kept']).toBe('1')
    expect(gov.snapshot('api')!.signals.errorRate).toBe(0)
  })

  it('createProxyApp() answers 400 without a sample when the runtime refuses to send the request', async () => {
    const { gov, app } = proxy(fuzzConfig(origin))
    const before = seen.length
    // A Content-Length that the body contradicts: undici refuses to send it
    // (UND_ERR_REQ_CONTENT_LENGTH_MISMATCH), the origin never hears of it.
    const res = await app.request('https://edge.example/api/items', {
      method: 'POST',
      headers: { 'content-length': '3' },
      body: 'much longer than three bytes',
    })
    expect(res.status).toBe(400)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect((await res.json()).type).toBe('urn:rheostat:problem:request-not-forwardable')
    expect(seen.length).toBe(before)
    const snap = gov.snapshot('api')!
    expect(snap.inflight).toBe(0)
    expect(gov.counters('api')!.latency.count).toBe(0)
    expect(snap.signals.errorRate).toBe(0)
  })

  it('createProxyApp() books a closed port as an origin failure and keeps its URL out of the 502', async () => {
    const errors: unknown[] = []
    const gov = createGovernor({
      engine: 'ts',
      config: { routes: [{ id: 'down', match: { path: '/*' }, origin: closedOrigin }] },
    })
    const app = createProxyApp({ governor: gov, onOriginError: (e) => errors.push(e) })
    const res = await app.request('https://edge.example/x')
    expect(res.status).toBe(502)
    const text = await res.text()
    expect(text).not.toContain('127.0.0.1')
    expect(text).not.toContain('internal')
    expect(errors).toHaveLength(1)
    expect(gov.counters('down')!.latency.count).toBe(1)
  })
})

describe('one spelling per path (item 3)', () => {
  it('createProxyApp() governs and forwards /api/%73earch/q and /api//search/q as search', async () => {
    const { app } = proxy(fuzzConfig(origin))
    for (const spelled of ['/api/%73earch/q', '/api//search/q', '/api/./search/x/../q']) {
      const res = await app.request(`https://edge.example${spelled}`)
      expect(res.status, spelled).toBe(200)
      expect(res.headers.get('ratelimit'), spelled).toMatch(/^"search:low"/)
      expect(seen.at(-1)!.target, spelled).toBe('/api/search/q')
    }
  })

  it('createProxyApp() refuses encoded / and \\ with 400 problem unless the route opts in', async () => {
    const { gov, app } = proxy(fuzzConfig(origin))
    const state = snapshotState(gov)
    const before = seen.length
    for (const spelled of ['/api/search/..%2F..%2Fadmin', '/api/search/..%5Cadmin', '/x%2fy']) {
      const res = await app.request(`https://edge.example${spelled}`)
      expect(res.status, spelled).toBe(400)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect((await res.json()).type).toBe('urn:rheostat:problem:encoded-slash')
    }
    expect(seen.length).toBe(before)
    expect(snapshotState(gov)).toBe(state)
    const res = await app.request('https://edge.example/files/a%2fb')
    expect(res.status).toBe(200)
    expect(seen.at(-1)!.target).toBe('/files/a%2Fb')
  })

  it('createProxyApp() governs HEAD like GET on a GET-only route', async () => {
    const { app } = proxy(fuzzConfig(origin))
    const res = await app.request('https://edge.example/users/7', { method: 'HEAD' })
    expect(res.status).toBe(200)
    expect(res.headers.get('ratelimit')).toMatch(/^"user:normal"/)
  })

  it('normalizePath() gives every spelling of a path the same route, and is idempotent', () => {
    const table = compileRoutes(parseConfig(fuzzConfig('http://o.test')))
    fc.assert(
      fc.property(
        canonicalPathArb.chain((p) => fc.tuple(fc.constant(p), spellingArb(p))),
        fc.constantFrom('GET', 'POST', 'HEAD'),
        ([canonical, spelled], method) => {
          const parsed = new URL(`https://edge.example${spelled}`).pathname
          const normal = normalizePath(parsed)
          expect(normal).toBe(canonical)
          expect(normalizePath(normal)).toBe(normal)
          expect(table.match(method, normal)?.id).toBe(table.match(method, canonical)?.id)
        },
      ),
      { numRuns: 3000 },
    )
  })
})

describe('lost completions in Node (item 1)', () => {
  it('createProxyApp() gives the slot back when the client aborts mid-request', async () => {
    // Room for the 20 held requests from the start (the default is slow start from 10).
    const { gov, app } = proxy({
      ...fuzzConfig(origin),
      defaults: { concurrency: { initial: 100 } },
    })
    const controllers = Array.from({ length: 20 }, () => new AbortController())
    const pending = controllers.map((c) =>
      Promise.resolve(app.request('https://edge.example/api/hang/1', { signal: c.signal }))
        .then((res) => res.status, () => 'threw')
    )
    // Wait until the origin holds them all, then hang up.
    for (let i = 0; i < 200 && gov.snapshot('api')?.inflight !== 20; i++) {
      await new Promise((r) => setTimeout(r, 10))
    }
    expect(gov.snapshot('api')!.inflight).toBe(20)
    for (const c of controllers) c.abort()
    await Promise.all(pending)
    expect(gov.snapshot('api')!.inflight).toBe(0)
    expect(gov.counters('api')!.latency.count).toBe(0)
  })
})

describe('fuzz: createProxyApp() in Node (item 8)', () => {
  it('createProxyApp() keeps its invariants over methods, paths, header sets and body sizes', async () => {
    const config = fuzzConfig(origin)
    const { gov, app } = proxy(config)
    const tally: FuzzTally = { runs: 0, byStatus: {} }
    await fc.assert(
      fc.asyncProperty(requestArb, (req) => checkRequest(app, gov, config, seen, req, tally)),
      { numRuns: 400 },
    )
    // Every kind of answer was exercised: forwarded, refused, no route.
    expect(tally.byStatus[200]).toBeGreaterThan(0)
    expect(tally.byStatus[400]).toBeGreaterThan(0)
    expect(tally.byStatus[404]).toBeGreaterThan(0)
    console.info(
      `Node proxy fuzz: ${tally.runs} requests, by status ${JSON.stringify(tally.byStatus)}`,
    )
  })

  it('createProxyApp() refuses every path with an encoded separator outside /files/', async () => {
    const config = fuzzConfig(origin)
    const { gov, app } = proxy(config)
    await fc.assert(
      fc.asyncProperty(
        canonicalPathArb,
        fc.constantFrom('%2F', '%2f', '%5C', '%5c', '..%2F', '..%5c'),
        fc.nat(),
        async (path, separator, at) => {
          const cut = 1 + (at % path.length)
          const spelled = path.slice(0, cut) + separator + path.slice(cut)
          const before = seen.length
          const state = snapshotState(gov)
          const res = await app.request(`https://edge.example${spelled}`)
          await res.arrayBuffer()
          const normal = normalizePath(new URL(`https://e${spelled}`).pathname)
          if (normal.startsWith('/files/')) {
            expect(res.status).toBe(200)
            expect(seen.at(-1)!.target).toBe(normal)
          } else {
            expect(res.status).toBe(400)
            expect(seen.length).toBe(before)
            expect(snapshotState(gov)).toBe(state)
          }
        },
      ),
      { numRuns: 300 },
    )
  })
})

describe('route tables follow the governor (L5)', () => {
  it('governor() and withGovernor() recompile after governor.reconfigure() changes the classes', async () => {
    const { Hono } = await import('hono')
    const { governor, withGovernor } = await import('../../src/mod.ts')
    const config = { routes: [{ id: 'api', match: { path: '/api/*' }, priority: 'low' }] }
    const gov = createGovernor({ engine: 'ts', config })
    const app = new Hono()
    app.use(governor({ governor: gov }))
    app.get('/api/x', (c) => c.text('ok'))
    const wrapped = withGovernor(() => new Response('ok'), { governor: gov })
    expect((await app.request('http://e/api/x')).status).toBe(200)
    gov.reconfigure({
      priorities: ['gold', 'silver', 'bronze'],
      routes: [{ id: 'api', match: { path: '/api/*' }, priority: 'bronze' }],
    })
    const res = await app.request('http://e/api/x')
    expect(res.status).toBe(200)
    expect(res.headers.get('ratelimit')).toMatch(/^"api:bronze"/)
    const direct = await wrapped(new Request('http://e/api/y'))
    expect(direct.headers.get('ratelimit')).toMatch(/^"api:bronze"/)
  })
})
