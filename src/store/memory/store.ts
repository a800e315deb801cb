/**
 * The memory store: shared state for governors in one process (one isolate, or tests). It is also
 * the reference the other backends follow: same buckets, same gauges, same leases.
 *
 * @module
 */

import {
  addCounts,
  cleanDelta,
  type Counts,
  emptyView,
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

interface Bucket {
  counts: Counts
  histogram: number[]
}

interface RouteState {
  totals: Counts
  buckets: Map<number, Bucket>
  gauges: Map<string, { inflight: number; atMs: number }>
  leases: Map<string, number>
}

/** Options of the memory store. */
export interface MemoryStoreOptions {
  /** Most routes kept; the least recently exchanged is dropped beyond it. @default 10000 */
  maxRoutes?: number
  /**
   * The config store's current version, answered with every exchange (so isolates poll the config
   * store only when it changed). @default none: answers 0 and `carriesConfigVersion` is false
   */
  configVersion?: (() => number) | undefined
}

/** A TelemetryStore in this process's memory. */
export class MemoryStore implements TelemetryStore {
  readonly kind = 'memory' as const
  private readonly routes = new Map<string, RouteState>()
  readonly carriesConfigVersion: boolean
  private readonly maxRoutes: number
  private readonly configVersion: () => number

  constructor(options: MemoryStoreOptions = {}) {
    this.maxRoutes = options.maxRoutes ?? 10000
    this.configVersion = options.configVersion ?? (() => 0)
    this.carriesConfigVersion = options.configVersion !== undefined
  }

  exchange(isolateId: string, deltas: RouteDelta[], nowMs: number): Promise<ExchangeResult> {
    const views: RouteView[] = []
    for (const raw of deltas) {
      const delta = cleanDelta(raw)
      if (delta === null) continue
      const state = this.state(delta.route)
      addCounts(state.totals, delta.counts)
      const second = Math.floor(nowMs / 1000)
      let bucket = state.buckets.get(second)
      if (bucket === undefined) {
        bucket = { counts: zeroCounts(), histogram: new Array<number>(HISTOGRAM_BUCKETS).fill(0) }
        state.buckets.set(second, bucket)
      }
      addCounts(bucket.counts, delta.counts)
      for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
        bucket.histogram[i] = (bucket.histogram[i] as number) + (delta.histogram[i] as number)
      }
      state.gauges.set(isolateId, { inflight: delta.inflight, atMs: nowMs })
      views.push(this.view(delta.route, state, nowMs))
    }
    return Promise.resolve({ routes: views, configVersion: this.configVersion() })
  }

  acquireLease(
    route: string,
    leaseId: string,
    ttlMs: number,
    maxActive: number,
    nowMs: number,
  ): Promise<LeaseGrant> {
    const state = this.state(route)
    pruneLeases(state, nowMs)
    if (!state.leases.has(leaseId) && state.leases.size >= maxActive) {
      return Promise.resolve({ granted: false, active: state.leases.size, expiresAt: 0 })
    }
    const expiresAt = nowMs + ttlMs
    state.leases.set(leaseId, expiresAt)
    return Promise.resolve({ granted: true, active: state.leases.size, expiresAt })
  }

  heartbeatLease(route: string, leaseId: string, ttlMs: number, nowMs: number): Promise<boolean> {
    const state = this.routes.get(route)
    if (state === undefined) return Promise.resolve(false)
    pruneLeases(state, nowMs)
    if (!state.leases.has(leaseId)) return Promise.resolve(false)
    state.leases.set(leaseId, nowMs + ttlMs)
    return Promise.resolve(true)
  }

  releaseLease(route: string, leaseId: string, nowMs: number): Promise<boolean> {
    const state = this.routes.get(route)
    if (state === undefined) return Promise.resolve(false)
    pruneLeases(state, nowMs)
    return Promise.resolve(state.leases.delete(leaseId))
  }

  snapshot(route: string, nowMs: number): Promise<RouteView> {
    const state = this.routes.get(route)
    if (state === undefined) return Promise.resolve(emptyView(route))
    return Promise.resolve(this.view(route, state, nowMs))
  }

  private state(route: string): RouteState {
    let state = this.routes.get(route)
    if (state !== undefined) {
      // Re-insert: Map order is then least recently used first.
      this.routes.delete(route)
      this.routes.set(route, state)
      return state
    }
    if (this.routes.size >= this.maxRoutes) {
      const oldest = this.routes.keys().next().value as string
      this.routes.delete(oldest)
    }
    state = { totals: zeroCounts(), buckets: new Map(), gauges: new Map(), leases: new Map() }
    this.routes.set(route, state)
    return state
  }

  private view(route: string, state: RouteState, nowMs: number): RouteView {
    const second = Math.floor(nowMs / 1000)
    const window = zeroCounts()
    const histogram = new Array<number>(HISTOGRAM_BUCKETS).fill(0)
    for (const [s, bucket] of state.buckets) {
      if (s <= second - WINDOW_S) {
        state.buckets.delete(s)
        continue
      }
      addCounts(window, bucket.counts)
      for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
        histogram[i] = (histogram[i] as number) + (bucket.histogram[i] as number)
      }
    }
    let inflight = 0
    let isolates = 0
    for (const [id, gauge] of state.gauges) {
      if (nowMs - gauge.atMs >= INFLIGHT_TTL_MS) {
        state.gauges.delete(id)
        continue
      }
      inflight += gauge.inflight
      isolates++
    }
    pruneLeases(state, nowMs)
    return {
      route,
      totals: { ...state.totals },
      window,
      histogram,
      inflight,
      isolates,
      leases: state.leases.size,
    }
  }
}

function pruneLeases(state: RouteState, nowMs: number): void {
  for (const [id, expiresAt] of state.leases) if (expiresAt <= nowMs) state.leases.delete(id)
}
