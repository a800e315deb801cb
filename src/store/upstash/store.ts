/**
 * The Upstash store: shared state for governors in many isolates, in an Upstash Redis database
 * reached over its REST API through `@upstash/redis`. Each operation is one Lua script, so each is atomic and one HTTP
 * request: an exchange of any number of routes is a single `EVALSHA` (plus one `EVAL` the first
 * time a Redis sees the script). Behaves as the memory store does; the scripts are in
 * `scripts.ts`.
 *
 * @module
 */

import {
  cleanDelta,
  COUNT_FIELDS,
  type Counts,
  type ExchangeResult,
  HISTOGRAM_BUCKETS,
  INFLIGHT_TTL_MS,
  type LeaseGrant,
  type RouteDelta,
  type RouteView,
  type TelemetryStore,
  WINDOW_S,
  zeroCounts,
} from '../../contract/telemetry-store.ts'
import { runPinned, type UpstashClient, upstashClient } from './client.ts'
import { type PinnedScript, SCRIPTS } from './scripts.ts'

/** Options of the Upstash store over a client you built. */
export interface UpstashStoreOptions {
  /**
   * An `@upstash/redis` client. `upstashStore()` builds one with the settings this store wants
   * (`upstashClient()`); one of your own works too, but cannot be cancelled per call, and its
   * retries may deliver an exchange the governor has already given up on (docs/sync.md).
   */
  redis: UpstashClient
  /**
   * Prefix of every key (`PREFIX:ROUTE:…`), so several deployments or tests can share a database.
   * @default 'rheostat'
   */
  prefix?: string
  /**
   * Seconds a route's totals and lease set live in Redis after their last write, so abandoned
   * routes do not pile up (the memory store's `maxRoutes` does the same). A route idle for longer
   * starts again from zero totals, which governors resynchronise to (docs/sync.md). Buckets and
   * gauges expire on their own, `WINDOW_S` + 5 s and `INFLIGHT_TTL_MS` + 5 s after their last
   * write. A whole number in [1, 1e8].
   * @default 86400
   */
  idleTtlS?: number
}

/** Options of `upstashStore()`. */
export interface UpstashStoreFactoryOptions extends Omit<UpstashStoreOptions, 'redis'> {
  /** REST URL of the database (`UPSTASH_REDIS_REST_URL`). */
  url: string
  /** REST token of the database (`UPSTASH_REDIS_REST_TOKEN`). */
  token: string
}

/** Values per route in the exchange script's answer. */
const VIEW_STRIDE = 2 * COUNT_FIELDS.length + HISTOGRAM_BUCKETS + 3

/** A TelemetryStore in Upstash Redis (or any Redis behind an Upstash-compatible REST API). */
export class UpstashStore implements TelemetryStore {
  readonly kind = 'upstash' as const
  /** The exchange script reads the config store's version key (`PREFIX:config:v`) too. */
  readonly carriesConfigVersion = true
  private readonly redis: UpstashClient
  private readonly prefix: string
  private readonly idleTtlS: number

  /**
   * @param options The client, and the key prefix and idle lifetime.
   * @throws {RangeError} If `idleTtlS` is not a whole number in [1, 1e8].
   */
  constructor({ redis, prefix = 'rheostat', idleTtlS = 86400 }: UpstashStoreOptions) {
    if (!Number.isInteger(idleTtlS) || idleTtlS < 1 || idleTtlS > 1e8) {
      throw new RangeError(`Cannot use idleTtlS "${idleTtlS}": expected a whole number in [1, 1e8]`)
    }
    this.redis = redis
    this.prefix = prefix
    this.idleTtlS = idleTtlS
  }

  async exchange(
    isolateId: string,
    deltas: RouteDelta[],
    nowMs: number,
    signal?: AbortSignal,
  ): Promise<ExchangeResult> {
    const clean: RouteDelta[] = []
    for (const raw of deltas) {
      const delta = cleanDelta(raw)
      if (delta !== null) clean.push(delta)
    }
    if (clean.length === 0) return { routes: [], configVersion: 0 }
    id('isolateId', isolateId)
    const args: string[] = []
    for (const delta of clean) {
      args.push('1')
      for (const field of COUNT_FIELDS) args.push(String(delta.counts[field]))
      for (const n of delta.histogram) args.push(String(n))
      args.push(String(delta.inflight))
    }
    return await this.views(isolateId, clean.map((d) => d.route), args, nowMs, signal)
  }

  async acquireLease(
    route: string,
    leaseId: string,
    ttlMs: number,
    maxActive: number,
    nowMs: number,
  ): Promise<LeaseGrant> {
    id('route', route)
    id('leaseId', leaseId)
    finite('ttlMs', ttlMs)
    finite('nowMs', nowMs)
    if (Number.isNaN(maxActive)) throw new RangeError('Cannot use maxActive "NaN"')
    const reply = await this.run(SCRIPTS.acquireLease, [this.key(route, 'l')], [
      leaseId,
      String(ttlMs),
      String(maxActive),
      String(nowMs),
      String(this.idleTtlS),
    ])
    if (!Array.isArray(reply) || reply.length !== 3) throw unexpected('acquireLease', reply)
    return {
      granted: Number(reply[0]) === 1,
      active: Number(reply[1]),
      expiresAt: Number(reply[2]),
    }
  }

