// The origin proxy against a real origin: a node:http server on 127.0.0.1 (ephemeral port). The
// app runs in-process (`app.request`); its fetch to the origin goes over real loopback HTTP.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { gzipSync } from 'node:zlib'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createGovernor,
  createProxyApp,
  type Governor,
  type GovernorConfigInput,
  type Outcome,
} from '../../src/mod.ts'
import { ConfigError } from '../../src/config/schema.ts'
import { initialSyncStatus, type SyncHook } from '../../src/governor/sync-types.ts'
import { freePort } from '../support/ports.ts'

// ---- the origin ---------------------------------------------------------------------------------

/** Per-request knobs, read from the query: status, delayMs; paths pick the behaviour. */
function handle(req: IncomingMessage, res: ServerResponse): void {
  const url = new URL(req.url ?? '/', 'http://origin')
  const status = Number(url.searchParams.get('status') ?? 200)
  const delayMs = Number(url.searchParams.get('delayMs') ?? 0)
  const kind = url.pathname.split('/')[2] ?? ''
  const respond = () => {
    switch (kind) {
      case 'hang':
        return // never answers
      case 'stream': {
        // Echoes each chunk as it arrives: the response streams while the request still does.
        res.writeHead(status, { 'content-type': 'application/octet-stream' })
        res.flushHeaders()
        req.on('data', (chunk: Buffer) => res.write(chunk))
        req.on('end', () => res.end())
        return
      }
      case 'hop':
        res.writeHead(200, {
          'connection': 'keep-alive, x-origin-hop',
          'x-origin-hop': 'secret',
          'keep-alive': 'timeout=5',
          'proxy-authenticate': 'Basic',
          'upgrade': 'h2c',
          'x-end-to-end': 'kept',
          'ratelimit': '"origin";r=5;t=10',
        })
        res.end('hop')
        return
      case 'gzip': {
        const body = gzipSync(Buffer.from('compressed hello'))
        res.writeHead(200, {
          'content-encoding': 'gzip',
          'content-length': body.length,
          'content-type': 'text/plain',
        })
        res.end(body)
        return
      }
      case 'redirect':
        res.writeHead(302, { location: '/elsewhere' })
        res.end()
        return
      default: {
        const chunks: Buffer[] = []
        req.on('data', (chunk: Buffer) => chunks.push(chunk))
        req.on('end', () => {
          res.writeHead(status, { 'content-type': 'application/json', 'x-origin': 'yes' })
          res.end(JSON.stringify({
            method: req.method,
            url: req.url,
            headers: req.headers,
            body: Buffer.concat(chunks).toString('utf8'),
          }))
        })
      }
    }
  }
  if (delayMs > 0) setTimeout(respond, delayMs)
  else respond()
}

let server: Server
let origin: string
/** A port nothing listens on: connection refused. */
let closedOrigin: string

beforeAll(async () => {
  server = createServer(handle)
  server.listen(0, '127.0.0.1')
  await once(server, 'listening')
  origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  closedOrigin = `http://127.0.0.1:${await freePort()}`
})

afterAll(async () => {
  server.closeAllConnections()
  server.close()
  await once(server, 'close')
})

// ---- helpers ------------------------------------------------------------------------------------

interface Echo {
  method: string
  url: string
  headers: Record<string, string>
  body: string
}

interface Rig {
  gov: Governor
  clock: { now: number }
  completions: Outcome[]
}

function rig(config: GovernorConfigInput): Rig {
  const clock = { now: 0 }
  const gov = createGovernor({ engine: 'ts', config, clock: () => clock.now })
  const completions: Outcome[] = []
  const complete = gov.complete.bind(gov)
  gov.complete = (ticket, outcome) => {
    completions.push(outcome ?? {})
    return complete(ticket, outcome)
  }
  return { gov, clock, completions }
}

function routes(extra: Partial<GovernorConfigInput> = {}): GovernorConfigInput {
  return {
    routes: [
      { id: 'echo', match: { path: '/o/echo' }, origin, priority: 'normal' },
      { id: 'flaky', match: { path: '/o/flaky' }, origin, priority: 'low' },
      { id: 'slow', match: { path: '/o/hang' }, origin, timeoutMs: 150 },
      { id: 'down', match: { path: '/down/*' }, origin: closedOrigin },
      { id: 'posts', match: { methods: ['POST'], path: '/o/:kind' }, origin },
      { id: 'rest', match: { path: '/o/*' }, origin },
    ],
    priorityRules: [{ header: 'X-Internal-Token', equals: 's3cret', priority: 'critical' }],
    // A limit of 100 from the start (the default is slow start from 10): shedLowOnly fills it.
    defaults: { concurrency: { initial: 100 } },
    ...extra,
  }
}

