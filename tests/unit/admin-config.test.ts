// The config API (issue 5): versioned uploads, If-Match, 422 with every problem, PATCH, history,
// rollback, and hot reload across several isolates (Workers handlers sharing one config store)
// in front of a real origin.
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  createEdgeHandler,
  type EdgeBuild,
  type EdgeHandler,
} from '../../src/adapter/cloudflare-workers/handler.ts'
import { mergePatch } from '../../src/admin/config-api.ts'
import type { ConfigStore } from '../../src/contract/config-store.ts'
import { MemoryConfigStore } from '../../src/store/memory/config.ts'

const TOKEN = 'test-admin-token-0123456789abcdefghij'
let origin: Server
let originUrl = ''

beforeAll(async () => {
  origin = createServer((req, res) => {
    res.setHeader('content-type', 'text/plain')
    res.end(`origin ${req.url}`)
  })
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
})
afterAll(() => new Promise<void>((resolve) => origin.close(() => resolve())))

const deployed = () => ({
  routes: [{ id: 'api', match: { path: '/api/*' }, origin: originUrl, priority: 'normal' }],
  unmatched: 'reject',
})

const quiet = { error() {}, warn() {} }

/** One isolate: a Workers handler of its own, sharing the config store. */
function isolate(store: ConfigStore) {
  const handler: EdgeHandler = createEdgeHandler({ logger: quiet, configStore: store })
  const env = { RHEOSTAT_CONFIG: JSON.stringify(deployed()), RHEOSTAT_ADMIN_TOKEN: TOKEN }
  const pending: Promise<unknown>[] = []
  const ctx = {
    waitUntil: (p: Promise<unknown>) => void pending.push(p),
    passThroughOnException() {},
  }
  const request = async (path: string, init: RequestInit = {}) => {
    const res = await handler.fetch(new Request(`http://edge${path}`, init), env, ctx)
    await Promise.all(pending.splice(0))
    return res
  }
  const admin = (path: string, init: RequestInit & { json?: unknown } = {}) => {
    const headers = new Headers(init.headers)
    headers.set('authorization', `Bearer ${TOKEN}`)
    if (init.json !== undefined) headers.set('content-type', 'application/json')
    return request(`/__rheostat/api${path}`, {
      ...init,
      headers,
      body: init.json === undefined ? init.body : JSON.stringify(init.json),
    })
  }
  const build = () => handler.current() as Extract<EdgeBuild, { ok: true }>
  return { request, admin, build }
}

const withRoute = (id: string, path: string, extra: Record<string, unknown> = {}) => ({
  ...deployed(),
  routes: [...deployed().routes, { id, match: { path }, origin: originUrl, ...extra }],
})

