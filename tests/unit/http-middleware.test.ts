// The governor() middleware on a plain Hono app: downstream latency and status feed the governor.
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { governor, type RheostatVariables } from '../../src/mod.ts'
import { fakeSync, rig } from '../support/http-fixtures.ts'

function executionCtx(waited: Promise<unknown>[]) {
  return {
    waitUntil: (p: Promise<unknown>) => void waited.push(p),
    passThroughOnException() {},
    props: {},
  }
}

describe('governor()', () => {
  it('governor() feeds downstream latency and status to the governor', async () => {
    const r = rig()
    const app = new Hono()
    app.use('/api/*', governor({ governor: r.gov, route: 'api', clock: r.read }))
    app.get('/api/slow', (c) => {
      r.clock.now += 250
      c.header('RateLimit', '"app";r=9;t=60')
      return c.text('slow')
    })
    app.get('/api/broken', (c) => {
      r.clock.now += 10
      return c.text('down', 503)
    })
    const res = await app.request('http://localhost/api/slow')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('slow')
    expect(res.headers.get('RateLimit')).toBe('"app";r=9;t=60, "api:normal";r=100;t=1')
    expect(res.headers.get('RateLimit-Policy')).toBe(
      '"api:normal";q=100;w=1;rheostat-unit="percent"',
    )
    expect(r.completions).toEqual([{ latencyMs: 250, ok: true, status: 200 }])
    r.clock.now += 100
    expect(r.gov.snapshot('api')!.signals.latencyMs).toBe(250)
    expect(r.gov.snapshot('api')!.inflight).toBe(0)

    const broken = await app.request('http://localhost/api/broken')
    expect(broken.status).toBe(503)
    expect(await broken.text()).toBe('down')
    expect(r.completions[1]).toEqual({ latencyMs: 10, ok: false, status: 503 })
    r.clock.now += 100
    expect(r.gov.snapshot('api')!.signals.errorRate).toBeGreaterThan(0)
  })

  it('governor() completes a handler error as a failure (Hono turns it into a 500)', async () => {
    const r = rig()
    const app = new Hono()
    app.use(governor({ governor: r.gov, route: 'api', clock: r.read }))
    app.onError((error, c) => c.text(error.message, 500))
    app.get('/boom', () => {
      throw new Error('boom')
    })
    const res = await app.request('http://localhost/boom')
    expect(res.status).toBe(500)
    expect(res.headers.get('RateLimit')).not.toBeNull()
    // A handler's throw is an application error (500), not overload.
    expect(r.completions).toEqual([{ latencyMs: 0, ok: false, status: 500 }])
    expect(r.gov.snapshot('api')!.inflight).toBe(0)
  })

  it('governor() completes as a failure and rethrows when next() throws', async () => {
    const r = rig()
    const sync = fakeSync()
    const mw = governor({ governor: r.gov, route: 'api', clock: r.read, sync: sync.hook })
    const app = new Hono()
    app.use(mw)
    // Hono only routes Error instances to onError; anything else comes back out of next().
    app.get('/throw', () => {
      throw 'not an Error'
    })
    await expect(app.request('http://localhost/throw')).rejects.toBe('not an Error')
    expect(r.completions).toEqual([{ latencyMs: 0, ok: false }])
    expect(r.gov.snapshot('api')!.inflight).toBe(0)
    expect(sync.state.calls).toBe(1)
  })

  it('governor() answers a shed with a 503 problem and does not call the handler', async () => {
    const r = rig({ routes: [{ id: 'api', priority: 'low' }] })
    for (let i = 0; i < 400; i++) {
      r.clock.now += 20
      const d = r.gov.admit('api', { priority: 'low' })
      if (d.ticket) r.gov.complete(d.ticket, { latencyMs: 20, ok: false })
    }
    let called = 0
    const app = new Hono()
    app.use(governor({ governor: r.gov, route: 'api' }))
    app.get('/', (c) => {
      called++
      return c.text('ok')
    })
    const res = await app.request('http://localhost/')
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
    expect(res.headers.get('RateLimit')).toMatch(/^"api:low";r=0;t=\d+$/)
    expect(await res.json()).toMatchObject({ status: 503, route: 'api', priority: 'low' })
    expect(called).toBe(0)
  })

  it('governor() takes route and priority from functions; unknown classes fall back', async () => {
    const r = rig()
    const app = new Hono()
    app.use(governor({
      governor: r.gov,
      route: (c) => `tenant-${c.req.query('t')}`,
      priority: (c) => c.req.query('p'),
    }))
    app.get('/', (c) => c.text('ok'))
    const a = await app.request('http://localhost/?t=a&p=critical')
    expect(a.headers.get('RateLimit')).toBe('"tenant-a:critical";r=100;t=1')
    const b = await app.request('http://localhost/?t=b&p=bogus')
    expect(b.headers.get('RateLimit')).toBe('"tenant-b:normal";r=100;t=1')
    expect(r.gov.routes().sort()).toEqual(['tenant-a', 'tenant-b'])
    expect(() => governor({ governor: r.gov, priority: 'urgent' })).toThrow(RangeError)
  })

  it('governor() without a route option matches config routes and applies priority rules', async () => {
    const r = rig({
      routes: [{ id: 'users', match: { path: '/users/:id' }, priority: 'low' }],
      priorityRules: [{ header: 'x-internal', priority: 'critical' }],
    })
    const app = new Hono()
    app.use(governor({ governor: r.gov }))
    app.get('*', (c) => c.text('ok'))
    const user = await app.request('http://localhost/users/7')
    expect(user.headers.get('RateLimit')).toBe('"users:low";r=100;t=1')
    const spoofed = await app.request('http://localhost/users/7', {
      headers: { 'x-priority': 'critical' },
    })
    expect(spoofed.headers.get('RateLimit')).toBe('"users:low";r=100;t=1')
    const internal = await app.request('http://localhost/users/7', {
      headers: { 'X-Internal': '' },
    })
    expect(internal.headers.get('RateLimit')).toBe('"users:critical";r=100;t=1')
    // Unmatched, unmatched: "pass" (the default): the handler runs ungoverned.
    const other = await app.request('http://localhost/other')
    expect(other.status).toBe(200)
    expect(other.headers.get('RateLimit')).toBeNull()
    expect(r.gov.routes()).toEqual(['users'])
  })

  it('governor() answers unmatched requests 404 problem when the config rejects them', async () => {
    const r = rig({ routes: [{ id: 'users', match: { path: '/users/*' } }], unmatched: 'reject' })
    const app = new Hono()
    app.use(governor({ governor: r.gov }))
    app.get('*', (c) => c.text('ok'))
    const res = await app.request('http://localhost/other')
    expect(res.status).toBe(404)
    expect(await res.json()).toMatchObject({
      type: 'urn:rheostat:problem:no-route',
      status: 404,
      path: '/other',
    })
    expect((await app.request('http://localhost/users/1')).status).toBe(200)
  })

  it('governor() hands the sync promise to executionCtx.waitUntil when there is one', async () => {
    const r = rig()
    const sync = fakeSync()
    const app = new Hono()
    app.use(governor({ governor: r.gov, route: 'api', sync: sync.hook }))
    app.get('/', (c) => c.text('ok'))
    const waited: Promise<unknown>[] = []
    await app.request('http://localhost/', {}, {}, executionCtx(waited))
    expect(sync.state.calls).toBe(1)
    // First the promise that keeps the request alive until its ticket completes (settled by
    // now), then the sync.
    expect(waited.slice(1)).toEqual(sync.state.pending)
    await expect(waited[0]).resolves.toBeUndefined()
    await app.request('http://localhost/')
    expect(sync.state.calls).toBe(2)
    expect(waited).toHaveLength(2)
  })
})

