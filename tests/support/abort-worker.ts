// Workers for the client-disconnect tests (tests/unit/worker-client-abort.test.ts), bundled with
// esbuild and served by raw `workerd serve`.
//
// The default export is the edge proxy (TypeScript engine) in front of the origin the ORIGIN
// binding names; GET /__test/inflight answers the route's in-flight count. With the binding
// CTX = "off" it runs without the execution context: no waitUntil, so nothing keeps a request's
// context alive after its client hangs up (the control that shows what the keep-alive does).
//
// `client` (the named export) is a Worker with a service binding PROXY to the proxy: a request to
// it opens `n` requests through the binding, waits until the origin holds them all, and aborts
// them. workerd cancels the proxy's requests then, as the Cloudflare edge does when a client
// hangs up (over TCP, local workerd notices a disconnect only once it writes the response).
import { createGovernor, createProxyApp, type Governor } from '../../src/mod.ts'

interface Env {
  ORIGIN: string
  CTX?: string
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
    if (env.CTX === 'off') return built.app.fetch(request, env)
    return built.app.fetch(request, env, ctx as Parameters<typeof built.app.fetch>[2])
  },
}

interface ClientEnv {
  ORIGIN: string
  PROXY: { fetch(input: string, init?: RequestInit): Promise<Response> }
}

/** Opens `?n=` requests through the service binding, waits until the origin holds them, aborts. */
export const client = {
  async fetch(request: Request, env: ClientEnv): Promise<Response> {
    const n = Number(new URL(request.url).searchParams.get('n'))
    const controllers = Array.from({ length: n }, () => new AbortController())
    const answers = controllers.map((controller, i) =>
      env.PROXY.fetch(`http://edge.test/api/${i}`, { signal: controller.signal }).then(
        (response) => String(response.status),
        (error: unknown) => error instanceof Error ? error.name : String(error),
      )
    )
    let held = 0
    for (let tries = 0; held < n && tries < 400; tries++) {
      held = Number(await (await fetch(`${env.ORIGIN}/__test/held`)).text())
      if (held < n) await new Promise((done) => setTimeout(done, 50))
    }
    for (const controller of controllers) controller.abort()
    return Response.json({ held, answers: await Promise.all(answers) })
  },
}
