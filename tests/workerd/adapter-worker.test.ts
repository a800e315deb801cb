// The Worker entry (src/adapter/cloudflare-workers/worker.ts) end to end inside workerd: its
// default export's fetch with an env and an ExecutionContext, in front of real demo origins
// (scripts/demo-origin.ts, started by global-setup.ts and reached over loopback), with the
// Durable Object store on this project's ROUTE_STATE namespace. The configs are the ones that
// ship: the root wrangler.toml's and the example's, as wrangler reads them.
import { env } from 'cloudflare:workers'
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { afterEach, describe, expect, inject, it, vi } from 'vitest'
import worker from '../../src/adapter/cloudflare-workers/worker.ts'
import { INVALID_CONFIG_PROBLEM_TYPE } from '../../src/adapter/cloudflare-workers/handler.ts'
import example from '../../examples/cloudflare-proxy/index.ts'
import { parseEdgeConfigText } from '../../src/config/schema.ts'
import { SHED_PROBLEM_TYPE } from '../../src/http/responses.ts'
import { DurableObjectStore } from '../../src/store/durable-object/index.ts'
import type { OriginName } from './global-setup.ts'

type WorkerEnv = Parameters<typeof worker.fetch>[1]

const origins = inject('demoOrigins')
const shipped = inject('shippedConfigs')

/**
 * A shipped config with its origins moved to a demo origin and its route ids made unique (the
 * Durable Object namespace outlives a test), as JSON text.
 */
/** The parts of a config JSON the tests edit. */
interface ConfigJson {
  sync: { store: string }
  routes: { id: string; origin: string; priority?: string }[]
}

function configFor(
  text: string,
  origin: OriginName,
  edit: (config: ConfigJson) => void = () => {},
) {
  const config = JSON.parse(text) as ConfigJson
  const tag = crypto.randomUUID().slice(0, 8)
  for (const route of config.routes) {
    route.origin = origins[origin]
    route.id = `${route.id}-${tag}`
  }
  edit(config)
  return { text: JSON.stringify(config), id: (id: string) => `${id}-${tag}` }
}

async function call(
  envFor: WorkerEnv,
  path: string,
  init: RequestInit = {},
  handler: { fetch: typeof worker.fetch } = worker,
) {
  const ctx = createExecutionContext()
  const response = await handler.fetch(new Request(`https://edge.test${path}`, init), envFor, ctx)
  // The exchange the request started runs in waitUntil; let it finish like the runtime would.
  const body = await response.text()
  await waitOnExecutionContext(ctx)
  return { response, body }
}

function knobs(origin: OriginName, values: Record<string, number>) {
  const query = new URLSearchParams(Object.entries(values).map(([k, v]) => [k, String(v)]))
  return fetch(`${origins[origin]}/__origin/knobs?${query}`, { method: 'POST' }).then((r) =>
    r.json()
  )
}

afterEach(() => {
  vi.restoreAllMocks()
})

