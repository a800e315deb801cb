// Benchmark worker (a): the Rheostat edge proxy. createProxyApp with the WebAssembly engine from
// the `.wasm` import, a memory store and its syncer, in front of one route whose origin comes
// from the ORIGIN text binding. The VARIANT binding picks a profiling variant:
//   "full" (default)  as above; the route matches `/*` (a URLPattern)
//   "plain-path"      the route matches `/bench` exactly (a string compare, no URLPattern)
//   "no-sync"         no syncer (no exchange bookkeeping, no maybeSync per request)
//   "ts"              the TypeScript engine instead of the WebAssembly one
//   "no-keepalive"    as "full" but without the execution context: no keep-alive and no
//                     waitUntil at all (docs/http.md "Client disconnects", defence 1 off)
//   "eager-keepalive" as "full" but the keep-alive armed at admission, as where the runtime does
//                     not abort request.signal on a hang-up (the worker's `Cloudflare` global is
//                     shadowed so that it reports no enable_request_signal): prices that waitUntil
//   "hand"            no createProxyApp: the baseline's forwarder (./forward.ts) between
//                     governor.admit and governor.complete, no RateLimit fields
//   "hand-headers"    "hand" plus the RateLimit fields, built as the proxy builds them
// GET /__bench/stats answers the route's snapshot (mode, concurrency limit, in flight) and whether
// the keep-alive waits for the request signal's abort (`keepAliveOnAbort`); sheds show
// as wrk's non-2xx count.
import { Hono } from 'hono'
import wasm from '../../wasm/build/rheostat.wasm'
import {
  createGovernor,
  createProxyApp,
  type Governor,
  rateLimitFor,
  rateLimitHeaders,
} from '../../src/mod.ts'
import { createSyncer } from '../../src/governor/sync.ts'
import { signalAbortsOnDisconnect } from '../../src/http/gate.ts'
import { MemoryStore } from '../../src/store/memory/store.ts'
import { forward } from './forward.ts'

interface Env {
  ORIGIN: string
  VARIANT?: string
  /** The route's `concurrency.min`: the load generator's connections (see below). */
  MIN_CONCURRENCY?: string
}

interface Built {
  governor: Governor
  fetch(request: Request, env: Env, ctx: unknown): Response | Promise<Response>
}

let built: Built | undefined

function handBuilt(governor: Governor, origin: string, headers: boolean): Hono {
  const app = new Hono()
  app.all('*', async function governed(c) {
    const decision = governor.admit('api', { priority: 'normal' })
    if (decision.ticket === null) return c.text('shed', 503)
    const start = Date.now()
    const response = await forward(c.req.raw, origin)
    governor.complete(decision.ticket, {
      latencyMs: Date.now() - start,
      ok: response.status < 500 && response.status !== 429,
    })
    if (headers) {
      const fields = rateLimitHeaders(rateLimitFor(governor, 'api', 'normal', decision))
      for (const name in fields) response.headers.append(name, fields[name] as string)
    }
    return response
  })
  return app
}

// Built on the first request: the origin URL is a binding, and bindings arrive with requests.
function build(env: Env): Built {
  const variant = env.VARIANT ?? 'full'
  if (variant === 'eager-keepalive') {
    Object.defineProperty(globalThis, 'Cloudflare', { value: { compatibilityFlags: {} } })
  }
  const path = variant === 'plain-path' ? '/bench' : '/*'
  // The origin answers at once and is never overloaded; what the capacity law would see under the
  // generator's fixed connections is the benchmark machine's own queue (workerd and wrk share two
  // cores with whatever else runs). With the limit's floor at the generator's connections the
  // governor admits every request it would admit for an idle origin, and both workers do the same
  // work: the benchmark measures what governing costs, not a shed (sheds still show as non-2xx).
  const min = Number(env.MIN_CONCURRENCY ?? 1)
  const config = {
    routes: [{
      id: 'api',
      match: { path },
      origin: env.ORIGIN,
      priority: 'normal',
      concurrency: { min, initial: min, max: Math.max(min, 10000) },
    }],
  }
  const governor = createGovernor({ config, engine: variant === 'ts' ? 'ts' : 'wasm', wasm })
  if (variant === 'hand' || variant === 'hand-headers') {
    const app = handBuilt(governor, env.ORIGIN, variant === 'hand-headers')
    return { governor, fetch: (request, env, ctx) => app.fetch(request, env, ctx as never) }
  }
  const sync = variant === 'no-sync'
    ? undefined
    : createSyncer({ governor, store: new MemoryStore() })
  const app = createProxyApp({ governor, sync })
  if (variant === 'no-keepalive') {
    return { governor, fetch: (request, env) => app.fetch(request, env) }
  }
  return { governor, fetch: (request, env, ctx) => app.fetch(request, env, ctx as never) }
}

export default {
  fetch(request: Request, env: Env, ctx: unknown): Response | Promise<Response> {
    built ??= build(env)
    // A suffix test, not a URL parse: the baseline does no extra work per request either.
    if (request.url.endsWith('/__bench/stats')) {
      const snapshot = built.governor.snapshot('api')
      return Response.json(
        snapshot && { ...snapshot, keepAliveOnAbort: signalAbortsOnDisconnect() },
      )
    }
    return built.fetch(request, env, ctx)
  },
}
