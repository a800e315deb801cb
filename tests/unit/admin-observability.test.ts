// The observability section through the admin app: cumulative counters and the latency histogram
// kept beside the governor, GET /api/stats (the dashboard's contract), GET /metrics parsed by a
// real Prometheus text-format parser, on both engines.
import { describe, expect, it } from 'vitest'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import {
  createAdminApp,
  type ObservabilityDeps,
  observabilitySection,
  type Stats,
  watchDecisionLog,
} from '../../src/admin/index.ts'
import { latencyQuantile } from '../../src/mod.ts'
import { HISTOGRAM_BOUNDS_MS } from '../../src/contract/telemetry-store.ts'
import { drive, ENGINES, type Rig, rig, warmUp } from '../support/harness.ts'

const TOKEN = 'obs-token-0123456789abcdefghijklmnopq'
const auth = { authorization: `Bearer ${TOKEN}` }

function adminFor(r: Rig, extra: Partial<ObservabilityDeps> = {}) {
  return createAdminApp({
    token: TOKEN,
    sections: [
      observabilitySection({ governor: r.gov, clock: r.clock.read, maxBodyBytes: 65536, ...extra }),
    ],
  })
}

async function getStats(r: Rig, query = ''): Promise<Stats> {
  const res = await adminFor(r).request(`http://edge/__rheostat/api/stats${query}`, {
    headers: auth,
  })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^application\/json/)
  return await res.json() as Stats
}

