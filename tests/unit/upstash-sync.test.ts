// Shared state through Upstash for real: a real redis-server behind the Upstash REST front
// (tests/support/upstash-front.ts), governors in separate processes or behind the proxy app in
// front of a real loopback origin. The memory-store versions of these properties are in
// sync.test.ts; here the store is the one an edge deployment uses, over HTTP.
//
// Time is virtual everywhere (the governors' and syncers' clocks); only the syncer's exchange
// timeout and the front's injected delay are real milliseconds. Every exchange is awaited before
// time moves on, so the runs are the same each time.
import { once } from 'node:events'
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest'
import { createGovernor, createProxyApp, type Governor } from '../../src/adapter/node/mod.ts'
import { createSyncer, type Syncer } from '../../src/governor/sync.ts'
import type { SyncHook } from '../../src/governor/sync-types.ts'
import type { TelemetryStore } from '../../src/contract/telemetry-store.ts'
import { upstashStore } from '../../src/store/upstash/index.ts'
import { mixed, type VirtualClock, virtualClock } from '../support/harness.ts'
import { type IsolateProcess, spawnIsolate } from '../support/isolate-process.ts'
import type { IsolateRequest, IsolateRunResult } from '../support/upstash-isolate.ts'
import { freePort } from '../support/ports.ts'
import { type FrontFault, startUpstashFront, type UpstashFront } from '../support/upstash-front.ts'

const T0 = 1_700_000_000_000
const INTERVAL_MS = 250

// ---- a real origin -----------------------------------------------------------------------------

let origin: Server
let originUrl = ''

beforeAll(async () => {
  origin = createServer((req: IncomingMessage, res: ServerResponse) => {
    req.resume()
    req.once('end', () => {
      res.writeHead(200, { 'content-type': 'application/json', 'x-origin': 'yes' })
      res.end(JSON.stringify({ path: req.url }))
    })
  })
  origin.listen(0, '127.0.0.1')
  await once(origin, 'listening')
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
})

afterAll(async () => {
  origin.closeAllConnections()
  await new Promise<void>((resolve) => origin.close(() => resolve()))
})

// ---- an edge isolate in this process: governor + syncer + proxy app ----------------------------

interface EdgeIsolate {
  gov: Governor
  sync: Syncer
  /**
   * Sends one request through the proxy, reads the answer, then waits for the exchange it
   * started, if any.
   */
  request(path?: string): Promise<{ status: number; fromOrigin: boolean }>
}

function edgeIsolate(
  store: TelemetryStore,
  clock: VirtualClock,
  options: { isolateId: string; timeoutMs?: number; samplesPerExchange?: number },
): EdgeIsolate {
  const config = {
    routes: [{ id: 'api', match: { path: '/api/*' }, origin: originUrl }],
    sync: {
      intervalMs: INTERVAL_MS,
      timeoutMs: options.timeoutMs ?? 1000,
      samplesPerExchange: options.samplesPerExchange ?? 200,
    },
  }
  const gov = createGovernor({ config, engine: 'wasm', clock: clock.read })
  const sync = createSyncer({
    governor: gov,
    store,
    clock: clock.read,
    isolateId: options.isolateId,
  })
  // The proxy hands the exchange to nobody (no waitUntil on Node); the test keeps the promise to
  // await it, so that time only moves on once the exchange is done.
  const pending: Promise<void>[] = []
  const hook: SyncHook = {
    maybeSync() {
      const p = sync.maybeSync()
      if (p !== null) pending.push(p)
      return p
    },
    status: () => sync.status(),
  }
  const app = createProxyApp({ governor: gov, sync: hook, decodedBodies: true })
  return {
    gov,
    sync,
    async request(path = '/api/items') {
      const res = await app.request(`http://edge.test${path}`)
      // Read at once: Node's fetch cancels the body of a fetch Response that has been garbage
      // collected (undici's streamRegistry), and the proxy passes the origin's body on in a new
      // Response, so a body left unread across an await can arrive cancelled.
      await res.arrayBuffer()
      await Promise.all(pending.splice(0))
      return { status: res.status, fromOrigin: res.headers.get('x-origin') === 'yes' }
    },
  }
}

// ---- (b) convergence across processes ----------------------------------------------------------

