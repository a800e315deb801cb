// The Upstash store against a real redis-server behind the Upstash REST front
// (tests/support/global-setup-redis.ts): the contract suite, operation-by-operation agreement
// with the memory store, the pinned script hashes, the EVAL fallback, one request per exchange,
// and the front's own protocol.
import { createHash } from 'node:crypto'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { Redis } from '@upstash/redis'
import fc from 'fast-check'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { MemoryStore } from '../../src/store/memory/store.ts'
import {
  HISTOGRAM_BUCKETS,
  type RouteDelta,
  type TelemetryStore,
} from '../../src/contract/telemetry-store.ts'
import {
  SCRIPTS,
  upstashClient,
  UpstashStore,
  upstashStore,
} from '../../src/store/upstash/index.ts'
import { upstashConfigStore } from '../../src/store/upstash/config.ts'
import { delta, storeContract } from '../support/store-contract.ts'
import { startUpstashFront, type UpstashFront } from '../support/upstash-front.ts'

const target = inject('upstash')
const T0 = 1_700_000_000_000

storeContract(
  'upstash',
  () => upstashStore({ url: target.url, token: target.token, prefix: crypto.randomUUID() }),
)

/** A client straight from @upstash/redis with its defaults (auto-pipelining, deserialisation). */
function defaultClient(url = target.url, token = target.token): Redis {
  return new Redis({ url, token, retry: false, enableTelemetry: false })
}

describe('UpstashStore scripts', () => {
  it.each(Object.entries(SCRIPTS))('SCRIPTS.%s.hash is the SHA1 Redis gives it', async (_, s) => {
    expect(createHash('sha1').update(s.script).digest('hex')).toBe(s.hash)
    expect(await defaultClient().scriptLoad(s.script)).toBe(s.hash)
  })
})