describe('governor() as Hono users expect', () => {
  // One slot: a request held in flight makes the next one shed (reason `concurrency`).
  const oneSlot = {
    routes: [{
      id: 'api',
      match: { path: '/api/*' },
      concurrency: { initial: 1, min: 1, max: 1 },
    }],
  }

  it('puts the decision on the context as c.get("rheostat")', async () => {
    const r = rig(oneSlot)
    const app = new Hono<{ Variables: RheostatVariables }>()
    app.use(governor({ governor: r.gov, clock: r.read }))
    app.get('/api/who', (c) => {
      const info = c.get('rheostat')
      return c.json({ route: info.route, priority: info.priority, allow: info.decision.allow })
    })
    const res = await app.request('http://localhost/api/who')
    expect(await res.json()).toEqual({ route: 'api', priority: 'normal', allow: true })
  })

  it('answers a shed with onShed and adds the RateLimit fields to it', async () => {
    const r = rig(oneSlot)
    const app = new Hono<{ Variables: RheostatVariables }>()
    let gate: Promise<void> = Promise.resolve()
    const seen: string[] = []
    app.use(governor({
      governor: r.gov,
      clock: r.read,
      onShed: (c, info) => {
        seen.push(`${c.get('rheostat').decision.reason}/${info.decision.reason}`)
        return c.json({ busy: true, retryAfterS: info.decision.retryAfterS }, 429)
      },
    }))
    app.get('/api/slow', async (c) => {
      await gate
      return c.text('done')
    })
    let release = () => {}
    gate = new Promise<void>((resolve) => (release = resolve))
    // The first request holds the only slot until released.
    const first = app.request('http://localhost/api/slow')
    await Promise.resolve()
    const shed = await app.request('http://localhost/api/slow')
    expect(shed.status).toBe(429)
    const body = await shed.json() as { busy: boolean; retryAfterS: number }
    expect(body.busy).toBe(true)
    expect(body.retryAfterS).toBeGreaterThanOrEqual(1)
    expect(shed.headers.get('RateLimit')).toMatch(/^"api:normal";r=\d+;t=\d+$/)
    expect(seen).toEqual(['concurrency/concurrency'])
    release()
    expect((await first).status).toBe(200)
  })

  it('lets skip() requests through ungoverned, with nothing on the context', async () => {
    const r = rig(oneSlot)
    const app = new Hono<{ Variables: RheostatVariables }>()
    app.use(governor({ governor: r.gov, clock: r.read, skip: (c) => c.req.path === '/api/health' }))
    app.get('/api/health', (c) => c.text(String(c.get('rheostat') === undefined)))
    const res = await app.request('http://localhost/api/health')
    expect(await res.text()).toBe('true')
    expect(res.headers.get('RateLimit')).toBeNull()
    expect(r.completions).toEqual([])
  })

  it('follows reconfigure(): a dropped priority class falls back instead of failing', async () => {
    const r = rig({
      priorities: ['critical', 'normal', 'low', 'batch'],
      routes: [{ id: 'jobs', match: { path: '/jobs/*' }, priority: 'batch' }],
    })
    const app = new Hono<{ Variables: RheostatVariables }>()
    app.use(governor({ governor: r.gov, clock: r.read }))
    app.get('/jobs/:id', (c) => c.text(c.get('rheostat').priority))
    expect(await (await app.request('http://localhost/jobs/1')).text()).toBe('batch')
    r.gov.reconfigure({
      priorities: ['critical', 'normal', 'low'],
      routes: [{ id: 'jobs', match: { path: '/jobs/*' }, priority: 'low' }],
    })
    const res = await app.request('http://localhost/jobs/2')
    expect(res.status).toBe(200)
    expect(await res.text()).toBe('low')
  })
})
