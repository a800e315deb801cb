// The exchange: governors in three "isolates" (three governors with their own engines, as three
// isolates have) share one store; a fault seen by one makes the others shed within two sync
// intervals, and everyone recovers. When isolates talk (docs/sync.md): paid by samples, news
// early, a fault all of them see reaches each within two of its exchanges. Plus the syncer's
// failure handling.
import { describe, expect, it } from 'vitest'
import { createGovernor, type Governor, TaskRefusedError } from '../../src/adapter/node/mod.ts'
import { createSyncer, type Syncer } from '../../src/governor/sync.ts'
import { MemoryStore } from '../../src/store/memory/store.ts'
import type {
  ExchangeResult,
  RouteDelta,
  TelemetryStore,
} from '../../src/contract/telemetry-store.ts'
import { ENGINES, mixed, virtualClock } from '../support/harness.ts'

/** A store that fails on demand around a real one: fault injection, not a stand-in. */
class FlakyStore implements TelemetryStore {
  readonly kind = 'memory' as const
  mode: 'ok' | 'reject' | 'hang' = 'ok'
  calls = 0
  readonly inner: TelemetryStore
  constructor(inner: TelemetryStore) {
    this.inner = inner
  }
  exchange(isolateId: string, deltas: RouteDelta[], nowMs: number): Promise<ExchangeResult> {
    this.calls++
    if (this.mode === 'reject') return Promise.reject(new Error('store down: Bearer s3cret'))
    if (this.mode === 'hang') return new Promise(() => {})
    return this.inner.exchange(isolateId, deltas, nowMs)
  }
  acquireLease(...a: Parameters<TelemetryStore['acquireLease']>) {
    return this.inner.acquireLease(...a)
  }
  heartbeatLease(...a: Parameters<TelemetryStore['heartbeatLease']>) {
    return this.inner.heartbeatLease(...a)
  }
  releaseLease(...a: Parameters<TelemetryStore['releaseLease']>) {
    return this.inner.releaseLease(...a)
  }
  snapshot(...a: Parameters<TelemetryStore['snapshot']>) {
    return this.inner.snapshot(...a)
  }
}

/** A real store whose exchanges are also counted: how many completions each isolate exported. */
class CountingStore extends FlakyStore {
  exported = 0
  override exchange(isolateId: string, deltas: RouteDelta[], nowMs: number) {
    for (const d of deltas) this.exported += d.counts.latencyCount
    return super.exchange(isolateId, deltas, nowMs)
  }
}

interface Isolate {
  gov: Governor
  sync: Syncer
}

/** A config whose syncer exchanges after every completed request. */
const perSample = { sync: { samplesPerExchange: 1 } }

/** Flushes pending microtasks so that resolved exchanges are applied. */
const settle = () => new Promise((resolve) => setTimeout(resolve, 0))

