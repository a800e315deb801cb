/**
 * The request-path core shared by the middleware, the fetch-handler wrapper and the proxy: pick
 * the route and priority, admit, complete the ticket exactly once, and hand the sync to
 * `waitUntil`. Internal: the public faces are `governor()`, `withGovernor()` and
 * `createProxyApp()`.
 *
 * @module
 */

import type { Context } from 'hono'
import type { Clock, Decision, Governor, Ticket } from '../governor/governor.ts'
import type { SyncHook } from '../governor/sync-types.ts'
import { rateLimitFor, rateLimitHeaders, shedResponse } from './responses.ts'
import { compileRoutes, type RouteTable } from './routes.ts'

/**
 * Whether an origin status counts as a failure for the physics: any 5xx, and 429, which says the
 * origin is already pushing back (503 is both).
 *
 * @example Usage
 * ```ts
 * import { isFailureStatus } from './gate.ts'
 * if (!isFailureStatus(503) || !isFailureStatus(429) || isFailureStatus(404)) throw new Error()
 * ```
 */
export function isFailureStatus(status: number): boolean {
  return status >= 500 || status === 429
}

/**
 * What the governor decided for one request, as the middleware puts it on the Hono context
 * (`c.get('rheostat')`) and hands it to `onShed`: the route, the priority class and the decision.
 */
export interface RheostatInfo {
  readonly route: string
  readonly priority: string
  readonly decision: Decision
}

/** The Hono `Variables` the middleware sets: `new Hono<{ Variables: RheostatVariables }>()`. */
export type RheostatVariables = { rheostat: RheostatInfo }

/**
 * The route table of a governor's current config: compiled once, and again only when
 * `reconfigure()` has replaced the config, so that routes and classes follow live changes.
 */
export class LiveRoutes {
  private readonly governor: Governor
  private config: Governor['config']
  private compiled: RouteTable

  constructor(governor: Governor) {
    this.governor = governor
    this.config = governor.config
    this.compiled = compileRoutes(governor.config)
  }

  /** The table for the config in force now. */
  get table(): RouteTable {
    const config = this.governor.config
    if (config !== this.config) {
      this.compiled = compileRoutes(config)
      this.config = config
    }
    return this.compiled
  }
}

/** One request as the governor decided it. */
export class Pass implements RheostatInfo {
  readonly route: string
  readonly priority: string
  readonly decision: Decision
  private readonly governor: Governor
  private ticket: Ticket | null

  constructor(governor: Governor, route: string, priority: string) {
    this.governor = governor
    this.route = route
    this.priority = priority
    this.decision = governor.admit(route, { priority })
    this.ticket = this.decision.ticket
  }

  get allowed(): boolean {
    return this.decision.allow
  }

  /**
   * Completes the ticket; every call after the first does nothing. `cancel` ends it without an
   * outcome (the client went away, which says nothing about the origin).
   */
  finish(ok: boolean | 'cancel', latencyMs: number): void {
    const ticket = this.ticket
    if (ticket === null) return
    this.ticket = null
    if (ok === 'cancel') this.governor.cancel(ticket)
    else this.governor.complete(ticket, { latencyMs: latencyMs >= 0 ? latencyMs : 0, ok })
  }

  /** The 503 problem response of a shed. */
  shed(): Response {
    return shedResponse(this.governor, this.route, this.priority, this.decision)
  }

  /** The RateLimit fields as of now. */
  headers(): Record<string, string> {
    return rateLimitHeaders(rateLimitFor(this.governor, this.route, this.priority, this.decision))
  }
}

/**
 * Runs the downstream work of an admitted request, timed on `clock`, and completes the ticket
 * with its outcome. A throw counts as a failure and is rethrown.
 *
 * @param run Resolves to whether the outcome was ok.
 */
export async function runAdmitted(
  pass: Pass,
  clock: Clock,
  run: () => Promise<boolean | 'cancel'>,
): Promise<void> {
  const start = clock()
  let ok: boolean | 'cancel' = false
  try {
    ok = await run()
  } finally {
    pass.finish(ok, clock() - start)
  }
}

/** What a caller asked for explicitly; absent parts come from the route table. */
export interface Target {
  route?: string | undefined
  priority?: string | undefined
}

/**
 * Picks the route and priority of a request: an explicit route, else the first matching config
 * route; an explicit priority that names a known class, else the priority rules and the route's
 * own. Null when no route applies.
 */
export function resolve(
  table: RouteTable,
  request: Request,
  target: Target,
): { route: string; priority: string } | null {
  let route = target.route
  if (route === undefined) {
    route = table.match(request.method, new URL(request.url).pathname)?.id
    if (route === undefined) return null
  }
  const asked = target.priority
  const priority = asked !== undefined && table.isPriority(asked)
    ? asked
    : table.priorityOf(route, request.headers)
  return { route, priority }
}

/**
 * Starts a sync if one is due and hands its promise to `waitUntil`, or lets it run when there is
 * none (Node, Deno without one).
 */
export function handOffSync(
  sync: SyncHook | undefined,
  waitUntil: ((promise: Promise<unknown>) => void) | undefined,
): void {
  if (sync === undefined) return
  const pending = sync.maybeSync()
  if (pending === null) return
  if (waitUntil !== undefined) waitUntil(pending)
  else void pending
}

/**
 * Checks a fixed priority option at construction, so a typo fails at start-up, not per request.
 *
 * @throws {RangeError} When `priority` is not one of the config's classes.
 */
export function assertKnownPriority(table: RouteTable, priority: string | undefined): void {
  if (priority !== undefined && !table.isPriority(priority)) {
    throw new RangeError(`Unknown priority "${priority}": not one of the governor's classes`)
  }
}

/**
 * The `waitUntil` of a Hono context's execution context, or undefined outside Workers (Hono
 * throws when `c.executionCtx` is read where there is none).
 */
export function contextWaitUntil(c: Context): ((promise: Promise<unknown>) => void) | undefined {
  let ctx: { waitUntil(promise: Promise<unknown>): void }
  try {
    ctx = c.executionCtx
  } catch {
    return undefined
  }
  if (typeof ctx?.waitUntil !== 'function') return undefined
  return (promise) => ctx.waitUntil(promise)
}