const EDGE = 'https://edge.example'

function fakeSync(): { hook: SyncHook; calls: number; pending: Promise<void>[] } {
  const state = {
    calls: 0,
    pending: [] as Promise<void>[],
    hook: {
      maybeSync() {
        state.calls++
        const p = Promise.resolve()
        state.pending.push(p)
        return p
      },
      status: () => initialSyncStatus('none', 'test'),
    },
  }
  return state
}

/** Healthy traffic, then slow traffic, straight through the governor API, until low is shed. */
function shedLowOnly(r: Rig, route: string): void {
  // A second of critical requests held in flight (99 of the limit of 100), then low fills the
  // last place and the next low request is shed: the limit binds. With one low request answered,
  // critical still fits, and low meets what critical's demand reserves (docs/physics.md §7).
  for (let i = 0; i < 99; i++) {
    r.clock.now += 10
    if (r.gov.admit(route, { priority: 'critical' }).ticket === null) {
      throw new Error('critical was refused below the limit')
    }
  }
  const last = r.gov.admit(route, { priority: 'low' }).ticket
  if (last === null) throw new Error('low was refused below the limit')
  if (r.gov.admit(route, { priority: 'low' }).allow) throw new Error('the limit did not bind')
  r.gov.complete(last, { latencyMs: 50, status: 200 })
  if (r.gov.admit(route, { priority: 'low' }).allow) throw new Error('low was not shed')
}

// ---- tests --------------------------------------------------------------------------------------

