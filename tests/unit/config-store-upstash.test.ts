// The Upstash ConfigStore against a real redis-server behind the Upstash REST front: the contract
// suite, the pinned script hashes, and the EVAL fallback.
import { createHash } from 'node:crypto'
import { Redis } from '@upstash/redis'
import { describe, expect, inject, it } from 'vitest'
import {
  CONFIG_SCRIPTS,
  UpstashConfigStore,
  upstashConfigStore,
} from '../../src/store/upstash/index.ts'
import { configStoreContract, sample } from '../support/config-store-contract.ts'

const target = inject('upstash')

configStoreContract(
  'upstash',
  () => upstashConfigStore({ url: target.url, token: target.token, prefix: crypto.randomUUID() }),
)

// The client the docs advertise, which parses JSON replies itself (automaticDeserialization):
// history items and registry records arrive as objects, not text (review L3).
configStoreContract(
  'upstash through @upstash/redis',
  () =>
    new UpstashConfigStore({
      redis: new Redis({
        url: target.url,
        token: target.token,
        retry: false,
        enableTelemetry: false,
      }),
      prefix: crypto.randomUUID(),
    }),
)

describe('UpstashConfigStore scripts', () => {
  const client = () =>
    new Redis({ url: target.url, token: target.token, retry: false, enableTelemetry: false })

  it.each(Object.entries(CONFIG_SCRIPTS))(
    'CONFIG_SCRIPTS.%s.hash is the SHA1 Redis gives it',
    async (_, s) => {
      expect(createHash('sha1').update(s.script).digest('hex')).toBe(s.hash)
      expect(await client().scriptLoad(s.script)).toBe(s.hash)
    },
  )

  it('put() falls back to EVAL when Redis lacks the script', async () => {
    await client().scriptFlush()
    const store = upstashConfigStore({
      url: target.url,
      token: target.token,
      prefix: crypto.randomUUID(),
    })
    const put = await store.put(sample(1), 1000, 0)
    expect(put.ok && put.record.version).toBe(1)
    expect((await store.current())?.config).toEqual(sample(1))
  })
})

describe('config uploads through Upstash', () => {
  // Each isolate has a client of its own, as Worker isolates do: either the one
  // upstashConfigStore() builds, or a default @upstash/redis client (auto-pipelining, parsed
  // replies, retries), which the docs offer.
  const clients = {
    'upstashConfigStore()': (prefix: string) =>
      upstashConfigStore({ url: target.url, token: target.token, prefix }),
    'a default @upstash/redis client': (prefix: string) =>
      new UpstashConfigStore({
        redis: new Redis({ url: target.url, token: target.token }),
        prefix,
      }),
  }
  it.each(Object.entries(clients))(
    'a PUT to one Worker isolate reaches the others within one exchange, over %s',
    async (_, makeStore) => {
      const { createEdgeHandler } = await import('../../src/adapter/cloudflare-workers/handler.ts')
      const prefix = crypto.randomUUID()
      const store = makeStore(prefix)
      const deployed = {
        sync: { store: 'upstash' },
        routes: [{ id: 'api', match: { path: '/api/*' }, origin: 'http://127.0.0.1:9' }],
        unmatched: 'reject',
      }
      const env = {
        RHEOSTAT_CONFIG: JSON.stringify(deployed),
        UPSTASH_REDIS_REST_URL: target.url,
        UPSTASH_REDIS_REST_TOKEN: target.token,
        RHEOSTAT_ADMIN_TOKEN: 'tok-0123456789abcdefghijklmnopqrstuv',
      }
      const pending: Promise<unknown>[] = []
      const ctx = {
        waitUntil: (p: Promise<unknown>) => void pending.push(p),
        passThroughOnException() {},
      }
      const quiet = { error() {}, warn() {} }
      const handlers = [1, 2, 3].map(() =>
        createEdgeHandler({ logger: quiet, configStore: makeStore(prefix) })
      )
      for (const h of handlers) await h.fetch(new Request('http://edge/nothing'), env, ctx)
      await Promise.all(pending)
      const builds = handlers.map((h) => {
        const b = h.current()
        if (b === undefined || !b.ok) throw new Error('built')
        return b
      })
      const next = { ...deployed, unmatched: 'pass', sync: { store: 'upstash', intervalMs: 400 } }
      const put = await handlers[0]!.fetch(
        new Request('http://edge/__rheostat/api/config', {
          method: 'PUT',
          headers: {
            authorization: 'Bearer tok-0123456789abcdefghijklmnopqrstuv',
            'content-type': 'application/json',
          },
          body: JSON.stringify(next),
        }),
        env,
        ctx,
      )
      expect(put.status).toBe(200)
      expect(builds[0]!.config.unmatched).toBe('pass')
      expect(builds[1]!.config.unmatched).toBe('reject')
      for (const b of builds) {
        await b.sync.syncNow()
        expect(b.sync.status().configVersion).toBe(1)
        expect(b.config.sync.intervalMs).toBe(400)
      }
      const listed = await store.isolates(Date.now())
      expect(listed.map((i) => i.configVersion)).toEqual([1, 1, 1])
    },
  )

  it('the Workers handler keeps uploads in Upstash when sync.store is "upstash"', async () => {
    const { createEdgeHandler } = await import('../../src/adapter/cloudflare-workers/handler.ts')
    const handler = createEdgeHandler({ logger: { error() {}, warn() {} } })
    await handler.fetch(
      new Request('http://edge/x'),
      {
        RHEOSTAT_CONFIG: JSON.stringify({ sync: { store: 'upstash' } }),
        UPSTASH_REDIS_REST_URL: target.url,
        UPSTASH_REDIS_REST_TOKEN: target.token,
      },
      { waitUntil() {}, passThroughOnException() {} },
    )
    const build = handler.current()
    expect(build?.ok && build.configStore.kind).toBe('upstash')
  })
})
