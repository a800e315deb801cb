// The admin API against a stolen or weak credential and hostile bodies (issue 12, items 4, 7, 8):
// token length at start, the read-only token, the deploy-time origin allowlist, merge-patch depth
// and `__proto__`, event-stream slots on HEAD and on readers that stop reading, and a fast-check
// fuzz of admin bodies through the Workers handler (no exception, no 5xx, no state change from a
// refused request).
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { createEdgeHandler, type EdgeBuild } from '../../src/adapter/cloudflare-workers/handler.ts'
import { createAdminApp, MIN_TOKEN_LENGTH } from '../../src/admin/admin.ts'
import { MAX_PATCH_DEPTH, mergePatch } from '../../src/admin/config-api.ts'
import { EventHub } from '../../src/admin/events.ts'
import { createGovernor } from '../../src/mod.ts'
import { MemoryConfigStore } from '../../src/store/memory/config.ts'

const TOKEN = 'admin-token-for-hostile-tests-0123456789'
const READ = 'read-token-for-hostile-tests-0123456789a'
const ORIGIN = 'http://127.0.0.1:9'
const quiet = { error() {}, warn() {} }

function edge(extra: Record<string, string> = {}) {
  const handler = createEdgeHandler({ logger: quiet, configStore: new MemoryConfigStore() })
  const env = {
    RHEOSTAT_CONFIG: JSON.stringify({
      routes: [{ id: 'api', match: { path: '/api/*' }, origin: ORIGIN }],
      unmatched: 'reject',
    }),
    RHEOSTAT_ADMIN_TOKEN: TOKEN,
    RHEOSTAT_READ_TOKEN: READ,
    ...extra,
  }
  const ctx = { waitUntil() {}, passThroughOnException() {} }
  const call = (path: string, init: RequestInit & { token?: string; json?: unknown } = {}) => {
    const headers = new Headers(init.headers)
    if (init.token !== '') headers.set('authorization', `Bearer ${init.token ?? TOKEN}`)
    if (init.json !== undefined) headers.set('content-type', 'application/json')
    return Promise.resolve(handler.fetch(
      new Request(`http://edge/__rheostat${path}`, {
        ...init,
        headers,
        body: init.json === undefined ? init.body : JSON.stringify(init.json),
      }),
      env,
      ctx,
    ))
  }
  const build = () => handler.current() as Extract<EdgeBuild, { ok: true }>
  return { handler, env, ctx, call, build }
}