describe('UpstashStore over the front', () => {
  let front: UpstashFront
  beforeAll(async () => {
    // A front of this file's own, so the requests it counts are this file's alone.
    front = await startUpstashFront({ redisUrl: target.redisUrl, token: target.token })
  })
  afterAll(() => front.close())

  const store = () =>
    upstashStore({ url: front.url, token: front.token, prefix: crypto.randomUUID() })
  const since = (n: number) => front.requests.slice(n).map((r) => [r.path, r.commands])

  it('exchange() of many routes is one request carrying one EVALSHA', async () => {
    const s = store()
    await s.exchange('iso', [delta('warm-up', 1, 10)], T0) // Redis may lack the script yet.
    const before = front.requests.length
    const routes = ['a', 'b', 'c', 'd'].map((r) => delta(r, 3, 25, 1, 2))
    const res = await s.exchange('iso', routes, T0 + 10)
    expect(res.routes.map((v) => v.totals.requests)).toEqual([3, 3, 3, 3])
    expect(since(before)).toEqual([['/', ['EVALSHA']]])
  })

  it("exchange() answers the config store's version in the same request (docs/sync.md)", async () => {
    const prefix = crypto.randomUUID()
    const s = upstashStore({ url: front.url, token: front.token, prefix })
    const config = upstashConfigStore({ url: front.url, token: front.token, prefix })
    expect(s.carriesConfigVersion).toBe(true)
    expect((await s.exchange('iso', [delta('r', 1, 10)], T0)).configVersion).toBe(0)
    await config.put({ unmatched: 'pass' }, T0)
    await config.put({ unmatched: 'reject' }, T0 + 1)
    const before = front.requests.length
    const res = await s.exchange('iso', [delta('r', 1, 10)], T0 + 2)
    expect(res.configVersion).toBe(2)
    expect(res.routes.map((v) => v.totals.requests)).toEqual([2])
    expect(since(before)).toEqual([['/', ['EVALSHA']]])
  })

  it('acquireLease(), heartbeatLease(), releaseLease() and snapshot() are one request each', async () => {
    const s = store()
    await s.acquireLease('r', 'warm-up', 1000, 1, T0)
    await s.heartbeatLease('r', 'warm-up', 1000, T0)
    await s.releaseLease('r', 'warm-up', T0)
    await s.snapshot('r', T0)
    const before = front.requests.length
    await s.acquireLease('r', 'l1', 1000, 1, T0)
    await s.heartbeatLease('r', 'l1', 1000, T0 + 1)
    await s.releaseLease('r', 'l1', T0 + 2)
    await s.snapshot('r', T0 + 3)
    expect(since(before)).toEqual(new Array(4).fill(['/', ['EVALSHA']]))
  })

  it('after SCRIPT FLUSH the store falls back to EVAL once, then EVALSHA again', async () => {
    const s = store()
    await s.exchange('iso', [delta('r', 2, 10)], T0)
    expect(await defaultClient().scriptFlush()).toBe('OK')
    const before = front.requests.length
    const after = await s.exchange('iso', [delta('r', 3, 10)], T0 + 1)
    expect(after.routes[0]!.totals.requests).toBe(5)
    await s.exchange('iso', [delta('r', 1, 10)], T0 + 2)
    expect(since(before)).toEqual([
      ['/', ['EVALSHA']],
      ['/', ['EVAL']],
      ['/', ['EVALSHA']],
    ])
  })

  it('UpstashStore works over a client with the default settings', async () => {
    // automaticDeserialization turns "12" into 12 but leaves "0.10000000000000001" a string.
    const s = new UpstashStore({ redis: defaultClient(front.url), prefix: crypto.randomUUID() })
    const d = delta('r', 3, 0.1)
    const res = await s.exchange('iso', [d, d], T0)
    expect(res.routes[1]!.totals.latencySumMs).toBe(0.1 * 3 + 0.1 * 3)
    expect(res.routes[1]!.window.latencyCount).toBe(6)
    expect(await s.acquireLease('r', 'l', 500, 1, T0)).toEqual({
      granted: true,
      active: 1,
      expiresAt: T0 + 500,
    })
  })

  it('exchange() with no usable delta answers without a request', async () => {
    const before = front.requests.length
    const res = await store().exchange('iso', [{ route: '' } as unknown as RouteDelta], T0)
    expect(res).toEqual({ routes: [], configVersion: 0 })
    expect(front.requests.length).toBe(before)
  })

  it('huge counts are capped at 2^53 per delta, so totals stay finite', async () => {
    const s = store()
    const huge = delta('r', 1, 10)
    huge.counts.latencySumMs = 1e308
    await s.exchange('iso', [huge], T0)
    const v = (await s.exchange('iso', [huge], T0)).routes[0]!
    expect(v.totals.latencySumMs).toBe(2 * 2 ** 53)
    expect(Number.isFinite(v.window.latencySumMs)).toBe(true)
  })

  it('non-finite times and lease numbers are refused before reaching Redis', async () => {
    const s = store()
    await expect(s.exchange('iso', [delta('r', 1, 1)], NaN)).rejects.toBeInstanceOf(RangeError)
    await expect(s.acquireLease('r', 'l', Infinity, 1, T0)).rejects.toBeInstanceOf(RangeError)
    await expect(s.acquireLease('r', 'l', 1, NaN, T0)).rejects.toBeInstanceOf(RangeError)
    await expect(s.heartbeatLease('r', 'l', 1, NaN)).rejects.toBeInstanceOf(RangeError)
    await expect(s.releaseLease('r', 'l', -Infinity)).rejects.toBeInstanceOf(RangeError)
    await expect(s.snapshot('x'.repeat(513), T0)).rejects.toBeInstanceOf(RangeError)
    await expect(s.releaseLease('r', 'x'.repeat(513), T0)).rejects.toBeInstanceOf(RangeError)
    expect(() => new UpstashStore({ redis: defaultClient(), idleTtlS: 0.5 })).toThrow(RangeError)
  })

  it('exchange() from 40 isolates at once counts every delta', async () => {
    const s = store()
    await Promise.all(
      Array.from({ length: 40 }, (_, i) => s.exchange(`iso-${i}`, [delta('r', 2, 10, 0, 1)], T0)),
    )
    const v = await s.snapshot('r', T0 + 1)
    expect([v.totals.requests, v.window.requests, v.inflight, v.isolates]).toEqual([80, 80, 40, 40])
  })

  it('a Redis error reaches the caller as a rejection', async () => {
    const s = upstashStore({ url: front.url, token: 'wrong', prefix: crypto.randomUUID() })
    await expect(s.snapshot('r', T0)).rejects.toThrow(/Unauthorized/)
  })

  it('upstashClient() failures name the reason, never the token nor the command', async () => {
    const secret = 'not-the-token-' + crypto.randomUUID()
    const s = upstashStore({ url: front.url, token: secret, prefix: crypto.randomUUID() })
    const error = await s.exchange('iso', [delta('r', 1, 10)], T0).catch((e: Error) => e)
    expect(String(error)).toMatch(/^Error: Upstash EVALSHA failed: Unauthorized$/)
    expect(String(error)).not.toContain(secret)

    // @upstash/redis appends the command to its errors: a config upload would end up in logs.
    const config = upstashConfigStore({ url: front.url, token: front.token })
    front.setFault({ kind: 'error', status: 500, message: 'ERR injected' })
    try {
      const failed = await config.put({ secretOrigin: 'http://10.0.0.1' }, T0).catch((e) => e)
      expect(String(failed)).toBe('Error: Upstash EVALSHA failed: ERR injected')
    } finally {
      front.setFault(null)
    }
    expect(() => upstashClient({ url: 'ftp://db', token: 't' })).toThrow(/protocol "ftp:"/)
    expect(() => upstashClient({ url: 'db', token: 't' })).toThrow(TypeError)
  })

  it('an answer that is not JSON is a failure, not a reply', async () => {
    const html = createServer((_req, res) => res.writeHead(502).end('<html>bad gateway</html>'))
    await new Promise<void>((r) => html.listen(0, '127.0.0.1', r))
    try {
      const url = `http://127.0.0.1:${(html.address() as AddressInfo).port}`
      const s = upstashStore({ url, token: 't', prefix: crypto.randomUUID() })
      await expect(s.snapshot('r', T0)).rejects.toThrow(
        /^Upstash EVALSHA failed: Unable to parse response body: <html>/,
      )
    } finally {
      html.closeAllConnections()
      html.close()
    }
  })

  it('read-your-writes: each request carries the sync token of the answer before', async () => {
    const s = store()
    const first = front.requests.length
    await s.exchange('iso', [delta('r', 1, 10)], T0)
    await s.snapshot('r', T0 + 1)
    await s.acquireLease('r', 'l', 1000, 1, T0 + 2)
    const sent = front.requests.slice(first)
    expect(sent.length).toBeGreaterThanOrEqual(3)
    expect(sent[0]!.syncToken).toBe('')
    for (const r of sent.slice(1)) expect(r.syncToken).toMatch(/^[1-9][0-9]*$/)
    // Each token is the one the answer before gave: strictly growing, as the front counts.
    const tokens = sent.slice(1).map((r) => Number(r.syncToken))
    expect(tokens).toEqual([...tokens].sort((a, b) => a - b))
    expect(new Set(tokens).size).toBe(tokens.length)
  })
})

