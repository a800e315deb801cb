// The Upstash store under Deno, against a real redis-server behind the REST front: only what
// differs on this runtime (Deno's fetch under @upstash/redis, the support code on Deno's Node
// compatibility); the contract suite runs in vitest (tests/unit/store-upstash.test.ts).
import assert from 'node:assert/strict'
import { upstashStore } from '../../src/store/upstash/index.ts'
import {
  HISTOGRAM_BUCKETS,
  type RouteDelta,
  zeroCounts,
} from '../../src/contract/telemetry-store.ts'
import { startRedisServer } from '../support/redis-server.ts'
import { startUpstashFront } from '../support/upstash-front.ts'

const T0 = 1_700_000_000_000

function delta(route: string, n: number, latencyMs: number, inflight: number): RouteDelta {
  const histogram = new Array<number>(HISTOGRAM_BUCKETS).fill(0)
  histogram[3] = n
  return {
    route,
    counts: {
      ...zeroCounts(),
      requests: n,
      admitted: n,
      ok: n,
      latencySumMs: n * latencyMs,
      latencyCount: n,
    },
    histogram,
    inflight,
  }
}

Deno.test('upstashStore() exchanges and leases through the REST front', async (t) => {
  const redis = await startRedisServer()
  const token = crypto.randomUUID()
  const front = await startUpstashFront({ redisUrl: redis.url, token })
  try {
    const store = upstashStore({ url: front.url, token, prefix: crypto.randomUUID() })

    await t.step('exchange() sums isolates into one view per route', async () => {
      await store.exchange('iso-a', [delta('r', 4, 10, 2)], T0)
      const res = await store.exchange(
        'iso-b',
        [delta('r', 1, 0.1, 1), delta('s', 2, 5, 0)],
        T0 + 5,
      )
      assert.deepEqual(res.routes.map((v) => v.route), ['r', 's'])
      const [r] = res.routes
      assert.equal(r?.totals.requests, 5)
      assert.equal(r?.totals.latencySumMs, 40 + 0.1)
      assert.equal(r?.window.latencyCount, 5)
      assert.equal(r?.histogram[3], 5)
      assert.equal(r?.inflight, 3)
      assert.equal(r?.isolates, 2)
    })

    await t.step('leases: acquire up to maxActive, heartbeat, release', async () => {
      assert.deepEqual(await store.acquireLease('r', 'l1', 1000, 1, T0), {
        granted: true,
        active: 1,
        expiresAt: T0 + 1000,
      })
      assert.deepEqual(await store.acquireLease('r', 'l2', 1000, 1, T0), {
        granted: false,
        active: 1,
        expiresAt: 0,
      })
      assert.equal(await store.heartbeatLease('r', 'l1', 1000, T0 + 900), true)
      assert.equal(await store.releaseLease('r', 'l1', T0 + 1500), true)
      assert.equal((await store.snapshot('r', T0 + 1500)).leases, 0)
    })
  } finally {
    await front.close()
    await redis.stop()
  }
})