describe('admin tokens (item 7)', () => {
  it(`createEdgeHandler() refuses an admin token shorter than ${MIN_TOKEN_LENGTH} characters, with the reason`, async () => {
    const { call, handler } = edge({ RHEOSTAT_ADMIN_TOKEN: 'short-token' })
    const res = await call('/health')
    expect(res.status).toBe(500)
    const body = await res.json()
    expect(body.problems).toEqual([{
      path: 'RHEOSTAT_ADMIN_TOKEN',
      message: expect.stringMatching(/11 characters long; it needs at least 32/),
    }])
    expect(handler.current()?.ok).toBe(false)
    expect(() => createAdminApp({ token: 'x'.repeat(31) })).toThrow(RangeError)
    expect(() => createAdminApp({ token: 'x'.repeat(32) })).not.toThrow()
  })

  it('the read-only token opens metrics, stats and events, and nothing that changes state', async () => {
    const { call, build } = edge()
    for (const path of ['/metrics', '/api/stats']) {
      expect((await call(path, { token: READ })).status, path).toBe(200)
    }
    const events = await call('/api/events', { token: READ })
    expect(events.status).toBe(200)
    await events.body?.cancel()
    const version = build().live.version()
    const writes: [string, RequestInit & { json?: unknown }][] = [
      ['/api/config', { method: 'PUT', json: {} }],
      ['/api/config', { method: 'PATCH', json: {} }],
      ['/api/config', { method: 'GET' }],
      ['/api/config/history', { method: 'GET' }],
      ['/api/config/rollback', { method: 'POST', json: { version: 0 } }],
      ['/api/telemetry', { method: 'POST', json: { route: 'api', pressure: 1 } }],
    ]
    for (const [path, init] of writes) {
      const res = await call(path, { ...init, token: READ })
      expect(res.status, `${init.method} ${path}`).toBe(403)
    }
    expect(build().live.version()).toBe(version)
    expect(build().governor.snapshot('api')?.injected ?? null).toBeNull()
    expect((await call('/api/stats', { token: 'a-wrong-token-of-more-than-32-chars' })).status)
      .toBe(401)
  })

  it('an upload cannot point a route at an origin outside the deploy-time allowlist', async () => {
    const { call, build } = edge()
    const evil = {
      routes: [{ id: 'api', match: { path: '/api/*' }, origin: 'https://attacker.example' }],
      unmatched: 'reject',
    }
    const res = await call('/api/config', { method: 'PUT', json: evil })
    expect(res.status).toBe(422)
    expect(JSON.stringify(await res.json())).toMatch(/attacker\.example.*RHEOSTAT_ORIGINS/)
    expect(build().live.version()).toBe(0)
    // Listed at deploy time, it is allowed.
    const listed = edge({ RHEOSTAT_ORIGINS: `${ORIGIN}, https://attacker.example` })
    expect((await listed.call('/api/config', { method: 'PUT', json: evil })).status).toBe(200)
    // trustedProxies decide whose forwarding fields count: not changeable live.
    const trusting = {
      ...evil,
      routes: [{ ...evil.routes[0], origin: ORIGIN }],
      trustedProxies: ['0.0.0.0/0'],
    }
    const refused = await call('/api/config', { method: 'PUT', json: trusting })
    expect(refused.status).toBe(422)
    expect(JSON.stringify(await refused.json())).toMatch(/trustedProxies/)
  })

  it('GET /api/events answered to HEAD holds no event-stream slot', async () => {
    const { call } = edge()
    for (let i = 0; i < 40; i++) {
      const res = await call('/api/events', { method: 'HEAD' })
      expect(res.status).toBe(200)
    }
    const stats = await (await call('/api/stats')).json()
    expect(stats.events.subscribers).toBe(0)
    const open = await call('/api/events')
    expect(open.status).toBe(200)
    await open.body?.cancel()
  })

  it('EventHub releases the slot of a stream nobody reads any more, without cancel', async () => {
    const hub = new EventHub(createGovernor({ engine: 'ts' }), {
      maxUnreadMs: 50,
      statsIntervalMs: 10,
      maxSubscribers: 2,
    })
    const res = hub.stream(() => Promise.resolve({}))!
    const reader = res.body!.getReader()
    await reader.read() // the first frame, then the reader goes silent without cancelling
    expect(hub.counters().subscribers).toBe(1)
    await new Promise((r) => setTimeout(r, 1300))
    expect(hub.counters().subscribers).toBe(0)
  })
})

describe('config bodies that could break the request path (item 4)', () => {
  it('a priority rule header that is not an HTTP token is refused and nothing changes', async () => {
    const { call, build } = edge()
    const res = await call('/api/config', {
      method: 'PUT',
      json: {
        routes: [{ id: 'api', match: { path: '/api/*' }, origin: ORIGIN }],
        priorityRules: [{ header: 'X Internal Token', priority: 'critical' }],
      },
    })
    expect(res.status).toBe(422)
    expect(JSON.stringify(await res.json())).toMatch(/priorityRules\.0\.header/)
    expect(build().live.version()).toBe(0)
  })

  it('mergePatch() bounds the depth and keeps __proto__ an own key that validation refuses', async () => {
    let deep: unknown = 1
    for (let i = 0; i < 100_000; i++) deep = { a: deep }
    expect(() => mergePatch({}, deep)).toThrow(/deeper than 32/)
    const patched = mergePatch({ a: 1 }, JSON.parse('{"__proto__": {"polluted": true}}'))
    expect(Object.getPrototypeOf(patched)).toBe(Object.prototype)
    expect(Object.keys(patched as object)).toEqual(['a', '__proto__'])
    expect(({} as Record<string, unknown>).polluted).toBeUndefined()
    const { call, build } = edge()
    const proto = await call('/api/config', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"__proto__": {"routes": []}}',
    })
    expect(proto.status).toBe(422)
    const nested = await call('/api/config', {
      method: 'PATCH',
      headers: { 'content-type': 'application/json' },
      body: '{"physics":' + '{"a":'.repeat(MAX_PATCH_DEPTH + 5) + '1' +
        '}'.repeat(MAX_PATCH_DEPTH + 6),
    })
    expect(nested.status).toBe(422)
    expect(build().live.version()).toBe(0)
  })
})

