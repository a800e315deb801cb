// The observability section through the Worker entry inside workerd: Prometheus metrics, stats
// JSON and the Server-Sent Events stream, behind the admin token, in front of a real demo origin.
import { createExecutionContext, waitOnExecutionContext } from 'cloudflare:test'
import { describe, expect, inject, it } from 'vitest'
import worker from '../../src/adapter/cloudflare-workers/worker.ts'

type WorkerEnv = Parameters<typeof worker.fetch>[1]

const origins = inject('demoOrigins')
const TOKEN = 'workerd-admin-token-0123456789abcdefg'
const auth = { authorization: `Bearer ${TOKEN}` }

function envFor(): { env: WorkerEnv; route: string } {
  const route = `obs-${crypto.randomUUID().slice(0, 8)}`
  const config = {
    sync: { store: 'memory' },
    routes: [{ id: route, match: { path: '/api/*' }, origin: origins.obs, priority: 'normal' }],
  }
  return {
    env: { RHEOSTAT_CONFIG: JSON.stringify(config), RHEOSTAT_ADMIN_TOKEN: TOKEN } as WorkerEnv,
    route,
  }
}

async function call(env: WorkerEnv, path: string, init: RequestInit = {}) {
  const ctx = createExecutionContext()
  const response = await worker.fetch(new Request(`https://edge.test${path}`, init), env, ctx)
  const body = await response.text()
  await waitOnExecutionContext(ctx)
  return { response, body }
}

describe('observability in workerd', () => {
  it('GET /__rheostat/metrics and /api/stats report the requests the Worker governed', async () => {
    const { env, route } = envFor()
    for (let i = 0; i < 3; i++) {
      expect((await call(env, `/api/items/${i}`)).response.status).toBe(200)
    }
    expect((await call(env, '/__rheostat/metrics')).response.status).toBe(401)
    const metrics = await call(env, '/__rheostat/metrics', { headers: auth })
    expect(metrics.response.status).toBe(200)
    expect(metrics.response.headers.get('content-type')).toMatch(/^text\/plain; version=0\.0\.4/)
    expect(metrics.body).toContain(`rheostat_admitted_total{route="${route}",priority="normal"} 3`)
    expect(metrics.body).toContain(`rheostat_request_duration_seconds_count{route="${route}"} 3`)
    expect(metrics.body).toContain('rheostat_isolate_info{isolate_id="')
    expect(metrics.body).toContain('engine="wasm"')

    const stats = await call(env, '/__rheostat/api/stats', { headers: auth })
    const json = JSON.parse(stats.body)
    expect(json.sync.store).toBe('memory')
    expect(json.isolateId).toBe(json.sync.isolateId)
    expect(json.routes[0]).toMatchObject({ route, admitted: { normal: 3 } })
    expect(json.routes[0].latencyMs.p50).toBeGreaterThan(0)
  })

  it('GET /__rheostat/api/events streams stats, then the decisions of requests the Worker serves', async () => {
    const { env, route } = envFor()
    const ctx = createExecutionContext()
    const res = await worker.fetch(
      new Request('https://edge.test/__rheostat/api/events', { headers: auth }),
      env,
      ctx,
    )
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toMatch(/^text\/event-stream/)
    const reader = res.body!.getReader()
    const decoder = new TextDecoder()
    let text = ''
    const until = async (needle: string) => {
      while (!text.includes(needle)) {
        const { done, value } = await reader.read()
        if (done) throw new Error(`The stream ended before "${needle}"`)
        text += decoder.decode(value, { stream: true })
      }
    }
    await until('event: stats\n')
    expect(JSON.parse(text.split('\n')[1]!.slice('data: '.length))).toMatchObject({ routes: [] })
    expect((await call(env, '/api/one')).response.status).toBe(200)
    await until('event: decision\n')
    const frame = text.slice(text.indexOf('event: decision\n')).split('\n')[1]!
    expect(JSON.parse(frame.slice('data: '.length))).toMatchObject({
      route,
      priority: 'normal',
      allow: true,
      mode: 'BOOTSTRAP',
    })
    await reader.cancel()
    await waitOnExecutionContext(ctx)
    const stats = JSON.parse((await call(env, '/__rheostat/api/stats', { headers: auth })).body)
    expect(stats.events.subscribers).toBe(0)
  })
})