describe('config API', () => {
  it('GET /api/config answers version 0 with the deployed config and an ETag', async () => {
    const a = isolate(new MemoryConfigStore())
    const res = await a.admin('/config')
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('"0"')
    expect(await res.json()).toEqual({
      version: 0,
      config: deployed(),
      updatedAt: null,
      running: 0,
    })
    expect((await a.request('/__rheostat/api/config')).status).toBe(401)
  })

  it('PUT /api/config stores version 1 and the isolate that took it runs it at once', async () => {
    const a = isolate(new MemoryConfigStore())
    expect((await a.request('/new/thing')).status).toBe(404)
    const res = await a.admin('/config', { method: 'PUT', json: withRoute('new', '/new/*') })
    expect(res.status).toBe(200)
    expect(res.headers.get('etag')).toBe('"1"')
    const body = await res.json()
    expect(body.version).toBe(1)
    expect(body.config).toEqual(withRoute('new', '/new/*'))
    const routed = await a.request('/new/thing')
    expect(routed.status).toBe(200)
    expect(await routed.text()).toBe('origin /new/thing')
    expect(a.build().sync.status().configVersion).toBe(1)
    expect(a.build().config.routes.map((r) => r.id)).toEqual(['api', 'new'])
  })

  it('PUT keeps the governor and the state of surviving routes', async () => {
    const a = isolate(new MemoryConfigStore())
    for (let i = 0; i < 5; i++) expect((await a.request('/api/x')).status).toBe(200)
    const governor = a.build().governor
    const before = governor.snapshot('api')!
    await a.admin('/config', { method: 'PUT', json: withRoute('new', '/new/*') })
    expect(a.build().governor).toBe(governor)
    const after = governor.snapshot('api')!
    expect(after.thresholds.learnedLatencyMs).toBe(before.thresholds.learnedLatencyMs)
    expect(after.modeTransitions).toBe(before.modeTransitions)
  })

  it('an invalid upload answers 422 naming each problem and leaves the live config alone', async () => {
    const store = new MemoryConfigStore()
    const a = isolate(store)
    const bad = [
      // Parses, but fails a cross-field rule: an unknown priority.
      [withRoute('x', '/x/*', { priority: 'urgent' }), ['routes.1.priority']],
      [{ routes: [{ id: 'y' }] }, ['routes.0.match', 'routes.0.origin']],
      [{ ...deployed(), maxRoutes: 0, unmatched: 'maybe' }, ['maxRoutes', 'unmatched']],
      // Valid, but cannot change live.
      [{ ...deployed(), sync: { store: 'upstash' } }, ['sync.store']],
      [{ ...deployed(), admin: { prefix: '/ops' } }, ['admin.prefix']],
    ] as const
    for (const [config, paths] of bad) {
      const res = await a.admin('/config', { method: 'PUT', json: config })
      expect(res.status).toBe(422)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      const problem = await res.json()
      expect(problem.problems.map((p: { path: string }) => p.path)).toEqual(paths)
      for (const p of problem.problems) expect(p.message).toMatch(/\w/)
    }
    expect(problemOf(
      await (await a.admin('/config', {
        method: 'PUT',
        json: withRoute('x', '/x/*', { priority: 'urgent' }),
      })).json(),
    )).toMatch(/Unknown priority "urgent"/)
    expect(await store.current()).toBeNull()
    expect(a.build().sync.status().configVersion).toBe(0)
    expect((await a.request('/x/1')).status).toBe(404)
    expect((await a.request('/api/1')).status).toBe(200)
  })

  it('PUT and PATCH honour If-Match and answer 409 on a conflicting update', async () => {
    const a = isolate(new MemoryConfigStore())
    const first = await a.admin('/config', {
      method: 'PUT',
      headers: { 'if-match': '"0"' },
      json: withRoute('one', '/one/*'),
    })
    expect(first.status).toBe(200)
    const stale = await a.admin('/config', {
      method: 'PUT',
      headers: { 'if-match': '"0"' },
      json: withRoute('two', '/two/*'),
    })
    expect(stale.status).toBe(409)
    const problem = await stale.json()
    expect(problem.currentVersion).toBe(1)
    expect(problem.detail).toMatch(/version 0.*version 1/)
    const patchStale = await a.admin('/config', {
      method: 'PATCH',
      headers: { 'if-match': '0' },
      json: { unmatched: 'pass' },
    })
    expect(patchStale.status).toBe(409)
    const ok = await a.admin('/config', {
      method: 'PUT',
      headers: { 'if-match': '1' },
      json: withRoute('two', '/two/*'),
    })
    expect(ok.status).toBe(200)
    expect((await ok.json()).version).toBe(2)
    const malformed = await a.admin('/config', {
      method: 'PUT',
      headers: { 'if-match': 'soon' },
      json: deployed(),
    })
    expect(malformed.status).toBe(400)
  })

  it('PATCH merges a partial config into the newest version (null deletes)', async () => {
    const a = isolate(new MemoryConfigStore())
    const res = await a.admin('/config', {
      method: 'PATCH',
      json: { unmatched: null, sync: { intervalMs: 500 } },
    })
    expect(res.status).toBe(200)
    const body = await res.json()
    expect(body.version).toBe(1)
    expect(body.config).toEqual({ routes: deployed().routes, sync: { intervalMs: 500 } })
    expect(a.build().config.unmatched).toBe('pass')
    expect(a.build().config.sync.intervalMs).toBe(500)
    const invalid = await a.admin('/config', { method: 'PATCH', json: { priorities: [] } })
    expect(invalid.status).toBe(422)
    expect((await invalid.json()).problems[0].path).toBe('priorities')
    const notObject = await a.admin('/config', { method: 'PATCH', json: [1] })
    expect(notObject.status).toBe(422)
  })

  it('history lists the newest versions and rollback uploads an old config as a new version', async () => {
    const a = isolate(new MemoryConfigStore())
    await a.admin('/config', { method: 'PUT', json: withRoute('one', '/one/*') })
    await a.admin('/config', { method: 'PUT', json: withRoute('two', '/two/*') })
    const history = await (await a.admin('/config/history?limit=5')).json()
    expect(history.versions.map((v: { version: number }) => v.version)).toEqual([2, 1, 0])
    expect(history.running).toBe(2)
    expect((await (await a.admin('/config/history?limit=1')).json()).versions).toHaveLength(1)
    expect((await a.admin('/config/history?limit=zero')).status).toBe(400)

    const back = await a.admin('/config/rollback', { method: 'POST', json: { version: 1 } })
    expect(back.status).toBe(200)
    const rolled = await back.json()
    expect(rolled.version).toBe(3)
    expect(rolled.config).toEqual(withRoute('one', '/one/*'))
    expect((await a.request('/one/x')).status).toBe(200)
    expect((await a.request('/two/x')).status).toBe(404)

    const zero = await a.admin('/config/rollback', { method: 'POST', json: { version: 0 } })
    expect((await zero.json()).version).toBe(4)
    expect((await a.request('/one/x')).status).toBe(404)
    const missing = await a.admin('/config/rollback', { method: 'POST', json: { version: 99 } })
    expect(missing.status).toBe(404)
    const junk = await a.admin('/config/rollback', { method: 'POST', json: { version: 'one' } })
    expect(junk.status).toBe(422)
    expect((await junk.json()).problems[0].path).toBe('version')
  })

  it('bodies are size-limited and must be JSON', async () => {
    const a = isolate(new MemoryConfigStore())
    const huge = { ...deployed(), pad: 'x'.repeat(70_000) }
    expect((await a.admin('/config', { method: 'PUT', json: huge })).status).toBe(413)
    const text = await a.admin('/config', { method: 'PUT', body: '{}' })
    expect(text.status).toBe(415)
  })
})

