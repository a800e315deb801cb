/**
 * The `TelemetryStore` contract: how isolates share what they see. A store aggregates; it never
 * runs physics. Protocol: docs/sync.md. The governor (src/governor/) and every backend
 * (src/store/<backend>/) import this module; it imports nothing of ours, so neither layer depends
 * on the other.
 *
 * Each isolate sends, when it has something worth telling (docs/sync.md) and at most once per sync
 * interval, the deltas it saw per route since its last exchange; the store adds them into
 * cumulative totals and 1-second buckets, records the isolate's in-flight gauge with a TTL, and
 * answers with its view of every route it was sent. The isolate
 * subtracts what it sent itself from the totals and folds the rest (the other isolates' samples)
 * into its engine, so every isolate's physics sees all the traffic.
 *
 * @module
 */

/** Upper bounds of the latency histogram buckets, ms; the last bucket is everything above. */
export const HISTOGRAM_BOUNDS_MS: readonly number[] = [
  1,
  2,
  5,
  10,
  20,
  50,
  100,
  200,
  500,
  1000,
  2000,
  5000,
  10000,
  30000,
  60000,
]

/** Number of histogram buckets (one more than the bounds). */
export const HISTOGRAM_BUCKETS = HISTOGRAM_BOUNDS_MS.length + 1

/** Seconds of buckets a store keeps for its window view. */
export const WINDOW_S = 30

/** How long an isolate's in-flight gauge counts without a refresh, ms. */
export const INFLIGHT_TTL_MS = 10_000

/** Counters of one route, summed over isolates. All are non-negative integers but latencySumMs. */
export interface Counts {
  /** Requests decided (admitted + shed). */
  requests: number
  admitted: number
  shed: number
  /** Admitted requests that completed well. */
  ok: number
  /** Admitted requests that failed (5xx, network error, timeout, origin 429/503). */
  errors: number
  /** Sum of the latencies of completed requests, ms. */
  latencySumMs: number
  /** Completed requests with a latency (ok + errors, normally). */
  latencyCount: number
}

/** What one isolate saw on one route since its last exchange. */
export interface RouteDelta {
  route: string
  counts: Counts
  /** Completed requests per latency bucket (HISTOGRAM_BUCKETS long). */
  histogram: number[]
  /** The isolate's requests in flight on this route now (a gauge, not a delta). */
  inflight: number
}

/** A store's view of one route. */
export interface RouteView {
  route: string
  /** Cumulative counts since the store first saw the route, all isolates together. */
  totals: Counts
  /** Counts of the last WINDOW_S seconds of buckets, all isolates together. */
  window: Counts
  /** Latency histogram of the window. */
  histogram: number[]
  /** Sum of the in-flight gauges of isolates heard from within INFLIGHT_TTL_MS. */
  inflight: number
  /** Isolates heard from within INFLIGHT_TTL_MS. */
  isolates: number
  /** Leases active now. */
  leases: number
}

/** A store's answer to an exchange. */
export interface ExchangeResult {
  /** One view per route in the request that the store took, in request order. */
  routes: RouteView[]
  /**
   * Routes whose deltas the store did not take (their part failed while others succeeded): the
   * caller sends these again, and only these. Absent: every route was taken.
   */
  failed?: string[] | undefined
  /** Version of the config the store holds (0 until config uploads exist). */
  configVersion: number
}

/** The outcome of a lease request. */
export interface LeaseGrant {
  granted: boolean
  /** Leases active on the route after the request. */
  active: number
  /** When the lease expires without a heartbeat, ms; 0 when not granted. */
  expiresAt: number
}

/** Shared state for governors in many isolates. Every method may reject; callers must cope. */
export interface TelemetryStore {
  /** The backend's name, as `sync.store` names it (src/store/backends.ts). */
  readonly kind: string
  /**
   * True when `exchange` answers the config store's current version: the syncer then polls the
   * config store only when it differs from the isolate's, instead of with every heartbeat only.
   */
  readonly carriesConfigVersion?: boolean
  /**
   * Adds an isolate's deltas and answers with the view of each route sent.
   * @param nowMs The caller's clock: buckets are keyed by it.
   * @param signal Aborted when the caller stops waiting (the sync timeout): a store that can
   * cancel its requests does, so slow ones do not pile up.
   */
  exchange(
    isolateId: string,
    deltas: RouteDelta[],
    nowMs: number,
    signal?: AbortSignal,
  ): Promise<ExchangeResult>
  /** Grants a lease unless `maxActive` leases are already active on the route. */
  acquireLease(
    route: string,
    leaseId: string,
    ttlMs: number,
    maxActive: number,
    nowMs: number,
  ): Promise<LeaseGrant>
  /** Extends a lease; false when it is unknown or expired. */
  heartbeatLease(route: string, leaseId: string, ttlMs: number, nowMs: number): Promise<boolean>
  /** Ends a lease; false when it was unknown or expired. */
  releaseLease(route: string, leaseId: string, nowMs: number): Promise<boolean>
  /** The view of one route without adding anything. */
  snapshot(route: string, nowMs: number): Promise<RouteView>
}

