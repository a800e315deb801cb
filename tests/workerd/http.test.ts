// The HTTP layer inside workerd: the proxy app with the engine from a `.wasm` import. The test
// worker cannot reach a local origin, so the proxy's `fetch` option answers with canned
// responses; everything else (URLPattern, streams, AbortController, timers) is workerd's own.
import { describe, expect, it } from 'vitest'
import wasmModule from '../../wasm/build/rheostat.wasm'
import { createGovernor, createProxyApp, governor, withGovernor } from '../../src/mod.ts'
import { signalAbortsOnDisconnect } from '../../src/http/gate.ts'
import { Hono } from 'hono'

const config = {
  routes: [
    { id: 'api', match: { path: '/api/*' }, origin: 'https://origin.test', priority: 'low' },
  ],
}

function wasmGovernor() {
  const clock = { now: 0 }
  const gov = createGovernor({ engine: 'wasm', wasm: wasmModule, config, clock: () => clock.now })
  expect(gov.engineKind).toBe('wasm')
  return { gov, clock }
}

describe('http in workerd', () => {
  it('createProxyApp() forwards an admitted request and sheds after origin failures', async () => {
    const { gov, clock } = wasmGovernor()
    let status = 200
    const seen: string[] = []
    const app = createProxyApp({
      governor: gov,
      fetch: (request) => {
        seen.push(`${request.method} ${request.url} ${request.headers.get('x-forwarded-host')}`)
        return Promise.resolve(new Response(`origin ${status}`, { status }))
      },
    })
    const ok = await app.request('https://edge.test/api/items?x=1')
    expect(ok.status).toBe(200)
    expect(await ok.text()).toBe('origin 200')
    expect(ok.headers.get('RateLimit')).toBe('"api:low";r=100;t=1')
    expect(seen).toEqual(['GET https://origin.test/api/items?x=1 edge.test'])

    status = 500
    let shed: Response | undefined
    for (let i = 0; i < 400 && shed === undefined; i++) {
      clock.now += 50
      const res = await app.request('https://edge.test/api/items')
      if (res.status === 503) shed = res
      else await res.arrayBuffer()
    }
    expect(shed).toBeDefined()
    expect(shed!.headers.get('content-type')).toBe('application/problem+json')
    const retryAfter = Number(shed!.headers.get('retry-after'))
    expect(retryAfter).toBeGreaterThanOrEqual(1)
    expect(shed!.headers.get('RateLimit')).toBe(`"api:low";r=0;t=${retryAfter}`)
    expect(await shed!.json()).toMatchObject({ status: 503, route: 'api', priority: 'low' })
    expect(gov.snapshot('api')!.inflight).toBe(0)
  })

  it('createProxyApp() answers 504 when the origin stays silent past the route timeout', async () => {
    const clock = { now: 0 }
    const gov = createGovernor({
      engine: 'wasm',
      wasm: wasmModule,
      config: { routes: [{ ...config.routes[0]!, timeoutMs: 50 }] },
      clock: () => clock.now,
    })
    const app = createProxyApp({
      governor: gov,
      fetch: (request) =>
        new Promise<Response>((_, reject) => {
          request.signal.addEventListener('abort', () => reject(request.signal.reason))
        }),
    })
    const res = await app.request('https://edge.test/api/slow')
    expect(res.status).toBe(504)
  })

  it('governor() and withGovernor() govern in workerd', async () => {
    const { gov } = wasmGovernor()
    const app = new Hono()
    app.use(governor({ governor: gov, route: 'mw' }))
    app.get('/', (c) => c.text('ok'))
    expect((await app.request('https://edge.test/')).headers.get('RateLimit')).toBe(
      '"mw:normal";r=100;t=1',
    )
    const waited: Promise<unknown>[] = []
    const worker = withGovernor({ fetch: () => new Response('ok') }, {
      governor: gov,
      route: 'worker',
      sync: {
        maybeSync: () => Promise.resolve(),
        status: () => {
          throw new Error('unused')
        },
      },
    })
    const res = await worker.fetch(new Request('https://edge.test/'), {}, {
      waitUntil: (p: Promise<unknown>) => void waited.push(p),
    })
    expect(res.headers.get('RateLimit')).toBe('"worker:normal";r=100;t=1')
    // The sync only: with enable_request_signal (tests/workerd/wrangler.toml) the keep-alive is
    // armed when the request's signal aborts, and this client stayed.
    expect(waited).toHaveLength(1)
  })

  it("the keep-alive is armed by the request signal's abort and settles with the ticket", async () => {
    expect(signalAbortsOnDisconnect()).toBe(true)
    const { gov } = wasmGovernor()
    let release = () => {}
    const held = new Promise<void>((resolve) => release = resolve)
    const app = new Hono()
    app.use(governor({ governor: gov, route: 'mw' }))
    app.get('/', async (c) => {
      await held
      return c.text('late')
    })
    const worker = withGovernor({
      fetch: async () => {
        await held
        return new Response('late')
      },
    }, { governor: gov, route: 'worker' })
    const waited: Promise<unknown>[] = []
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void waited.push(p),
      passThroughOnException() {},
      props: {},
    }
    const clients = [new AbortController(), new AbortController()]
    const answers = [
      app.fetch(new Request('https://edge.test/', { signal: clients[0]!.signal }), {}, ctx),
      worker.fetch(new Request('https://edge.test/', { signal: clients[1]!.signal }), {}, ctx),
    ]
    await new Promise((r) => setTimeout(r, 10))
    expect(gov.snapshot('mw')!.inflight + gov.snapshot('worker')!.inflight).toBe(2)
    expect(waited).toHaveLength(0)
    for (const c of clients) c.abort()
    expect(waited).toHaveLength(2)
    let settled = 0
    for (const p of waited) void p.then(() => settled++)
    await new Promise((r) => setTimeout(r, 10))
    // Held until the tickets complete: the handlers still run.
    expect(settled).toBe(0)
    release()
    await Promise.all(answers)
    await Promise.all(waited)
    expect(gov.snapshot('mw')!.inflight + gov.snapshot('worker')!.inflight).toBe(0)
  })

  it('withGovernor() keeps a typed Workers handler an ExportedHandler', async () => {
    const { gov } = wasmGovernor()
    const handler = {
      fetch(request: Request, _env: Env, ctx: ExecutionContext): Response {
        ctx.waitUntil(Promise.resolve())
        return new Response(new URL(request.url).pathname)
      },
    } satisfies ExportedHandler<Env>
    const worker = withGovernor(handler, {
      governor: gov,
      route: 'typed',
    }) satisfies ExportedHandler<
      Env
    >
    const waited: Promise<unknown>[] = []
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void waited.push(p),
      passThroughOnException() {},
      props: {},
    } as unknown as ExecutionContext
    const res = await worker.fetch(new Request('https://edge.test/typed'), {} as Env, ctx)
    expect(await res.text()).toBe('/typed')
    // The handler's own; the keep-alive waits for an abort (enable_request_signal).
    expect(waited).toHaveLength(1)
  })
})
