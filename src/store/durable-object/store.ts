/**
 * The Durable Object store client: a TelemetryStore that keeps each route's state in its own
 * Durable Object (`idFromName(route)`) and reaches it over RPC. It imports nothing from
 * `cloudflare:*`, so it type-checks and runs anywhere a namespace-shaped object is passed in.
 *
 * @module
 */

import {
  cleanDelta,
  type ExchangeResult,
  type LeaseGrant,
  type RouteDelta,
  type RouteView,
  type TelemetryStore,
} from '../../contract/telemetry-store.ts'

/**
 * The RPC methods of a route's Durable Object (`RouteStateDO`), as a stub exposes them. The
 * object serves one route, so lease calls carry no route.
 */
export interface RouteStateRpc {
  /** Adds deltas of this route, in order; answers one view per delta. */
  exchange(isolateId: string, deltas: RouteDelta[], nowMs: number): Promise<RouteView[]>
  /** `exchange`, with the config store's current version (null when it cannot say). */
  exchangeWithConfig(
    isolateId: string,
    deltas: RouteDelta[],
    nowMs: number,
  ): Promise<{ views: RouteView[]; configVersion: number | null }>
  acquireLease(
    leaseId: string,
    ttlMs: number,
    maxActive: number,
    nowMs: number,
  ): Promise<LeaseGrant>
  heartbeatLease(leaseId: string, ttlMs: number, nowMs: number): Promise<boolean>
  releaseLease(leaseId: string, nowMs: number): Promise<boolean>
  snapshot(route: string, nowMs: number): Promise<RouteView>
}

/**
 * The two calls the store makes on a Durable Object namespace binding. A Workers binding of
 * `RouteStateDO` (`env.ROUTE_STATE`) fits; so does a fake in tests.
 */
export interface RouteStateNamespace<Id = unknown> {
  idFromName(name: string): Id
  get(id: Id): RouteStateRpc
}

/**
 * A TelemetryStore on Durable Objects: one object per route, state in its SQLite storage.
 *
 * @example Usage in a Worker
 * ```ts ignore
 * import { DurableObjectStore } from './index.ts'
 *
 * const store = new DurableObjectStore(env.ROUTE_STATE)
 * const { routes } = await store.exchange(isolateId, deltas, Date.now())
 * ```
 */
export class DurableObjectStore<Id = unknown> implements TelemetryStore {
  readonly kind = 'durable-object' as const
  readonly carriesConfigVersion: boolean
  private readonly namespace: RouteStateNamespace<Id>

  /**
   * @param namespace The Durable Object namespace binding of `RouteStateDO`.
   * @param options `configVersion: true` when the Worker binds `CONFIG_STORE` (`ConfigDO`): the
   * first route's object then answers the config version with each exchange (docs/sync.md).
   */
  constructor(namespace: RouteStateNamespace<Id>, options: { configVersion?: boolean } = {}) {
    this.namespace = namespace
    this.carriesConfigVersion = options.configVersion === true
  }

  /**
   * Sends each route's deltas to its object, all routes in parallel, one call per route.
   * @returns One view per valid delta of the routes whose object answered, in request order
   * (deltas `cleanDelta` rejects are left out), and the routes whose object failed in `failed`:
   * only those are sent again, so a healthy route's deltas are never counted twice.
   * @throws When every route's object fails (the caller keeps deciding on local state). A Durable
   * Object call cannot be cancelled: `signal` is not used.
   */
  async exchange(isolateId: string, deltas: RouteDelta[], nowMs: number): Promise<ExchangeResult> {
    const byRoute = new Map<string, RouteDelta[]>()
    const order: RouteDelta[] = []
    for (const raw of deltas) {
      const delta = cleanDelta(raw)
      if (delta === null) continue
      order.push(delta)
      const list = byRoute.get(delta.route)
      if (list === undefined) byRoute.set(delta.route, [delta])
      else list.push(delta)
    }
    // One call per route carries all of that route's deltas, so a route sent twice in one
    // exchange gets its views in order without relying on the delivery order of two calls.
    const routes = [...byRoute.keys()]
    // The first route's object also answers the config version (it reads it at most once a
    // second), so the exchange needs no call to the config object of its own. Each route's call
    // settles on its own: one failing object does not make the others' deltas go again.
    let configVersion = 0
    const answers = await Promise.allSettled(
      routes.map(async (route, i) => {
        const stub = this.stub(route)
        const list = byRoute.get(route)!
        if (i > 0 || !this.carriesConfigVersion) return stub.exchange(isolateId, list, nowMs)
        const answer = await stub.exchangeWithConfig(isolateId, list, nowMs)
        if (answer.configVersion !== null) configVersion = answer.configVersion
        return answer.views
      }),
    )
    const queues = new Map<string, RouteView[]>()
    const failed: string[] = []
    let firstError: unknown
    routes.forEach((route, i) => {
      const answer = answers[i]!
      const sent = byRoute.get(route)!.length
      // An answer of the wrong length cannot be paired with its deltas: that route failed.
      if (
        answer.status === 'fulfilled' && Array.isArray(answer.value) && answer.value.length === sent
      ) {
        queues.set(route, [...answer.value])
      } else {
        failed.push(route)
        firstError ??= answer.status === 'rejected'
          ? answer.reason
          : new Error(`Route "${route}" answered ${sent} deltas with a malformed list`)
      }
    })
    if (routes.length > 0 && failed.length === routes.length) throw firstError
    const views: RouteView[] = []
    for (const delta of order) {
      const view = queues.get(delta.route)?.shift()
      if (view !== undefined) views.push(view)
    }
    return failed.length > 0
      ? { routes: views, configVersion, failed }
      : { routes: views, configVersion }
  }

  acquireLease(
    route: string,
    leaseId: string,
    ttlMs: number,
    maxActive: number,
    nowMs: number,
  ): Promise<LeaseGrant> {
    return this.stub(route).acquireLease(leaseId, ttlMs, maxActive, nowMs)
  }

  heartbeatLease(route: string, leaseId: string, ttlMs: number, nowMs: number): Promise<boolean> {
    return this.stub(route).heartbeatLease(leaseId, ttlMs, nowMs)
  }

  releaseLease(route: string, leaseId: string, nowMs: number): Promise<boolean> {
    return this.stub(route).releaseLease(leaseId, nowMs)
  }

  snapshot(route: string, nowMs: number): Promise<RouteView> {
    return this.stub(route).snapshot(route, nowMs)
  }

  // A fresh stub per call: a stub that saw an exception may stay broken, and creating one is
  // cheap (no network until the first call).
  private stub(route: string): RouteStateRpc {
    return this.namespace.get(this.namespace.idFromName(route))
  }
}
