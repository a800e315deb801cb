// A Worker for the client-disconnect test (tests/unit/worker-client-abort.test.ts), bundled with
// esbuild and served by raw `workerd serve`: the edge proxy (TypeScript engine) in front of the
// origin the ORIGIN binding names, and GET /__test/inflight answering the route's in-flight count.
import { createGovernor, createProxyApp, type Governor } from '../../src/mod.ts'

interface Env {
  ORIGIN: string
}

// Only what the handler uses of Workers' ExecutionContext (this file is type-checked with Node's).
interface Ctx {
  waitUntil(promise: Promise<unknown>): void
  passThroughOnException(): void
}

let built: { governor: Governor; app: ReturnType<typeof createProxyApp> } | undefined

export default {
  fetch(request: Request, env: Env, ctx: Ctx): Response | Promise<Response> {
    if (built === undefined) {
      const governor = createGovernor({
        engine: 'ts',
        config: {
          routes: [{
            id: 'slow',
            match: { path: '/api/*' },
            origin: env.ORIGIN,
            timeoutMs: 20_000,
          }],
          // Room for every held request from the start (the default is slow start from 10).
          defaults: { concurrency: { initial: 100 } },
        },
      })
      built = { governor, app: createProxyApp({ governor }) }
    }
    if (new URL(request.url).pathname === '/__test/inflight') {
      return Response.json({ inflight: built.governor.snapshot('slow')?.inflight ?? 0 })
    }
    return built.app.fetch(request, env, ctx as Parameters<typeof built.app.fetch>[2])
  },
}