describe('governor processes sharing one Redis through the Upstash front', () => {
  it(
    'a fault seen only by process A reaches B and C through Redis as signals, not as shedding; all recover',
    async () => {
      const { url, token } = inject('upstash')
      const prefix = crypto.randomUUID()
      const procs: IsolateProcess[] = await Promise.all(
        // 20 samples per exchange (15 to 25): at 100 req/s per process, B and C talk at least
        // every interval (250 ms), as busy isolates do; A's errors are news and go at once.
        [0, 1, 2].map((k) =>
          spawnIsolate({
            url,
            token,
            prefix,
            isolateId: `proc-${k}`,
            nowMs: T0,
            config: { sync: { samplesPerExchange: 20 } },
          })
        ),
      )
      try {
        // 300 req/s round-robin over the three processes, as sync.test.ts runs three isolates. The
        // processes take turns in slices of 50 virtual ms (A, then B, then C), each slice's
        // requests in time order and every due exchange awaited before the next request.
        const rps = 300
        const sliceRequests = 15
        let i = 0
        const last = procs.map(() => null as IsolateRunResult['snapshot'])
        const run = async (
          seconds: number,
          outcome: (k: number) => { latencyMs: number; ok: boolean },
          onDecision?: (k: number, allow: boolean, t: number) => void,
        ) => {
          const end = i + seconds * rps
          while (i < end) {
            const batches: IsolateRequest[][] = [[], [], []]
            for (const stop = Math.min(end, i + sliceRequests); i < stop; i++) {
              const k = i % 3
              const t = T0 + (i + 1) * (1000 / rps)
              batches[k]!.push({ t, priority: mixed(Math.floor(i / 3)), ...outcome(k) })
            }
            for (let k = 0; k < 3; k++) {
              const batch = batches[k]!
              if (batch.length === 0) continue
              const result = await procs[k]!.run('checkout', batch)
              last[k] = result.snapshot
              for (let j = 0; j < batch.length; j++) {
                onDecision?.(k, result.allowed[j] === '1', batch[j]!.t)
              }
            }
          }
        }

        await run(20, () => ({ latencyMs: 40, ok: true }))
        expect(last.map((s) => s?.mode)).toEqual(['OPERATIONAL', 'OPERATIONAL', 'OPERATIONAL'])

        const faultAt = T0 + i * (1000 / rps)
        const firstShed = [Infinity, Infinity, Infinity]
        await run(
          3,
          (k) => (k === 0 ? { latencyMs: 20, ok: false } : { latencyMs: 40, ok: true }),
          (k, allow, t) => {
            if (!allow && firstShed[k] === Infinity) firstShed[k] = t - faultAt
          },
        )
        // A's requests got no answer: an outage for A. B and C never saw an error themselves:
        // Redis told them (their error rate), and they keep admitting what they can serve.
        expect(firstShed[0]).toBeLessThanOrEqual(1000)
        expect(firstShed[1]).toBe(Infinity)
        expect(firstShed[2]).toBe(Infinity)
        // A sheds most of its traffic once it has declared the outage: few failures travel.
        for (const s of last.slice(1)) expect(s!.errorRate).toBeGreaterThan(0.01)

        await run(40, () => ({ latencyMs: 40, ok: true }))
        for (const s of last) {
          expect(s!.mode).toBe('OPERATIONAL')
          expect(s!.combined).toBe(0)
        }
        for (const p of procs) expect((await p.status()).degraded).toBe(false)
      } finally {
        await Promise.all(procs.map((p) => p.close()))
      }
    },
    120_000,
  )

  // ---- (d) global leases across processes ------------------------------------------------------

  it(
    "global leases: a lease taken in one process counts in the other; a killed process's lease comes back after its TTL",
    async () => {
      const { url, token } = inject('upstash')
      const prefix = crypto.randomUUID()
      const config = { defaults: { concurrency: { initial: 2, min: 1, max: 2 } } }
      const [a, b] = await Promise.all(
        ['lease-a', 'lease-b'].map((isolateId) =>
          spawnIsolate({ url, token, prefix, isolateId, config, nowMs: T0 })
        ),
      )
      try {
        expect(await a!.task('jobs', 'HEAVY', T0)).toEqual({ granted: true })
        expect(await a!.task('jobs', 'HEAVY', T0)).toEqual({ granted: true })
        const store = upstashStore({ url, token, prefix })
        expect((await store.snapshot('jobs@HEAVY', T0)).leases).toBe(2)
        // B holds nothing locally, yet the route is full: A's leases count here.
        expect(await b!.task('jobs', 'HEAVY', T0 + 10)).toEqual({
          granted: false,
          reason: 'concurrency',
        })
        // A dies mid-lease: no heartbeat, no release. HEAVY heartbeats every 1,000 ms and a lease
        // lives 1.5 intervals, so its capacity is back at T0 + 1,500 ms and not before.
        await a!.kill()
        expect(await b!.task('jobs', 'HEAVY', T0 + 1499)).toMatchObject({ granted: false })
        expect(await b!.task('jobs', 'HEAVY', T0 + 1500)).toEqual({ granted: true })
        expect((await store.snapshot('jobs@HEAVY', T0 + 1500)).leases).toBe(1)
      } finally {
        await Promise.all([a?.close(), b?.close()])
      }
    },
    30_000,
  )
})

