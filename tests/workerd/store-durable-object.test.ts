// The Durable Object store inside workerd: the shared contract suite, then what only this backend
// has (SQLite storage, the alarm, eviction, one object serialising many isolates).
import { env } from 'cloudflare:workers'
import { evictDurableObject, runDurableObjectAlarm, runInDurableObject } from 'cloudflare:test'
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import { MemoryStore } from '../../src/store/memory/store.ts'
import { DurableObjectConfigStore } from '../../src/store/durable-object/config.ts'
import {
  DurableObjectStore,
  type RouteStateDO,
  type RouteStateNamespace,
  type RouteStateRpc,
} from '../../src/store/durable-object/index.ts'
import {
  HISTOGRAM_BUCKETS,
  type RouteDelta,
  type RouteView,
  WINDOW_S,
  zeroCounts,
} from '../../src/contract/telemetry-store.ts'
import { delta, storeContract } from '../support/store-contract.ts'

storeContract('durable-object', () => new DurableObjectStore(env.ROUTE_STATE))

const newRoute = () => `r-${crypto.randomUUID()}`
const stubOf = (route: string) => env.ROUTE_STATE.get(env.ROUTE_STATE.idFromName(route))

/** Row counts of the object's expiring tables, read straight from its SQLite storage. */
function rowCounts(route: string): Promise<{ buckets: number; gauges: number; leases: number }> {
  return runInDurableObject(stubOf(route), (_instance: RouteStateDO, state) => {
    const count = (table: string) =>
      state.storage.sql.exec<{ n: number }>(`SELECT COUNT(*) AS n FROM ${table}`).one().n
    return { buckets: count('buckets'), gauges: count('gauges'), leases: count('leases') }
  })
}

function alarmOf(route: string): Promise<number | null> {
  return runInDurableObject(
    stubOf(route),
    (_instance: RouteStateDO, state) => state.storage.getAlarm(),
  )
}

