// Hostile requests through createProxyApp() inside workerd (issue 12, items 1, 3 and 8): the fuzz
// of tests/support/hostile.ts with workerd's own Request, Headers, URL and URLPattern, the proxy's
// `fetch` option standing in for the origin (the test isolate cannot reach loopback), and a
// client abort through the request's signal.
import fc from 'fast-check'
import { describe, expect, it } from 'vitest'
import wasmModule from '../../wasm/build/rheostat.wasm'
import { createGovernor, createProxyApp } from '../../src/mod.ts'
import {
  checkRequest,
  fuzzConfig,
  type FuzzTally,
  requestArb,
  type Seen,
} from '../support/hostile.ts'

function rig() {
  const seen: Seen[] = []
  const config = fuzzConfig('https://origin.test')
  const gov = createGovernor({ engine: 'wasm', wasm: wasmModule, config })
  const app = createProxyApp({
    governor: gov,
    fetch: async (request) => {
      const body = request.body === null ? 0 : (await request.arrayBuffer()).byteLength
      const url = new URL(request.url)
      seen.push({
        method: request.method,
        target: url.pathname + url.search,
        headers: Object.fromEntries(request.headers),
        bodyBytes: body,
      })
      return new Response('ok')
    },
  })
  return { seen, config, gov, app }
}

describe('hostile requests in workerd', () => {
  it('createProxyApp() keeps its invariants over methods, paths, header sets and body sizes', async () => {
    const { seen, config, gov, app } = rig()
    const tally: FuzzTally = { runs: 0, byStatus: {} }
    await fc.assert(
      fc.asyncProperty(requestArb, (req) => checkRequest(app, gov, config, seen, req, tally)),
      { numRuns: 300 },
    )
    expect(tally.byStatus[200]).toBeGreaterThan(0)
    expect(tally.byStatus[404]).toBeGreaterThan(0)
    console.info(
      `workerd proxy fuzz: ${tally.runs} requests, by status ${JSON.stringify(tally.byStatus)}`,
    )
  })

  it('createProxyApp() cancels the ticket when the request signal aborts mid-request', async () => {
    const gov = createGovernor({
      engine: 'wasm',
      wasm: wasmModule,
      config: fuzzConfig('https://o.test'),
    })
    const app = createProxyApp({
      governor: gov,
      fetch: (request) =>
        new Promise<Response>((_, reject) => {
          request.signal.addEventListener('abort', () => reject(request.signal.reason))
        }),
    })
    const waited: Promise<unknown>[] = []
    const ctx = {
      waitUntil: (p: Promise<unknown>) => void waited.push(p),
      passThroughOnException() {},
      props: {},
    }
    const clients = Array.from({ length: 10 }, () => new AbortController())
    const answers = clients.map((c) =>
      app.fetch(new Request('https://edge.test/api/x', { signal: c.signal }), {}, ctx)
    )
    await new Promise((r) => setTimeout(r, 20))
    expect(gov.snapshot('api')!.inflight).toBe(10)
    // enable_request_signal (tests/workerd/wrangler.toml): no keep-alive while the clients stay;
    // each abort hands one to waitUntil, settled when its ticket is cancelled.
    expect(waited).toHaveLength(0)
    for (const c of clients) c.abort()
    expect(waited).toHaveLength(10)
    await Promise.all(answers)
    await Promise.all(waited)
    expect(gov.snapshot('api')!.inflight).toBe(0)
    expect(gov.counters('api')!.latency.count).toBe(0)
  })
})
