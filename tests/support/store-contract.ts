// One contract suite for every TelemetryStore backend (memory, Durable Object, Upstash). Call it
// from a vitest file with a factory that gives a fresh, isolated store (random prefix / unique DO
// names), e.g. `storeContract('memory', () => new MemoryStore())`.
import { describe, expect, it } from 'vitest'
import {
  HISTOGRAM_BUCKETS,
  histogramBucket,
  INFLIGHT_TTL_MS,
  type RouteDelta,
  type TelemetryStore,
  WINDOW_S,
  zeroCounts,
} from '../../src/contract/telemetry-store.ts'

/** A delta of `n` completed requests at `latencyMs`, `errors` of them failed. */
export function delta(
  route: string,
  n: number,
  latencyMs: number,
  errors = 0,
  inflight = 0,
): RouteDelta {
  const histogram = new Array<number>(HISTOGRAM_BUCKETS).fill(0)
  histogram[histogramBucket(latencyMs)] = n
  return {
    route,
    counts: {
      ...zeroCounts(),
      requests: n,
      admitted: n,
      ok: n - errors,
      errors,
      latencySumMs: n * latencyMs,
      latencyCount: n,
    },
    histogram,
    inflight,
  }
}

export function storeContract(
  name: string,
  makeStore: () => TelemetryStore | Promise<TelemetryStore>,
): void {
  describe(`TelemetryStore contract: ${name}`, () => {
    const T0 = 1_700_000_000_000

    it('exchange() adds deltas from every isolate into totals and the window', async () => {
      const store = await makeStore()
      const route = `r-${crypto.randomUUID()}`
      const a = await store.exchange('iso-a', [delta(route, 10, 40, 1, 3)], T0)
      expect(a.routes).toHaveLength(1)
      expect(a.routes[0]!.totals.requests).toBe(10)
      const b = await store.exchange('iso-b', [delta(route, 5, 400, 5, 2)], T0 + 300)
      const view = b.routes[0]!
      expect(view.route).toBe(route)
      expect(view.totals).toEqual({
        requests: 15,
        admitted: 15,
        shed: 0,
        ok: 9,
        errors: 6,
        latencySumMs: 2400,
        latencyCount: 15,
      })
      expect(view.window.requests).toBe(15)
      expect(view.histogram[histogramBucket(40)]).toBe(10)
      expect(view.histogram[histogramBucket(400)]).toBe(5)
      expect(view.inflight).toBe(5)
      expect(view.isolates).toBe(2)
      expect(b.configVersion).toBeGreaterThanOrEqual(0)
    })

    it('exchange() answers one view per route, in order, and keeps routes apart', async () => {
      const store = await makeStore()
      const r1 = `r1-${crypto.randomUUID()}`
      const r2 = `r2-${crypto.randomUUID()}`
      const res = await store.exchange('iso', [delta(r1, 3, 10), delta(r2, 7, 10)], T0)
      expect(res.routes.map((v) => [v.route, v.totals.requests])).toEqual([[r1, 3], [r2, 7]])
      expect((await store.snapshot(r1, T0)).totals.requests).toBe(3)
    })

    it('the window forgets buckets older than WINDOW_S; totals never forget', async () => {
      const store = await makeStore()
      const route = `r-${crypto.randomUUID()}`
      await store.exchange('iso', [delta(route, 4, 10)], T0)
      const later = await store.exchange('iso', [delta(route, 1, 10)], T0 + (WINDOW_S + 5) * 1000)
      expect(later.routes[0]!.window.requests).toBe(1)
      expect(later.routes[0]!.totals.requests).toBe(5)
    })

    it('in-flight gauges are per isolate, replaced by each exchange and expire', async () => {
      const store = await makeStore()
      const route = `r-${crypto.randomUUID()}`
      await store.exchange('iso-a', [delta(route, 1, 10, 0, 7)], T0)
      await store.exchange('iso-a', [delta(route, 1, 10, 0, 2)], T0 + 100)
      await store.exchange('iso-b', [delta(route, 1, 10, 0, 1)], T0 + 200)
      expect((await store.snapshot(route, T0 + 300)).inflight).toBe(3)
      const late = await store.snapshot(route, T0 + 200 + INFLIGHT_TTL_MS)
      expect(late.inflight).toBe(0)
      expect(late.isolates).toBe(0)
    })

    it('malformed deltas are cleaned or dropped, never stored as NaN', async () => {
      const store = await makeStore()
      const route = `r-${crypto.randomUUID()}`
      const bad = {
        route,
        counts: { requests: NaN, admitted: -4, shed: Infinity, ok: 2, errors: 'x' },
        histogram: [1, NaN],
        inflight: -1,
      } as unknown as RouteDelta
      const res = await store.exchange('iso', [bad, { route: '' } as unknown as RouteDelta], T0)
      expect(res.routes).toHaveLength(1)
      const v = res.routes[0]!
      expect(v.totals).toEqual({ ...zeroCounts(), ok: 2 })
      expect(v.inflight).toBe(0)
      expect(v.histogram.every((x) => Number.isFinite(x))).toBe(true)
    })

    it('leases: at most maxActive, heartbeats extend, expiry gives capacity back', async () => {
      const store = await makeStore()
      const route = `r-${crypto.randomUUID()}`
      expect((await store.acquireLease(route, 'l1', 1000, 2, T0)).granted).toBe(true)
      expect((await store.acquireLease(route, 'l2', 1000, 2, T0)).granted).toBe(true)
      const third = await store.acquireLease(route, 'l3', 1000, 2, T0)
      expect(third).toEqual({ granted: false, active: 2, expiresAt: 0 })
      expect(await store.heartbeatLease(route, 'l1', 1000, T0 + 900)).toBe(true)
      // l2 dies at T0 + 1000 without a heartbeat; l1 lives until T0 + 1900.
      const later = await store.acquireLease(route, 'l3', 1000, 2, T0 + 1500)
      expect(later.granted).toBe(true)
      expect(later.active).toBe(2)
      expect(await store.heartbeatLease(route, 'l2', 1000, T0 + 1500)).toBe(false)
      expect(await store.releaseLease(route, 'l1', T0 + 1600)).toBe(true)
      expect(await store.releaseLease(route, 'l1', T0 + 1600)).toBe(false)
      expect((await store.snapshot(route, T0 + 1600)).leases).toBe(1)
    })

    it('snapshot() of an unknown route is empty', async () => {
      const store = await makeStore()
      const v = await store.snapshot(`r-${crypto.randomUUID()}`, T0)
      expect(v.totals).toEqual(zeroCounts())
      expect(v.isolates).toBe(0)
      expect(v.leases).toBe(0)
    })
  })
}
