// The examples inside workerd, with the engine from the `.wasm` import as on Workers: the entry
// workers as they ship (examples/*/worker.ts), then the same apps on a virtual clock with a
// failing backend, until the governor sheds.
import { createExecutionContext } from 'cloudflare:test'
import { describe, expect, it, vi } from 'vitest'
import wasm from '../../wasm/build/rheostat.wasm'
import {
  createGovernor,
  type Governor,
  type GovernorConfigInput,
  withGovernor,
} from '../../src/mod.ts'
import honoWorker from '../../examples/hono-middleware/worker.ts'
import { config as honoConfig, createApp } from '../../examples/hono-middleware/app.ts'
import fetchWorker from '../../examples/fetch-handler/worker.ts'
import { config as fetchConfig, createHandler } from '../../examples/fetch-handler/handler.ts'

const failing = () => Promise.reject(new Error('backend down'))

function virtualGovernor(config: GovernorConfigInput) {
  const clock = { now: 0 }
  const governor = createGovernor({ config, engine: 'wasm', wasm, clock: () => clock.now })
  return { governor, clock }
}

/** Sends requests 50 virtual ms apart until one is shed (at most 400). */
async function untilShed(
  clock: { now: number },
  send: () => Response | Promise<Response>,
): Promise<{ shed: Response; failures: number }> {
  let failures = 0
  for (let i = 0; i < 400; i++) {
    clock.now += 50
    const res = await send()
    if (res.status === 503) return { shed: res, failures }
    expect(res.status).toBeGreaterThanOrEqual(500)
    await res.arrayBuffer()
    failures++
  }
  throw new Error('No shed within 400 failing requests')
}

async function expectShedProblem(shed: Response, route: string, priority: string) {
  expect(shed.headers.get('content-type')).toBe('application/problem+json')
  const retryAfter = Number(shed.headers.get('retry-after'))
  expect(retryAfter).toBeGreaterThanOrEqual(1)
  expect(shed.headers.get('RateLimit')).toBe(`"${route}:${priority}";r=0;t=${retryAfter}`)
  expect(await shed.json()).toMatchObject({ status: 503, route, priority, retryAfter })
}

describe('examples/hono-middleware', () => {
  it('worker governs /api routes with the priority of the caller and leaves /health alone', async () => {
    const orders = await honoWorker.request('https://shop.test/api/orders?customer=ada')
    expect(orders.status).toBe(200)
    expect(await orders.json()).toEqual([{ id: 'ada-1', total: 42 }])
    expect(orders.headers.get('RateLimit')).toBe('"orders:normal";r=100;t=1')

    const free = await honoWorker.request('https://shop.test/api/search?q=rocket')
    expect(await free.json()).toEqual(['rocket skates'])
    expect(free.headers.get('RateLimit')).toBe('"search:low";r=100;t=1')

    const pro = await honoWorker.request('https://shop.test/api/search?q=anvil', {
      headers: { authorization: 'Bearer pro-token' },
    })
    expect(pro.headers.get('RateLimit')).toBe('"search:critical";r=100;t=1')

    const health = await honoWorker.request('https://shop.test/health')
    expect(await health.text()).toBe('ok')
    expect(health.headers.get('RateLimit')).toBeNull()
  })

  it('createApp() sheds free searches first with a 503 problem when the search index fails', async () => {
    const { governor, clock } = virtualGovernor(honoConfig)
    let down = false
    const app = createApp({
      governor,
      backend: {
        orders: () => Promise.resolve([]),
        search: () => (down ? failing() : Promise.resolve([])),
      },
      clock: () => clock.now,
    })
    // 30 s of healthy traffic first: the route learns its baseline and leaves BOOTSTRAP.
    for (let i = 0; i < 600; i++) {
      clock.now += 50
      expect((await app.request('https://shop.test/api/search?q=x')).status).toBe(200)
    }
    expect(governor.snapshot('search')?.mode).toBe('OPERATIONAL')

    down = true
    // Hono's default error handler logs every throw; expected here.
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {})
    try {
      const { shed, failures } = await untilShed(
        clock,
        () => app.request('https://shop.test/api/search?q=x'),
      )
      expect(failures).toBeGreaterThan(0)
      await expectShedProblem(shed, 'search', 'low')
      // The index fails every request: an outage. Its probes, which grow with the capacity
      // (docs/physics.md §9), go to the most important class asking: pro callers still reach the
      // (failing) index once a probe is due.
      clock.now += 200
      const pro = await app.request('https://shop.test/api/search?q=x', {
        headers: { authorization: 'Bearer pro-token' },
      })
      expect(pro.status).toBe(500)
    } finally {
      quiet.mockRestore()
    }
    // The orders route has its own physics: it is still admitted.
    const orders = await app.request('https://shop.test/api/orders')
    expect(orders.status).toBe(200)
    expectIdle(governor, 'search')
  })
})

describe('examples/fetch-handler', () => {
  it('worker governs config-matched routes and passes unmatched paths ungoverned', async () => {
    const ctx = createExecutionContext()
    const stock = await fetchWorker.fetch(new Request('https://shop.test/stock/anvil'), {}, ctx)
    expect(await stock.json()).toEqual({ sku: 'anvil', stock: 3 })
    expect(stock.headers.get('RateLimit')).toBe('"stock:normal";r=100;t=1')

    const reserve = await fetchWorker.fetch(
      new Request('https://shop.test/reserve/anvil', { method: 'POST' }),
      {},
      ctx,
    )
    expect(await reserve.json()).toEqual({ sku: 'anvil', reserved: true })
    expect(reserve.headers.get('RateLimit')).toBe('"reserve:critical";r=100;t=1')

    const other = await fetchWorker.fetch(new Request('https://shop.test/nope'), {}, ctx)
    expect(other.status).toBe(404)
    expect(other.headers.get('RateLimit')).toBeNull()
  })

  it('withGovernor() sheds stock look-ups with a 503 problem when the inventory keeps failing', async () => {
    const { governor, clock } = virtualGovernor(fetchConfig)
    // The Deno-style function form: `(request) => Response` in, the same shape out.
    const handle = withGovernor(createHandler({ stock: failing, reserve: failing }), {
      governor,
      clock: () => clock.now,
    })
    const { shed } = await untilShed(clock, () => handle(new Request('https://shop.test/stock/x')))
    await expectShedProblem(shed, 'stock', 'normal')
    expectIdle(governor, 'stock')
  })
})

function expectIdle(governor: Governor, route: string) {
  expect(governor.snapshot(route)?.inflight).toBe(0)
}
