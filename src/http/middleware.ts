/**
 * `governor()`: Hono middleware that puts any Hono app behind a Rheostat governor.
 *
 * @module
 */

import type { Context, Env, MiddlewareHandler } from 'hono'
import type { Clock, Governor } from '../governor/governor.ts'
import type { SyncHook } from '../governor/sync-types.ts'
import {
  assertKnownPriority,
  contextWaitUntil,
  handOffSync,
  isFailureStatus,
  Pass,
  resolve,
  runAdmitted,
} from './gate.ts'
import { DEFAULT_PROBLEM_TYPE_BASE, encodedSlashResponse, noRouteResponse } from './responses.ts'
import { compileRoutes } from './routes.ts'

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
  /** Called after every request; a due exchange goes to `c.executionCtx.waitUntil`. */
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
}

/**
 * Hono middleware that governs each request: it admits before `next()` and answers a shed with a
 * 503 problem (Retry-After, RateLimit fields); after `next()` it completes the ticket with the
 * downstream latency and status (5xx, 429 or a thrown error count as failures) and sets the
 * RateLimit fields. A throw from `next()` is completed as a failure and rethrown.
 *
 * @param options Governor, route, priority, sync hook, clock.
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
 */
export const governor = <E extends Env = Env>(
  {
    governor: gov,
    route,
    priority,
    sync,
    clock = Date.now,
    problemTypeBase = DEFAULT_PROBLEM_TYPE_BASE,
  }: GovernorMiddlewareOptions<E>,
): MiddlewareHandler<E> => {
  let table = compileRoutes(gov.config)
  let compiledFor = gov.config
  if (typeof priority === 'string') assertKnownPriority(table, priority)
  return async function governor(c, next) {
    try {
      // governor.reconfigure() swaps the config: a table of the old one would hand out classes
      // the governor no longer knows (L5). One reference comparison per request.
      if (gov.config !== compiledFor) {
        table = compileRoutes(gov.config)
        compiledFor = gov.config
      }
      const target = resolve(table, c.req.raw, {
        route: typeof route === 'function' ? route(c) : route,
        priority: typeof priority === 'function' ? priority(c) : priority,
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
      const pass = new Pass(gov, target.route, target.priority)
      if (!pass.allowed) return pass.shed()
      await runAdmitted(pass, clock, async () => {
        await next()
        // Hono turns a handler's throw into a 500 before next() returns; c.error says it threw.
        return c.error === undefined && !isFailureStatus(c.res.status)
      }, contextWaitUntil(c))
      const headers = pass.headers()
      for (const name in headers) c.header(name, headers[name], { append: true })
    } finally {
      handOffSync(sync, contextWaitUntil(c))
    }
  }
}