/** The view of a route nobody has reported. */
export function emptyView(route: string): RouteView {
  return {
    route,
    totals: zeroCounts(),
    window: zeroCounts(),
    histogram: new Array<number>(HISTOGRAM_BUCKETS).fill(0),
    inflight: 0,
    isolates: 0,
    leases: 0,
  }
}

/** Counts with every field 0. */
export function zeroCounts(): Counts {
  return {
    requests: 0,
    admitted: 0,
    shed: 0,
    ok: 0,
    errors: 0,
    latencySumMs: 0,
    latencyCount: 0,
  }
}

/** The names of the Counts fields, in a fixed order (stores serialise them in this order). */
export const COUNT_FIELDS: readonly (keyof Counts)[] = [
  'requests',
  'admitted',
  'shed',
  'ok',
  'errors',
  'latencySumMs',
  'latencyCount',
]

/** Index of the histogram bucket for a latency. */
export function histogramBucket(latencyMs: number): number {
  let i = 0
  while (i < HISTOGRAM_BOUNDS_MS.length && latencyMs > (HISTOGRAM_BOUNDS_MS[i] as number)) i++
  return i
}

/** Adds b into a, field by field. */
export function addCounts(a: Counts, b: Counts): void {
  for (const f of COUNT_FIELDS) a[f] += b[f]
}

/**
 * Sanitises a delta from the network: every count finite and ≥ 0, the histogram the right
 * length, the route a non-empty string. Returns null for a delta that cannot be repaired.
 */
export function cleanDelta(input: unknown): RouteDelta | null {
  if (typeof input !== 'object' || input === null) return null
  const d = input as Partial<RouteDelta>
  if (typeof d.route !== 'string' || d.route.length === 0 || d.route.length > 512) return null
  const counts = zeroCounts()
  const src = (typeof d.counts === 'object' && d.counts !== null ? d.counts : {}) as Partial<Counts>
  for (const f of COUNT_FIELDS) counts[f] = nonNegative(src[f])
  const histogram = new Array<number>(HISTOGRAM_BUCKETS).fill(0)
  if (Array.isArray(d.histogram)) {
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) histogram[i] = nonNegative(d.histogram[i])
  }
  return { route: d.route, counts, histogram, inflight: nonNegative(d.inflight) }
}

function nonNegative(v: unknown): number {
  return typeof v === 'number' && Number.isFinite(v) && v > 0 ? v : 0
}

/**
 * Whether a store's answer to an exchange has the shape the governor folds: an object with a
 * `routes` array of views of routes that were sent, with finite, non-negative totals. An answer
 * that fails this is refused before it touches any state.
 *
 * @param result What the store answered.
 * @param sent The route ids of the deltas sent.
 * @returns Why it is refused, or null when it is sound.
 *
 * @example Usage
 * ```ts
 * import { exchangeResultProblem, zeroCounts } from './telemetry-store.ts'
 * const view = { route: 'a', totals: zeroCounts(), window: zeroCounts(), histogram: [],
 *   inflight: 0, isolates: 1, leases: 0 }
 * if (exchangeResultProblem({ routes: [view], configVersion: 0 }, ['a']) !== null) throw new Error()
 * if (exchangeResultProblem({ routes: [{ ...view, route: 'b' }] }, ['a']) === null) throw new Error()
 * ```
 */
export function exchangeResultProblem(result: unknown, sent: readonly string[]): string | null {
  if (typeof result !== 'object' || result === null) return 'the answer is not an object'
  const { routes, failed } = result as { routes?: unknown; failed?: unknown }
  if (!Array.isArray(routes)) return 'the answer has no routes array'
  if (routes.length > sent.length) return 'the answer has more views than routes were sent'
  if (failed !== undefined && (!Array.isArray(failed) || failed.some((r) => !sent.includes(r)))) {
    return 'the answer lists failed routes that were not sent'
  }
  for (const view of routes) {
    if (typeof view !== 'object' || view === null) return 'a view is not an object'
    const { route, totals } = view as { route?: unknown; totals?: unknown }
    if (typeof route !== 'string' || !sent.includes(route)) return 'a view names a route not sent'
    if (typeof totals !== 'object' || totals === null) return `the view of "${route}" has no totals`
    for (const field of ['latencyCount', 'latencySumMs', 'errors'] as const) {
      const value = (totals as Record<string, unknown>)[field]
      if (typeof value !== 'number' || !(value >= 0) || value === Infinity) {
        return `the view of "${route}" has totals.${field} ${String(value)}`
      }
    }
  }
  return null
}