// ---- (c) store failures ------------------------------------------------------------------------

interface FailureCase {
  name: string
  /** What status().lastError says. */
  error: RegExp
  /**
   * Whether samples may count twice (an exchange that failed but still reached Redis), or be
   * lost: a timed-out exchange is aborted and its deltas dropped (at most once, docs/sync.md).
   */
  atLeastOnce: boolean
  atMostOnce?: boolean
  start(rig: FailureRig): Promise<void>
  stop(rig: FailureRig): Promise<void>
}

interface FailureRig {
  front: UpstashFront
  port: number
  redisUrl: string
  token: string
}

const fault = (f: FrontFault): Pick<FailureCase, 'start' | 'stop'> => ({
  start: (rig) => Promise.resolve(rig.front.setFault(f)),
  stop: (rig) => Promise.resolve(rig.front.setFault(null)),
})

const failures = (token: string): FailureCase[] => [
  {
    name: 'unreachable (nothing listens on its port)',
    error: /fetch failed|ECONNREFUSED|refused/i,
    atLeastOnce: false,
    start: (rig) => rig.front.close(),
    async stop(rig) {
      rig.front = await startUpstashFront({ redisUrl: rig.redisUrl, token, port: rig.port })
    },
  },
  {
    name: 'slow (answers after timeoutMs)',
    error: /timed out after 100 ms/,
    atLeastOnce: false,
    atMostOnce: true,
    ...fault({ kind: 'delay', ms: 400 }),
  },
  {
    name: 'answering 500 with an error that names the token',
    error: /ERR injected/,
    atLeastOnce: false,
    ...fault({ kind: 'error', status: 500, message: `ERR injected: Bearer ${token}` }),
  },
  {
    name: 'answering {"error"} for each command',
    error: /ERR injected/,
    atLeastOnce: false,
    ...fault({ kind: 'error', status: 200, message: 'ERR injected NOPERM' }),
  },
]

describe('store failure through the proxy app (Upstash front with faults)', () => {
  const { token } = inject('upstash')
  it.each(failures(token))(
    'store $name: requests see only the origin, decisions go on, sync degrades and recovers',
    async (failure) => {
      const { redisUrl } = inject('upstash')
      const port = await freePort()
      const rig: FailureRig = {
        front: await startUpstashFront({ redisUrl, token, port }),
        port,
        redisUrl,
        token,
      }
      const clock = virtualClock(T0)
      const store = upstashStore({ url: rig.front.url, token, prefix: crypto.randomUUID() })
      // An exchange after every request: this test is about failures, not about when to talk.
      const iso = edgeIsolate(store, clock, {
        isolateId: 'edge',
        timeoutMs: 100,
        samplesPerExchange: 1,
      })
      let sent = 0
      const phase = async (seconds: number) => {
        const statuses = new Map<string, number>()
        for (let k = 0; k < seconds * 50; k++) {
          clock.now += 20
          const res = await iso.request(`/api/items/${sent++}`)
          const key = `${res.status} ${res.fromOrigin ? 'origin' : 'edge'}`
          statuses.set(key, (statuses.get(key) ?? 0) + 1)
        }
        return Object.fromEntries(statuses)
      }
      try {
        expect(await phase(2)).toEqual({ '200 origin': 100 })
        expect(iso.sync.status()).toMatchObject({ degraded: false, failures: 0 })

        await failure.start(rig)
        // Every answer is the origin's, admitted from local state.
        expect(await phase(2)).toEqual({ '200 origin': 100 })
        const status = iso.sync.status()
        expect(status.degraded).toBe(true)
        // Attempts back off: 2, 4, 8 intervals after a failure (not one per 250 ms interval).
        expect(status.failures).toBeGreaterThanOrEqual(3)
        expect(status.failures).toBeLessThanOrEqual(5)
        expect(status.lastError).toMatch(failure.error)
        expect(status.lastError).not.toContain(token)

        await failure.stop(rig)
        // The next attempt comes within 16 intervals (4 s) of the last failure.
        expect(await phase(5)).toEqual({ '200 origin': 250 })
        expect(iso.sync.status().degraded).toBe(false)
        // What was decided while the store failed was sent again once it came back.
        await iso.sync.syncNow()
        if (failure.atLeastOnce) await new Promise((resolve) => setTimeout(resolve, 500))
        const { totals } = await store.snapshot('api', clock.now)
        if (failure.atMostOnce) {
          // The exchanges that timed out were aborted at the timeout and their deltas dropped
          // (they no longer pile up and land late, once per retry that carried them): what they
          // carried may be lost, nothing counts twice (450 requests were decided in all). What
          // was decided while the store answered in time (100 before, 250 after) arrives, but
          // for an exchange that straddles the end of the slow spell.
          expect(totals.requests).toBeLessThanOrEqual(450)
          expect(totals.requests).toBeGreaterThanOrEqual(300)
        } else if (failure.atLeastOnce) {
          // None lost. But a timed-out exchange still lands later, and its deltas, put back, ride
          // along with every following attempt that times out too: a sample decided in a slow
          // spell counts once per attempt that carried it.
          expect(totals.requests).toBeGreaterThanOrEqual(450)
          expect(totals.requests).toBeLessThanOrEqual(350 + 100 * (status.failures + 1))
        } else {
          expect(totals.requests).toBe(450)
        }
        expect(totals.ok).toBe(totals.admitted)
      } finally {
        await rig.front.close()
      }
    },
    20_000,
  )
})

