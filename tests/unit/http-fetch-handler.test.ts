// withGovernor(): a Workers handler object and a Deno-style function, same semantics as the
// middleware.
import { describe, expect, it } from 'vitest'
import { withGovernor } from '../../src/mod.ts'
import { fakeSync, rig } from '../support/http-fixtures.ts'

interface TestEnv {
  GREETING: string
}

describe('withGovernor()', () => {
  it('withGovernor() wraps a Workers handler: env and ctx pass through, waitUntil gets the sync', async () => {
    const r = rig()
    const sync = fakeSync()
    let scheduled = 0
    const worker = withGovernor({
      fetch(request: Request, env: TestEnv, _ctx: { waitUntil(p: Promise<unknown>): void }) {
        r.clock.now += 40
        return new Response(`${env.GREETING} ${new URL(request.url).pathname}`)
      },
      scheduled() {
        scheduled++
      },
    }, { governor: r.gov, route: 'worker', clock: r.read, sync: sync.hook })
    const waited: Promise<unknown>[] = []
    const res = await worker.fetch(
      new Request('https://edge.example/hi'),
      { GREETING: 'hello' },
      { waitUntil: (p) => void waited.push(p) },
    )
    expect(await res.text()).toBe('hello /hi')
    expect(res.headers.get('RateLimit')).toBe('"worker:normal";r=100;t=1')
    expect(r.completions).toEqual([{ latencyMs: 40, ok: true, status: 200 }])
    // The admission's keep-alive (settled with the ticket), then the sync.
    expect(waited.slice(1)).toEqual(sync.state.pending)
    await expect(waited[0]).resolves.toBeUndefined()
    worker.scheduled()
    expect(scheduled).toBe(1)
  })

  it('withGovernor() wraps a Deno-style function: extra arguments pass, options.waitUntil gets the sync', async () => {
    const r = rig()
    const sync = fakeSync()
    const waited: Promise<unknown>[] = []
    const serve = withGovernor(
      (_request: Request, info: { remoteAddr: string }) => new Response(info.remoteAddr),
      { governor: r.gov, route: 'deno', sync: sync.hook, waitUntil: (p) => void waited.push(p) },
    )
    const res = await serve(new Request('http://localhost/'), { remoteAddr: '192.0.2.1' })
    expect(await res.text()).toBe('192.0.2.1')
    expect(res.headers.get('RateLimit')).toBe('"deno:normal";r=100;t=1')
    expect(waited).toHaveLength(2)
    expect(sync.state.calls).toBe(1)
  })

  it('withGovernor() counts 5xx and 429 as failures and sets headers on immutable responses', async () => {
    const r = rig()
    const statuses = [500, 429, 404]
    const serve = withGovernor(() => new Response('x', { status: statuses.shift() }), {
      governor: r.gov,
      route: 'api',
      clock: r.read,
    })
    for (const status of [500, 429, 404]) {
      expect((await serve(new Request('http://localhost/'))).status).toBe(status)
    }
    expect(r.completions.map((c) => c.ok)).toEqual([false, false, true])
    // Response.redirect() has immutable headers: the wrapper copies the response to add its own.
    const redirecting = withGovernor(() => Response.redirect('http://localhost/next', 302), {
      governor: r.gov,
      route: 'api',
    })
    const res = await redirecting(new Request('http://localhost/'))
    expect(res.status).toBe(302)
    expect(res.headers.get('location')).toBe('http://localhost/next')
    expect(res.headers.get('RateLimit')).not.toBeNull()
  })

  it('withGovernor() completes a throw as a failure and rethrows it', async () => {
    const r = rig()
    const sync = fakeSync()
    const serve = withGovernor(() => {
      throw new Error('handler broke')
    }, { governor: r.gov, route: 'api', clock: r.read, sync: sync.hook })
    await expect(serve(new Request('http://localhost/'))).rejects.toThrow('handler broke')
    expect(r.completions).toEqual([{ latencyMs: 0, ok: false }])
    expect(r.gov.snapshot('api')!.inflight).toBe(0)
    expect(sync.state.calls).toBe(1)
  })

  it('withGovernor() sheds with a 503 problem without calling the handler', async () => {
    const r = rig()
    for (let i = 0; i < 400; i++) {
      r.clock.now += 20
      const d = r.gov.admit('api', { priority: 'low' })
      if (d.ticket) r.gov.complete(d.ticket, { latencyMs: 20, ok: false })
    }
    let called = 0
    const serve = withGovernor(() => {
      called++
      return new Response('ok')
    }, { governor: r.gov, route: 'api', priority: 'low' })
    const res = await serve(new Request('http://localhost/'))
    expect(res.status).toBe(503)
    expect(res.headers.get('content-type')).toBe('application/problem+json')
    expect(res.headers.get('retry-after')).toMatch(/^\d+$/)
    expect(res.headers.get('RateLimit')).toMatch(/^"api:low";r=0;t=\d+$/)
    expect(called).toBe(0)
  })

  it('withGovernor() matches config routes and applies unmatched: "reject"', async () => {
    const r = rig({
      routes: [{ id: 'users', match: { methods: ['GET'], path: '/users/*' } }],
      unmatched: 'reject',
    })
    const serve = withGovernor(() => new Response('ok'), { governor: r.gov })
    const user = await serve(new Request('http://localhost/users/1'))
    expect(user.headers.get('RateLimit')).toBe('"users:normal";r=100;t=1')
    const other = await serve(new Request('http://localhost/users/1', { method: 'POST' }))
    expect(other.status).toBe(404)
    expect(await other.json()).toMatchObject({ type: 'urn:rheostat:problem:no-route' })
  })
})

