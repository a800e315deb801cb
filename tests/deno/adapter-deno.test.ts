// The Deno adapter (src/adapter/deno/): only what differs on Deno (STYLE #21). The proxy's
// behaviour is covered in vitest (tests/unit/http-proxy.test.ts); here: Deno.serve and its
// connection info, the `.wasm` import as the engine, the store picked from the environment
// (Upstash through the REST front over a real redis-server), and `deno task start` as a process.
import assert from 'node:assert/strict'
import { ConfigError } from '../../src/config/schema.ts'
import { createDenoHandler } from '../../src/adapter/deno/mod.ts'
import { startRedisServer } from '../support/redis-server.ts'
import { startUpstashFront } from '../support/upstash-front.ts'

const ROOT = new URL('../../', import.meta.url)
const T0 = 1_700_000_000_000
// A second handler in this isolate cannot take the `.wasm` import's single instance.
const module = new WebAssembly.Module(
  await Deno.readFile(new URL('wasm/build/rheostat.wasm', ROOT)),
)
const noEnv = () => undefined

/** A real origin on 127.0.0.1: echoes the path and the forwarding headers. */
function startOrigin(): { url: string; server: Deno.HttpServer<Deno.NetAddr> } {
  const server = Deno.serve(
    { hostname: '127.0.0.1', port: 0, onListen() {} },
    (request) =>
      Response.json({
        path: new URL(request.url).pathname,
        forwardedFor: request.headers.get('x-forwarded-for'),
      }, { headers: { 'x-origin': 'yes' } }),
  )
  return { url: `http://127.0.0.1:${server.addr.port}`, server }
}

const edgeConfig = (origin: string, extra: Record<string, unknown> = {}) => ({
  routes: [{ id: 'api', match: { path: '/api/*' }, origin }],
  ...extra,
})

Deno.test('createDenoHandler() under Deno.serve forwards a governed request to a real origin', async () => {
  const origin = startOrigin()
  // The first handler of this isolate: the engine is the `.wasm` import itself.
  // An exchange after every completed request: this test is about the wiring under Deno.
  const config = edgeConfig(origin.url, { sync: { samplesPerExchange: 1 } })
  const handler = createDenoHandler({ config: JSON.stringify(config), env: noEnv })
  const edge = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, handler.fetch)
  try {
    assert.equal(handler.governor.engineKind, 'wasm')
    assert.equal(handler.store.kind, 'memory')
    const res = await fetch(`http://127.0.0.1:${edge.addr.port}/api/items`)
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('x-origin'), 'yes')
    assert.match(res.headers.get('ratelimit') ?? '', /^"api:normal";r=100;t=1$/)
    // Deno.serve's connection info reaches the proxy as c.env: X-Forwarded-For is the peer.
    assert.deepEqual(await res.json(), { path: '/api/items', forwardedFor: '127.0.0.1' })
    const unmatched = await fetch(`http://127.0.0.1:${edge.addr.port}/elsewhere`)
    assert.equal(unmatched.status, 404)
    assert.equal(unmatched.headers.get('content-type'), 'application/problem+json')
    await unmatched.body?.cancel()
    // The exchange ran on its own after the response (no waitUntil on Deno).
    await new Promise((resolve) => setTimeout(resolve, 0))
    assert.equal(handler.sync.status().exchanges, 1)
  } finally {
    await edge.shutdown()
    await origin.server.shutdown()
  }
})

Deno.test('createDenoHandler() serves metrics and the event stream under Deno.serve with the admin token', async () => {
  const origin = startOrigin()
  const env = (name: string) =>
    name === 'RHEOSTAT_ADMIN_TOKEN' ? 'deno-admin-0123456789abcdefghijklmnopqr' : undefined
  const handler = createDenoHandler({ config: edgeConfig(origin.url), env, wasm: module })
  const edge = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, handler.fetch)
  const base = `http://127.0.0.1:${edge.addr.port}/__rheostat`
  const headers = { authorization: 'Bearer deno-admin-0123456789abcdefghijklmnopqr' }
  try {
    await (await fetch(`http://127.0.0.1:${edge.addr.port}/api/items`)).body?.cancel()
    const metrics = await fetch(`${base}/metrics`, { headers })
    assert.equal(metrics.status, 200)
    assert.match(
      await metrics.text(),
      /^rheostat_admitted_total\{route="api",priority="normal"\} 1$/m,
    )
    const events = await fetch(`${base}/api/events`, { headers })
    assert.match(events.headers.get('content-type') ?? '', /^text\/event-stream/)
    const reader = events.body!.getReader()
    const first = new TextDecoder().decode((await reader.read()).value)
    assert.match(first, /^event: stats\ndata: \{/)
    await reader.cancel()
  } finally {
    await edge.shutdown()
    await origin.server.shutdown()
  }
})