describe('DurableObjectStore', () => {
  it('exchange() makes one call per route, all in flight together', async () => {
    const calls: { route: string; deltas: RouteDelta[]; resolve: (v: RouteView[]) => void }[] = []
    const namespace: RouteStateNamespace<string> = {
      idFromName: (name) => name,
      get: (route) => ({
        exchange: (_isolateId, deltas) =>
          new Promise<RouteView[]>((resolve) => calls.push({ route, deltas, resolve })),
      } as Partial<RouteStateRpc> as RouteStateRpc),
    }
    const store = new DurableObjectStore(namespace)
    const pending = store.exchange(
      'iso',
      [delta('a', 1, 10), delta('b', 2, 10), delta('a', 3, 10)],
      0,
    )
    expect(calls.map((c) => [c.route, c.deltas.map((d) => d.counts.requests)])).toEqual([
      ['a', [1, 3]],
      ['b', [2]],
    ])
    // Answer out of order: the views still come back in request order.
    const view = (route: string, requests: number): RouteView => ({
      route,
      totals: { ...zeroCounts(), requests },
      window: zeroCounts(),
      histogram: [],
      inflight: 0,
      isolates: 1,
      leases: 0,
    })
    calls[1]!.resolve([view('b', 2)])
    calls[0]!.resolve([view('a', 1), view('a', 4)])
    const { routes } = await pending
    expect(routes.map((v) => [v.route, v.totals.requests])).toEqual([['a', 1], ['b', 2], ['a', 4]])
  })

  it('exchange() with a route sent twice adds both, in order, like the memory store', async () => {
    const store = new DurableObjectStore(env.ROUTE_STATE)
    const r1 = newRoute()
    const r2 = newRoute()
    const res = await store.exchange(
      'iso',
      [delta(r1, 3, 10), delta(r2, 7, 10), delta(r1, 5, 10)],
      1,
    )
    expect(res.routes.map((v) => [v.route, v.totals.requests])).toEqual([[r1, 3], [r2, 7], [r1, 8]])
    expect(res.configVersion).toBe(0)
  })

  it("every answer equals the memory store's over random operation sequences", async () => {
    // Integer counts, as Workers measure whole milliseconds: SQLite's TOTAL() sums floats in
    // another order (and compensated), so fractional sums may differ in the last bits.
    const count = fc.oneof(
      fc.integer({ min: 0, max: 50 }),
      fc.constantFrom(NaN, -1, Infinity, 1e308),
    )
    const deltaArb = (routes: string[]) =>
      fc.record({
        route: fc.constantFrom(...routes),
        counts: fc.record({
          requests: count,
          admitted: count,
          shed: count,
          ok: count,
          errors: count,
          latencySumMs: count,
          latencyCount: count,
        }),
        histogram: fc.array(count, { maxLength: HISTOGRAM_BUCKETS }),
        inflight: count,
      }) as fc.Arbitrary<RouteDelta>
    const opArb = (routes: string[]) =>
      fc.tuple(
        fc.constantFrom(0, 1, 999, 1000, 5000, 10_000, 31_000, -1000),
        fc.oneof(
          fc.record({
            op: fc.constant('exchange' as const),
            isolate: fc.constantFrom('a', 'b', 'c'),
            deltas: fc.array(deltaArb(routes), { maxLength: 3 }),
          }),
          fc.record({
            op: fc.constantFrom('acquire' as const, 'heartbeat' as const, 'release' as const),
            route: fc.constantFrom(...routes),
            lease: fc.constantFrom('l1', 'l2', 'l3'),
            ttlMs: fc.constantFrom(0, 500, 3000),
            maxActive: fc.integer({ min: 0, max: 2 }),
          }),
          fc.record({ op: fc.constant('snapshot' as const), route: fc.constantFrom(...routes) }),
        ),
      )
    await fc.assert(
      fc.asyncProperty(fc.array(opArb(['r1', 'r2']), { maxLength: 12 }), async (ops) => {
        // Fresh route names per run, so each run gets fresh objects.
        const run = crypto.randomUUID()
        const named = (route: string) => `${route}-${run}`
        const stores = [new MemoryStore(), new DurableObjectStore(env.ROUTE_STATE)]
        let nowMs = 1_700_000_000_000
        for (const [stepMs, op] of ops) {
          nowMs += stepMs
          const answers = await Promise.all(stores.map((store) => {
            switch (op.op) {
              case 'exchange':
                return store.exchange(
                  op.isolate,
                  op.deltas.map((d) => ({ ...d, route: named(d.route) })),
                  nowMs,
                )
              case 'acquire':
                return store.acquireLease(named(op.route), op.lease, op.ttlMs, op.maxActive, nowMs)
              case 'heartbeat':
                return store.heartbeatLease(named(op.route), op.lease, op.ttlMs, nowMs)
              case 'release':
                return store.releaseLease(named(op.route), op.lease, nowMs)
              case 'snapshot':
                return store.snapshot(named(op.route), nowMs)
            }
          }))
          expect(answers[1], JSON.stringify(op)).toEqual(answers[0])
        }
      }),
      { numRuns: 60 },
    )
  })

  it('concurrent exchanges from many isolates on one route are all counted', async () => {
    const route = newRoute()
    const nowMs = Date.now()
    const isolates = 40
    // A store per isolate, as in production, and two exchanges from each, all in flight at once.
    await Promise.all(
      Array.from({ length: isolates }, (_, i) => {
        const store = new DurableObjectStore(env.ROUTE_STATE)
        return Promise.all([
          store.exchange(`iso-${i}`, [delta(route, i + 1, 40, 1, 1)], nowMs),
          store.exchange(`iso-${i}`, [delta(route, 2, 400, 0, 1)], nowMs + 1),
        ])
      }),
    )
    const view = await new DurableObjectStore(env.ROUTE_STATE).snapshot(route, nowMs + 2)
    const requests = (isolates * (isolates + 1)) / 2 + 2 * isolates
    expect(view.totals.requests).toBe(requests)
    expect(view.totals.errors).toBe(isolates)
    expect(view.totals.latencySumMs).toBe(40 * (requests - 2 * isolates) + 400 * 2 * isolates)
    expect(view.window.requests).toBe(requests)
    expect(view.histogram.reduce((a, b) => a + b, 0)).toBe(requests)
    expect(view.isolates).toBe(isolates)
    expect(view.inflight).toBe(isolates)
  })
})

