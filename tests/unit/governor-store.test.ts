import { describe, expect, it } from 'vitest'
import { createGovernor } from '../../src/governor/governor.ts'
import { MemoryStore } from '../../src/store/memory/store.ts'

describe('createGovernor({ store }) owns its sync', () => {
  it('has no syncer without a store', () => {
    expect(createGovernor({ engine: 'ts' }).sync).toBeUndefined()
    expect(() => createGovernor({ engine: 'ts', live: () => undefined })).toThrow(
      /live config only with a store/,
    )
  })

  it('each governor on a shared store exchanges through its own syncer', async () => {
    let now = 1_000_000
    const clock = () => now
    const store = new MemoryStore()
    const a = createGovernor({ engine: 'ts', clock, store, isolateId: 'a' })
    const b = createGovernor({ engine: 'ts', clock, store, isolateId: 'b' })
    expect(a.sync?.status()).toMatchObject({ store: 'memory', isolateId: 'a', exchanges: 0 })
    for (let i = 0; i < 30; i++) {
      now += 10
      const d = a.admit('api')
      if (d.ticket) a.complete(d.ticket, { latencyMs: 10, status: 200 })
    }
    await a.sync?.syncNow()
    await b.sync?.syncNow()
    const view = await store.snapshot('api', now)
    expect(view.totals.latencyCount).toBe(30)
    expect(view.isolates).toBe(1) // b has sent nothing on the route
    expect(a.sync?.status().exchanges).toBe(1)
    expect(b.sync?.status().exchanges).toBe(1)
  })
})

describe("the HTTP front doors use the governor's own sync by default", () => {
  it('the middleware, the wrapper and the proxy app exchange through gov.sync with no sync option', async () => {
    const { Hono } = await import('hono')
    const { governor } = await import('../../src/http/middleware.ts')
    const { withGovernor } = await import('../../src/http/fetch-handler.ts')
    const { createProxyApp } = await import('../../src/http/proxy.ts')
    const fronts: [string, (gov: ReturnType<typeof createGovernor>) => (r: Request) => unknown][] =
      [
        ['middleware', (gov) => {
          const app = new Hono().use(governor({ governor: gov, route: 'api' }))
          app.get('*', (c) => c.text('ok'))
          return (r) => app.request(r)
        }],
        ['wrapper', (gov) => {
          const serve = withGovernor(() => new Response('ok'), { governor: gov, route: 'api' })
          return (r) => serve(r)
        }],
        ['proxy', (gov) => {
          const app = createProxyApp({
            governor: gov,
            config: { routes: [{ id: 'api', match: { path: '/*' }, origin: 'http://origin' }] },
            fetch: async () => new Response('ok'),
          })
          return (r) => app.request(r)
        }],
      ]
    for (const [name, make] of fronts) {
      const store = new MemoryStore()
      const gov = createGovernor({
        engine: 'ts',
        store,
        isolateId: name,
        config: {
          routes: [{ id: 'api', match: { path: '/*' }, origin: 'http://origin' }],
          sync: { samplesPerExchange: 2, intervalMs: 10 },
        },
      })
      const handle = make(gov)
      for (let i = 0; i < 5; i++) {
        const res = await handle(new Request('http://edge/x')) as Response
        expect(res.status, name).toBe(200)
        await new Promise((resolve) => setTimeout(resolve, 15))
      }
      await new Promise((resolve) => setTimeout(resolve, 20))
      expect(gov.sync?.status().exchanges, name).toBeGreaterThanOrEqual(1)
      expect((await store.snapshot('api', Date.now())).totals.latencyCount, name).toBeGreaterThan(0)
    }
  })
})