Deno.test('createDenoHandler() refuses an admin token shorter than 32 characters, with the reason', () => {
  const env = (name: string) => name === 'RHEOSTAT_ADMIN_TOKEN' ? 'deno-admin' : undefined
  assert.throws(
    () => createDenoHandler({ config: edgeConfig('http://127.0.0.1:1'), env, wasm: module }),
    /RHEOSTAT_ADMIN_TOKEN: RHEOSTAT_ADMIN_TOKEN is 10 characters long; it needs at least 32/,
  )
})

Deno.test('createDenoHandler() lists every config and store problem at once', () => {
  let error: unknown
  try {
    createDenoHandler({
      config: {
        routes: [{ id: 'api', origin: 'ftp://origin' }],
        sync: { store: 'durable-object' },
      },
      env: noEnv,
      wasm: module,
    })
  } catch (caught) {
    error = caught
  }
  assert.ok(error instanceof ConfigError)
  assert.deepEqual(error.problems.map((p) => p.path), ['routes.0.origin', 'sync.store'])
  assert.match(error.message, /"durable-object" needs Cloudflare Workers/)

  const env = (name: string) =>
    name === 'UPSTASH_REDIS_REST_URL' ? 'https://db.upstash.io' : undefined
  const upstash = edgeConfig('http://127.0.0.1:1', { sync: { store: 'upstash' } })
  assert.throws(
    () => createDenoHandler({ config: upstash, env, wasm: module }),
    /sync.store: Store "upstash" needs the secret "UPSTASH_REDIS_REST_TOKEN"/,
  )
  assert.throws(
    () => createDenoHandler({ config: upstash, env: noEnv, wasm: module }),
    /Store "upstash" needs the secret "UPSTASH_REDIS_REST_URL".*\n.*Store "upstash" needs the secret "UPSTASH_REDIS_REST_TOKEN"/,
  )
  assert.throws(() => createDenoHandler({ config: '{"routes": [', env: noEnv }), /not valid JSON/)
})

Deno.test('createDenoHandler() shares state through Upstash when sync.store says "upstash"', async () => {
  const redis = await startRedisServer()
  const token = crypto.randomUUID()
  const front = await startUpstashFront({ redisUrl: redis.url, token })
  const origin = startOrigin()
  try {
    const env = (name: string) =>
      ({ UPSTASH_REDIS_REST_URL: front.url, UPSTASH_REDIS_REST_TOKEN: token })[name]
    let now = T0
    const options = {
      config: JSON.stringify(edgeConfig(origin.url, { sync: { store: 'upstash' } })),
      env,
      wasm: module,
      clock: () => now,
      upstashPrefix: crypto.randomUUID(),
    }
    const a = createDenoHandler({ ...options, isolateId: 'deno-a' })
    const b = createDenoHandler({ ...options, isolateId: 'deno-b' })
    assert.equal(a.store.kind, 'upstash')
    // Uploads live beside the shared state, under the same prefix.
    assert.equal(a.live.store.kind, 'upstash')
    for (let i = 0; i < 100; i++) {
      now += 20
      const res = await (i % 2 === 0 ? a : b).fetch(new Request('http://edge.test/api/items'))
      assert.equal(res.status, 200)
      await res.body?.cancel()
    }
    // Exchanges ran in the background; finish the one in flight, then send the rest.
    for (const h of [a, b]) {
      await h.sync.syncNow()
      await h.sync.syncNow()
    }
    const view = await a.store.snapshot('api', now)
    assert.equal(view.totals.requests, 100)
    assert.equal(view.totals.ok, 100)
    assert.equal(view.isolates, 2)
    for (const h of [a, b]) {
      const status = h.sync.status()
      assert.equal(status.degraded, false)
      assert.equal(status.store, 'upstash')
    }
    // 2 virtual s at a 250 ms interval: at most one exchange per isolate per interval (+1 each
    // for the final flush), each with one config heartbeat beside it (+1 each for an EVAL after
    // NOSCRIPT on a fresh Redis).
    const scripts = front.requests.filter((r) => r.commands.some((c) => c.startsWith('EVAL')))
    assert.ok(scripts.length <= 2 * 2 * (8 + 2) + 2, `${scripts.length} script calls`)
  } finally {
    await origin.server.shutdown()
    await front.close()
    await redis.stop()
  }
})

// ---- as a process: `deno task start` ----------------------------------------------------------

/** The `start` task's command line from deno.json, with the executable left out. */
async function startTaskArgs(): Promise<string[]> {
  const deno = JSON.parse(await Deno.readTextFile(new URL('deno.json', ROOT)))
  const task = deno.tasks.start
  const [, ...args] = (typeof task === 'string' ? task : task.command).split(/\s+/)
  return args
}

function startCommand(
  args: string[],
  config: string,
  extra: Record<string, string> = {},
): Deno.Command {
  const env: Record<string, string> = { RHEOSTAT_CONFIG: config, NO_COLOR: '1', ...extra }
  for (const name of ['PATH', 'HOME', 'DENO_DIR']) {
    const value = Deno.env.get(name)
    if (value !== undefined) env[name] = value
  }
  return new Deno.Command(Deno.execPath(), {
    args,
    cwd: ROOT.pathname,
    env,
    clearEnv: true,
    stdout: 'piped',
    stderr: 'piped',
    signal: AbortSignal.timeout(30_000),
  })
}

