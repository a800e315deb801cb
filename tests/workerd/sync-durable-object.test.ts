// The exchange through real Durable Objects, inside workerd: governors in three "isolates" (each
// its own governor, WASM engine and syncer with its own isolate id, as three isolates have) share
// this project's ROUTE_STATE namespace. The same properties tests/unit/sync.test.ts proves on the
// memory store, plus a Durable Object that throws, behind the Worker's own handler.
import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, inject, it } from 'vitest'
import wasmModule from '../../wasm/build/rheostat.wasm'
import { createGovernor, type Governor, TaskRefusedError } from '../../src/mod.ts'
import { createSyncer, type Syncer } from '../../src/governor/sync.ts'
import { createEdgeHandler } from '../../src/adapter/cloudflare-workers/handler.ts'
import { DurableObjectStore } from '../../src/store/durable-object/index.ts'
import type { TelemetryStore } from '../../src/contract/telemetry-store.ts'

const PRIORITIES = ['critical', 'normal', 'low'] as const
const mixed = (i: number): string => PRIORITIES[i % 3] as string

interface Isolate {
  gov: Governor
  sync: Syncer
}

/**
 * Virtual time for the governors. It starts at the real clock because the Durable Object's alarm
 * prunes by real time; the object keys everything else by the caller's `nowMs`.
 */
function virtualClock() {
  const clock = { now: Date.now(), read: () => clock.now }
  return clock
}

function isolates(
  store: TelemetryStore,
  clock: { read: () => number },
  n: number,
  config = {},
): Isolate[] {
  return Array.from({ length: n }, (_, i) => {
    const gov = createGovernor({ engine: 'wasm', wasm: wasmModule, clock: clock.read, config })
    return {
      gov,
      sync: createSyncer({ governor: gov, store, clock: clock.read, isolateId: `iso-${i}` }),
    }
  })
}

describe('governors sharing the Durable Object store', () => {
  it(
    'a fault seen only by isolate A reaches B and C through the object as signals, not as shedding; all recover',
    async () => {
      const clock = virtualClock()
      const route = `checkout-${crypto.randomUUID()}`
      // 20 samples per exchange (15 to 25): at 100 req/s per isolate, B and C talk at least every
      // interval (250 ms), as busy isolates do; A's errors are news and go at once.
      const all = isolates(new DurableObjectStore(env.ROUTE_STATE), clock, 3, {
        sync: { samplesPerExchange: 20 },
      })

      /** Virtual seconds of traffic: 300 req/s round-robin over the isolates. */
      async function run(
        seconds: number,
        outcome: (k: number) => { latencyMs: number; ok: boolean },
        onDecision?: (k: number, allow: boolean, t: number) => void,
      ) {
        for (let i = 0; i < seconds * 300; i++) {
          clock.now += 1000 / 300
          const k = i % all.length
          const iso = all[k]!
          const d = iso.gov.admit(route, { priority: mixed(Math.floor(i / all.length)) })
          onDecision?.(k, d.allow, clock.now)
          if (d.ticket) iso.gov.complete(d.ticket, outcome(k))
          const pending = iso.sync.maybeSync()
          if (pending) await pending
        }
      }

      await run(20, () => ({ latencyMs: 40, ok: true }))
      for (const iso of all) {
        expect(iso.gov.snapshot(route)!.mode).toBe('OPERATIONAL')
        expect(iso.sync.status()).toMatchObject({ store: 'durable-object', degraded: false })
      }

      const faultAt = clock.now
      const firstShed = [Infinity, Infinity, Infinity]
      await run(
        3,
        (k) => (k === 0 ? { latencyMs: 20, ok: false } : { latencyMs: 40, ok: true }),
        (k, allow, t) => {
          if (!allow && firstShed[k] === Infinity) firstShed[k] = t - faultAt
        },
      )
      // A's requests got no answer: an outage for A. B and C never saw an error themselves: the
      // Durable Object told them (their error rate), and they keep admitting what they can serve.
      expect(firstShed[0]).toBeLessThanOrEqual(1000)
      expect(firstShed[1]).toBe(Infinity)
      expect(firstShed[2]).toBe(Infinity)
      for (const iso of all.slice(1)) {
        // A sheds most of its traffic once it has declared the outage: few failures travel.
        expect(iso.gov.snapshot(route)!.signals.errorRate).toBeGreaterThan(0.01)
      }

      await run(40, () => ({ latencyMs: 40, ok: true }))
      for (const iso of all) {
        const s = iso.gov.snapshot(route)!
        expect(s.mode).toBe('OPERATIONAL')
        expect(s.pressure.combined).toBe(0)
        expect(iso.sync.status().failures).toBe(0)
      }
      // Every decision reached the object exactly once.
      for (const iso of all) await iso.sync.syncNow()
      const view = await new DurableObjectStore(env.ROUTE_STATE).snapshot(route, clock.now)
      expect(view.totals.requests).toBe(63 * 300)
    },
    60_000,
  )

  it("global leases: a lease taken in one isolate counts in the other; a dead isolate's lease expires by TTL", async () => {
    const clock = virtualClock()
    const store = new DurableObjectStore(env.ROUTE_STATE)
    const route = `jobs-${crypto.randomUUID()}`
    const config = { defaults: { concurrency: { initial: 2, min: 1, max: 2 } } }
    const [a, b] = isolates(store, clock, 2, config)
    const task = () => ({ profile: 'HEAVY' as const, abortController: new AbortController() })

    await a!.gov.startTask(route, task())
    await a!.gov.startTask(route, task())
    expect((await store.snapshot(`${route}@HEAVY`, clock.now)).leases).toBe(2)
    const refused = await b!.gov.startTask(route, task()).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(TaskRefusedError)
    expect((refused as TaskRefusedError).decision.reason).toBe('concurrency')
    expect(b!.gov.snapshot(route, { profile: 'HEAVY' })!.inflight).toBe(0)

    // Isolate A dies: no heartbeat, no release. After the TTL (1.5 heartbeat intervals of 1 s)
    // the object stops counting its leases and B gets the capacity.
    clock.now += 1499
    expect(await b!.gov.startTask(route, task()).catch((e: unknown) => e)).toBeInstanceOf(
      TaskRefusedError,
    )
    clock.now += 1
    const lease = await b!.gov.startTask(route, task())
    expect(lease.outcome).toBe(null)
    expect((await store.snapshot(`${route}@HEAVY`, clock.now)).leases).toBe(1)
    expect(lease.release()).toBe(true)
    // The release goes to the object in the background.
    const deadline = Date.now() + 5000
    while ((await store.snapshot(`${route}@HEAVY`, clock.now)).leases !== 0) {
      if (Date.now() > deadline) throw new Error('The release never reached the object')
      await scheduler.wait(5)
    }
  })
})