// ---- fuzz ----------------------------------------------------------------------------------------

const jsonish: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small' },
    fc.constantFrom(null, true, false, 0, -1, 1e308, 'x', '', '__proto__', 'constructor'),
    fc.double(),
    fc.string({ maxLength: 12 }),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(
      fc.constantFrom(
        'routes',
        'priorities',
        'physics',
        'sync',
        'admin',
        'maxRoutes',
        'engine',
        'priorityRules',
        'trustedProxies',
        'unmatched',
        '__proto__',
        'constructor',
        'id',
        'match',
        'origin',
        'path',
        'header',
        'tickMs',
        'route',
        'pressure',
        'ttlS',
        'version',
      ),
      tie('value'),
      { maxKeys: 5 },
    ),
  ),
})).value

/** Bodies near valid configs, so the fuzz reaches the validators and not only the JSON gate. */
const nearValid: fc.Arbitrary<unknown> = fc.record({
  routes: fc.array(
    fc.record({
      id: fc.constantFrom('api', 'x', '', 'a'.repeat(300)),
      match: fc.record({
        path: fc.constantFrom('/api/*', '/(a+)+b', 'api/*', '/users/:id', '/x/./y', '/'),
        methods: fc.constantFrom(['GET'], ['get'], [], ['POST', 'HEAD']),
      }, { requiredKeys: ['path'] }),
      origin: fc.constantFrom(ORIGIN, 'https://attacker.example', 'ftp://x', 'not a url'),
    }),
    { maxLength: 3 },
  ),
  priorityRules: fc.array(
    fc.record({
      header: fc.constantFrom('x-tier', 'X Internal Token', 'x:y', 'é', ''),
      priority: fc.constantFrom('critical', 'nope'),
    }),
    { maxLength: 2 },
  ),
  maxRoutes: fc.constantFrom(10000, 1_000_000, 25_000, 0, 1.5),
  admin: fc.record({ prefix: fc.constantFrom('/__rheostat', '/a/../b', '/x/.', '/ok') }),
  trustedProxies: fc.constantFrom([], ['10.0.0.0/8'], ['nope']),
}, { requiredKeys: [] })

describe('fuzz: admin API bodies (item 8)', () => {
  it('no exception, no 5xx, and a refused body changes nothing', async () => {
    const { call, build } = edge()
    await call('/health')
    const tally: Record<number, number> = {}
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(
          ['PUT', '/api/config'],
          ['PATCH', '/api/config'],
          ['POST', '/api/config/rollback'],
          ['POST', '/api/telemetry'],
        ),
        fc.oneof(
          jsonish,
          nearValid,
          // Bodies one of the endpoints accepts, so the fuzz also moves state.
          fc.constantFrom<unknown>(
            { route: 'api', pressure: 0.2, ttlS: 1 },
            { physics: { tickMs: 100 } },
            { version: 0 },
            { routes: [{ id: 'api', match: { path: '/api/*' }, origin: ORIGIN }] },
          ),
        ),
        fc.boolean(),
        async ([method, path], body, raw) => {
          const before = JSON.stringify([build().live.version(), build().live.input()])
          const telemetryBefore = JSON.stringify(build().governor.snapshot('api')?.injected ?? null)
          const res = await call(path, {
            method,
            // Also as text that is not JSON at all.
            headers: { 'content-type': 'application/json' },
            body: raw ? JSON.stringify(body).slice(0, -1) : JSON.stringify(body),
          })
          tally[res.status] = (tally[res.status] ?? 0) + 1
          expect(res.status).toBeLessThan(500)
          if (res.status >= 400) {
            expect(res.headers.get('content-type')).toBe('application/problem+json')
            expect(JSON.stringify([build().live.version(), build().live.input()])).toBe(before)
            expect(JSON.stringify(build().governor.snapshot('api')?.injected ?? null))
              .toBe(telemetryBefore)
          }
          // The proxy still answers after whatever was accepted.
          expect(build().ok).toBe(true)
        },
      ),
      { numRuns: 500 },
    )
    console.info(`admin body fuzz: 500 bodies, by status ${JSON.stringify(tally)}`)
  })
})