Deno.test('main.ts exits 1 with the list of problems, before serving, on an invalid config', async () => {
  const args = [...await startTaskArgs(), '--port', '0']
  const bad = JSON.stringify({
    routes: [{ id: 'api', match: { path: '/api/*' }, origin: 'ftp://x', priority: 'urgent' }],
  })
  const { code, stdout, stderr } = await startCommand(args, bad).output()
  const err = new TextDecoder().decode(stderr)
  assert.equal(code, 1)
  assert.match(err, /Invalid Rheostat config: 2 problems/)
  assert.match(err, /- routes\.0\.origin: Origin must be an http or https URL/)
  assert.match(err, /- routes\.0\.priority: Unknown priority "urgent"/)
  assert.match(err, /not serving/)
  assert.doesNotMatch(new TextDecoder().decode(stdout), /listening/)
})

Deno.test('the start task serves the proxy and the admin API, and stops cleanly on SIGTERM', async () => {
  const origin = startOrigin()
  const token = `deno-admin-${crypto.randomUUID()}`
  const child = startCommand(
    [...await startTaskArgs(), '--port', '0'],
    JSON.stringify(edgeConfig(origin.url)),
    // The task's --allow-env list must include it, or the admin API stays off.
    { RHEOSTAT_ADMIN_TOKEN: token },
  ).spawn()
  const lines = child.stdout.pipeThrough(new TextDecoderStream()).getReader()
  try {
    let out = ''
    let match: RegExpMatchArray | null = null
    while (match === null) {
      const { value, done } = await lines.read()
      if (done) throw new Error(`exited before listening: ${out}`)
      out += value
      match = out.match(/listening on http:\/\/127\.0\.0\.1:(\d+)\/ \(engine wasm, store memory/)
    }
    const res = await fetch(`http://127.0.0.1:${match[1]}/api/checkout`)
    assert.equal(res.status, 200)
    assert.equal((await res.json()).path, '/api/checkout')
    const base = `http://127.0.0.1:${match[1]}/__rheostat`
    assert.equal((await (await fetch(`${base}/health`)).json()).admin, 'on')
    const stats = await fetch(`${base}/api/stats`, {
      headers: { authorization: `Bearer ${token}` },
    })
    assert.equal(stats.status, 200)
    assert.ok((await stats.json()).routes.some((r: { route: string }) => r.route === 'api'))
    child.kill('SIGTERM')
    assert.equal((await child.status).code, 0)
  } finally {
    try {
      child.kill('SIGKILL')
    } catch {
      // already gone
    }
    await child.status
    while (!(await lines.read()).done) { /* drain */ }
    await child.stderr.cancel()
    await origin.server.shutdown()
  }
})

Deno.test('createDenoHandler() under Deno.serve: hostile requests are forwarded clean or refused', async () => {
  const origin = startOrigin()
  const probe = Deno.listen({ hostname: '127.0.0.1', port: 0 })
  const closed = `http://127.0.0.1:${(probe.addr as Deno.NetAddr).port}/internal/base`
  probe.close()
  const handler = createDenoHandler({
    config: {
      routes: [
        { id: 'down', match: { path: '/down/*' }, origin: closed },
        { id: 'api', match: { path: '/api/*' }, origin: origin.url },
      ],
    },
    env: noEnv,
    wasm: module,
  })
  const edge = Deno.serve({ hostname: '127.0.0.1', port: 0, onListen() {} }, handler.fetch)
  const base = `http://127.0.0.1:${edge.addr.port}`
  try {
    // Expect with a body over 1 KiB (what curl sends) reaches the origin, as the normalised path.
    const expect = await fetch(`${base}/api//%69tems/./x`, {
      method: 'POST',
      headers: { expect: '100-continue', 'x-forwarded-for': '198.51.100.1' },
      body: new Uint8Array(2048),
    })
    assert.equal(expect.status, 200)
    assert.deepEqual(await expect.json(), { path: '/api/items/x', forwardedFor: '127.0.0.1' })
    // An encoded slash is refused before anything is forwarded.
    const slash = await fetch(`${base}/api/a/..%2F..%2Fadmin`)
    assert.equal(slash.status, 400)
    assert.equal(slash.headers.get('content-type'), 'application/problem+json')
    await slash.body?.cancel()
    // Deno's fetch error names the URL it tried: the 502 does not.
    const down = await fetch(`${base}/down/x`)
    assert.equal(down.status, 502)
    const text = await down.text()
    assert.ok(!text.includes('127.0.0.1') && !text.includes('internal'), text)
    assert.equal(handler.governor.snapshot('api')?.inflight, 0)
  } finally {
    await edge.shutdown()
    await origin.server.shutdown()
  }
})