describe('a Durable Object that throws, behind the Worker handler', () => {
  it(
    'requests see no error, decisions go on, sync is degraded, and the shared view returns',
    async () => {
      const origin = inject('demoOrigins').flaky
      const route = `api-${crypto.randomUUID()}`
      const namespace = env.FLAKY_ROUTE_STATE
      const object = namespace.get(namespace.idFromName(route))
      const handler = createEdgeHandler({ wasm: wasmModule })
      const envFor = {
        RHEOSTAT_CONFIG: JSON.stringify({
          // The shortest interval the schema allows, so real time moves the exchange along, and
          // an exchange after every request (this test is about failures, not when to talk).
          sync: { store: 'durable-object', intervalMs: 10, samplesPerExchange: 1 },
          routes: [{ id: route, match: { path: '/api/*' }, origin }],
        }),
        ROUTE_STATE: namespace,
      }
      let sent = 0
      async function request() {
        const ctx = createExecutionContext()
        const response = await handler.fetch(
          new Request('https://edge.test/api/items'),
          envFor,
          ctx,
        )
        sent++
        const body = await response.text()
        await waitOnExecutionContext(ctx)
        // 11 ms apart: every request finds an exchange due.
        await scheduler.wait(11)
        return { response, body }
      }
      const status = () => {
        const build = handler.current()
        if (build?.ok !== true) throw new Error('The handler did not build')
        return build.sync.status()
      }

      await object.setFailure('Injected failure of the route object')
      for (let i = 0; i < 8; i++) {
        const { response, body } = await request()
        expect(response.status).toBe(200)
        expect(JSON.parse(body)).toMatchObject({ ok: true, path: '/api/items' })
        expect(response.headers.get('RateLimit')).toBe(`"${route}:normal";r=100;t=1`)
      }
      // The handler runs the WASM engine from the `.wasm` import, as the Worker entry does.
      expect(handler.current()).toMatchObject({ ok: true, governor: { engineKind: 'wasm' } })
      expect(status()).toMatchObject({
        store: 'durable-object',
        degraded: true,
        lastError: expect.stringContaining('Injected failure of the route object'),
      })
      // Attempts back off (2, 4 … intervals after a failure): 8 requests 11 ms apart make 3.
      expect(status().failures).toBeGreaterThanOrEqual(3)
      expect(status().failures).toBeLessThan(8)
      expect(status().lastOkMs).toBe(0)

      await object.setFailure(null)
      // The next attempt comes within 80 ms (8 intervals after the third failure).
      for (let i = 0; i < 12 && status().degraded; i++) {
        const { response } = await request()
        expect(response.status).toBe(200)
      }
      expect(status().degraded).toBe(false)
      expect(status().lastOkMs).toBeGreaterThan(0)
      // The deltas held back while the object threw were delivered: nothing lost, nothing twice
      // (a throwing object applied nothing).
      const view = await new DurableObjectStore(namespace).snapshot(route, Date.now())
      expect(view.totals.requests).toBe(sent)
      expect(view.totals.ok).toBe(sent)
    },
    30_000,
  )
})
