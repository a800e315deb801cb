// The exchange against stores that misbehave (issue 12, item 5): an answer of the wrong shape is
// refused without touching the governor's state, and a store request is aborted at the sync
// timeout instead of left to pile up. The stores are the real memory store wrapped to answer
// badly, and the real Upstash REST client against a front that never answers.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { createGovernor } from '../../src/mod.ts'
import { createSyncer } from '../../src/governor/sync.ts'
import { MemoryStore } from '../../src/store/memory/store.ts'
import type {
  ExchangeResult,
  RouteDelta,
  TelemetryStore,
} from '../../src/contract/telemetry-store.ts'
import { upstashStore } from '../../src/store/upstash/index.ts'

/** The memory store, its answers rewritten by `mangle`. */
function mangled(
  mangle: (result: ExchangeResult) => unknown,
): TelemetryStore & { inner: MemoryStore } {
  const inner = new MemoryStore()
  let calls = 0
  return Object.assign(Object.create(inner) as TelemetryStore, {
    inner,
    kind: 'memory' as const,
    // The first answer is sound (it only sets the baseline); the later ones are mangled.
    async exchange(isolateId: string, deltas: RouteDelta[], nowMs: number) {
      const result = await inner.exchange(isolateId, deltas, nowMs)
      return (calls++ === 0 ? result : mangle(result)) as ExchangeResult
    },
  })
}

describe('a store answer of the wrong shape', () => {
  const answers: [string, (r: ExchangeResult) => unknown][] = [
    ['null', () => null],
    ['no routes', () => ({ configVersion: 0 })],
    [
      'a view of a route never sent',
      (r) => ({ ...r, routes: r.routes.map((v) => ({ ...v, route: 'other' })) }),
    ],
    [
      'NaN totals',
      (r) => ({
        ...r,
        routes: r.routes.map((v) => ({ ...v, totals: { ...v.totals, latencyCount: NaN } })),
      }),
    ],
    [
      'negative totals',
      (r) => ({
        ...r,
        routes: r.routes.map((v) => ({ ...v, totals: { ...v.totals, errors: -5 } })),
      }),
    ],
    [
      'totals as strings',
      (r) => ({
        ...r,
        routes: r.routes.map((v) => ({ ...v, totals: { ...v.totals, latencySumMs: '9' } })),
      }),
    ],
  ]
  for (const [name, mangle] of answers) {
    it(`syncNow() refuses an answer with ${name} and leaves the governor's state alone`, async () => {
      const clock = { now: 1_700_000_000_000 }
      const twin = createGovernor({ engine: 'ts', clock: () => clock.now })
      const gov = createGovernor({ engine: 'ts', clock: () => clock.now })
      const store = mangled(mangle)
      const sync = createSyncer({ governor: gov, store, clock: () => clock.now })
      const serve = () => {
        for (const g of [gov, twin]) {
          for (let i = 0; i < 10; i++) g.complete(g.admit('r').ticket!, { latencyMs: 10 })
        }
      }
      serve()
      await sync.syncNow()
      // Other isolates' failing, slow traffic, which a sound answer would fold in.
      for (let i = 0; i < 50; i++) {
        await store.inner.exchange('other', [{
          route: 'r',
          counts: {
            requests: 1,
            admitted: 1,
            shed: 0,
            ok: 0,
            errors: 1,
            latencySumMs: 900,
            latencyCount: 1,
          },
          histogram: new Array(16).fill(0),
          inflight: 0,
        }], clock.now)
      }
      clock.now += 300
      serve()
      await sync.syncNow()
      expect(sync.status().degraded).toBe(true)
      expect(sync.status().lastError).toMatch(/malformed result/)
      const a = gov.snapshot('r')!
      const b = twin.snapshot('r')!
      expect(a.signals).toEqual(b.signals)
      expect(a.pressure).toEqual(b.pressure)
      // Dropped, not resent: the store may have taken them (at most once, as on a timeout).
      expect((await store.inner.snapshot('r', clock.now)).totals.latencyCount).toBe(50 + 20)
    })
  }
})

describe('a store slower than the sync timeout', () => {
  it('syncNow() aborts the Upstash request at the timeout; nothing piles up', async () => {
    const open = new Set<import('node:http').ServerResponse>()
    let closedEarly = 0
    let arrived = 0
    const front = createServer((_req, res) => {
      arrived++
      open.add(res)
      res.on('close', () => {
        if (!res.writableEnded) closedEarly++
        open.delete(res)
      })
    })
    await new Promise<void>((r) => front.listen(0, '127.0.0.1', r))
    const url = `http://127.0.0.1:${(front.address() as AddressInfo).port}`
    try {
      const clock = { now: 1_700_000_000_000 }
      const gov = createGovernor({ engine: 'ts', clock: () => clock.now })
      const store = upstashStore({ url, token: 'a-token-that-never-leaves-the-client' })
      const sync = createSyncer({ governor: gov, store, clock: () => clock.now, timeoutMs: 50 })
      for (let i = 0; i < 5; i++) {
        gov.complete(gov.admit('r').ticket!, { latencyMs: 10 })
        clock.now += 300
        await sync.syncNow()
      }
      expect(sync.status().failures).toBe(5)
      expect(sync.status().timeouts).toBeGreaterThanOrEqual(1)
      // On a loaded machine a request may be aborted before it even arrives; every one that did
      // arrive was cancelled by the client, none is left open.
      await new Promise((r) => setTimeout(r, 200))
      const deadline = Date.now() + 5000
      while (open.size > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20))
      expect(arrived).toBeGreaterThanOrEqual(1)
      expect(open.size).toBe(0)
      expect(closedEarly).toBe(arrived)
    } finally {
      front.closeAllConnections()
      front.close()
    }
  })
})

describe('a clock that steps back', () => {
  it('maybeSync() goes on after the clock steps back instead of waiting for it to catch up', async () => {
    const clock = { now: 1_700_000_000_000 }
    // One sample is worth telling, so that only the clock decides whether an exchange is due.
    const gov = createGovernor({
      engine: 'ts',
      clock: () => clock.now,
      config: { sync: { samplesPerExchange: 1 } },
    })
    const sync = createSyncer({ governor: gov, store: new MemoryStore(), clock: () => clock.now })
    gov.complete(gov.admit('r').ticket!, { latencyMs: 5 })
    const first = sync.maybeSync()
    expect(first).not.toBeNull()
    await first
    clock.now -= 3_600_000
    gov.complete(gov.admit('r').ticket!, { latencyMs: 5 })
    const next = sync.maybeSync()
    expect(next).not.toBeNull()
    await next
    expect(sync.status().exchanges).toBe(2)
  })
})