describe.each(ENGINES)('exchange on the %s engine', (engine) => {
  const clock = virtualClock(1_700_000_000_000)
  const makeIsolates = (store: TelemetryStore, n = 3, config = {}): Isolate[] =>
    Array.from({ length: n }, (_, i) => {
      const gov = createGovernor({ engine, clock: clock.read, config })
      return {
        gov,
        sync: createSyncer({ governor: gov, store, clock: clock.read, isolateId: `iso-${i}` }),
      }
    })

  /** One virtual second of traffic: 300 req/s spread over the isolates round-robin. */
  async function run(
    isolates: Isolate[],
    seconds: number,
    outcome: (isolate: number) => {
      latencyMs: number
      ok: boolean
    },
    onDecision?: (isolate: number, allow: boolean, t: number) => void,
  ) {
    const steps = seconds * 300
    for (let i = 0; i < steps; i++) {
      clock.now += 1000 / 300
      const k = i % isolates.length
      const iso = isolates[k] as Isolate
      const d = iso.gov.admit('checkout', { priority: mixed(Math.floor(i / isolates.length)) })
      onDecision?.(k, d.allow, clock.now)
      if (d.ticket) iso.gov.complete(d.ticket, outcome(k))
      const pending = iso.sync.maybeSync()
      if (pending) await pending
    }
    await settle()
  }

  it('a fault seen only by isolate A reaches B and C through the store as signals, not as shedding; all recover', async () => {
    clock.now = 1_700_000_000_000
    // 20 samples per exchange (15 to 25): at 100 req/s per isolate, B and C talk at least every
    // interval (250 ms), as busy isolates do; A's errors are news and go at once.
    const isolates = makeIsolates(new MemoryStore(), 3, { sync: { samplesPerExchange: 20 } })
    await run(isolates, 20, () => ({ latencyMs: 40, ok: true }))
    for (const iso of isolates) {
      const snap = iso.gov.snapshot('checkout')!
      expect(snap.mode).toBe('OPERATIONAL')
      // Three isolates heard from: each one's share of the traffic, and of the limit, is a third.
      expect(snap.capacity.share).toBe(1 / 3)
      expect(snap.capacity.localLimit).toBeCloseTo(snap.capacity.limit / 3, 9)
    }

    const faultAt = clock.now
    const firstShed = [Infinity, Infinity, Infinity]
    await run(
      isolates,
      3,
      (k) => (k === 0 ? { latencyMs: 20, ok: false } : { latencyMs: 40, ok: true }),
      (k, allow, t) => {
        if (!allow && firstShed[k] === Infinity) firstShed[k] = t - faultAt
      },
    )
    // A's requests got no answer: its path is broken, an outage for A within a second. B and C
    // hear of A's failures through the store (their error rate), but answers they get
    // themselves are what their capacity law acts on: they keep admitting (docs/physics.md §11).
    expect(firstShed[0]).toBeLessThanOrEqual(1000)
    expect(isolates[0]!.gov.snapshot('checkout')!.mode).toBe('CIRCUIT_BREAKER')
    expect(firstShed[1]).toBe(Infinity)
    expect(firstShed[2]).toBe(Infinity)
    for (const iso of isolates.slice(1)) {
      // A sheds most of its traffic once it has declared the outage: few failures travel.
      expect(iso.gov.snapshot('checkout')!.signals.errorRate).toBeGreaterThan(0.01)
    }

    await run(isolates, 40, () => ({ latencyMs: 40, ok: true }))
    for (const iso of isolates) {
      const s = iso.gov.snapshot('checkout')!
      expect(s.mode).toBe('OPERATIONAL')
      expect(s.pressure.combined).toBe(0)
    }
  })

  it("without the store, B and C do not notice A's fault (the control)", () => {
    clock.now = 1_700_000_000_000
    const govs = [0, 1, 2].map(() => createGovernor({ engine, clock: clock.read }))
    let shedBC = 0
    for (let i = 0; i < 300 * 23; i++) {
      clock.now += 1000 / 300
      const k = i % 3
      const d = govs[k]!.admit('checkout', { priority: mixed(Math.floor(i / 3)) })
      if (!d.allow && k > 0) shedBC++
      const faulty = i >= 300 * 20 && k === 0
      if (d.ticket) govs[k]!.complete(d.ticket, { latencyMs: faulty ? 20 : 40, ok: !faulty })
    }
    expect(shedBC).toBe(0)
  })

  it('exchanges are paid by samples: one per samplesPerExchange requests, none while idle, never two at once', async () => {
    clock.now = 1_700_000_000_000
    const store = new FlakyStore(new MemoryStore())
    const [iso] = makeIsolates(store, 1)
    await run([iso!], 10, () => ({ latencyMs: 40, ok: true }))
    // 3,000 healthy requests at 200 samples per exchange (±25% from one to the next): about 15
    // exchanges where the old protocol made 40 (one per 250 ms interval), nothing was news.
    expect(store.calls).toBeGreaterThanOrEqual(Math.floor(3000 / 250))
    expect(store.calls).toBeLessThanOrEqual(Math.ceil(3000 / 150))
    expect(iso!.sync.status().lastKind).toBe('samples')
    // Idle: no traffic, no exchange, however long.
    await iso!.sync.syncNow()
    const calls = store.calls
    clock.now += 3_600_000
    expect(iso!.sync.maybeSync()).toBeNull()
    expect(store.calls).toBe(calls)
    // One at a time: a hung store blocks the next attempt, whatever is due.
    store.mode = 'hang'
    expect(iso!.sync.syncNow()).not.toBeNull()
    await run([iso!], 1, () => ({ latencyMs: 40, ok: true }))
    expect(store.calls).toBe(calls + 1)
  })

  it('a fault all isolates see reaches every isolate within two of its exchanges; the heartbeat keeps quiet isolates heard', async () => {
    clock.now = 1_700_000_000_000
    const memory = new MemoryStore()
    // Answers per isolate: what the others had reported when this isolate last heard.
    const heard = new Map<string, number[]>()
    const recording: TelemetryStore = Object.assign(Object.create(memory), {
      async exchange(isolateId: string, deltas: RouteDelta[], nowMs: number) {
        const own = deltas.reduce((a, d) => a + d.counts.errors, 0)
        const result = await memory.exchange(isolateId, deltas, nowMs)
        const window = result.routes[0]?.window.errors ?? 0
        heard.get(isolateId)?.push(window - own)
        return result
      },
    })
    const isolates = makeIsolates(recording, 20)
    for (let i = 0; i < 20; i++) heard.set(`iso-${i}`, [])
    await run(isolates, 20, () => ({ latencyMs: 40, ok: true }))
    const before = [...heard.values()].map((list) => list.length)
    // 6,000 requests over 20 quiet isolates (15 req/s each): one exchange per 200 samples and no
    // news, so far fewer than one per isolate per interval (1,600).
    expect(before.reduce((a, b) => a + b, 0)).toBeLessThanOrEqual(6000 / 150 + 20)
    await run(isolates, 6, () => ({ latencyMs: 40, ok: false }))
    for (const [id, list] of heard) {
      const after = list.slice(before[Number(id.slice(4))])
      // Every isolate has traffic, so each tells the news within the run, and by its second
      // exchange since the fault it has heard the others' errors.
      expect(after.length, id).toBeGreaterThanOrEqual(1)
      expect(Math.max(...after.slice(0, 2)), id).toBeGreaterThan(0)
    }
    // A quiet isolate with traffic still talks once per heartbeat (10 minutes by default).
    const [quiet] = makeIsolates(recording, 1)
    heard.set('iso-0', [])
    const d = quiet!.gov.admit('checkout')
    quiet!.gov.complete(d.ticket!, { latencyMs: 40 })
    clock.now += 600_000
    await quiet!.sync.maybeSync()
    expect(quiet!.sync.status().lastKind).toBe('heartbeat')
  })

  // docs/sync.md, "Streaks": a teller of a fleet larger than NEWS_TELLERS tells a change once;
  // in a smaller fleet every isolate tells it in a streak while the heard window lags it.
  it.each([[64, 'once'], [8, 'in a streak']] as const)(
    'a slowdown all %i isolates see: each teller tells it %s',
    async (n, how) => {
      clock.now = 1_700_000_000_000
      const isolates = makeIsolates(new MemoryStore(), n)
      const news = new Array<number>(n).fill(0)
      let slow = false
      // 90 healthy seconds: every isolate has made a routine exchange, so the window it heard
      // holds the fleet's rate, and its share (1/64 of it: a teller chance of 1/2) is known.
      const steps = 100 * 300
      for (let i = 0; i < steps; i++) {
        clock.now += 1000 / 300
        if (i === 90 * 300) slow = true
        const k = i % n
        const iso = isolates[k] as Isolate
        const d = iso.gov.admit('checkout', { priority: mixed(Math.floor(i / n)) })
        if (d.ticket) iso.gov.complete(d.ticket, { latencyMs: slow ? 200 : 40, ok: true })
        const pending = iso.sync.maybeSync()
        if (pending === null) continue
        if (slow && iso.sync.status().lastKind === 'news') news[k] = (news[k] as number) + 1
        await pending
      }
      expect(news.reduce((a, b) => a + b, 0)).toBeGreaterThan(0)
      if (how === 'once') expect(Math.max(...news)).toBe(1)
      else expect(Math.max(...news)).toBeGreaterThanOrEqual(2)
    },
  )

  it('a failing store degrades sync, loses no deltas and recovers; decisions go on locally', async () => {
    clock.now = 1_700_000_000_000
    const memory = new MemoryStore()
    const store = new FlakyStore(memory)
    const [iso] = makeIsolates(store, 1)
    await run([iso!], 2, () => ({ latencyMs: 40, ok: true }))
    store.mode = 'reject'
    let admitted = 0
    await run([iso!], 2, () => ({ latencyMs: 40, ok: true }), (_k, allow) => {
      if (allow) admitted++
    })
    expect(admitted).toBe(600)
    const status = iso!.sync.status()
    expect(status.degraded).toBe(true)
    expect(status.failures).toBeGreaterThan(0)
    expect(status.lastError).toContain('store down')
    expect(status.lastError).not.toContain('s3cret')
    // A store that refuses is asked again after 2, 4, 8 … intervals, not every interval.
    expect(status.failures).toBeLessThanOrEqual(4)
    store.mode = 'ok'
    await run([iso!], 3, () => ({ latencyMs: 40, ok: true }))
    expect(iso!.sync.status().degraded).toBe(false)
    // Every request decided reached the store exactly once or is still pending.
    await iso!.sync.syncNow()
    expect((await memory.snapshot('checkout', clock.now)).totals.requests).toBe(300 * 7)
  })

  it('a store slower than timeoutMs counts as failed and the next exchange goes ahead', async () => {
    clock.now = 1_700_000_000_000
    const store = new FlakyStore(new MemoryStore())
    // One sample per exchange: this test is about failures, not about when to talk.
    const gov = createGovernor({ engine, clock: clock.read, config: perSample })
    const sync = createSyncer({ governor: gov, store, clock: clock.read, timeoutMs: 5 })
    store.mode = 'hang'
    const d = gov.admit('checkout')
    gov.complete(d.ticket!, { latencyMs: 10 })
    await sync.maybeSync()
    expect(sync.status().degraded).toBe(true)
    expect(sync.status().lastError).toMatch(/timed out after 5 ms/)
    expect(sync.status().timeouts).toBe(1)
    store.mode = 'ok'
    // After a failure the next attempt waits two intervals.
    clock.now += 500
    const d2 = gov.admit('checkout')
    gov.complete(d2.ticket!, { latencyMs: 10 })
    await sync.maybeSync()
    expect(sync.status().degraded).toBe(false)
    // The timed-out exchange's outcome is unknown, so its deltas were not sent again: a store
    // that did apply it late would otherwise count them twice.
    expect((await store.inner.snapshot('checkout', clock.now)).totals.requests).toBe(1)
  })

  it("global leases: a lease taken in one isolate counts in all; a dead isolate's lease expires", async () => {
    clock.now = 1_700_000_000_000
    const store = new MemoryStore()
    const config = { defaults: { concurrency: { initial: 2, min: 1, max: 2 } } }
    const [a, b] = makeIsolates(store, 2, config)
    const task = () => ({ profile: 'HEAVY' as const, abortController: new AbortController() })
    await a!.gov.startTask('jobs', task())
    await a!.gov.startTask('jobs', task())
    expect((await store.snapshot('jobs@HEAVY', clock.now)).leases).toBe(2)
    const refused = await b!.gov.startTask('jobs', task()).catch((e: unknown) => e)
    expect(refused).toBeInstanceOf(TaskRefusedError)
    expect((refused as TaskRefusedError).decision.reason).toBe('concurrency')
    expect(b!.gov.snapshot('jobs', { profile: 'HEAVY' })!.inflight).toBe(0)
    // Isolate A dies: no heartbeats, no release. After the TTL (1.5 heartbeat intervals) the
    // store gives the capacity back.
    clock.now += 1500
    const lease = await b!.gov.startTask('jobs', task())
    expect(lease.outcome).toBe(null)
    lease.release()
    await settle()
    expect((await store.snapshot('jobs@HEAVY', clock.now)).leases).toBe(0)
  })

  it('onStoreFailure "closed" sheds all but the top class while the store fails', async () => {
    clock.now = 1_700_000_000_000
    const store = new FlakyStore(new MemoryStore())
    const gov = createGovernor({
      engine,
      clock: clock.read,
      config: { sync: { onStoreFailure: 'closed', samplesPerExchange: 1 } },
    })
    const sync = createSyncer({ governor: gov, store, clock: clock.read })
    store.mode = 'reject'
    const first = gov.admit('checkout', { priority: 'critical' })
    gov.complete(first.ticket!, { latencyMs: 10 })
    await sync.maybeSync()
    expect(gov.admit('checkout', { priority: 'low' })).toMatchObject({
      allow: false,
      reason: 'store-unavailable',
      retryAfterS: 1,
    })
    expect(gov.admit('checkout', { priority: 'critical' }).allow).toBe(true)
    store.mode = 'ok'
    // The retry waits two intervals after one failure.
    clock.now += 500
    await sync.maybeSync()
    expect(gov.admit('checkout', { priority: 'low' }).allow).toBe(true)
  })

  it("answers to requests sent into an outage are not exported: the others' engines would take them for fresh ones", async () => {
    clock.now = 1_700_000_000_000
    const store = new CountingStore(new MemoryStore())
    const [iso] = makeIsolates(store, 1, perSample)
    const { gov, sync } = iso!
    await run([iso!], 5, () => ({ latencyMs: 40, ok: true }))
    await sync.syncNow()
    const healthy = store.exported
    expect(healthy).toBeGreaterThan(1000)
    // A black hole: what is admitted gets no answer, until silence declares the outage.
    const held = []
    while (gov.snapshot('checkout')!.mode !== 'CIRCUIT_BREAKER') {
      clock.now += 1000 / 300
      const d = gov.admit('checkout', { priority: 'critical' })
      if (d.ticket) held.push(d.ticket)
      expect(clock.now - 1_700_000_005_000).toBeLessThan(2000)
    }
    expect(held.length).toBeGreaterThanOrEqual(2)
    // They time out 2 s later: ghosts, which this isolate's engine does not take as samples, and
    // which the store must not hand to the others as news either. The stats still count them.
    clock.now += 2000
    const completed = () => gov.counters('checkout')!.latency.counts.reduce((a, b) => a + b, 0)
    const before = completed()
    const errorRate = gov.snapshot('checkout')!.signals.errorRate
    for (const t of held) gov.complete(t, { ok: false })
    expect(completed()).toBe(before + held.length)
    // Every one of them, the last too (its own ghost count is not spent twice).
    clock.now += 200
    gov.tick()
    expect(gov.snapshot('checkout')!.signals.errorRate).toBe(errorRate)
    await sync.syncNow()
    expect(store.exported).toBe(healthy)
    // An answer after the outage is news again.
    clock.now += 100
    const d = gov.admit('checkout', { priority: 'critical' })
    expect(d.ticket).not.toBeNull()
    gov.complete(d.ticket!, { latencyMs: 40, ok: true })
    await sync.syncNow()
    expect(store.exported).toBe(healthy + 1)
  })
})