async function getMetrics(r: Rig, extra: Partial<ObservabilityDeps> = {}) {
  const res = await adminFor(r, extra).request('http://edge/__rheostat/metrics', { headers: auth })
  expect(res.status).toBe(200)
  expect(res.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
  const text = await res.text()
  return { text, families: parsePrometheusTextFormat(text) }
}

describe.each(ENGINES)('observability on the %s engine', (engine) => {
  it('GET /api/stats lists each route with counters by priority and latency percentiles', async () => {
    const r = rig(engine)
    // 300 requests, a third per priority, latency 20 ms for the first 200 and 400 ms after.
    drive(r, {
      route: 'checkout',
      rps: 50,
      seconds: 6,
      latencyMs: (_t, i) => i < 200 ? 20 : 400,
      priority: (i) => ['critical', 'normal', 'low'][i % 3] as string,
    })
    const stats = await getStats(r)
    expect(stats.isolateId).toBe('local')
    expect(stats.configVersion).toBe(0)
    expect(stats.engine).toBe(engine)
    expect(stats.sync.store).toBe('none')
    expect(stats.isolates).toEqual([
      { isolateId: 'local', configVersion: 0, lastSeenMs: stats.t, syncDegraded: false },
    ])
    expect(stats.routes).toHaveLength(1)
    const route = stats.routes[0]!
    expect(route.route).toBe('checkout')
    expect(['BOOTSTRAP', 'OPERATIONAL', 'HALF_OPEN', 'CIRCUIT_BREAKER']).toContain(route.mode)
    for (const key of ['latency', 'errors', 'saturation', 'combined'] as const) {
      expect(route.pressure[key]).toBeGreaterThanOrEqual(0)
    }
    const admitted = Object.values(route.admitted).reduce((a, b) => a + b, 0)
    const shed = Object.values(route.shed).reduce((a, b) => a + b, 0)
    expect(admitted + shed).toBe(300)
    expect(Object.keys(route.admitted)).toEqual(['critical', 'normal', 'low'])
    expect(route.latency.count).toBe(admitted)
    // Latencies sit in the (10, 20] and (200, 500] ms buckets.
    expect(route.latency.counts[HISTOGRAM_BOUNDS_MS.indexOf(20)]).toBe(
      route.admitted.critical! + route.admitted.normal! + route.admitted.low! -
        route.latency.counts[HISTOGRAM_BOUNDS_MS.indexOf(500)]!,
    )
    expect(route.latencyMs.p50).toBeGreaterThan(10)
    expect(route.latencyMs.p50).toBeLessThanOrEqual(20)
    expect(route.latencyMs.p99).toBeGreaterThan(200)
    expect(route.latencyMs.p99).toBeLessThanOrEqual(500)
    expect(route.inflight).toBe(0)
    expect(route.concurrencyLimit).toBeGreaterThan(0)
  })

  it('GET /api/stats counts shed requests by priority once the route trips', async () => {
    const r = rig(engine)
    warmUp(r, 'pay')
    drive(r, {
      route: 'pay',
      rps: 50,
      seconds: 10,
      latencyMs: () => 20,
      ok: () => false,
      priority: (i) => i % 2 === 0 ? 'critical' : 'low',
    })
    const route = (await getStats(r)).routes[0]!
    expect(['CIRCUIT_BREAKER', 'HALF_OPEN']).toContain(route.mode)
    expect(route.modeTransitions).toBeGreaterThanOrEqual(2)
    expect(route.shed.low).toBeGreaterThan(0)
    expect(route.shed.critical).toBeGreaterThan(0)
    expect(route.shed.normal).toBe(0)
    expect(route.admitted.normal).toBe(1000) // all of the warm-up
  })

  it('GET /api/stats honours ?limit, most recent first, and refuses a bad one', async () => {
    const r = rig(engine)
    for (const id of ['a', 'b', 'c']) r.gov.admit(id)
    const stats = await getStats(r, '?limit=2')
    expect(stats.routes.map((x) => x.route)).toEqual(['c', 'b'])
    expect(stats.routesHeld).toBe(3)
    expect(stats.truncated).toBe(true)
    for (const bad of ['0', 'x', '1.5', '99999999']) {
      const res = await adminFor(r).request(`http://edge/__rheostat/api/stats?limit=${bad}`, {
        headers: auth,
      })
      expect(res.status).toBe(422)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      expect((await res.json()).problems[0].path).toBe('limit')
    }
  })

  it('counters() restart when a route is evicted and its slot reused', () => {
    const r = rig(engine, { maxRoutes: 2 })
    r.gov.admit('a')
    r.gov.admit('a')
    r.gov.admit('b')
    r.gov.admit('c') // evicts a
    expect(r.gov.counters('a')).toBeUndefined()
    r.gov.admit('a') // evicts b, reuses its slot
    expect(Object.values(r.gov.counters('a')!.admitted).reduce((x, y) => x + y)).toBe(1)
  })

  it('GET /metrics is a valid Prometheus exposition of the same numbers', async () => {
    const r = rig(engine)
    const odd = 'we"ird\\route\nname'
    drive(r, { route: 'checkout', rps: 20, seconds: 2, latencyMs: () => 30 })
    r.gov.admit(odd, { priority: 'low' })
    const { text, families } = await getMetrics(r, { configVersion: () => 7 })
    const byName = new Map(families.map((f) => [f.name, f]))
    // Every family has HELP and TYPE; counters end in _total.
    for (const line of text.split('\n').filter((l) => l.startsWith('# TYPE'))) {
      const [, , name, type] = line.split(' ')
      expect(text).toContain(`# HELP ${name} `)
      if (type === 'counter') expect(name).toMatch(/_total$/)
      expect(name).toMatch(/^rheostat_/)
    }
    for (
      const name of [
        'rheostat_resistance_ohms',
        'rheostat_pressure',
        'rheostat_momentum_per_second',
        'rheostat_scar',
        'rheostat_mode',
        'rheostat_latency_threshold_seconds',
        'rheostat_error_rate_threshold',
        'rheostat_admitted_total',
        'rheostat_shed_total',
        'rheostat_request_duration_seconds',
        'rheostat_inflight',
        'rheostat_concurrency_limit',
        'rheostat_tickets_expired_total',
        'rheostat_config_version',
        'rheostat_sync_degraded',
        'rheostat_sync_exchange_duration_seconds',
      ]
    ) expect(byName.has(name), name).toBe(true)
    expect(byName.get('rheostat_config_version')!.metrics[0]!.value).toBe('7')
    expect(
      byName.get('rheostat_tickets_expired_total')!.metrics.find((m) =>
        m.labels?.route === 'checkout'
      )!.value,
    ).toBe('0')
    expect(byName.get('rheostat_admitted_total')!.type).toBe('COUNTER')
    const admitted = byName.get('rheostat_admitted_total')!.metrics
    expect(
      admitted.find((m) => m.labels?.route === 'checkout' && m.labels.priority === 'normal')!
        .value,
    ).toBe('40')
    // The label value survives escaping.
    expect(admitted.find((m) => m.labels?.route === odd && m.labels.priority === 'low')!.value)
      .toBe('1')
    const modes = byName.get('rheostat_mode')!.metrics.filter((m) => m.labels?.route === 'checkout')
    expect(modes.map((m) => Number(m.value)).reduce((a, b) => a + b)).toBe(1)
    expect(byName.get('rheostat_request_duration_seconds')!.type).toBe('HISTOGRAM')
    // The parser folds a histogram's series into one regardless of their labels (it handles only
    // unlabelled histograms), so the per-route series are read from the lines themselves.
    const series = (suffix: string) =>
      new Map(
        [...text.matchAll(
          new RegExp(
            `^rheostat_request_duration_seconds_${suffix}\\{route="checkout"(?:,le="([^"]+)")?\\} (\\S+)$`,
            'gm',
          ),
        )].map((m) => [m[1] ?? '', m[2] as string]),
      )
    expect(series('count').get('')).toBe('40')
    expect(Number(series('sum').get(''))).toBeCloseTo(40 * 0.03, 9)
    const buckets = series('bucket')
    expect([...buckets.keys()]).toEqual([
      ...HISTOGRAM_BOUNDS_MS.map((b) => String(b / 1000)),
      '+Inf',
    ])
    expect(buckets.get('0.02')).toBe('0')
    expect(buckets.get('0.05')).toBe('40')
    expect(buckets.get('+Inf')).toBe('40')
    const values = [...buckets.values()].map(Number)
    expect(values).toEqual([...values].sort((a, b) => a - b))
  })

  it('GET /metrics and /api/stats need the admin token', async () => {
    const r = rig(engine)
    for (const path of ['/metrics', '/api/stats']) {
      const res = await adminFor(r).request(`http://edge/__rheostat${path}`)
      expect(res.status).toBe(401)
    }
  })
})

describe('latencyQuantile()', () => {
  const counts = (entries: Record<number, number>) =>
    [...HISTOGRAM_BOUNDS_MS, Infinity].map((_, i) => entries[i] ?? 0)
  const histogram = (c: number[]) => ({
    boundsMs: HISTOGRAM_BOUNDS_MS,
    counts: c,
    sumMs: 0,
    count: c.reduce((a, b) => a + b, 0),
  })

  it('latencyQuantile() interpolates within a bucket and caps at the last bound', () => {
    expect(latencyQuantile(histogram(counts({})), 0.5)).toBeNull()
    expect(latencyQuantile(histogram(counts({ 0: 4 })), 0.5)).toBe(0.5)
    expect(latencyQuantile(histogram(counts({ 2: 1, 3: 1 })), 0.5)).toBe(5)
    expect(latencyQuantile(histogram(counts({ 2: 1, 3: 1 })), 0.75)).toBe(7.5)
    expect(latencyQuantile(histogram(counts({ 15: 3 })), 0.99)).toBe(60000)
  })
})

/** Reads Server-Sent Events frames from a response body. */
function sseReader(res: Response) {
  const reader = res.body!.getReader()
  const decoder = new TextDecoder()
  let buffer = ''
  const frames: { event: string; data: unknown; comment?: string }[] = []
  return {
    /** The next frame, reading more of the body when none is buffered. */
    async next(): Promise<{ event: string; data: unknown; comment?: string }> {
      for (;;) {
        const cut = buffer.indexOf('\n\n')
        if (cut >= 0) {
          const block = buffer.slice(0, cut)
          buffer = buffer.slice(cut + 2)
          let event = 'message'
          let data = ''
          let comment: string | undefined
          for (const line of block.split('\n')) {
            if (line.startsWith(':')) comment = line.slice(1).trim()
            else if (line.startsWith('event: ')) event = line.slice(7)
            else if (line.startsWith('data: ')) data += line.slice(6)
          }
          const frame = comment !== undefined
            ? { event: 'comment', data: null, comment }
            : { event, data: JSON.parse(data) }
          frames.push(frame)
          return frame
        }
        const { done, value } = await reader.read()
        if (done) throw new Error('The stream ended')
        buffer += decoder.decode(value, { stream: true })
      }
    },
    /** Every frame already buffered or readable without waiting for new events. */
    buffered(): number {
      return buffer.split('\n\n').length - 1
    },
    cancel: () => reader.cancel(),
  }
}

describe.each(ENGINES)('GET /api/events on the %s engine', (engine) => {
  const open = (r: Rig, events: Record<string, number>) => {
    const admin = createAdminApp({
      token: TOKEN,
      sections: [
        observabilitySection({
          governor: r.gov,
          clock: r.clock.read,
          maxBodyBytes: 65536,
          events: { statsIntervalMs: 0, heartbeatMs: 0, ...events },
        }),
      ],
    })
    const get = (path: string) => admin.request(`http://edge/__rheostat${path}`, { headers: auth })
    return { admin, get }
  }

  it('GET /api/events streams stats first, then sampled decisions and every mode change', async () => {
    const r = rig(engine)
    warmUp(r, 'pay')
    const { get } = open(r, { maxDecisionsPerS: 5 })
    const res = await get('/api/events')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const sse = sseReader(res)
    const stats = await sse.next()
    expect(stats.event).toBe('stats')
    expect((stats.data as Stats).routes[0]).toMatchObject({ route: 'pay', mode: 'OPERATIONAL' })
    expect((stats.data as Stats).events.subscribers).toBe(1)

    // 10 s without answers at 50 req/s: an outage; then 5 s of health ramp the route back.
    // Decisions are capped at 5 per second.
    const before = r.clock.now
    drive(r, { route: 'pay', rps: 50, seconds: 10, latencyMs: () => 20, ok: () => false })
    drive(r, { route: 'pay', rps: 50, seconds: 5, latencyMs: () => 20 })
    const frames: { event: string; data: unknown }[] = []
    const seconds = Math.ceil(r.clock.now / 1000) - Math.floor(before / 1000)
    for (;;) {
      const frame = await sse.next()
      frames.push(frame)
      const modes = frames.filter((f) => f.event === 'mode').map((f) => f.data as { to: string })
      if (modes.length >= 2) break
    }
    const decisions = frames.filter((f) => f.event === 'decision').map((f) =>
      f.data as { t: number; route: string; priority: string; allow: boolean; mode: string }
    )
    expect(decisions.length).toBeGreaterThan(0)
    expect(decisions.length).toBeLessThanOrEqual(5 * seconds)
    const perSecond = new Map<number, number>()
    for (const d of decisions) {
      expect(d).toMatchObject({ route: 'pay', priority: 'normal' })
      expect(typeof d.allow).toBe('boolean')
      perSecond.set(Math.floor(d.t / 1000), (perSecond.get(Math.floor(d.t / 1000)) ?? 0) + 1)
    }
    for (const n of perSecond.values()) expect(n).toBeLessThanOrEqual(5)
    const modes = frames.filter((f) => f.event === 'mode').map((f) =>
      f.data as { route: string; from: string; to: string; resistanceOhm: number }
    )
    expect(modes.map((m) => [m.from, m.to])).toEqual([
      ['OPERATIONAL', 'CIRCUIT_BREAKER'],
      ['CIRCUIT_BREAKER', 'OPERATIONAL'],
    ])
    expect(modes[0]!.resistanceOhm).toBeGreaterThan(1)
    await sse.cancel()
  })

  it('GET /api/events drops and counts what a client that does not read cannot take', async () => {
    const r = rig(engine)
    const { get } = open(r, { maxDecisionsPerS: 1000, maxQueue: 10 })
    const sse = sseReader(await get('/api/events'))
    expect((await sse.next()).event).toBe('stats')
    for (let i = 0; i < 50; i++) r.gov.admit('slow')
    const stats = await (await get('/api/stats')).json() as Stats
    expect(stats.events).toEqual({ subscribers: 1, dropped: 40, sampledOut: 0 })
    const got = []
    for (let i = 0; i < 10; i++) got.push(await sse.next())
    expect(got.every((f) => f.event === 'decision')).toBe(true)
    expect(sse.buffered()).toBe(0)
    await sse.cancel()
    const after = await (await get('/api/stats')).json() as Stats
    expect(after.events.subscribers).toBe(0)
  })

  it('GET /api/events refuses streams beyond the cap with 503 and sends heartbeats', async () => {
    const r = rig(engine)
    const { get } = open(r, { maxSubscribers: 1, heartbeatMs: 1 })
    const first = sseReader(await get('/api/events'))
    const second = await get('/api/events')
    expect(second.status).toBe(503)
    expect(second.headers.get('content-type')).toBe('application/problem+json')
    expect(second.headers.get('retry-after')).toBe('5')
    expect((await first.next()).event).toBe('stats')
    expect(await first.next()).toEqual({ event: 'comment', data: null, comment: 'heartbeat' })
    await first.cancel()
    const third = sseReader(await get('/api/events'))
    expect((await third.next()).event).toBe('stats')
    await third.cancel()
  })
})

describe.each(ENGINES)('watchDecisionLog() on the %s engine', (engine) => {
  it('watchDecisionLog() writes NDJSON: every mode change, decisions capped per second', () => {
    const r = rig(engine)
    const lines: string[] = []
    warmUp(r, 'pay')
    const stop = watchDecisionLog(r.gov, { maxDecisionsPerS: 2, log: (l) => lines.push(l) })
    drive(r, { route: 'pay', rps: 50, seconds: 10, latencyMs: () => 20, ok: () => false })
    drive(r, { route: 'pay', rps: 50, seconds: 5, latencyMs: () => 20 })
    stop()
    const records = lines.map((l) => JSON.parse(l))
    expect(records.every((x) => x.source === 'rheostat')).toBe(true)
    expect(records.filter((x) => x.event === 'mode').map((x) => [x.from, x.to])).toEqual([
      ['OPERATIONAL', 'CIRCUIT_BREAKER'],
      ['CIRCUIT_BREAKER', 'OPERATIONAL'],
    ])
    const decisions = records.filter((x) => x.event === 'decision')
    expect(decisions).toHaveLength(2 * 15)
    expect(Object.keys(decisions[0])).toEqual([
      'source',
      'event',
      't',
      'route',
      'priority',
      'allow',
      'mode',
      'resistanceOhm',
    ])
    const count = lines.length
    r.gov.admit('pay')
    expect(lines).toHaveLength(count)
  })
})

describe.each(ENGINES)('POST /api/telemetry on the %s engine', (engine) => {
  const setup = () => {
    const r = rig(engine, { routes: [{ id: 'checkout' }] })
    const admin = adminFor(r)
    const post = (body: unknown, headers: Record<string, string> = auth) =>
      admin.request('http://edge/__rheostat/api/telemetry', {
        method: 'POST',
        headers: { 'content-type': 'application/json', ...headers },
        body: JSON.stringify(body),
      })
    return { r, post }
  }

  it('POST /api/telemetry injects pressure into a configured route until its ttl', async () => {
    const { r, post } = setup()
    const t0 = r.clock.now
    const res = await post({ route: 'checkout', pressure: 0.7, ttlS: 2 })
    expect(res.status).toBe(202)
    expect(await res.json()).toEqual({
      route: 'checkout',
      isolateId: 'local',
      injected: { pressure: 0.7, untilMs: t0 + 2000 },
      observed: false,
    })
    r.clock.now = t0 + 150
    const during = (await getStats(r)).routes.find((x) => x.route === 'checkout')!
    expect(during.pressure.combined).toBe(0.7)
    expect(during.injected).toEqual({ pressure: 0.7, untilMs: t0 + 2000 })
    r.clock.now = t0 + 2500
    const after = (await getStats(r)).routes.find((x) => x.route === 'checkout')!
    expect(after.pressure.combined).toBe(0)
    expect(after.injected).toBeNull()
  })

  it('POST /api/telemetry feeds raw telemetry, with a default ttl of 30 s for pressure', async () => {
    const { r, post } = setup()
    const res = await post({ route: 'checkout', saturation: 1, pressure: 0.2 })
    expect(res.status).toBe(202)
    const body = await res.json()
    expect(body.observed).toBe(true)
    expect(body.injected.untilMs).toBe(r.clock.now + 30000)
    r.clock.now += 1000
    await post({ route: 'checkout', saturation: 1 })
    r.clock.now += 1000
    const route = (await getStats(r)).routes[0]!
    // Two reports of a full origin, smoothed over the signal time constant.
    expect(route.signals.saturation).toBeGreaterThan(0.1)
    expect(route.pressure.combined).toBeGreaterThanOrEqual(0.2)
  })

  it('POST /api/telemetry answers 422 with each problem, 404 for an unknown route', async () => {
    const { r, post } = setup()
    const cases: [unknown, string[]][] = [
      [{ route: 'checkout', pressure: 1.5 }, ['pressure']],
      [{ pressure: 0.5 }, ['route']],
      [{ route: 'checkout', pressure: 0.5, ttlS: 0 }, ['ttlS']],
      [{ route: 'checkout', pressure: 0.5, ttlS: 7200 }, ['ttlS']],
      [{ route: 'checkout', latencyMs: 5, ttlS: 10 }, ['ttlS']],
      [{ route: 'checkout' }, ['']],
      [{ route: 'checkout', pressure: 0.5, extra: 1 }, ['']],
      [{ route: '', pressure: '0.5' }, ['route', 'pressure']],
      [[1, 2], ['']],
    ]
    for (const [body, paths] of cases) {
      const res = await post(body)
      expect(res.status, JSON.stringify(body)).toBe(422)
      expect(res.headers.get('content-type')).toBe('application/problem+json')
      const problem = await res.json()
      expect(problem.problems.map((p: { path: string }) => p.path).sort()).toEqual(paths.sort())
      for (const p of problem.problems) expect(p.message.length).toBeGreaterThan(0)
    }
    const unknown = await post({ route: 'nope', pressure: 0.5 })
    expect(unknown.status).toBe(404)
    expect(r.gov.routes()).not.toContain('nope')
    expect((await post({ route: 'checkout', pressure: 0.5 }, {})).status).toBe(401)
    const text = await adminFor(r).request('http://edge/__rheostat/api/telemetry', {
      method: 'POST',
      headers: { ...auth, 'content-type': 'text/plain' },
      body: 'pressure=1',
    })
    expect(text.status).toBe(415)
    expect(r.gov.snapshot('checkout')).toBeUndefined()
  })
})
