/**
 * `governor()`: Hono middleware that puts any Hono app behind a Rheostat governor.
 *
 * @module
 */

import type { Context, Env, MiddlewareHandler } from 'hono'
import type { Clock, Governor } from '../governor/governor.ts'
import type { SyncHook } from '../governor/sync-types.ts'
import {
  answerOutcome,
  assertKnownPriority,
  contextBackground,
  disconnectSignal,
  handOffSync,
  LiveRoutes,
  Pass,
  resolve,
  type RheostatInfo,
  type RheostatVariables,
  runAdmitted,
} from './gate.ts'
import {
  appendHeaders,
  DEFAULT_PROBLEM_TYPE_BASE,
  encodedSlashResponse,
  noRouteResponse,
} from './responses.ts'

// `c.get('rheostat')` is typed through the app's Env: the middleware's type adds
// `RheostatVariables` to the app it is `use`d on, and an app can list them itself. No global
// `declare module 'hono'` augmentation: JSR refuses ambient modules (docs/decisions.md).

/** An app's Env with the middleware's `rheostat` variable added. */
export type WithRheostat<E extends Env> = E & { Variables: RheostatVariables }

/** Options of the `governor()` middleware. */
export interface GovernorMiddlewareOptions<E extends Env = Env> {
  /** The governor that decides. */
  governor: Governor
  /**
   * The route id of a request, or a function of the context that returns it.
   * @default the first route of `governor.config.routes` whose `match` matches; when none does,
   * `config.unmatched` applies ("pass": the request runs ungoverned; "reject": 404 problem)
   */
  route?: string | ((c: Context<E>) => string) | undefined
  /**
   * The priority class of a request, or a function of the context that returns it (undefined, or
   * a name that is not a class, falls back to the default). Set it from what your code trusts
   * (an authenticated identity), never from a raw client header.
   * @default the first matching `priorityRules` entry, else the route's own priority
   */
  priority?: string | ((c: Context<E>) => string | undefined) | undefined
  /**
   * Called after every request; a due exchange goes to `c.executionCtx.waitUntil`.
   * @default the governor's own sync (`createGovernor({ store })`), none without a store
   */
  sync?: SyncHook | undefined
  /**
   * Clock for latency (ms around `next()`).
   * @default Date.now
   */
  clock?: Clock | undefined
  /**
   * Prefix of the `no-route` problem type.
   * @default "urn:rheostat:problem:"
   */
  problemTypeBase?: string | undefined
  /**
   * Your own answer to a shed request (the decision has `retryAfterS`, `reason`, `mode`); the
   * RateLimit fields are added to it.
   * @default a 503 `application/problem+json` with Retry-After and the RateLimit fields
   */
  onShed?:
    | ((c: Context<WithRheostat<E>>, info: RheostatInfo) => Response | Promise<Response>)
    | undefined
  /**
   * Requests for which this returns true pass ungoverned (health checks, static assets, …).
   * @default none
   */
  skip?: ((c: Context<E>) => boolean | Promise<boolean>) | undefined
}

/**
 * Hono middleware that governs each request: it admits before `next()` and answers a shed with a
 * 503 problem (Retry-After, RateLimit fields) or your `onShed`; after `next()` it completes the
 * ticket with the downstream latency and status (5xx, 429 or a thrown error count as failures)
 * and sets the RateLimit fields. A throw from `next()` is completed as a failure and rethrown.
 * The decision is on the context as `c.get('rheostat')` (type the app with `RheostatVariables`).
 * Routes and classes follow `governor.reconfigure()`.
 *
 * @param options Governor, route, priority, sync hook, clock, onShed, skip.
 * @returns The middleware.
 * @throws {RangeError} When a fixed `priority` is not one of the governor's classes.
 *
 * @example Usage
 * ```ts
 * import { Hono } from 'hono'
 * import { createGovernor, governor } from '../mod.ts'
 * const gov = createGovernor({ engine: 'ts' })
 * const app = new Hono()
 * app.use('/api/*', governor({ governor: gov, route: 'api' }))
 * app.get('/api/hello', (c) => c.text('hello'))
 * const res = await app.request('http://localhost/api/hello')
 * if (!res.headers.get('RateLimit')) throw new Error('governed')
 * ```
 *
 * @example The decision on the context, your own shed response, requests that skip it
 * ```ts
 * import { Hono } from 'hono'
 * import { createGovernor, governor, type RheostatVariables } from '../mod.ts'
 * const gov = createGovernor({ engine: 'ts' })
 * const app = new Hono<{ Variables: RheostatVariables }>()
 * app.use('*', governor({
 *   governor: gov,
 *   route: 'api',
 *   skip: (c) => c.req.path === '/health',
 *   onShed: (c, info) => c.json({ busy: true, retryAfterS: info.decision.retryAfterS }, 503),
 * }))
 * app.get('/api/who', (c) => c.text(c.get('rheostat').priority))
 * app.get('/health', (c) => c.text(String(c.get('rheostat') === undefined)))
 * if (await (await app.request('http://localhost/api/who')).text() !== 'normal') throw new Error()
 * if (await (await app.request('http://localhost/health')).text() !== 'true') throw new Error()
 * ```
 */
export const governor = <E extends Env = Env>(
  {
    governor: gov,
    route,
    priority,
    sync = gov.sync,
    clock = Date.now,
    problemTypeBase = DEFAULT_PROBLEM_TYPE_BASE,
    onShed,
    skip,
  }: GovernorMiddlewareOptions<E>,
): MiddlewareHandler<WithRheostat<E>> => {
  const routes = new LiveRoutes(gov)
  if (typeof priority === 'string') assertKnownPriority(routes.table, priority)
  return async function governor(c, next) {
    // The app's own view of the context, for the callbacks written against the app's Env.
    const own = c as unknown as Context<E>
    if (skip !== undefined && await skip(own)) {
      await next()
      return
    }
    // Read once: on Node, Hono's executionCtx getter throws on every read.
    const background = contextBackground(c)
    try {
      const table = routes.table
      const target = resolve(table, c.req.raw, {
        route: typeof route === 'function' ? route(own) : route,
        priority: typeof priority === 'function' ? priority(own) : priority,
      })
      if (target === 'encoded-slash') return encodedSlashResponse(problemTypeBase)
      if (target === null) {
        if (table.unmatched === 'reject') {
          return noRouteResponse(
            c.req.raw,
            'No route matches this request and the config rejects unmatched requests',
            problemTypeBase,
          )
        }
        await next()
        return
      }
      const pass = new Pass(gov, target.route, target.priority) // The context's Variables are the app's; this key is the one the middleware documents.
      ;(c as unknown as Context<{ Variables: { rheostat: RheostatInfo } }>).set('rheostat', pass)
      if (!pass.allowed) {
        if (onShed === undefined) return pass.shed()
        return appendHeaders(await onShed(c, pass), pass.headers())
      }
      await runAdmitted(
        pass,
        clock,
        async () => {
          await next()
          // Hono turns a handler's throw into a 500 before next() returns; c.error says it threw:
          // an application error, not overload.
          return c.error === undefined ? answerOutcome(c.res) : { ok: false, status: 500 }
        },
        background,
        disconnectSignal(c.req.raw),
      )
      const headers = pass.headers()
      for (const name in headers) c.header(name, headers[name], { append: true })
    } finally {
      handOffSync(sync, background)
    }
  }
}