describe('withGovernor(): onShed, skip, reconfigure', () => {
  const oneSlot = {
    routes: [{
      id: 'api',
      match: { path: '/api/*' },
      concurrency: { initial: 1, min: 1, max: 1 },
    }],
  }

  it('answers a shed with onShed, with the RateLimit fields added', async () => {
    const r = rig(oneSlot)
    let release = () => {}
    const gate = new Promise<void>((resolve) => (release = resolve))
    const serve = withGovernor(async () => {
      await gate
      return new Response('done')
    }, {
      governor: r.gov,
      clock: r.read,
      onShed: (request, info) =>
        Response.json({ path: new URL(request.url).pathname, reason: info.decision.reason }, {
          status: 503,
        }),
    })
    const first = serve(new Request('http://localhost/api/a'))
    await Promise.resolve()
    const shed = await serve(new Request('http://localhost/api/b'))
    expect(shed.status).toBe(503)
    expect(await shed.json()).toEqual({ path: '/api/b', reason: 'concurrency' })
    expect(shed.headers.get('RateLimit')).toMatch(/^"api:normal";r=\d+;t=\d+$/)
    release()
    expect((await first).status).toBe(200)
  })

  it('passes skip() requests to the handler ungoverned', async () => {
    const r = rig(oneSlot)
    const serve = withGovernor(() => new Response('ok'), {
      governor: r.gov,
      skip: (request) => new URL(request.url).pathname === '/api/health',
    })
    const res = await serve(new Request('http://localhost/api/health'))
    expect(res.headers.get('RateLimit')).toBeNull()
    expect(r.completions).toEqual([])
    expect((await serve(new Request('http://localhost/api/x'))).headers.get('RateLimit'))
      .not.toBeNull()
  })

  it('follows reconfigure(): new routes match, a dropped class falls back', async () => {
    const r = rig({
      priorities: ['critical', 'normal', 'low', 'batch'],
      routes: [{ id: 'jobs', match: { path: '/jobs/*' }, priority: 'batch' }],
    })
    const serve = withGovernor(() => new Response('ok'), { governor: r.gov })
    const policy = async (path: string) =>
      (await serve(new Request(`http://localhost${path}`))).headers.get('RateLimit-Policy')
    expect(await policy('/jobs/1')).toContain('"jobs:batch"')
    r.gov.reconfigure({
      priorities: ['critical', 'normal', 'low'],
      routes: [
        { id: 'jobs', match: { path: '/jobs/*' }, priority: 'low' },
        { id: 'files', match: { path: '/files/*' }, priority: 'critical' },
      ],
    })
    expect(await policy('/jobs/2')).toContain('"jobs:low"')
    expect(await policy('/files/3')).toContain('"files:critical"')
  })
})