  async heartbeatLease(
    route: string,
    leaseId: string,
    ttlMs: number,
    nowMs: number,
  ): Promise<boolean> {
    id('route', route)
    id('leaseId', leaseId)
    finite('ttlMs', ttlMs)
    finite('nowMs', nowMs)
    const reply = await this.run(SCRIPTS.heartbeatLease, [this.key(route, 'l')], [
      leaseId,
      String(ttlMs),
      String(nowMs),
      String(this.idleTtlS),
    ])
    return Number(reply) === 1
  }

  async releaseLease(route: string, leaseId: string, nowMs: number): Promise<boolean> {
    id('route', route)
    id('leaseId', leaseId)
    finite('nowMs', nowMs)
    const reply = await this.run(SCRIPTS.releaseLease, [this.key(route, 'l')], [
      leaseId,
      String(nowMs),
    ])
    return Number(reply) === 1
  }

  async snapshot(route: string, nowMs: number): Promise<RouteView> {
    id('route', route)
    const args = ['0', ...new Array<string>(COUNT_FIELDS.length + HISTOGRAM_BUCKETS + 1).fill('0')]
    const { routes: [view] } = await this.views('', [route], args, nowMs)
    return view as RouteView
  }

  /** Runs the exchange script on `routes` (per-route args already in `routeArgs`). */
  private async views(
    isolateId: string,
    routes: string[],
    routeArgs: string[],
    nowMs: number,
    signal?: AbortSignal,
  ): Promise<ExchangeResult> {
    finite('nowMs', nowMs)
    const keys = [`${this.prefix}:config:v`, ...routes.map((r) => this.key(r))]
    const reply = await this.run(SCRIPTS.exchange, keys, [
      String(nowMs),
      isolateId,
      String(WINDOW_S),
      String(INFLIGHT_TTL_MS),
      String(this.idleTtlS),
      String(COUNT_FIELDS.length),
      String(HISTOGRAM_BUCKETS),
      ...routeArgs,
    ], signal)
    if (!Array.isArray(reply) || reply.length !== 1 + routes.length * VIEW_STRIDE) {
      throw unexpected('exchange', reply)
    }
    // Through @upstash/redis with automaticDeserialization on (its default), numbers-as-strings
    // arrive parsed, except those whose JSON form differs ("0.10000000000000001"): Number()
    // takes both.
    const values = reply.map(Number)
    const version = values[0] as number
    const configVersion = Number.isInteger(version) && version >= 0 ? version : 0
    const views = routes.map((route, i) => {
      let at = 1 + i * VIEW_STRIDE
      const totals = zeroCounts()
      for (const f of COUNT_FIELDS) totals[f] = values[at++] as number
      const window: Counts = zeroCounts()
      for (const f of COUNT_FIELDS) window[f] = values[at++] as number
      const histogram = values.slice(at, at + HISTOGRAM_BUCKETS)
      at += HISTOGRAM_BUCKETS
      return {
        route,
        totals,
        window,
        histogram,
        inflight: values[at] as number,
        isolates: values[at + 1] as number,
        leases: values[at + 2] as number,
      }
    })
    return { routes: views, configVersion }
  }

  private run(
    script: PinnedScript,
    keys: string[],
    args: string[],
    signal?: AbortSignal,
  ): Promise<unknown> {
    return runPinned(this.redis, script, keys, args, signal)
  }

  private key(route: string, suffix?: string): string {
    const base = `${this.prefix}:${route}`
    return suffix === undefined ? base : `${base}:${suffix}`
  }
}

/**
 * Creates an Upstash store with its own `@upstash/redis` client (`upstashClient()`, client.ts).
 *
 * The client sends one command per request and never retries: an exchange adds deltas, so
 * re-sending one whose answer was lost would count it twice, and the governor already bounds each
 * store call with its own timeout (cancelling the request) and carries on without the store; the
 * next sync sends fresh deltas. It runs unchanged in Workers, Deno and Node.
 *
 * @param options Where the database is, and the store's options.
 * @returns The store.
 * @throws {RangeError} If `idleTtlS` is not a whole number in [1, 1e8].
 * @throws {TypeError} If `url` is not an http(s) URL.
 *
 * @example Usage
 * ```ts ignore
 * import { upstashStore } from 'rheostat/upstash'
 *
 * const store = upstashStore({
 *   url: env.UPSTASH_REDIS_REST_URL,
 *   token: env.UPSTASH_REDIS_REST_TOKEN,
 *   prefix: 'rheostat:prod',
 * })
 * const view = await store.snapshot('GET /api', Date.now())
 * ```
 */
export function upstashStore(
  { url, token, ...options }: UpstashStoreFactoryOptions,
): UpstashStore {
  return new UpstashStore({ ...options, redis: upstashClient({ url, token }) })
}

/** Longest route, isolate or lease id accepted, as cleanDelta and the Durable Object store do. */
const MAX_ID_LENGTH = 512

function id(name: string, value: string): void {
  if (typeof value !== 'string' || value.length > MAX_ID_LENGTH) {
    throw new RangeError(
      `Cannot use ${name}: expected a string of at most ${MAX_ID_LENGTH} characters`,
    )
  }
}

function finite(name: string, value: number): void {
  if (!Number.isFinite(value)) throw new RangeError(`Cannot use ${name} "${value}": not finite`)
}

function unexpected(script: string, reply: unknown): Error {
  const text = JSON.stringify(reply) ?? String(reply)
  return new Error(`Unexpected reply from the ${script} script: ${text.slice(0, 200)}`)
}