describe('createProxyApp()', () => {
  it('createProxyApp() forwards method, path, query and headers, and sets X-Forwarded-*', async () => {
    const r = rig(routes())
    const app = createProxyApp({
      governor: r.gov,
      getClientIp: () => '203.0.113.9',
    })
    const res = await app.request(`${EDGE}/o/echo?a=1&b=two`, {
      method: 'PUT',
      headers: {
        'content-type': 'text/plain',
        'x-custom': 'value',
        'x-forwarded-for': '198.51.100.1',
      },
      body: 'hello origin',
    })
    expect(res.status).toBe(200)
    expect(res.headers.get('x-origin')).toBe('yes')
    const echo = await res.json() as Echo
    expect(echo.method).toBe('PUT')
    expect(echo.url).toBe('/o/echo?a=1&b=two')
    expect(echo.body).toBe('hello origin')
    expect(echo.headers['x-custom']).toBe('value')
    // The client's own X-Forwarded-For is not trusted: the peer is no configured proxy.
    expect(echo.headers['x-forwarded-for']).toBe('203.0.113.9')
    expect(echo.headers['x-forwarded-proto']).toBe('https')
    expect(echo.headers['x-forwarded-host']).toBe('edge.example')
    expect(echo.headers['host']).toBe(new URL(origin).host)
    expect(r.completions).toHaveLength(1)
    expect(r.completions[0]!.ok).toBe(true)
  })

  it('createProxyApp() drops client forwarding fields unless the peer is a trusted proxy', async () => {
    const spoofed = {
      'x-forwarded-for': '198.51.100.1',
      'forwarded': 'for=198.51.100.1',
      'x-real-ip': '198.51.100.1',
      'true-client-ip': '198.51.100.1',
      'cf-connecting-ip': '198.51.100.1',
      // A client's Connection cannot take away what the edge adds.
      'connection': 'x-forwarded-for, x-forwarded-host, x-real-ip',
    }
    const untrusted = createProxyApp({ governor: rig(routes()).gov })
    const plain = await (await untrusted.request(`${EDGE}/o/echo`, { headers: spoofed }))
      .json() as Echo
    for (const name of ['x-forwarded-for', 'forwarded', 'x-real-ip', 'true-client-ip']) {
      expect(plain.headers[name], name).toBeUndefined()
    }
    expect(plain.headers['cf-connecting-ip']).toBeUndefined()
    expect(plain.headers['x-forwarded-host']).toBe('edge.example')
    const peer = createProxyApp({
      governor: rig({ ...routes(), trustedProxies: ['10.0.0.0/8'] }).gov,
      getClientIp: (c) => c.req.header('x-test-peer'),
    })
    const viaProxy = await (await peer.request(`${EDGE}/o/echo`, {
      headers: { ...spoofed, 'x-test-peer': '10.1.2.3' },
    })).json() as Echo
    expect(viaProxy.headers['x-forwarded-for']).toBe('198.51.100.1, 10.1.2.3')
    expect(viaProxy.headers['x-real-ip']).toBe('198.51.100.1')
    expect(viaProxy.headers['forwarded']).toBe('for=198.51.100.1')
    const direct = await (await peer.request(`${EDGE}/o/echo`, {
      headers: { ...spoofed, 'x-test-peer': '192.0.2.7' },
    })).json() as Echo
    expect(direct.headers['x-forwarded-for']).toBe('192.0.2.7')
    expect(direct.headers['x-real-ip']).toBeUndefined()
  })

  it('createProxyApp() joins the origin path prefix, the incoming path and the query', async () => {
    const r = rig({ routes: [{ id: 'p', match: { path: '/*' }, origin: `${origin}/base/` }] })
    const app = createProxyApp({ governor: r.gov })
    const echo = await (await app.request(`${EDGE}/o/echo?x=1`)).json() as Echo
    expect(echo.url).toBe('/base/o/echo?x=1')
  })

  it('createProxyApp() strips hop-by-hop headers in both directions', async () => {
    const app = createProxyApp({ governor: rig(routes()).gov })
    const echo = await (await app.request(`${EDGE}/o/echo`, {
      headers: {
        'connection': 'x-client-hop',
        'x-client-hop': 'secret',
        'keep-alive': 'timeout=5',
        'proxy-authorization': 'Basic Zm9vOmJhcg==',
        'te': 'trailers',
        'trailer': 'x-checksum',
        'upgrade': 'websocket',
        'x-end-to-end': 'kept',
      },
    })).json() as Echo
    for (const name of ['x-client-hop', 'proxy-authorization', 'te', 'trailer', 'upgrade']) {
      expect(echo.headers[name], name).toBeUndefined()
    }
    expect(echo.headers['keep-alive']).toBeUndefined()
    expect(echo.headers['x-end-to-end']).toBe('kept')

    const res = await app.request(`${EDGE}/o/hop`)
    expect(await res.text()).toBe('hop')
    for (
      const name of ['connection', 'x-origin-hop', 'keep-alive', 'proxy-authenticate', 'upgrade']
    ) {
      expect(res.headers.get(name), name).toBeNull()
    }
    expect(res.headers.get('transfer-encoding')).toBeNull()
    expect(res.headers.get('x-end-to-end')).toBe('kept')
    // The origin's own RateLimit items stay; the proxy's item is appended to the list.
    expect(res.headers.get('RateLimit')).toBe('"origin";r=5;t=10, "rest:normal";r=100;t=1')
  })

  it('createProxyApp() streams the request and response bodies without buffering', async () => {
    const app = createProxyApp({ governor: rig(routes()).gov })
    const encoder = new TextEncoder()
    let push!: ReadableStreamDefaultController<Uint8Array>
    const body = new ReadableStream<Uint8Array>({ start: (c) => void (push = c) })
    push.enqueue(encoder.encode('first;'))
    const res = await app.request(`${EDGE}/o/stream`, {
      method: 'POST',
      body,
      duplex: 'half',
    } as RequestInit)
    expect(res.status).toBe(200)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    // The origin echoes the first chunk while the client has not sent the second: neither body
    // can have been buffered whole.
    let seen = ''
    while (!seen.includes('first;')) {
      const { value, done } = await reader.read()
      if (done) throw new Error('ended early')
      seen += decoder.decode(value, { stream: true })
    }
    push.enqueue(encoder.encode('second'))
    push.close()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      seen += decoder.decode(value, { stream: true })
    }
    expect(seen).toBe('first;second')
  })

  it('createProxyApp() passes redirects through instead of following them', async () => {
    const app = createProxyApp({ governor: rig(routes()).gov })
    const res = await app.request(`${EDGE}/o/redirect`)
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('/elsewhere')
  })

  it('createProxyApp() with decodedBodies drops the Content-Encoding undici already decoded', async () => {
    const app = createProxyApp({ governor: rig(routes()).gov, decodedBodies: true })
    const res = await app.request(`${EDGE}/o/gzip`, { headers: { 'accept-encoding': 'gzip' } })
    expect(res.headers.get('content-encoding')).toBeNull()
    expect(res.headers.get('content-length')).toBeNull()
    expect(await res.text()).toBe('compressed hello')
  })

  it('createProxyApp() times out → 504 problem, counted as a failure', async () => {
    const r = rig(routes())
    const app = createProxyApp({ governor: r.gov })
    const started = Date.now()
    const res = await app.request(`${EDGE}/o/hang`)
    expect(res.status).toBe(504)
    expect(Date.now() - started).toBeGreaterThanOrEqual(140)
    expect(Date.now() - started).toBeLessThan(5000)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const problem = await res.json() as Record<string, unknown>
    expect(problem.type).toBe('urn:rheostat:problem:origin-timeout')
    expect(problem.status).toBe(504)
    expect(res.headers.get('RateLimit')).toMatch(/^"slow:normal";r=\d+;t=1$/)
    expect(r.completions).toHaveLength(1)
    expect(r.completions[0]!.ok).toBe(false)
    expect(r.completions[0]!.latencyMs).toBeGreaterThanOrEqual(140)
  })

  it('createProxyApp() passes origin 500 and 503 through as sent, counted as failures', async () => {
    const r = rig(routes())
    const app = createProxyApp({ governor: r.gov })
    for (const status of [500, 503, 429]) {
      const res = await app.request(`${EDGE}/o/echo?status=${status}`)
      expect(res.status).toBe(status)
      expect(res.headers.get('content-type')).toBe('application/json')
      expect(res.headers.get('x-origin')).toBe('yes')
      expect((await res.json() as Echo).url).toBe(`/o/echo?status=${status}`)
    }
    const ok = await app.request(`${EDGE}/o/echo?status=404`)
    expect(ok.status).toBe(404)
    expect(r.completions.map((c) => c.ok)).toEqual([false, false, false, true])
  })

  it('createProxyApp() answers 502 origin-unreachable for a network error', async () => {
    const r = rig(routes())
    const app = createProxyApp({ governor: r.gov })
    const res = await app.request(`${EDGE}/down/x`)
    expect(res.status).toBe(502)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    const problem = await res.json() as Record<string, unknown>
    expect(problem).toMatchObject({
      type: 'urn:rheostat:problem:origin-unreachable',
      title: 'Origin unreachable',
      status: 502,
    })
    expect(r.completions).toHaveLength(1)
    expect(r.completions[0]!.ok).toBe(false)
  })

  it('createProxyApp() measures latency from fetch start to response headers on its clock', async () => {
    const r = rig(routes())
    let now = 1000
    const app = createProxyApp({
      governor: r.gov,
      clock: () => now,
      fetch: async (request) => {
        now += 75
        const res = await fetch(request)
        now += 5
        return res
      },
    })
    await (await app.request(`${EDGE}/o/echo`)).arrayBuffer()
    expect(r.completions).toEqual([{ ok: true, status: 200, latencyMs: 80 }])
  })

  it('createProxyApp() sheds with a failing origin: 503 problem, Retry-After, RateLimit', async () => {
    const r = rig(routes())
    const sync = fakeSync()
    const app = createProxyApp({ governor: r.gov, sync: sync.hook })
    let shed: Response | undefined
    let sent = 0
    while (shed === undefined && sent < 400) {
      r.clock.now += 50
      const res = await app.request(`${EDGE}/o/flaky?status=500`)
      sent++
      if (res.status === 503 && res.headers.get('content-type') === 'application/problem+json') {
        shed = res
      } else {
        expect(res.status).toBe(500)
        await res.arrayBuffer()
      }
    }
    expect(shed, 'the governor never shed').toBeDefined()
    const retryAfter = Number(shed!.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(retryAfter).toBeLessThanOrEqual(30)
    const problem = await shed!.json() as Record<string, unknown>
    expect(problem).toMatchObject({
      type: 'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity',
      title: 'Temporary reduced capacity',
      status: 503,
      route: 'flaky',
      priority: 'low',
      retryAfter,
      'violated-policies': ['flaky:low'],
    })
    expect(problem.detail).toMatch(/Route "flaky" is shedding priority "low"/)
    expect(['OPERATIONAL', 'BOOTSTRAP', 'CIRCUIT_BREAKER', 'HALF_OPEN']).toContain(problem.mode)
    expect(['pressure', 'concurrency', 'circuit-open', 'half-open']).toContain(problem.reason)
    expect(shed!.headers.get('RateLimit-Policy')).toBe(
      '"flaky:low";q=100;w=1;rheostat-unit="percent"',
    )
    expect(shed!.headers.get('RateLimit')).toBe(`"flaky:low";r=0;t=${retryAfter}`)
    // Every admitted request completed exactly once, every one as a failure; the shed one none.
    expect(r.completions).toHaveLength(sent - 1)
    expect(r.completions.every((c) => c.ok === false)).toBe(true)
    expect(r.gov.snapshot('flaky')!.inflight).toBe(0)
    expect(sync.calls).toBe(sent)
  })

  it('createProxyApp() raises priority only by rule: a spoofed x-priority changes nothing', async () => {
    const r = rig(routes())
    shedLowOnly(r, 'flaky')
    const app = createProxyApp({ governor: r.gov })
    const low = await app.request(`${EDGE}/o/flaky`)
    expect(low.status).toBe(503)
    const spoofed = await app.request(`${EDGE}/o/flaky`, { headers: { 'x-priority': 'critical' } })
    expect(spoofed.status).toBe(503)
    expect((await spoofed.json() as { priority: string }).priority).toBe('low')
    const wrongToken = await app.request(`${EDGE}/o/flaky`, {
      headers: { 'x-internal-token': 'guess' },
    })
    expect(wrongToken.status).toBe(503)
    const internal = await app.request(`${EDGE}/o/flaky`, {
      headers: { 'x-internal-token': 's3cret' },
    })
    expect(internal.status).toBe(200)
    expect(internal.headers.get('RateLimit')).toBe('"flaky:critical";r=100;t=1')
  })

  it('createProxyApp() answers unmatched requests 404 problem when the config rejects them', async () => {
    const r = rig(routes({ unmatched: 'reject' }))
    const app = createProxyApp({ governor: r.gov, fallback: origin })
    const res = await app.request(`${EDGE}/elsewhere`)
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(await res.json()).toMatchObject({
      type: 'urn:rheostat:problem:no-route',
      status: 404,
      detail: 'No route matches this request and the config rejects unmatched requests',
      path: '/elsewhere',
    })
    // A method the route does not list is unmatched too.
    expect((await app.request(`${EDGE}/o/echo`, { method: 'DELETE' })).status).toBe(200)
    expect(r.completions).toHaveLength(1)
  })

  it('createProxyApp() passes unmatched requests to the fallback, ungoverned', async () => {
    const r = rig({
      routes: [{ id: 'only', match: { methods: ['GET'], path: '/only' }, origin }],
    })
    const toOrigin = createProxyApp({ governor: r.gov, fallback: origin })
    const res = await toOrigin.request(`${EDGE}/o/echo?q=1`, { method: 'POST', body: 'x' })
    expect(res.status).toBe(200)
    expect(res.headers.get('RateLimit')).toBeNull()
    expect(await res.json() as Echo).toMatchObject({ method: 'POST', url: '/o/echo?q=1' })

    const toHandler = createProxyApp({
      governor: r.gov,
      fallback: (request) => new Response(`fallback ${new URL(request.url).pathname}`),
    })
    expect(await (await toHandler.request(`${EDGE}/x`)).text()).toBe('fallback /x')

    const none = createProxyApp({ governor: r.gov })
    const missing = await none.request(`${EDGE}/x`)
    expect(missing.status).toBe(404)
    expect((await missing.json() as { detail: string }).detail).toBe(
      'No route matches this request and the proxy has no fallback for unmatched requests',
    )
    expect(r.completions).toHaveLength(0)
    expect(r.gov.routes()).toEqual([])
  })

  it('createProxyApp() hands the sync promise to executionCtx.waitUntil', async () => {
    const r = rig(routes())
    const sync = fakeSync()
    const app = createProxyApp({ governor: r.gov, sync: sync.hook })
    const waited: Promise<unknown>[] = []
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void waited.push(p),
      passThroughOnException() {},
      props: {},
    }
    await app.request(`${EDGE}/o/echo`, {}, {}, ctx)
    await app.request(`${EDGE}/nowhere`, {}, {}, ctx)
    expect(sync.calls).toBe(2)
    // The admitted request also handed over the promise that keeps it alive until its ticket
    // completes (H1); the unmatched one only the sync.
    const ours = sync.pending as Promise<unknown>[]
    const keepers = waited.filter((p) => !ours.includes(p))
    expect(waited.filter((p) => ours.includes(p))).toEqual(sync.pending)
    expect(keepers).toHaveLength(1)
    await expect(keepers[0]).resolves.toBeUndefined()
    // Without an execution context (Node), the promise just runs.
    await app.request(`${EDGE}/o/echo`)
    expect(sync.calls).toBe(3)
  })

  it('createProxyApp() refuses an edge config without match or origin', () => {
    const gov = createGovernor({ engine: 'ts', config: { routes: [{ id: 'a' }] } })
    expect(() => createProxyApp({ governor: gov })).toThrow(ConfigError)
    expect(() => createProxyApp({ governor: gov })).toThrow(/routes\.0\.origin/)
  })
})