describe('RouteStateDO', () => {
  it('keeps its state in SQLite: it survives eviction', async () => {
    const route = newRoute()
    const nowMs = Date.now()
    const store = new DurableObjectStore(env.ROUTE_STATE)
    await store.exchange('iso', [delta(route, 6, 30, 2, 4)], nowMs)
    expect((await store.acquireLease(route, 'l1', 60_000, 1, nowMs)).granted).toBe(true)
    await evictDurableObject(stubOf(route))
    const view = await new DurableObjectStore(env.ROUTE_STATE).snapshot(route, nowMs + 1)
    expect(view.totals).toEqual({
      requests: 6,
      admitted: 6,
      shed: 0,
      ok: 4,
      errors: 2,
      latencySumMs: 180,
      latencyCount: 6,
    })
    expect(view.window.requests).toBe(6)
    expect(view.inflight).toBe(4)
    expect(view.leases).toBe(1)
    expect((await store.acquireLease(route, 'l2', 60_000, 1, nowMs + 2)).granted).toBe(false)
    expect(await alarmOf(route)).not.toBeNull()
  })

  it('exchange() sets one alarm WINDOW_S ahead and does not push it back', async () => {
    const route = newRoute()
    const store = new DurableObjectStore(env.ROUTE_STATE)
    const before = Date.now()
    await store.exchange('iso', [delta(route, 1, 10)], before)
    const first = await alarmOf(route)
    expect(first).toBeGreaterThanOrEqual(before + WINDOW_S * 1000)
    expect(first).toBeLessThanOrEqual(Date.now() + WINDOW_S * 1000)
    await evictDurableObject(stubOf(route))
    await store.exchange('iso', [delta(route, 1, 10)], before + 5000)
    expect(await alarmOf(route)).toBe(first)
  })

  it('alarm() prunes buckets, gauges and leases expired by real time, keeps totals', async () => {
    const route = newRoute()
    const store = new DurableObjectStore(env.ROUTE_STATE)
    const nowMs = Date.now()
    const oldMs = nowMs - (WINDOW_S + 10) * 1000
    // Fresh entries first: an exchange prunes by its own clock, so the old ones written after
    // them survive until the alarm, which goes by real time.
    await store.exchange('iso-fresh', [delta(route, 1, 10, 0, 3)], nowMs)
    await store.acquireLease(route, 'live', 60_000, 5, nowMs)
    await store.exchange('iso-old', [delta(route, 4, 10, 0, 2)], oldMs)
    await store.acquireLease(route, 'dead', 1000, 5, oldMs)
    expect(await rowCounts(route)).toEqual({ buckets: 2, gauges: 2, leases: 2 })

    expect(await runDurableObjectAlarm(stubOf(route))).toBe(true)
    expect(await rowCounts(route)).toEqual({ buckets: 1, gauges: 1, leases: 1 })
    await runInDurableObject(stubOf(route), (_instance: RouteStateDO, state) => {
      const sql = state.storage.sql
      expect(sql.exec('SELECT second FROM buckets').one().second).toBe(Math.floor(nowMs / 1000))
      expect(sql.exec('SELECT isolate_id FROM gauges').one().isolate_id).toBe('iso-fresh')
      expect(sql.exec('SELECT lease_id FROM leases').one().lease_id).toBe('live')
      expect(sql.exec('SELECT requests FROM totals').one().requests).toBe(5)
    })
    // Something can still expire, so the alarm has set itself again.
    expect(await alarmOf(route)).not.toBeNull()
  })

  it('alarm() stops setting itself once nothing can expire', async () => {
    const route = newRoute()
    const store = new DurableObjectStore(env.ROUTE_STATE)
    const oldMs = Date.now() - (WINDOW_S + 1) * 1000
    await store.exchange('iso-a', [delta(route, 2, 10, 0, 5)], oldMs)
    await store.exchange('iso-b', [delta(route, 1, 10, 0, 1)], oldMs)
    expect(await rowCounts(route)).toEqual({ buckets: 1, gauges: 2, leases: 0 })
    expect(await runDurableObjectAlarm(stubOf(route))).toBe(true)
    expect(await rowCounts(route)).toEqual({ buckets: 0, gauges: 0, leases: 0 })
    expect(await alarmOf(route)).toBeNull()
    expect((await store.snapshot(route, Date.now())).totals.requests).toBe(3)
  })

  it('rejects malformed calls and cleans deltas that bypass the store client', async () => {
    const route = newRoute()
    // Rejections are checked on the instance: through a stub, the vitest plugin leaks one unhandled
    // rejection per rejecting call (cloudflare/workers-sdk#14736).
    await runInDurableObject(stubOf(route), async (instance: RouteStateDO) => {
      await expect(instance.exchange('iso', [delta(route, 1, 10)], NaN)).rejects.toThrow(
        /nowMs "NaN"/,
      )
      await expect(instance.acquireLease('l', Infinity, 1, 0)).rejects.toThrow(/ttlMs "Infinity"/)
      await expect(instance.snapshot(route, 'soon' as unknown as number)).rejects.toThrow(/finite/)
      await expect(instance.releaseLease(42 as unknown as string, 0)).rejects.toThrow(/leaseId/)
      // A delta for another route must not land in this route's totals.
      await expect(instance.exchange('iso', [delta(newRoute(), 1, 10)], 0)).rejects.toThrow(
        /Cannot use route/,
      )
    })
    const stub = stubOf(route)
    const bad = {
      route,
      counts: { requests: NaN, admitted: -1, shed: 2, ok: Infinity },
      histogram: [NaN, 3],
      inflight: NaN,
    } as unknown as RouteDelta
    const [view] = await stub.exchange('iso', [bad], 0)
    expect(view!.totals).toEqual({ ...zeroCounts(), shed: 2 })
    expect(view!.histogram).toEqual([0, 3, ...new Array<number>(HISTOGRAM_BUCKETS - 2).fill(0)])
    expect(view!.inflight).toBe(0)
  })

  it('snapshot() and lease calls on an unknown route leave no tables behind', async () => {
    const route = newRoute()
    const store = new DurableObjectStore(env.ROUTE_STATE)
    expect((await store.snapshot(route, 0)).totals).toEqual(zeroCounts())
    expect(await store.heartbeatLease(route, 'l', 1000, 0)).toBe(false)
    expect(await store.releaseLease(route, 'l', 0)).toBe(false)
    const tables = await runInDurableObject(
      stubOf(route),
      (_instance: RouteStateDO, state) =>
        state.storage.sql.exec("SELECT name FROM sqlite_master WHERE type = 'table'").toArray(),
    )
    expect(tables).toEqual([])
  })
})

