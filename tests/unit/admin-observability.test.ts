// The observability section through the admin app: cumulative counters and the latency histogram
// kept beside the governor, GET /api/stats (the dashboard's contract), GET /metrics parsed by a
// real Prometheus text-format parser, on both engines.
import { describe, expect, it } from 'vitest'
import parsePrometheusTextFormat from 'parse-prometheus-text-format'
import { createAdminApp, observabilitySection } from '../../src/admin/index.ts'
import type { ObservabilityDeps, Stats } from '../../src/admin/index.ts'
import { latencyQuantile } from '../../src/mod.ts'
import { HISTOGRAM_BOUNDS_MS } from '../../src/store/types.ts'
import { drive, ENGINES, type Rig, rig, warmUp } from '../support/harness.ts'

const TOKEN = 'obs-token'
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
        'rheostat_config_version',
        'rheostat_sync_degraded',
        'rheostat_sync_exchange_duration_seconds',
      ]
    ) expect(byName.has(name), name).toBe(true)
    expect(byName.get('rheostat_config_version')!.metrics[0]!.value).toBe('7')
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