describe('Worker entry', () => {
  it('the root wrangler.toml ships the entry, the Durable Object bindings and a valid config', () => {
    const { root } = shipped
    expect(root.main).toBe('src/adapter/cloudflare-workers/worker.ts')
    expect(root.compatibilityDate).toBe('2026-10-01')
    expect(root.durableObjects).toEqual([
      { name: 'ROUTE_STATE', className: 'RouteStateDO' },
      { name: 'CONFIG_STORE', className: 'ConfigDO' },
    ])
    expect(root.sqliteClasses).toEqual(['RouteStateDO', 'ConfigDO'])
    const config = parseEdgeConfigText(root.rheostatConfig)
    expect(config.sync.store).toBe('durable-object')
    expect(config.routes.map((r) => [r.id, r.match?.path, r.priority, r.origin])).toEqual([
      ['checkout', '/api/checkout/*', 'critical', 'http://127.0.0.1:9000'],
      ['search', '/api/search/*', 'low', 'http://127.0.0.1:9000'],
      ['api', '/api/*', 'normal', 'http://127.0.0.1:9000'],
    ])
  })

  it('fetch() governs matched requests, forwards them to the origin and shares state through the Durable Object', async () => {
    const { text: shippedText, id } = configFor(shipped.root.rheostatConfig, 'entry')
    // An exchange after every request, so that the first one reaches the route's object.
    const config = JSON.parse(shippedText)
    config.sync = { ...config.sync, samplesPerExchange: 1 }
    const envFor = { RHEOSTAT_CONFIG: JSON.stringify(config), ROUTE_STATE: env.ROUTE_STATE }

    const items = await call(envFor, '/api/items?page=2', {
      headers: { 'cf-connecting-ip': '203.0.113.7' },
    })
    expect(items.response.status).toBe(200)
    expect(JSON.parse(items.body)).toMatchObject({ ok: true, method: 'GET', path: '/api/items' })
    expect(items.response.headers.get('RateLimit')).toBe(`"${id('api')}:normal";r=100;t=1`)

    const checkout = await call(envFor, '/api/checkout/cart', { method: 'POST', body: '{}' })
    expect(checkout.response.status).toBe(200)
    expect(JSON.parse(checkout.body)).toMatchObject({ method: 'POST', path: '/api/checkout/cart' })
    expect(checkout.response.headers.get('RateLimit')).toBe(
      `"${id('checkout')}:critical";r=100;t=1`,
    )

    // GET is not a checkout method: the request falls through to the catch-all route.
    const get = await call(envFor, '/api/checkout/cart')
    expect(get.response.headers.get('RateLimit')).toBe(`"${id('api')}:normal";r=100;t=1`)

    const search = await call(envFor, '/api/search/shoes')
    expect(search.response.headers.get('RateLimit')).toBe(`"${id('search')}:low";r=100;t=1`)

    const unmatched = await call(envFor, '/')
    expect(unmatched.response.status).toBe(404)
    expect(unmatched.response.headers.get('content-type')).toBe('application/problem+json')

    // The first request's exchange went to the route's Durable Object.
    const view = await new DurableObjectStore(env.ROUTE_STATE).snapshot(id('api'), Date.now())
    expect(view.totals.requests).toBeGreaterThanOrEqual(1)
    expect(view.totals.admitted).toBe(view.totals.requests)
  })

  it('fetch() sheds with 503 problem+json and Retry-After once the origin fails', async () => {
    const { text, id } = configFor(shipped.root.rheostatConfig, 'shed')
    const envFor = { RHEOSTAT_CONFIG: text, ROUTE_STATE: env.ROUTE_STATE }
    await knobs('shed', { latencyMs: 2, errorRate: 0 })
    expect((await call(envFor, '/api/search/q')).response.status).toBe(200)
    await knobs('shed', { errorRate: 1 })
    try {
      let shed: { response: Response; body: string } | undefined
      let passedThrough = 0
      // Real time: the error signal builds over about a second of failures.
      const deadline = Date.now() + 20_000
      while (shed === undefined && Date.now() < deadline) {
        const result = await call(envFor, '/api/search/q')
        if (result.response.status === 503) shed = result
        else {
          expect(result.response.status).toBe(500) // the origin's own 500, passed through
          passedThrough++
        }
      }
      expect(passedThrough).toBeGreaterThan(0)
      expect(shed).toBeDefined()
      const { response, body } = shed!
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      expect(Number(response.headers.get('retry-after'))).toBeGreaterThanOrEqual(1)
      expect(JSON.parse(body)).toMatchObject({
        type: SHED_PROBLEM_TYPE,
        status: 503,
        route: id('search'),
        priority: 'low',
      })
    } finally {
      await knobs('shed', { errorRate: 0 })
    }
  }, 30_000)

  it('fetch() answers 500 problem+json listing every problem of an invalid RHEOSTAT_CONFIG, logged once', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const text = JSON.stringify({
      sync: { store: 'durable-object', intervalMs: 1 },
      routes: [
        { id: `a-${crypto.randomUUID()}`, match: { path: 'api/*' }, origin: origins.entry },
        { id: 'b', match: { path: '/b/*' }, origin: 'ftp://origin.test', timeoutMs: -1 },
      ],
      colour: 'blue',
    })
    const envFor = { RHEOSTAT_CONFIG: text, ROUTE_STATE: env.ROUTE_STATE }
    for (const path of ['/api/items', '/b/1']) {
      const { response, body } = await call(envFor, path)
      expect(response.status).toBe(500)
      expect(response.headers.get('content-type')).toBe('application/problem+json')
      const problem = JSON.parse(body)
      expect(problem).toMatchObject({ type: INVALID_CONFIG_PROBLEM_TYPE, status: 500 })
      expect(problem.problems.map((p: { path: string }) => p.path).sort()).toEqual([
        '',
        'routes.0.match.path',
        'routes.1.origin',
        'routes.1.timeoutMs',
        'sync.intervalMs',
      ])
      for (const p of problem.problems) expect(p.message).toEqual(expect.any(String))
    }
    expect(errors).toHaveBeenCalledTimes(1)
    expect(String(errors.mock.calls[0]![0])).toMatch(/RHEOSTAT_CONFIG is unusable.*5 problems/s)
  })

  it('fetch() lists the edge problems too: routes without origin or match', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const text = JSON.stringify({
      sync: { store: 'memory' },
      routes: [{ id: `a-${crypto.randomUUID()}`, match: { path: '/a/*' } }, { id: 'b' }],
    })
    const { response, body } = await call({ RHEOSTAT_CONFIG: text } as WorkerEnv, '/a/1')
    expect(response.status).toBe(500)
    expect(JSON.parse(body).problems).toEqual([
      { path: 'routes.0.origin', message: 'A route of the edge app needs "origin"' },
      { path: 'routes.1.match', message: 'A route of the edge app needs "match"' },
      { path: 'routes.1.origin', message: 'A route of the edge app needs "origin"' },
    ])
  })

  it('fetch() answers 500 for config text that is not JSON or is missing', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const bad = await call({ RHEOSTAT_CONFIG: '{"routes": [' } as WorkerEnv, '/api/x')
    expect(bad.response.status).toBe(500)
    expect(JSON.parse(bad.body).problems).toEqual([
      { path: '', message: expect.stringMatching(/^Config is not valid JSON: /) },
    ])
    const missing = await call({} as WorkerEnv, '/api/x')
    expect(missing.response.status).toBe(500)
    expect(JSON.parse(missing.body).problems[0].message).toMatch(/^RHEOSTAT_CONFIG is not set/)
  })

  it('fetch() names a missing store binding or secret instead of running half configured', async () => {
    const errors = vi.spyOn(console, 'error').mockImplementation(() => {})
    const { text } = configFor(shipped.root.rheostatConfig, 'entry')
    const noBinding = await call({ RHEOSTAT_CONFIG: text } as WorkerEnv, '/api/items')
    expect(noBinding.response.status).toBe(500)
    expect(JSON.parse(noBinding.body).problems).toEqual([
      { path: 'sync.store', message: expect.stringContaining('binding "ROUTE_STATE"') },
    ])

    const upstash = configFor(shipped.root.rheostatConfig, 'entry', (c) => {
      c.sync.store = 'upstash'
    })
    const noSecrets = await call(
      { RHEOSTAT_CONFIG: upstash.text, UPSTASH_REDIS_REST_TOKEN: 'tok-s3cret' } as WorkerEnv,
      '/api/items',
    )
    expect(noSecrets.response.status).toBe(500)
    expect(JSON.parse(noSecrets.body).problems).toEqual([
      { path: 'sync.store', message: expect.stringContaining('"UPSTASH_REDIS_REST_URL"') },
    ])
    expect(noSecrets.body).not.toContain('s3cret')
    expect(errors).toHaveBeenCalledTimes(2)
    expect(errors.mock.calls.flat().join('\n')).not.toContain('s3cret')
  })

  it('fetch() applies a changed RHEOSTAT_CONFIG whole on the next request', async () => {
    vi.spyOn(console, 'error').mockImplementation(() => {})
    const a = configFor(shipped.root.rheostatConfig, 'entry')
    const b = configFor(shipped.root.rheostatConfig, 'entry', (c) => {
      c.routes[2]!.priority = 'urgent'
    })
    const envA = { RHEOSTAT_CONFIG: a.text, ROUTE_STATE: env.ROUTE_STATE }
    const envB = { RHEOSTAT_CONFIG: b.text, ROUTE_STATE: env.ROUTE_STATE }
    expect((await call(envA, '/api/items')).response.status).toBe(200)
    const refused = await call(envB, '/api/items')
    expect(refused.response.status).toBe(500)
    expect(JSON.parse(refused.body).problems).toEqual([
      { path: 'routes.2.priority', message: expect.stringContaining('Unknown priority "urgent"') },
    ])
    const back = await call(envA, '/api/items')
    expect(back.response.status).toBe(200)
    expect(back.response.headers.get('RateLimit')).toBe(`"${a.id('api')}:normal";r=100;t=1`)
  })
})