describe('the config version in the exchange (docs/sync.md)', () => {
  it("DurableObjectStore with configVersion answers the config object's version, which each route's object reads at most once a second", async () => {
    const config = new DurableObjectConfigStore(env.CONFIG_STORE)
    const store = new DurableObjectStore(env.ROUTE_STATE, { configVersion: true })
    expect(store.carriesConfigVersion).toBe(true)
    const before = (await config.current())?.version ?? 0
    const route = newRoute()
    expect((await store.exchange('iso', [delta(route, 1, 10)], 1000)).configVersion).toBe(before)
    await config.put({ unmatched: 'pass' }, 2000)
    // The route's object answers from its cache within the second, then reads again.
    const cached = await store.exchange('iso', [delta(route, 1, 10)], 2000)
    expect(cached.configVersion).toBe(before)
    expect(cached.routes[0]!.totals.requests).toBe(2)
    await scheduler.wait(1001)
    expect((await store.exchange('iso', [delta(route, 1, 10)], 3000)).configVersion).toBe(
      before + 1,
    )
    // Another route's object reads it on its first exchange; without the option, 0 as before.
    expect((await store.exchange('iso', [delta(newRoute(), 1, 10)], 3000)).configVersion).toBe(
      before + 1,
    )
    const plain = new DurableObjectStore(env.ROUTE_STATE)
    expect(plain.carriesConfigVersion).toBe(false)
    expect((await plain.exchange('iso', [delta(newRoute(), 1, 10)], 3000)).configVersion).toBe(0)
  })
})