describe('UpstashStore agrees with MemoryStore', () => {
  type Op =
    | { op: 'exchange'; isolate: string; deltas: RouteDelta[] }
    | { op: 'acquire'; route: string; lease: string; ttlMs: number; maxActive: number }
    | { op: 'heartbeat'; route: string; lease: string; ttlMs: number }
    | { op: 'release'; route: string; lease: string }
    | { op: 'snapshot'; route: string }

  const route = fc.constantFrom('r1', 'r2', 'r3')
  const lease = fc.constantFrom('l1', 'l2', 'l3')
  const count = fc.oneof(
    fc.nat({ max: 50 }),
    fc.double({ min: 0, max: 1e6, noNaN: true }),
    fc.constantFrom(NaN, -1, Infinity, -0, 5e-324),
  )
  const deltaArb: fc.Arbitrary<RouteDelta> = fc.record({
    route,
    counts: fc.record({
      requests: count,
      admitted: count,
      shed: count,
      ok: count,
      errors: count,
      latencySumMs: count,
      latencyCount: count,
    }),
    histogram: fc.array(count, { minLength: 0, maxLength: HISTOGRAM_BUCKETS + 1 }),
    inflight: count,
  })
  const opArb: fc.Arbitrary<Op> = fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        op: fc.constant('exchange' as const),
        isolate: fc.constantFrom('a', 'b', 'c'),
        deltas: fc.array(deltaArb, { maxLength: 3 }),
      }),
    },
    fc.record({
      op: fc.constant('acquire' as const),
      route,
      lease,
      ttlMs: fc.integer({ min: 0, max: 20_000 }),
      maxActive: fc.integer({ min: 0, max: 3 }),
    }),
    fc.record({
      op: fc.constant('heartbeat' as const),
      route,
      lease,
      ttlMs: fc.integer({ min: 0, max: 20_000 }),
    }),
    fc.record({ op: fc.constant('release' as const), route, lease }),
    fc.record({ op: fc.constant('snapshot' as const), route }),
  )
  // Mostly forward, sometimes past a window or a TTL, sometimes back (clock skew).
  const stepMs = fc.oneof(
    fc.integer({ min: 0, max: 1500 }),
    fc.integer({ min: 5_000, max: 40_000 }),
    fc.integer({ min: -3_000, max: 0 }),
  )

  function apply(store: TelemetryStore, op: Op, nowMs: number): Promise<unknown> {
    switch (op.op) {
      case 'exchange':
        return store.exchange(op.isolate, structuredClone(op.deltas), nowMs)
      case 'acquire':
        return store.acquireLease(op.route, op.lease, op.ttlMs, op.maxActive, nowMs)
      case 'heartbeat':
        return store.heartbeatLease(op.route, op.lease, op.ttlMs, nowMs)
      case 'release':
        return store.releaseLease(op.route, op.lease, nowMs)
      case 'snapshot':
        return store.snapshot(op.route, nowMs)
    }
  }

  it('every answer of a random operation sequence is equal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(stepMs, opArb), { minLength: 5, maxLength: 40, size: 'max' }),
        async (steps) => {
          const memory = new MemoryStore()
          const upstash = upstashStore({
            url: target.url,
            token: target.token,
            prefix: crypto.randomUUID(),
          })
          let nowMs = T0
          for (const [step, op] of steps) {
            nowMs += step
            expect(await apply(upstash, op, nowMs), JSON.stringify(op)).toEqual(
              await apply(memory, op, nowMs),
            )
          }
        },
      ),
      { numRuns: 60 },
    )
  }, 60_000)
})

