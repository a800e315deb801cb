/**
 * `withGovernor()`: puts a plain fetch handler behind a Rheostat governor, with the middleware's
 * semantics. Takes a Workers handler object (`{ fetch(request, env, ctx) }`) or a Deno-style
 * function (`(request, info?) => Response`), and returns the same shape.
 *
 * @module
 */

import type { Clock, Governor } from '../governor/governor.ts'
import type { SyncHook } from '../governor/sync-types.ts'
import {
  answerOutcome,
  assertKnownPriority,
  type Background,
  disconnectSignal,
  handOffSync,
  LiveRoutes,
  Pass,
  resolve,
  type RheostatInfo,
  runAdmitted,
} from './gate.ts'
import {
  appendHeaders,
  DEFAULT_PROBLEM_TYPE_BASE,
  encodedSlashResponse,
  noRouteResponse,
} from './responses.ts'

/** Hands background work to the runtime so it outlives the response. */
export type WaitUntil = (promise: Promise<unknown>) => void

/** Options of `withGovernor()`. */
export interface WithGovernorOptions {
  /** The governor that decides. */
  governor: Governor
  /**
   * The route id of a request, or a function of the request that returns it.
   * @default the first route of `governor.config.routes` whose `match` matches; when none does,
   * `config.unmatched` applies ("pass": the handler runs ungoverned; "reject": 404 problem)
   */
  route?: string | ((request: Request) => string) | undefined
  /**
   * The priority class of a request, or a function of the request that returns it (undefined, or
   * a name that is not a class, falls back to the default).
   * @default the first matching `priorityRules` entry, else the route's own priority
   */
  priority?: string | ((request: Request) => string | undefined) | undefined
  /**
   * Called after every request; a due exchange goes to `waitUntil`.
   * @default the governor's own sync (`createGovernor({ store })`), none without a store
   */
  sync?: SyncHook | undefined
  /**
   * Clock for latency (ms around the handler).
   * @default Date.now
   */
  clock?: Clock | undefined
  /**
   * Where the sync's promise goes for the function form (Workers handlers use `ctx.waitUntil`).
   * @default none: the promise runs on its own
   */
  waitUntil?: WaitUntil | undefined
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
  onShed?: ((request: Request, info: RheostatInfo) => Response | Promise<Response>) | undefined
  /**
   * Requests for which this returns true go to the handler ungoverned.
   * @default none
   */
  skip?: ((request: Request) => boolean | Promise<boolean>) | undefined
}

/** A Workers module handler: the part `withGovernor` wraps. */
export interface FetchHandlerObject<Env = unknown, Ctx = unknown> {
  fetch(request: Request, env: Env, ctx: Ctx): Response | Promise<Response>
}

/** The `env` parameter type of a handler object's `fetch`. */
export type EnvOf<H> = H extends { fetch(request: never, env: infer E, ...rest: never[]): unknown }
  ? E
  : never

/** The `ctx` parameter type of a handler object's `fetch`. */
export type CtxOf<H> = H extends
  { fetch(request: never, env: never, ctx: infer C, ...rest: never[]): unknown } ? C : never

/** What `withGovernor` returns for a handler object: the same object with `fetch` governed. */
export type GovernedHandler<H> = Omit<H, 'fetch'> & {
  fetch(request: Request, env: EnvOf<H>, ctx: CtxOf<H>): Promise<Response>
}

/** A Deno-style handler: `Deno.serve(handler)` passes the request and connection info. */
export type FetchFunction<A extends unknown[] = []> = (
  request: Request,
  ...args: A
) => Response | Promise<Response>

/**
 * Wraps a Workers handler object: `fetch` is governed, every other own property (`scheduled`,
 * `queue`, …) is kept. The sync's promise goes to `ctx.waitUntil`.
 *
 * @example Workers
 * ```ts
 * import { createGovernor, withGovernor } from '../mod.ts'
 * const gov = createGovernor({ engine: 'ts' })
 * const worker = withGovernor({ fetch: () => new Response('ok') }, { governor: gov, route: 'all' })
 * const res = await worker.fetch(new Request('http://localhost/'), {}, { waitUntil() {} })
 * if (res.status !== 200) throw new Error('admitted')
 * ```
 */
