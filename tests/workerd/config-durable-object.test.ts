// The Durable Object ConfigStore inside workerd: the shared contract suite, then uploads through
// the Worker's handler reaching several isolates (handlers) over the real ConfigDO.
import { env } from 'cloudflare:workers'
import { createExecutionContext, runInDurableObject, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, inject, it } from 'vitest'
import {
  createEdgeHandler,
  type EdgeBuild,
  type WorkerEnv,
} from '../../src/adapter/cloudflare-workers/handler.ts'
import { type ConfigDO, DurableObjectConfigStore } from '../../src/store/durable-object/index.ts'
import { configStoreContract } from '../support/config-store-contract.ts'

configStoreContract(
  'durable-object',
  () => new DurableObjectConfigStore(env.CONFIG_STORE, crypto.randomUUID()),
)

const origins = inject('demoOrigins')
const TOKEN = 'workerd-admin-token-0123456789abcdefg'
const quiet = { error() {}, warn() {} }

function deployment(tag: string) {
  const route = (id: string, path: string) => ({
    id: `${id}-${tag}`,
    match: { path },
    origin: origins.config,
  })
  const deployed = {
    sync: { store: 'durable-object', intervalMs: 50 },
    routes: [route('api', '/api/*')],
    unmatched: 'reject',
  }
  const workerEnv: WorkerEnv = {
    RHEOSTAT_CONFIG: JSON.stringify(deployed),
    ROUTE_STATE: env.ROUTE_STATE,
    CONFIG_STORE: env.CONFIG_STORE,
    RHEOSTAT_ADMIN_TOKEN: TOKEN,
  }
  return { deployed, workerEnv, route }
}

function isolate(workerEnv: WorkerEnv, store?: DurableObjectConfigStore) {
  const handler = createEdgeHandler({ logger: quiet, configStore: store })
  const call = async (path: string, init: RequestInit = {}) => {
    const ctx = createExecutionContext()
    const res = await handler.fetch(new Request(`https://edge.test${path}`, init), workerEnv, ctx)
    const body = await res.text()
    await waitOnExecutionContext(ctx)
    return new Response(body, { status: res.status, headers: res.headers })
  }
  const build = () => handler.current() as Extract<EdgeBuild, { ok: true }>
  return { call, build }
}

describe('config uploads on Workers', () => {
  it('a PUT to one isolate reaches every isolate through ConfigDO within one exchange', async () => {
    const tag = crypto.randomUUID().slice(0, 8)
    const { deployed, workerEnv, route } = deployment(tag)
    const store = new DurableObjectConfigStore(env.CONFIG_STORE, `config-${tag}`)
    const isolates = [
      isolate(workerEnv, store),
      isolate(workerEnv, store),
      isolate(workerEnv, store),
    ]
    for (const i of isolates) expect((await i.call('/new/1')).status).toBe(404)

    const next = { ...deployed, routes: [...deployed.routes, route('new', '/new/*')] }
    const put = await isolates[0]!.call('/__rheostat/api/config', {
      method: 'PUT',
      headers: {
        authorization: `Bearer ${TOKEN}`,
        'content-type': 'application/json',
        'if-match': '"0"',
      },
      body: JSON.stringify(next),
    })
    expect(put.status).toBe(200)
    expect((await isolates[0]!.call('/new/1')).status).toBe(200)
    expect(isolates[1]!.build().live.version()).toBe(0)
    for (const i of isolates) {
      await i.build().sync.syncNow()
      expect(i.build().sync.status().configVersion).toBe(1)
      expect((await i.call('/new/1')).status).toBe(200)
    }
    const listed = await store.isolates(Date.now())
    expect(listed.map((i) => i.configVersion)).toEqual([1, 1, 1])
    // The versions are in the object's SQLite storage, not on a heap that eviction would lose.
    const stub = env.CONFIG_STORE.get(env.CONFIG_STORE.idFromName(`config-${tag}`))
    const rows = await runInDurableObject(
      stub,
      (_instance: ConfigDO, state) =>
        state.storage.sql.exec<{ n: number }>('SELECT COUNT(*) AS n FROM versions').one().n,
    )
    expect(rows).toBe(1)
  })

  it('the handler takes the CONFIG_STORE binding by itself and stats list the isolates', async () => {
    const tag = crypto.randomUUID().slice(0, 8)
    const { workerEnv } = deployment(tag)
    const a = isolate(workerEnv)
    const b = isolate(workerEnv)
    expect((await a.call('/api/x')).status).toBe(200)
    expect((await b.call('/api/x')).status).toBe(200)
    // An isolate joins the registry with its heartbeat (docs/sync.md): one request is not worth
    // an exchange, so the heartbeat is forced here.
    await a.build().sync.syncNow()
    await b.build().sync.syncNow()
    expect(a.build().configStore.kind).toBe('durable-object')
    const stats = await a.call('/__rheostat/api/stats', {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    expect(stats.status).toBe(200)
    const body = await stats.json() as { configVersion: number; isolates: { isolateId: string }[] }
    const ids = body.isolates.map((i) => i.isolateId)
    expect(ids).toContain(a.build().sync.status().isolateId)
    expect(ids).toContain(b.build().sync.status().isolateId)
  })
})