describe('examples/cloudflare-proxy', () => {
  it('its wrangler.toml runs the adapter entry with its own valid config', async () => {
    const config = shipped.example
    expect(config.main).toBe('examples/cloudflare-proxy/index.ts')
    expect(example).toBe(worker)
    expect(config.durableObjects).toEqual([
      { name: 'ROUTE_STATE', className: 'RouteStateDO' },
      { name: 'CONFIG_STORE', className: 'ConfigDO' },
    ])
    expect(config.sqliteClasses).toEqual(['RouteStateDO', 'ConfigDO'])
    expect(parseEdgeConfigText(config.rheostatConfig).routes.map((r) => r.id)).toEqual([
      'orders',
      'exports',
      'api',
    ])

    const { text, id } = configFor(config.rheostatConfig, 'example')
    const envFor = { RHEOSTAT_CONFIG: text, ROUTE_STATE: env.ROUTE_STATE }
    const orders = await call(envFor, '/api/orders/42', {}, example)
    expect(orders.response.status).toBe(200)
    expect(JSON.parse(orders.body)).toMatchObject({ path: '/api/orders/42' })
    expect(orders.response.headers.get('RateLimit')).toBe(`"${id('orders')}:normal";r=100;t=1`)
    // The priority rule: a pro customer's export is critical, not the route's low.
    const pro = await call(envFor, '/api/exports/7', { headers: { 'x-plan': 'pro' } }, example)
    expect(pro.response.headers.get('RateLimit')).toBe(`"${id('exports')}:critical";r=100;t=1`)
  })
})