describe('Upstash front', () => {
  it('answers 401 without the right bearer token', async () => {
    const post = (headers: Record<string, string>) =>
      fetch(`${target.url}/pipeline`, { method: 'POST', headers, body: '[["PING"]]' })
    const none = await post({})
    expect(none.status).toBe(401)
    expect(await none.json()).toEqual({ error: 'Unauthorized' })
    expect((await post({ authorization: 'Bearer nope' })).status).toBe(401)
    expect((await post({ authorization: `Bearer ${target.token}` })).status).toBe(200)
  })

  it('speaks the REST protocol: raw replies, base64, pipeline errors, multi-exec', async () => {
    const key = crypto.randomUUID()
    const post = async (path: string, body: unknown, base64 = false) => {
      const res = await fetch(`${target.url}${path}`, {
        method: 'POST',
        headers: {
          authorization: `Bearer ${target.token}`,
          ...(base64 ? { 'upstash-encoding': 'base64' } : {}),
        },
        body: JSON.stringify(body),
      })
      return [res.status, await res.json()]
    }
    expect(await post('/', ['hset', key, 'f', 'vé', 'n', 2])).toEqual([200, { result: 2 }])
    expect(await post('/', ['hgetall', key])).toEqual([200, { result: ['f', 'vé', 'n', '2'] }])
    expect(await post('/', ['HGETALL', key], true)).toEqual([
      200,
      { result: ['Zg==', 'dsOp', 'bg==', 'Mg=='] },
    ])
    expect(await post('/', ['get', `${key}-none`], true)).toEqual([200, { result: null }])
    expect(await post('/', ['evalsha', '0'.repeat(40), 0])).toEqual([
      400,
      { error: expect.stringMatching(/^NOSCRIPT/) },
    ])
    expect(await post('/pipeline', [['incr', `${key}-n`], ['incr', key], ['incr', `${key}-n`]]))
      .toEqual([200, [
        { result: 1 },
        { error: expect.stringMatching(/^WRONGTYPE/) },
        { result: 2 },
      ]])
    expect(await post('/multi-exec', [['set', `${key}-m`, 'x'], ['get', `${key}-m`]])).toEqual([
      200,
      [{ result: 'OK' }, { result: 'x' }],
    ])
    expect(await post('/nowhere', ['ping'])).toEqual([404, { error: expect.any(String) }])
  })
})
