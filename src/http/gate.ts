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
import { rateLimitFields, shedResponse } from './responses.ts'
import { compileRoutes, type RouteTable } from './routes.ts'
import { hasEncodedSeparator, normalizePath } from './path.ts'

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

/** What the physics is told about an answer: its status, and its Retry-After in seconds. */
export interface AnswerOutcome {
  ok: boolean
  status?: number | undefined
  retryAfterS?: number | undefined
}

/**
 * The outcome of an origin's answer: its status (429, 503 and 504 tell overload from application
 * errors, docs/physics.md) and a delta-seconds Retry-After (an HTTP-date one is not read).
 *
 * @example Usage
 * ```ts
 * import { answerOutcome } from './gate.ts'
 * const o = answerOutcome(new Response(null, { status: 503, headers: { 'retry-after': '3' } }))
 * if (o.ok || o.status !== 503 || o.retryAfterS !== 3) throw new Error()
 * ```
 */
export function answerOutcome(response: Response): AnswerOutcome {
  const status = response.status
  const header = response.headers.get('retry-after')
  const retryAfterS = header !== null && /^\s*\d+\s*$/.test(header) ? Number(header) : undefined
  return { ok: !isFailureStatus(status), status, retryAfterS }
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

/**
 * Where a request's background work goes: a Workers `ExecutionContext`, or anything with its
 * `waitUntil`. Passed as the object itself, so a request allocates no function for it.
 */
export interface Background {
  waitUntil(promise: Promise<unknown>): void
}

/** One request as the governor decided it. */
export class Pass implements RheostatInfo {
  readonly route: string
  readonly priority: string
  readonly decision: Decision
  private readonly governor: Governor
  private ticket: Ticket | null
  /** Settles the promise `keepAlive` handed over; undefined until it was armed. */
  private settle: (() => void) | undefined = undefined

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
  finish(ok: boolean | 'cancel' | AnswerOutcome, latencyMs: number): void {
    const ticket = this.ticket
    if (ticket === null) return
    this.ticket = null
    try {
      if (ok === 'cancel') this.governor.cancel(ticket)
      else {
        // A bare boolean has no status: false is no answer (a throw, a timeout, a network error).
        // One object per completion, built here rather than copied.
        const latency = latencyMs >= 0 ? latencyMs : 0
        this.governor.complete(
          ticket,
          typeof ok === 'boolean'
            ? { ok, latencyMs: latency }
            : { ok: ok.ok, status: ok.status, retryAfterS: ok.retryAfterS, latencyMs: latency },
        )
      }
    } finally {
      this.settle?.()
    }
  }

  /**
   * Keeps the request's context alive until the ticket completes: hands `background.waitUntil` a
   * promise that settles then (docs/http.md "Client disconnects"). Workers drop a request's
   * context when its client hangs up unless work was handed to `waitUntil`, and the `finally`
   * that completes the ticket would never run. Does nothing once armed or when the ticket is
   * already complete, so an abort listener may call it as often as it fires.
   */
  keepAlive(background: Background): void {
    if (this.ticket === null || this.settle !== undefined) return
    background.waitUntil(new Promise<void>((resolve) => this.settle = resolve))
  }

  /** The 503 problem response of a shed. */
  shed(): Response {
    return shedResponse(this.governor, this.route, this.priority, this.decision)
  }

  /** The RateLimit fields as of now. */
  headers(): Readonly<Record<string, string>> {
    return rateLimitFields(this.governor, this.route, this.priority, this.decision)
  }
}

/**
 * Runs the downstream work of an admitted request, timed on `clock`, and completes the ticket
 * with its outcome. A throw counts as a failure and is rethrown.
 *
 * With `background`, the request's context is kept alive until the ticket completes
 * (`Pass.keepAlive`): from the start, or, when `disconnect` is the request's signal of a runtime
 * that aborts it as the client hangs up (`disconnectSignal`), from that abort on. A request whose
 * client stays costs no `waitUntil` then.
 *
 * @param run Resolves to the answer's outcome (or whether it was ok, without a status).
 */
export async function runAdmitted(
  pass: Pass,
  clock: Clock,
  run: () => Promise<boolean | 'cancel' | AnswerOutcome>,
  background?: Background | undefined,
  disconnect?: AbortSignal | undefined,
): Promise<void> {
  const start = clock()
  let ok: boolean | 'cancel' | AnswerOutcome = false
  let onAbort: (() => void) | undefined
  if (background !== undefined) {
    if (disconnect === undefined || disconnect.aborted) pass.keepAlive(background)
    else {
      onAbort = () => pass.keepAlive(background)
      disconnect.addEventListener('abort', onAbort, { once: true })
    }
  }
  try {
    ok = await run()
  } finally {
    pass.finish(ok, clock() - start)
    if (onAbort !== undefined) disconnect?.removeEventListener('abort', onAbort)
  }
}

// Whether this runtime aborts an incoming request's signal when its client hangs up; read once.
let abortsOnDisconnect: boolean | undefined

/**
 * Whether the runtime aborts an incoming request's `signal` when its client hangs up, and runs
 * the abort's listeners while the request's context can still be kept alive: workerd with the
 * `enable_request_signal` compatibility flag (the shipped `wrangler.toml` files set it), which
 * workerd reports in `Cloudflare.compatibilityFlags`. False everywhere else, where a request's
 * context is then kept alive from admission on.
 */
export function signalAbortsOnDisconnect(): boolean {
  if (abortsOnDisconnect === undefined) {
    try {
      const flags =
        (globalThis as { Cloudflare?: { compatibilityFlags?: Record<string, unknown> } })
          .Cloudflare?.compatibilityFlags
      abortsOnDisconnect = flags?.['enable_request_signal'] === true
    } catch {
      // A global of that name that is not workerd's: arm at admission, the safe way.
      abortsOnDisconnect = false
    }
  }
  return abortsOnDisconnect
}

/** The request's signal where the runtime aborts it when the client hangs up, else undefined. */
export function disconnectSignal(request: Request): AbortSignal | undefined {
  return signalAbortsOnDisconnect() ? request.signal : undefined
}

/** What a caller asked for explicitly; absent parts come from the route table. */
export interface Target {
  route?: string | undefined
  priority?: string | undefined
}

/**
 * Picks the route and priority of a request: an explicit route, else the first matching config
 * route; an explicit priority that names a known class, else the priority rules and the route's
 * own. Null when no route applies; `encoded-slash` when the normalised path holds an encoded `/`
 * or `\` and the route matched (if any) does not allow it.
 */
export function resolve(
  table: RouteTable,
  request: Request,
  target: Target,
): { route: string; priority: string } | null | 'encoded-slash' {
  let route = target.route
  if (route === undefined) {
    const path = normalizePath(new URL(request.url).pathname)
    const matched = table.match(request.method, path)
    if (hasEncodedSeparator(path) && matched?.allowEncodedSlashes !== true) return 'encoded-slash'
    route = matched?.id
    if (route === undefined) return null
  }
  const asked = target.priority
  const priority = asked !== undefined && table.isPriority(asked)
    ? asked
    : table.priorityOf(route, request.headers)
  return { route, priority }
}

/**
 * Starts a sync if one is due and hands its promise to `background.waitUntil`, or lets it run
 * when there is none (Node, Deno without one).
 */
export function handOffSync(
  sync: SyncHook | undefined,
  background: Background | undefined,
): void {
  if (sync === undefined) return
  const pending = sync.maybeSync()
  if (pending === null) return
  if (background !== undefined) background.waitUntil(pending)
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
 * The execution context of a Hono context where it has a `waitUntil`, or undefined outside Workers
 * (Hono throws when `c.executionCtx` is read where there is none).
 */
export function contextBackground(c: Context): Background | undefined {
  let ctx: Partial<Background> | undefined
  try {
    ctx = c.executionCtx
  } catch {
    return undefined
  }
  return typeof ctx?.waitUntil === 'function' ? ctx as Background : undefined
}
