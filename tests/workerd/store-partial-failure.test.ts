// Stores under partial failure (issue 12, item 5), through real Durable Objects in workerd: one
// route's object throws while another's answers. The healthy route's deltas must reach its object
// exactly once (they used to be handed back with the failed route's and sent again with every
// retry), and the failed route's deltas must arrive once it recovers.
import { env } from 'cloudflare:workers'
import { describe, expect, it } from 'vitest'
import wasmModule from '../../wasm/build/rheostat.wasm'
import { createGovernor } from '../../src/mod.ts'
import { createSyncer } from '../../src/governor/sync.ts'
import { DurableObjectStore } from '../../src/store/durable-object/index.ts'

describe('DurableObjectStore with one failing route object', () => {
  it("sends each route's deltas once: the failed route's again, the healthy route's never", async () => {
    const clock = { now: Date.now() }
    const namespace = env.FLAKY_ROUTE_STATE
    const store = new DurableObjectStore(namespace)
    const healthy = `ok-${crypto.randomUUID()}`
    const broken = `bad-${crypto.randomUUID()}`
    const brokenObject = namespace.get(namespace.idFromName(broken))
    const gov = createGovernor({ engine: 'wasm', wasm: wasmModule, clock: () => clock.now })
    const sync = createSyncer({ governor: gov, store, clock: () => clock.now })
    const serve = (route: string, n: number) => {
      for (let i = 0; i < n; i++) {
        const ticket = gov.admit(route).ticket!
        gov.complete(ticket, { latencyMs: 20 })
      }
    }

    await brokenObject.setFailure('Injected failure of one route object')
    for (let round = 0; round < 4; round++) {
      serve(healthy, 5)
      serve(broken, 3)
      clock.now += 300
      await sync.syncNow()
    }
    expect(sync.status().failures).toBeGreaterThanOrEqual(4)
    expect(sync.status().lastError).toMatch(/failed for 1 of 2 routes/)
    // 4 rounds of 5: each delta once.
    expect((await store.snapshot(healthy, clock.now)).totals.latencyCount).toBe(20)

    await brokenObject.setFailure(null)
    clock.now += 300
    await sync.syncNow()
    expect((await store.snapshot(broken, clock.now)).totals.latencyCount).toBe(12)
    expect((await store.snapshot(healthy, clock.now)).totals.latencyCount).toBe(20)
    expect(sync.status().degraded).toBe(false)
  })
})
