/**
 * The governor's public types: what `createGovernor` takes, what `admit` answers, tickets, leases,
 * snapshots, watchers, and the `Governor` interface itself. Types only; the implementation is
 * src/governor/governor.ts.
 *
 * @module
 */

import type { EngineChoice, EngineKind, Mode, Reason } from '../engine/types.ts'
import type { WasmSource } from '../engine/wasm/loader.ts'
import type {
  ConfigProblem,
  GovernorConfig,
  GovernorConfigInput,
  Profile,
} from '../config/schema.ts'
import type { RouteCounters } from './recorder.ts'
import type { ExchangeResult, RouteDelta, TelemetryStore } from '../contract/telemetry-store.ts'
import type { Syncer, SyncerOptions } from './sync.ts'

/** A clock in milliseconds. Inject a virtual one to replay a run exactly. */
export type Clock = () => number

/** Timers for the optional lease watchdog; absent means leases expire only on governor calls. */
export interface Scheduler {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

export interface GovernorOptions {
  /** The config (validated here); omitted means all defaults. */
  config?: GovernorConfigInput | GovernorConfig | undefined
  /** Overrides `config.engine`. */
  engine?: EngineChoice | undefined
  /** The compiled WASM engine: a `.wasm` import, its bytes, or its instantiated exports. */
  wasm?: WasmSource | undefined
  /** Milliseconds; defaults to `Date.now`. */
  clock?: Clock | undefined
  /** Arms a timer per lease so a silent lease is aborted on time even without governor calls. */
  scheduler?: Scheduler | undefined
  /** Where the governor reports things an operator should know (engine fallback). */
  logger?: { warn(message: string): void } | undefined
  /**
   * Shared state (docs/sync.md): with a store the governor owns its syncer (`Governor.sync`),
   * which exchanges with the store after requests; without one it runs on local state alone.
   */
  store?: TelemetryStore | undefined
  /** This isolate's id in the store. @default a random UUID */
  isolateId?: string | undefined
  /**
   * The isolate's live config, made from the governor before its syncer starts: the syncer then
   * polls for uploaded configs (the edge passes `createLiveConfig`). Needs `store`.
   */
  live?: ((governor: Governor) => SyncerOptions['config']) | undefined
}

/** What a request asks for. */
export interface AdmitOptions {
  /** Priority class; defaults to the route's own. */
  priority?: string | undefined
  /** Workload profile when the route is not configured, or a different one for this traffic. */
  profile?: Profile | undefined
}

/** An admitted request, to be completed exactly once. */
export interface Ticket {
  readonly route: string
  readonly priority: string
  readonly startMs: number
  /** @internal */ readonly slot: number
  /** @internal */ readonly generation: number
  /** @internal The admission epoch (src/governor/tickets.ts); NaN for a lease's ticket. */
  epoch: number
  /** @internal */ done: boolean
}

/** The governor's answer for one request. */
export interface Decision {
  allow: boolean
  mode: Mode
  /** Route resistance, Ω, as of the last tick. */
  resistance: number
  /** Why; `store-unavailable` when `sync.onStoreFailure` is "closed" and the store is failing. */
  reason: Reason | 'store-unavailable'
  /** Seconds until this priority is expected to be admitted again; 0 when admitted. */
  retryAfterS: number
  /** Present when admitted: pass it to `complete`. */
  ticket: Ticket | null
}

/** Outcome of an admitted request. */
export interface Outcome {
  /** Defaults to the time since admission on the governor's clock. */
  latencyMs?: number | undefined
  /**
   * Whether the request succeeded. Without a `status`, `false` means no answer came (a network
   * error or a timeout), which counts as overload. @default true (or from `status`)
   */
  ok?: boolean | undefined
  /**
   * The origin's HTTP status; absent for a network error or timeout. 429, 503 and 504 are
   * overload answers (they shrink the capacity estimate); other 5xx are application errors
   * (they never shed); below 500 is a success unless `ok` is false.
   */
  status?: number | undefined
  /** The origin's Retry-After, seconds: it holds the capacity estimate from growing until then. */
  retryAfterS?: number | undefined
}

/** Telemetry from outside the request path (a health probe, a queue, a database pool). */
export interface Telemetry {
  latencyMs?: number | undefined
  /** 0..1 */
  errorRate?: number | undefined
  /** 0..1: how full the origin says it is. */
  saturation?: number | undefined
}

/** How a lease ended. */
export type LeaseOutcome = 'completed' | 'failed' | 'timeout' | 'aborted'

export interface TaskOptions extends AdmitOptions {
  /** Required for profiles that require a lease (HEAVY, EXTREME): aborted when the lease dies. */
  abortController?: AbortController | undefined
  /** Heartbeat interval, ms; the lease dies after 1.5 of these without one. */
  heartbeatMs?: number | undefined
}

/** A long task's hold on its route's capacity. */
export interface Lease {
  readonly id: number
  readonly route: string
  readonly priority: string
  readonly startMs: number
  readonly heartbeatMs: number
  /** When the lease dies without a heartbeat, ms on the governor's clock. */
  readonly expiresAt: number
  /** The lease's outcome once it has ended, else null. */
  readonly outcome: LeaseOutcome | null
  /** Extends the lease; false when it has already ended. */
  heartbeat(): boolean
  /** Ends the lease and feeds its outcome to the physics; false when it had already ended. */
  release(outcome?: 'completed' | 'failed'): boolean
}

/** A route's state, for stats and dashboards. */
export interface RouteSnapshot {
  route: string
  profile: string
  engine: EngineKind
  mode: Mode
  resistanceOhm: number
  /**
   * Pressure: `latency` the standing queue (share of the short latency above tolerance × the
   * unqueued one), `errors` the share of overload answers (429/503/504, no answer), `saturation`
   * the reported saturation's; `combined` as of the last tick (injection included).
   */
  pressure: { latency: number; errors: number; saturation: number; combined: number }
  momentumPerS: number
  /** The share of capacity withheld while ramping back after an outage (0 otherwise). */
  scar: number
  thresholds: {
    /** Latency above which queueing counts: tolerance × the unqueued latency, ms. */
    latencyMs: number
    /** Error rate threshold of the config (application errors never shed). */
    errorRate: number
    /** The unqueued latency, measured by drains, ms. */
    learnedLatencyMs: number
    /** The short latency of successes, ms. */
    learnedSigmaMs: number
    /** True once a drain has measured the unqueued latency. */
    warm: boolean
  }
  /** The capacity law's state (docs/physics.md). */
  capacity: {
    /** Concurrency the whole origin serves without a standing queue (all isolates). */
    limit: number
    /** This isolate's limit now: limit × share × ramp, less injection and drains. */
    localLimit: number
    /** This isolate's share of the traffic, 1/isolates. */
    share: number
    /** Unqueued latency of successes, ms. */
    unqueuedLatencyMs: number
    /** Short-window latency of successes, ms. */
    shortLatencyMs: number
    /** Recovery ramp after an outage, 0..1 (1 when not recovering). */
    ramp: number
    /** Drains done so far. */
    drains: number
  }
  signals: { latencyMs: number; errorRate: number; saturation: number }
  inflight: number
  concurrencyLimit: number
  admission: Record<string, number>
  modeTransitions: number
  /**
   * Tickets admitted on this route and never completed within their bound (route timeout + 30 s),
   * given back without a sample since this isolate created the route: lost completions.
   */
  expiredTickets: number
  /** Pressure injected from outside (`inject`) and until when, ms; null when none is in force. */
  injected: { pressure: number; untilMs: number } | null
}

/**
 * Listens to a governor's decisions and mode changes (the admin event stream, the decision log).
 * Called synchronously on the request's path with plain values, so a listener that samples can
 * drop an event without allocating: keep it cheap.
 */
export interface GovernorWatcher {
  /** One admission decision on `route` (the key `routes()` lists), at `t` ms. */
  decision?(
    route: string,
    priority: string,
    allow: boolean,
    mode: Mode,
    resistanceOhm: number,
    t: number,
  ): void
  /**
   * The route's mode changed from `from` to `to`, noticed at `t` ms. `transitions` is how many
   * changes the engine made since the last one reported (more than 1 when one tick passed through
   * a mode, e.g. BOOTSTRAP → OPERATIONAL → CIRCUIT_BREAKER).
   */
  mode?(
    route: string,
    from: Mode,
    to: Mode,
    resistanceOhm: number,
    t: number,
    transitions: number,
  ): void
}
/** Why a route's pending samples are worth an exchange (`Governor.exchangeNews`). */
export interface ExchangeNews {
  route: string
  reason: 'mode' | 'errors' | 'latency' | 'probes'
  /** Requests this isolate decided on the route since its last exchange. */
  requests: number
  /**
   * Requests per second on the route, all isolates, in the window last heard, over the seconds the
   * window spans (docs/sync.md, "A sample of the fleet tells"); 0 if none.
   */
  heardPerS: number
  /** The window's requests over its full WINDOW_S, as the spread of the tellers reads them. */
  windowPerS?: number
  /** True when the news is that things got worse (more errors, slower, a more defensive mode). */
  worse: boolean
  /**
   * True when the other isolates' recent samples in the last answer already show it: others told
   * it, and a sample of a large fleet does not tell it again (docs/sync.md, "News").
   */
  told?: boolean
}

/** The governor. Create it with `createGovernor`. */
export interface Governor {
  readonly config: GovernorConfig
  readonly engineKind: EngineKind
  /**
   * The exchange loop with the store given as `store`; undefined without one. Its `maybeSync()`
   * after each request (the middleware and proxy take it as their `sync`).
   */
  readonly sync: Syncer | undefined
  /** Decides one request on `route`. O(1), no I/O. */
  admit(route: string, options?: AdmitOptions): Decision
  /** Reports the outcome of an admitted request; false for a ticket already completed or stale. */
  complete(ticket: Ticket, outcome?: Outcome): boolean
  /**
   * Ends an admitted request without an outcome (the client went away): its capacity comes back
   * and the physics learns nothing from it. False for a ticket already completed or stale.
   */
  cancel(ticket: Ticket): boolean
  /**
   * The share (0..1) of `priority` the route admits now, from the last tick, without building a
   * snapshot: cheap enough for every response's RateLimit header. 1 for a route not held.
   */
  admission(route: string, priority: string): number
  /**
   * Injects pressure (0..1) for `ttlS` seconds: until then the route's pressure is the larger of
   * the measured one and this (docs/physics.md §14). Replaces an earlier injection on the route.
   * @throws {RangeError} When pressure is not within 0..1 or ttlS is not a positive number.
   */
  inject(route: string, pressure: number, ttlS: number, options?: AdmitOptions): void
  /** Feeds telemetry measured elsewhere. */
  observe(route: string, telemetry: Telemetry, options?: AdmitOptions): void
  /** observe + admit in one call. */
  route(route: string, telemetry: Telemetry, options?: AdmitOptions): Decision
  /**
   * Admits a long task and holds a lease on it.
   * @throws {TaskRefusedError} When the route sheds it.
   * @throws {TypeError} When the profile requires an AbortController and none is given.
   */
  startTask(route: string, options?: TaskOptions): Promise<Lease>
  /** Runs clock-driven housekeeping (lease expiry) now. */
  tick(): void
  /** The route's state; undefined for a route the governor does not hold. */
  snapshot(route: string, options?: AdmitOptions): RouteSnapshot | undefined
  /** Ids of the routes held, most recently used first. */
  routes(): string[]
  /**
   * Cumulative admitted and shed counts by priority and the latency histogram of a route held
   * (a key `routes()` lists); undefined for a route not held.
   */
  counters(route: string): RouteCounters | undefined
  /**
   * Calls `watcher` on every decision and mode change until the returned function is called.
   * Without watchers the request path pays one boolean test.
   */
  watch(watcher: GovernorWatcher): () => void
  /**
   * Starts counting per-route deltas for the shared store (createSyncer calls it). Until then
   * the governor keeps no delta state.
   */
  enableExchange(): void
  /** The deltas since the last call, one per route with traffic; counts restart from zero. */
  takeDeltas(): RouteDelta[]
  /** Puts deltas of a failed exchange back, so nothing is lost (sent again next time). */
  returnDeltas(deltas: RouteDelta[]): void
  /** Folds the other isolates' new samples from a store's answer into the engine. */
  applyExchange(result: ExchangeResult): void
  /** Completed requests counted since the last `takeDeltas`, all routes together. */
  pendingSamples(): number
  /** Routes with requests (decided or completed) since the last `takeDeltas`. */
  pendingRoutes(): number
  /**
   * The first route whose pending samples are news to the other isolates (docs/sync.md, "When an
   * isolate talks"): at least `minSamples` of them, and their error rate departs from the window
   * last heard beyond chance, or (with at least `latencySamples`, default `minSamples`) the
   * route's mode changed since the last exchange or their mean latency is off by a factor of 2.
   * Null when no route has news.
   */
  exchangeNews(minSamples: number, latencySamples?: number): ExchangeNews | null
  /**
   * While true and `sync.onStoreFailure` is "closed", every class but the most important is shed
   * with reason `store-unavailable`. The syncer sets it.
   */
  setStoreDegraded(degraded: boolean): void
  /**
   * Makes leases of profiles that require one global: they are acquired in the store, against
   * the route's concurrency limit, and count in every isolate. The syncer calls it.
   */
  useLeaseStore(store: TelemetryStore, isolateId: string, timeoutMs: number): void
  /** Active leases. */
  leases(): Lease[]
  /**
   * Why `config` cannot replace the running config in place: the engine and `maxRoutes` size
   * the engine's memory at creation, and the parameter sets reserved then cap the routes.
   * Empty when it can.
   */
  reconfigureProblems(config: GovernorConfig): ConfigProblem[]
  /**
   * Replaces the config in place (hot reload): routes that stay configured keep their physics
   * state and take their new parameters, priority classes and profile; routes removed from the
   * config, and routes that become configured, are dropped (their next request starts them
   * afresh); tickets of a dropped route are stale. docs/operations.md.
   * @throws {ConfigError} Listing `reconfigureProblems` (the running config is then untouched).
   */
  reconfigure(config: GovernorConfigInput | GovernorConfig): void
}