describe('config propagation across isolates', () => {
  it('every isolate runs an upload after its next exchange, and the store lists their versions', async () => {
    const store = new MemoryConfigStore()
    const isolates = [isolate(store), isolate(store), isolate(store)]
    for (const i of isolates) expect((await i.request('/new/1')).status).toBe(404)
    const put = await isolates[0]!.admin('/config', {
      method: 'PUT',
      json: withRoute('new', '/new/*'),
    })
    expect(put.status).toBe(200)
    // Until their next exchange the others run version 0 …
    expect(isolates[1]!.build().live.version()).toBe(0)
    for (const i of isolates.slice(1)) {
      await i.build().sync.syncNow()
      // … and one exchange (one sync interval) brings them to version 1.
      expect(i.build().sync.status().configVersion).toBe(1)
      expect((await i.request('/new/1')).status).toBe(200)
    }
    await isolates[0]!.build().sync.syncNow()
    const listed = await store.isolates(Date.now())
    expect(listed).toHaveLength(3)
    expect(listed.every((i) => i.configVersion === 1)).toBe(true)
    expect(listed.map((i) => i.isolateId).sort()).toEqual(
      isolates.map((i) => i.build().sync.status().isolateId).sort(),
    )
  })

  it('a config store that fails keeps the running config and never fails a request', async () => {
    const store = new MemoryConfigStore()
    const a = isolate(store)
    await a.admin('/config', { method: 'PUT', json: withRoute('new', '/new/*') })
    const broken = isolate(store)
    expect((await broken.request('/api/1')).status).toBe(200)
    const failing = broken.build().live.store as MemoryConfigStore
    failing.heartbeat = () => Promise.reject(new Error('store down'))
    failing.current = () => Promise.reject(new Error('store down'))
    await a.admin('/config', { method: 'PUT', json: withRoute('newer', '/newer/*') })
    await broken.build().sync.syncNow()
    expect(broken.build().sync.status().configError).toMatch(/store down/)
    expect((await broken.request('/api/2')).status).toBe(200)
    const get = await broken.admin('/config')
    expect(get.status).toBe(200)
    expect((await get.json()).version).toBe(broken.build().live.version())
  })
})

describe('mergePatch()', () => {
  it('mergePatch() follows RFC 7396: objects merge, null deletes, arrays replace', () => {
    expect(mergePatch({ a: 1, b: { c: 2, d: [1, 2] } }, { b: { c: null, d: [3] }, e: { f: 1 } }))
      .toEqual({ a: 1, b: { d: [3] }, e: { f: 1 } })
    expect(mergePatch({ a: 1 }, 'x')).toBe('x')
  })
})

function problemOf(body: { problems: { message: string }[] }): string {
  return body.problems.map((p) => p.message).join('\n')
}