export function withGovernor<H extends FetchHandlerObject<never, never>>(
  handler: H,
  options: WithGovernorOptions,
): GovernedHandler<H>
/**
 * Wraps a Deno-style handler function; extra arguments (Deno's connection info) pass through.
 *
 * @example Deno
 * ```ts
 * import { createGovernor, withGovernor } from '../mod.ts'
 * const gov = createGovernor({ engine: 'ts' })
 * const serve = withGovernor(() => new Response('ok'), { governor: gov, route: 'all' })
 * const res = await serve(new Request('http://localhost/'))
 * if (!res.headers.get('RateLimit')) throw new Error('governed')
 * ```
 */
export function withGovernor<A extends unknown[]>(
  handler: FetchFunction<A>,
  options: WithGovernorOptions,
): (request: Request, ...args: A) => Promise<Response>
/**
 * Puts a fetch handler behind a governor with the semantics of the `governor()` middleware:
 * admit before the handler (a shed answers 503 problem with Retry-After and RateLimit fields),
 * complete the ticket with the handler's latency and status afterwards (5xx, 429 or a throw
 * count as failures; a throw is rethrown), set the RateLimit fields, then start a due sync.
 *
 * @param handler A Workers handler object or a Deno-style function.
 * @param options Governor, route, priority, sync hook, clock, waitUntil.
 * @returns The same shape as `handler`.
 * @throws {RangeError} When a fixed `priority` is not one of the governor's classes.
 */
export function withGovernor(
  handler: FetchHandlerObject<unknown, unknown> | FetchFunction<unknown[]>,
  options: WithGovernorOptions,
): FetchHandlerObject<unknown, unknown> | ((request: Request) => Promise<Response>) {
  const {
    governor: gov,
    route,
    priority,
    sync = gov.sync,
    clock = Date.now,
    waitUntil,
    problemTypeBase = DEFAULT_PROBLEM_TYPE_BASE,
    onShed,
    skip,
  } = options
  const routes = new LiveRoutes(gov)
  if (typeof priority === 'string') assertKnownPriority(routes.table, priority)
  // The option as the request path takes it, made once.
  const optionBackground: Background | undefined = waitUntil === undefined
    ? undefined
    : { waitUntil: (promise) => waitUntil(promise) }

  async function governed(
    request: Request,
    call: () => Response | Promise<Response>,
    background: Background | undefined,
  ): Promise<Response> {
    if (skip !== undefined && await skip(request)) return await call()
    try {
      const table = routes.table
      const target = resolve(table, request, {
        route: typeof route === 'function' ? route(request) : route,
        priority: typeof priority === 'function' ? priority(request) : priority,
      })
      if (target === 'encoded-slash') return encodedSlashResponse(problemTypeBase)
      if (target === null) {
        if (table.unmatched === 'reject') {
          return noRouteResponse(
            request,
            'No route matches this request and the config rejects unmatched requests',
            problemTypeBase,
          )
        }
        return await call()
      }
      const pass = new Pass(gov, target.route, target.priority)
      if (!pass.allowed) {
        return onShed === undefined
          ? pass.shed()
          : appendHeaders(await onShed(request, pass), pass.headers())
      }
      let response: Response | undefined
      await runAdmitted(
        pass,
        clock,
        async () => {
          response = await call()
          return answerOutcome(response)
        },
        background,
        disconnectSignal(request),
      )
      return appendHeaders(response as Response, pass.headers())
    } finally {
      handOffSync(sync, background)
    }
  }

  if (typeof handler === 'function') {
    return function governedFetch(request: Request, ...args: unknown[]): Promise<Response> {
      return governed(request, () => handler(request, ...args), optionBackground)
    }
  }
  return {
    ...handler,
    fetch(request: Request, env: unknown, ctx: unknown): Promise<Response> {
      const runtime = ctx as Partial<Background> | undefined
      const background = typeof runtime?.waitUntil === 'function'
        ? runtime as Background
        : optionBackground
      return governed(request, () => handler.fetch(request, env, ctx), background)
    },
  }
}