// ---- (e) round trips ---------------------------------------------------------------------------

describe('store round trips at a steady load through the proxy app', () => {
  it.each([
    { isolates: 3, rps: 600, seconds: 10 },
    { isolates: 1, rps: 1000, seconds: 5 },
  ])(
    '$isolates isolate(s) at $rps req/s for $seconds virtual s: one round trip per 150 to 250 requests of an isolate',
    async ({ isolates, rps, seconds }) => {
      const { redisUrl, token } = inject('upstash')
      // A front of its own, so that it counts only this test's requests.
      const front = await startUpstashFront({ redisUrl, token })
      const prefix = crypto.randomUUID()
      const clock = virtualClock(T0)
      try {
        const edges = Array.from(
          { length: isolates },
          (_, k) =>
            edgeIsolate(upstashStore({ url: front.url, token, prefix }), clock, {
              isolateId: `edge-${k}`,
            }),
        )
        const total = rps * seconds
        for (let i = 0; i < total; i++) {
          clock.now = T0 + (i + 1) * (1000 / rps)
          const res = await edges[i % isolates]!.request()
          expect(res).toEqual({ status: 200, fromOrigin: true })
        }
        const roundTrips = front.requests.length
        const perThousand = (roundTrips / total) * 1000
        console.log(
          `Upstash round trips: ${roundTrips} for ${total} requests = ${perThousand.toFixed(1)} ` +
            `per 1,000 requests (${isolates} isolate(s), ${rps} req/s, ${seconds} virtual s, ` +
            `200 samples per exchange; one per isolate per ${INTERVAL_MS} ms interval would be ${
              ((isolates * seconds * 1000) / INTERVAL_MS / total * 1000).toFixed(1)
            } per 1,000)`,
        )
        // Paid by samples (docs/sync.md): one exchange per 150 to 250 requests of an isolate,
        // nothing is news at a steady load, the config version rides in the exchange's answer (no
        // poll), at most one heartbeat per isolate falls due, each isolate says one first word
        // in its life (after 8 to 32 samples, to learn its share), plus one EVAL when Redis did
        // not have the script yet (EVALSHA answers NOSCRIPT).
        expect(roundTrips).toBeLessThanOrEqual(Math.ceil(total / 150) + 3 * isolates + 1)
        expect(roundTrips).toBeGreaterThanOrEqual(Math.floor(total / 250) - isolates)
        expect(perThousand).toBeLessThanOrEqual(10)
        // The one kind of failure allowed: EVALSHA answered NOSCRIPT (400) when Redis did not have
        // the script (a fresh Redis, or another file's SCRIPT FLUSH on the shared one), each
        // followed by the EVAL that loads it.
        const failed = front.requests.filter((r) => r.status !== 200)
        expect(failed.every((r) => r.status === 400 && r.commands.join() === 'EVALSHA')).toBe(true)
        const evals = front.requests.filter((r) => r.commands.join() === 'EVAL').length
        expect(evals).toBe(failed.length)
      } finally {
        await front.close()
      }
    },
    60_000,
  )
})
