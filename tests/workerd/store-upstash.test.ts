// The Upstash stores inside workerd, over @upstash/redis's fetch-only build, against a real
// redis-server behind the Upstash REST front (tests/support/global-setup-redis.ts): the two
// contract suites, and the Worker entry sharing state and an upload through Upstash. The
// protocol details (one EVALSHA per call, EVAL fallback, aborts, sync tokens) are tested in Node
// (tests/unit/store-upstash.test.ts); here what matters is that workerd's fetch carries them.
import { describe, expect, inject, it, vi } from 'vitest'
import { createEdgeHandler } from '../../src/adapter/cloudflare-workers/handler.ts'
import { upstashConfigStore, upstashStore } from '../../src/store/upstash/index.ts'
import { configStoreContract } from '../support/config-store-contract.ts'
// Type-only: brings in the `inject('upstash')` declaration; the setup itself runs in Node.
import type { UpstashTestTarget } from '../support/upstash-target.ts'
import { delta, storeContract } from '../support/store-contract.ts'

const target: UpstashTestTarget = inject('upstash')
const T0 = 1_700_000_000_000

storeContract(
  'upstash in workerd',
  () => upstashStore({ url: target.url, token: target.token, prefix: crypto.randomUUID() }),
)

configStoreContract(
  'upstash in workerd',
  () => upstashConfigStore({ url: target.url, token: target.token, prefix: crypto.randomUUID() }),
)

describe('the Worker entry with sync.store "upstash"', () => {
  it('shares state through Upstash and hands an upload to another isolate', async () => {
    vi.spyOn(console, 'warn').mockImplementation(() => {})
    const prefix = crypto.randomUUID()
    const deployed = {
      sync: { store: 'upstash' },
      routes: [{ id: 'api', match: { path: '/api/*' }, origin: 'http://127.0.0.1:9' }],
      unmatched: 'reject',
    }
    const token = 'tok-0123456789abcdefghijklmnopqrstuv'
    const env = {
      RHEOSTAT_CONFIG: JSON.stringify(deployed),
      UPSTASH_REDIS_REST_URL: target.url,
      UPSTASH_REDIS_REST_TOKEN: target.token,
      RHEOSTAT_ADMIN_TOKEN: token,
    }
    const pending: Promise<unknown>[] = []
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void pending.push(p),
      passThroughOnException() {},
    }
    const isolates = [1, 2].map(() =>
      createEdgeHandler({
        logger: { error() {}, warn() {} },
        configStore: upstashConfigStore({ url: target.url, token: target.token, prefix }),
      })
    )
    for (const h of isolates) await h.fetch(new Request('http://edge/nothing'), env, ctx)
    await Promise.all(pending)
    const [a, b] = isolates.map((h) => {
      const build = h.current()
      if (build === undefined || !build.ok) throw new Error('Cannot build the edge')
      return build
    })
    expect(a!.store.kind).toBe('upstash')

    // What one isolate tells the store, the other reads back.
    const route = `r-${crypto.randomUUID()}`
    await a!.store.exchange('iso-a', [delta(route, 4, 20)], T0)
    expect((await b!.store.snapshot(route, T0 + 1)).totals.requests).toBe(4)

    const next = { ...deployed, unmatched: 'pass' }
    const put = await isolates[0]!.fetch(
      new Request('http://edge/__rheostat/api/config', {
        method: 'PUT',
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
        body: JSON.stringify(next),
      }),
      env,
      ctx,
    )
    expect(put.status).toBe(200)
    await b!.sync.syncNow()
    expect(b!.sync.status()).toMatchObject({ configVersion: 1, degraded: false, lastError: null })
    expect(b!.config.unmatched).toBe('pass')
  })
})
