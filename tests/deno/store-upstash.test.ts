// The Upstash store under Deno, against a real redis-server behind the REST front: only what
// differs on this runtime (Deno's fetch under @upstash/redis: read-your-writes tokens, a request
// cancelled by its signal; the support code on Deno's Node compatibility); the contract suite runs
// in vitest (tests/unit/store-upstash.test.ts).
import assert from 'node:assert/strict'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
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

    await t.step('each request carries the sync token of the answer before', async () => {
      const first = front.requests.length
      await store.snapshot('r', T0 + 2000)
      await store.snapshot('r', T0 + 2001)
      const [a, b] = front.requests.slice(first)
      assert.match(b?.syncToken ?? '', /^[1-9][0-9]*$/)
      assert.notEqual(a?.syncToken, b?.syncToken)
    })
  } finally {
    await front.close()
    await redis.stop()
  }
})

Deno.test('upstashStore() cancels its request when the signal aborts', async () => {
  let arrived = 0
  let cancelled = 0
  const silent = createServer((req) => {
    arrived++
    req.socket.once('close', () => cancelled++)
  })
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve))
  try {
    const { port } = silent.address() as AddressInfo
    const store = upstashStore({ url: `http://127.0.0.1:${port}`, token: 't' })
    const abort = new AbortController()
    const exchange = store.exchange('iso', [delta('r', 1, 10, 0)], T0, abort.signal)
    while (arrived === 0) await new Promise((r) => setTimeout(r, 10))
    abort.abort()
    await assert.rejects(exchange, /Upstash EVALSHA failed/)
    while (cancelled === 0) await new Promise((r) => setTimeout(r, 10))
    assert.equal(cancelled, arrived)
  } finally {
    silent.closeAllConnections()
    await new Promise((resolve) => silent.close(resolve))
  }
})
