/**
 * The runtime-neutral governor: route ids and priority names in, decisions out. It owns the
 * route → engine-slot map (least recently used evicted beyond `maxRoutes`), tickets for admitted
 * requests and leases for long tasks. All time comes from the injected clock.
 *
 * @module
 */

import { createEngine } from '../engine/engine.ts'
import { paramBlock } from '../engine/params.ts'
import * as L from '../engine/reference/layout.ts'
import type { EngineChoice, EngineCore, EngineKind, Mode, Reason } from '../engine/types.ts'
import { MODES, REASONS } from '../engine/types.ts'
import type { WasmSource } from '../engine/wasm/loader.ts'
import {
  ConfigError,
  type ConfigProblem,
  type GovernorConfig,
  type GovernorConfigInput,
  parseConfig,
  type Profile,
  type RouteOptions,
} from '../config/schema.ts'
import { physicsFor, type ResolvedProfile, resolveProfile } from './physics-params.ts'
import { withTimeout } from './timeout.ts'
import { Recorder, type RouteCounters } from './recorder.ts'
import { ticketBoundMs, TicketLedger } from './tickets.ts'
import {
  type Counts,
  type ExchangeResult,
  HISTOGRAM_BUCKETS,
  histogramBucket,
  type RouteDelta,
  type TelemetryStore,
  WINDOW_S,
  zeroCounts,
} from '../store/types.ts'

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

/** The engine's outcome kind for an outcome (docs/physics.md §3). */
export function outcomeKind(outcome: Outcome | undefined): number {
  const status = outcome?.status
  const ok = outcome?.ok
  if (typeof status !== 'number' || !Number.isFinite(status)) {
    return ok === false ? L.OUTCOME_LOST : L.OUTCOME_OK
  }
  if (status === 429 || status === 503 || status === 504) return L.OUTCOME_OVERLOAD
  const retry = outcome?.retryAfterS
  if (status >= 400 && typeof retry === 'number' && retry > 0) return L.OUTCOME_OVERLOAD
  if (status >= 500) return L.OUTCOME_ERROR
  return ok === false ? L.OUTCOME_ERROR : L.OUTCOME_OK
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

/** startTask refused: the route is shedding this priority. */
export class TaskRefusedError extends Error {
  readonly decision: Decision
  constructor(route: string, decision: Decision) {
    super(
      `Task refused on route "${route}": ${decision.reason} (mode ${decision.mode}), retry after ${decision.retryAfterS} s`,
    )
    this.name = 'TaskRefusedError'
    this.decision = decision
  }
}

/** The reason a lease's AbortController is aborted with when heartbeats stop. */
export class LeaseExpiredError extends Error {
  constructor(route: string, heartbeatMs: number) {
    super(`Lease on route "${route}" expired: no heartbeat within ${1.5 * heartbeatMs} ms`)
    this.name = 'LeaseExpiredError'
  }
}

/** Why a route's pending samples are worth an exchange (`Governor.exchangeNews`). */
export interface ExchangeNews {
  route: string
  reason: 'mode' | 'errors' | 'latency' | 'probes'
  /** Requests this isolate decided on the route since its last exchange. */
  requests: number
  /** Requests per second on the route, all isolates, in the window last heard; 0 if none. */
  heardPerS: number
  /** True when the news is that things got worse (more errors, slower, a more defensive mode). */
  worse: boolean
}

/** The governor. Create it with `createGovernor`. */
export interface Governor {
  readonly config: GovernorConfig
  readonly engineKind: EngineKind
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

interface RouteInfo {
  key: string
  route: string
  profile: ResolvedProfile
  defaultClass: number
}

const DECISION_MASK_REASON = 0x7
const DECISION_MASK_MODE = 0x3
const NO_SLOT = -1

class LeaseImpl implements Lease {
  readonly id: number
  readonly route: string
  readonly priority: string
  readonly startMs: number
  readonly heartbeatMs: number
  expiresAt: number
  outcome: LeaseOutcome | null = null
  readonly ticket: Ticket
  readonly controller: AbortController | undefined
  timer: unknown = undefined
  /** The route's key in the governor and the store. */
  key = ''
  requiresLease = false
  /** The lease's id in the store, unique across isolates. */
  globalId = ''
  /** True when the store holds this lease (it then counts in every isolate). */
  global = false
  private readonly gov: GovernorImpl

  constructor(
    gov: GovernorImpl,
    id: number,
    ticket: Ticket,
    heartbeatMs: number,
    controller: AbortController | undefined,
  ) {
    this.gov = gov
    this.id = id
    this.route = ticket.route
    this.priority = ticket.priority
    this.startMs = ticket.startMs
    this.heartbeatMs = heartbeatMs
    this.ticket = ticket
    this.controller = controller
    this.expiresAt = ticket.startMs + 1.5 * heartbeatMs
  }

  heartbeat(): boolean {
    return this.gov.heartbeatLease(this)
  }

  release(outcome: 'completed' | 'failed' = 'completed'): boolean {
    return this.gov.endLease(this, outcome)
  }
}

/** Least parameter sets reserved, so a live config may add routes (48 f64 each: 192 KiB). */
const MIN_PARAM_SETS = 512

class GovernorImpl implements Governor {
  config: GovernorConfig
  readonly engineKind: EngineKind
  private readonly engine: EngineCore
  private readonly clock: Clock
  private readonly scheduler: Scheduler | undefined
  private readonly maxSlots: number
  private readonly classIndex = new Map<string, number>()
  private readonly configured = new Map<string, RouteOptions & { timeoutMs?: number | undefined }>()
  private readonly paramSets = new Map<string, number>()
  // Per parameter set: R_base and the sum of the weights, to turn the cached R into the excess.
  private readonly excessScale: { base: number; sum: number }[] = []
  private readonly slots = new Map<string, number>()
  private readonly info: (RouteInfo | undefined)[]
  private readonly generation: Uint32Array
  private readonly pinned: Uint32Array
  // LRU as a doubly linked list over slot numbers; head is most recent.
  private readonly prev: Int32Array
  private readonly next: Int32Array
  private head = NO_SLOT
  private tail = NO_SLOT
  private used = 0
  private ex: ExchangeState | undefined = undefined
  private leaseStore: { store: TelemetryStore; isolateId: string; timeoutMs: number } | undefined =
    undefined
  private storeDegraded = false
  private readonly activeLeases = new Set<LeaseImpl>()
  private nextLeaseExpiry = Infinity
  private leaseIds = 0
  private recorder: Recorder
  private watchers: GovernorWatcher[] = []
  private watching = false
  // Per slot, the mode and transition count last reported to watchers.
  private readonly seenMode: Uint8Array
  private readonly seenTransitions: Float64Array
  // Slots freed by reconfigure(), taken before growing `used` or evicting.
  private readonly freeSlots: number[] = []
  // Open tickets per slot and epoch: a ticket never completed gives its slot back (H1).
  private readonly tickets: TicketLedger

  constructor(options: GovernorOptions) {
    this.config = parseConfig(options.config ?? {})
    this.clock = options.clock ?? Date.now
    this.scheduler = options.scheduler
    this.config.priorities.forEach((name, i) => this.classIndex.set(name, i))
    for (const route of this.config.routes) this.configured.set(route.id, route)
    this.maxSlots = this.config.maxRoutes
    // One parameter set per configured route and profile it is used with, plus the defaults.
    const maxParamSets = Math.max((this.config.routes.length + 1) * 8, MIN_PARAM_SETS)
    const logger = options.logger ?? console
    this.engine = createEngine({
      engine: options.engine ?? this.config.engine,
      wasm: options.wasm,
      maxSlots: this.maxSlots,
      maxParamSets,
      warn: (message) => logger.warn(message),
    })
    this.engineKind = this.engine.kind
    this.info = new Array(this.maxSlots)
    this.generation = new Uint32Array(this.maxSlots)
    this.pinned = new Uint32Array(this.maxSlots)
    this.prev = new Int32Array(this.maxSlots).fill(NO_SLOT)
    this.next = new Int32Array(this.maxSlots).fill(NO_SLOT)
    this.recorder = new Recorder(this.maxSlots, this.config.priorities.length)
    this.seenMode = new Uint8Array(this.maxSlots)
    this.seenTransitions = new Float64Array(this.maxSlots)
    this.tickets = new TicketLedger(this.maxSlots)
  }

  admit(route: string, options?: AdmitOptions): Decision {
    const now = this.now()
    if (now >= this.nextLeaseExpiry) this.expireLeases(now)
    const slot = this.slotFor(route, options?.profile, now)
    if (now >= (this.tickets.nextAt[slot] as number)) this.expireTickets(slot, now)
    const info = this.info[slot] as RouteInfo
    const cls = this.classOf(info, options?.priority)
    if (this.storeDegraded && cls > 0 && this.config.sync.onStoreFailure === 'closed') {
      if (this.ex !== undefined) this.countDecision(slot, false)
      this.recorder.decision(slot, cls, false)
      const mode = MODES[this.engine.readState(slot, L.S_MODE)] as Mode
      const resistance = this.engine.readState(slot, L.S_R)
      if (this.watching) this.notifyDecision(slot, cls, false, now)
      return {
        allow: false,
        mode,
        resistance,
        reason: 'store-unavailable',
        retryAfterS: 1,
        ticket: null,
      }
    }
    const code = this.engine.admit(slot, cls, now)
    const allow = (code & 1) === 1
    if (this.ex !== undefined) this.countDecision(slot, allow)
    this.recorder.decision(slot, cls, allow)
    if (this.watching) this.notifyDecision(slot, cls, allow, now)
    return {
      allow,
      mode: MODES[(code >> L.CODE_MODE_SHIFT) & DECISION_MASK_MODE] as Mode,
      resistance: this.engine.readState(slot, L.S_R),
      reason: REASONS[(code >> L.CODE_REASON_SHIFT) & DECISION_MASK_REASON] as Reason,
      retryAfterS: code >>> L.CODE_RETRY_SHIFT,
      ticket: allow
        ? {
          route,
          priority: this.config.priorities[cls] as string,
          startMs: now,
          slot,
          generation: this.generation[slot] as number,
          epoch: this.tickets.take(slot),
          done: false,
        }
        : null,
    }
  }

  complete(ticket: Ticket, outcome?: Outcome): boolean {
    const now = this.now()
    if (now >= this.nextLeaseExpiry) this.expireLeases(now)
    if (ticket.done || this.generation[ticket.slot] !== ticket.generation) return false
    ticket.done = true
    if (now >= (this.tickets.nextAt[ticket.slot] as number)) this.expireTickets(ticket.slot, now)
    // An expired ticket's slot was given back already, and its sample would be stale.
    if (!this.tickets.close(ticket.slot, ticket.epoch)) return false
    const latencyMs = outcome?.latencyMs ?? now - ticket.startMs
    const kind = outcomeKind(outcome)
    const retry = outcome?.retryAfterS
    this.engine.complete(
      ticket.slot,
      Number(latencyMs),
      kind,
      typeof retry === 'number' ? retry : NaN,
      now,
      1,
    )
    this.countOutcome(ticket.slot, Number(latencyMs), kind === L.OUTCOME_OK)
    if (this.watching) this.checkMode(ticket.slot, now)
    return true
  }

  cancel(ticket: Ticket): boolean {
    if (ticket.done || this.generation[ticket.slot] !== ticket.generation) return false
    ticket.done = true
    if (!this.tickets.close(ticket.slot, ticket.epoch)) return false
    this.engine.complete(ticket.slot, NaN, NaN, NaN, this.now(), 0)
    return true
  }

  admission(route: string, priority: string): number {
    const slot = this.slots.get(route)
    if (slot === undefined) return 1
    const cls = this.classIndex.get(priority)
    if (cls === undefined) return 1
    return this.engine.admission(slot, cls)
  }

  observe(route: string, telemetry: Telemetry, options?: AdmitOptions): void {
    const now = this.now()
    const slot = this.slotFor(route, options?.profile, now)
    this.engine.observe(
      slot,
      numberOrNaN(telemetry.latencyMs),
      numberOrNaN(telemetry.errorRate),
      numberOrNaN(telemetry.saturation),
      now,
    )
    if (this.watching) this.checkMode(slot, now)
  }

  inject(route: string, pressure: number, ttlS: number, options?: AdmitOptions): void {
    if (!(pressure >= 0 && pressure <= 1)) {
      throw new RangeError(`Injected pressure must be a number from 0 to 1, got "${pressure}"`)
    }
    if (!(ttlS > 0) || !Number.isFinite(ttlS)) {
      throw new RangeError(`Injection ttlS must be a positive number of seconds, got "${ttlS}"`)
    }
    const now = this.now()
    const slot = this.slotFor(route, options?.profile, now)
    this.engine.inject(slot, pressure, now + ttlS * 1000, now)
    if (this.watching) this.checkMode(slot, now)
  }

  route(route: string, telemetry: Telemetry, options?: AdmitOptions): Decision {
    this.observe(route, telemetry, options)
    return this.admit(route, options)
  }

  async startTask(route: string, options: TaskOptions = {}): Promise<Lease> {
    const lease = this.startTaskNow(route, options)
    const shared = this.leaseStore
    if (shared === undefined || !lease.requiresLease) return lease
    // Global leases: the store counts leases of every isolate against the route's limit. A store
    // that fails or is slow must not fail the task: the lease then holds locally only.
    const slot = lease.ticket.slot
    const maxActive = Math.max(1, Math.floor(this.engine.readState(slot, L.S_LIMIT)))
    const ttlMs = 1.5 * lease.heartbeatMs
    const grant = await withTimeout(
      shared.store.acquireLease(lease.key, lease.globalId, ttlMs, maxActive, this.now()),
      shared.timeoutMs,
      'Lease acquire',
    ).catch(() => null)
    if (grant === null) return lease
    lease.global = grant.granted
    if (grant.granted) return lease
    this.endLease(lease, 'aborted')
    const retryAfterS = Math.max(1, Math.ceil(ttlMs / 1000))
    throw new TaskRefusedError(route, {
      allow: false,
      mode: MODES[this.engine.readState(slot, L.S_MODE)] as Mode,
      resistance: this.engine.readState(slot, L.S_R),
      reason: 'concurrency',
      retryAfterS,
      ticket: null,
    })
  }

  useLeaseStore(store: TelemetryStore, isolateId: string, timeoutMs: number): void {
    this.leaseStore = { store, isolateId, timeoutMs }
  }

  private startTaskNow(route: string, options: TaskOptions): LeaseImpl {
    const now = this.now()
    const slot = this.slotFor(route, options.profile, now)
    const info = this.info[slot] as RouteInfo
    const controller = options.abortController
    if (info.profile.requiresLease && !(controller instanceof AbortController)) {
      throw new TypeError(
        `Profile "${info.profile.name}" on route "${route}" requires an AbortController: ` +
          'pass startTask(route, { abortController })',
      )
    }
    const heartbeatMs = options.heartbeatMs ?? info.profile.heartbeatMs
    if (!(heartbeatMs > 0) || !Number.isFinite(heartbeatMs)) {
      throw new RangeError(
        `Heartbeat interval must be a positive number of ms, got "${heartbeatMs}"`,
      )
    }
    const decision = this.admit(route, options)
    if (!decision.allow || decision.ticket === null) throw new TaskRefusedError(route, decision)
    // A lease has its own expiry (heartbeats): its ticket leaves the ticket ledger.
    this.tickets.close(slot, decision.ticket.epoch)
    decision.ticket.epoch = NaN
    const lease = new LeaseImpl(this, ++this.leaseIds, decision.ticket, heartbeatMs, controller)
    lease.key = info.key
    lease.requiresLease = info.profile.requiresLease
    lease.globalId = `${this.leaseStore?.isolateId ?? 'local'}:${lease.id}`
    this.activeLeases.add(lease)
    this.pinned[slot] = (this.pinned[slot] as number) + 1
    if (lease.expiresAt < this.nextLeaseExpiry) this.nextLeaseExpiry = lease.expiresAt
    this.arm(lease)
    controller?.signal.addEventListener('abort', () => this.endLease(lease, 'aborted'), {
      once: true,
    })
    return lease
  }

  heartbeatLease(lease: LeaseImpl): boolean {
    const now = this.now()
    if (now >= this.nextLeaseExpiry) this.expireLeases(now)
    if (lease.outcome !== null) return false
    lease.expiresAt = now + 1.5 * lease.heartbeatMs
    this.recomputeLeaseExpiry()
    this.arm(lease)
    if (lease.global && this.leaseStore !== undefined) {
      this.leaseStore.store.heartbeatLease(lease.key, lease.globalId, 1.5 * lease.heartbeatMs, now)
        .catch(() => {})
    }
    return true
  }

  endLease(lease: LeaseImpl, outcome: LeaseOutcome): boolean {
    if (lease.outcome !== null) return false
    lease.outcome = outcome
    this.activeLeases.delete(lease)
    this.disarm(lease)
    if (lease.global && this.leaseStore !== undefined) {
      // Background: a release that does not arrive is undone by the lease's TTL in the store.
      this.leaseStore.store.releaseLease(lease.key, lease.globalId, this.now()).catch(() => {})
    }
    const ticket = lease.ticket
    if (!ticket.done && this.generation[ticket.slot] === ticket.generation) {
      ticket.done = true
      this.pinned[ticket.slot] = (this.pinned[ticket.slot] as number) - 1
      const now = this.now()
      if (outcome === 'aborted') {
        // A cancellation says nothing about the origin: give the capacity back, no sample.
        this.engine.complete(ticket.slot, NaN, NaN, NaN, now, 0)
      } else {
        // A failed task is an application error; one whose heartbeats stopped sent no answer.
        const kind = outcome === 'completed'
          ? L.OUTCOME_OK
          : outcome === 'failed'
          ? L.OUTCOME_ERROR
          : L.OUTCOME_LOST
        this.engine.complete(ticket.slot, now - ticket.startMs, kind, NaN, now, 1)
        this.countOutcome(ticket.slot, now - ticket.startMs, outcome === 'completed')
      }
    }
    if (outcome === 'timeout') {
      lease.controller?.abort(new LeaseExpiredError(lease.route, lease.heartbeatMs))
    }
    this.recomputeLeaseExpiry()
    return true
  }

  tick(): void {
    const now = this.now()
    if (now >= this.nextLeaseExpiry) this.expireLeases(now)
  }

  snapshot(route: string, options?: AdmitOptions): RouteSnapshot | undefined {
    const key = this.keyOf(route, options?.profile)
    const slot = this.slots.get(key)
    if (slot === undefined) return undefined
    const info = this.info[slot] as RouteInfo
    const e = this.engine
    const now = this.now()
    if (now >= (this.tickets.nextAt[slot] as number)) this.expireTickets(slot, now)
    e.advance(slot, now)
    if (this.watching) this.checkMode(slot, now)
    e.inspect(slot)
    const admission: Record<string, number> = {}
    this.config.priorities.forEach((name, i) => {
      admission[name] = e.readScratch(L.X_ADMIT0 + i)
    })
    const params = this.paramsOf(slot)
    return {
      route,
      profile: info.profile.name,
      engine: e.kind,
      mode: MODES[e.readState(slot, L.S_MODE)] as Mode,
      resistanceOhm: e.readScratch(L.X_R),
      pressure: {
        latency: e.readScratch(L.X_PL),
        errors: e.readScratch(L.X_PE),
        saturation: e.readScratch(L.X_PS),
        combined: e.readState(slot, L.S_P),
      },
      momentumPerS: e.readState(slot, L.S_M),
      scar: e.readState(slot, L.S_SCAR),
      thresholds: {
        latencyMs: e.readScratch(L.X_T),
        errorRate: params.errorRateThreshold,
        learnedLatencyMs: e.readState(slot, L.S_BASE),
        learnedSigmaMs: e.readState(slot, L.S_SHORT),
        warm: e.readState(slot, L.S_DRAINS) >= 1,
      },
      capacity: {
        limit: e.readState(slot, L.S_LIMIT),
        localLimit: e.readScratch(L.X_E),
        share: e.readState(slot, L.S_SHARE),
        unqueuedLatencyMs: e.readState(slot, L.S_BASE),
        shortLatencyMs: e.readState(slot, L.S_SHORT),
        ramp: e.readState(slot, L.S_RAMP),
        drains: e.readState(slot, L.S_DRAINS),
      },
      signals: {
        latencyMs: e.readState(slot, L.S_LAT),
        errorRate: e.readState(slot, L.S_ERR),
        saturation: e.readState(slot, L.S_SAT),
      },
      inflight: e.readState(slot, L.S_INFLIGHT),
      concurrencyLimit: e.readState(slot, L.S_LIMIT),
      admission,
      modeTransitions: e.readState(slot, L.S_TRANSITIONS),
      expiredTickets: this.tickets.expired(slot),
      injected: e.readState(slot, L.S_INJ_P) > 0 && e.readState(slot, L.S_INJ_UNTIL) > now
        ? { pressure: e.readState(slot, L.S_INJ_P), untilMs: e.readState(slot, L.S_INJ_UNTIL) }
        : null,
    }
  }

  routes(): string[] {
    const out: string[] = []
    for (let s = this.head; s !== NO_SLOT; s = this.next[s] as number) {
      out.push((this.info[s] as RouteInfo).key)
    }
    return out
  }

  leases(): Lease[] {
    return [...this.activeLeases]
  }

  counters(route: string): RouteCounters | undefined {
    const slot = this.slots.get(route)
    if (slot === undefined) return undefined
    return this.recorder.read(slot, this.config.priorities)
  }

  watch(watcher: GovernorWatcher): () => void {
    if (!this.watching) {
      // Start from what the engine says now, so only changes from here on are reported.
      for (let s = this.head; s !== NO_SLOT; s = this.next[s] as number) this.syncSeen(s)
    }
    this.watchers = [...this.watchers, watcher]
    this.watching = true
    return () => {
      this.watchers = this.watchers.filter((w) => w !== watcher)
      this.watching = this.watchers.length > 0
    }
  }

  private syncSeen(slot: number): void {
    this.seenMode[slot] = this.engine.readState(slot, L.S_MODE)
    this.seenTransitions[slot] = this.engine.readState(slot, L.S_TRANSITIONS)
  }

  private notifyDecision(slot: number, cls: number, allow: boolean, now: number): void {
    this.checkMode(slot, now)
    const route = (this.info[slot] as RouteInfo).key
    const priority = this.config.priorities[cls] as string
    const mode = MODES[this.seenMode[slot] as number] as Mode
    const resistance = this.engine.readState(slot, L.S_R)
    for (const w of this.watchers) w.decision?.(route, priority, allow, mode, resistance, now)
  }

  /** Reports a mode change the engine made since the last report on this slot. */
  private checkMode(slot: number, now: number): void {
    const transitions = this.engine.readState(slot, L.S_TRANSITIONS)
    const seen = this.seenTransitions[slot] as number
    if (transitions === seen) return
    const from = MODES[this.seenMode[slot] as number] as Mode
    this.syncSeen(slot)
    const to = MODES[this.seenMode[slot] as number] as Mode
    const route = (this.info[slot] as RouteInfo).key
    const resistance = this.engine.readState(slot, L.S_R)
    for (const w of this.watchers) w.mode?.(route, from, to, resistance, now, transitions - seen)
  }

  enableExchange(): void {
    if (this.ex === undefined) this.ex = new ExchangeState(this.maxSlots)
  }

  takeDeltas(): RouteDelta[] {
    const ex = this.ex
    if (ex === undefined) return []
    const out: RouteDelta[] = []
    for (let i = 0; i < ex.dirtyCount; i++) {
      const slot = ex.dirty[i] as number
      ex.isDirty[slot] = 0
      const info = this.info[slot]
      if (info === undefined) continue
      out.push(ex.read(slot, info.key, this.engine.readState(slot, L.S_INFLIGHT)))
      ex.markSent(slot)
      ex.d[slot * DELTA_FIELDS + D_TOLD_MODE] = tellableMode(this.engine.readState(slot, L.S_MODE))
    }
    ex.dirtyCount = 0
    ex.samples = 0
    return out
  }

  returnDeltas(deltas: RouteDelta[]): void {
    const ex = this.ex
    if (ex === undefined) return
    for (const delta of deltas) {
      const slot = this.slots.get(delta.route)
      if (slot === undefined) continue
      ex.giveBack(slot, delta)
      ex.samples += delta.counts.latencyCount
      ex.markDirty(slot)
    }
  }

  applyExchange(result: ExchangeResult): void {
    const ex = this.ex
    if (ex === undefined) return
    const now = this.now()
    for (const view of result.routes) {
      const slot = this.slots.get(view.route)
      if (slot === undefined) continue
      const fresh = ex.othersSince(slot, view.totals)
      // The isolates heard from share the route's traffic: this one's share is 1/isolates.
      const isolates = Math.max(1, numberOrNaN(view.isolates) || 1)
      if (fresh !== null && fresh.count > 0) {
        // The pool is drained over one sync interval (docs/physics.md §13). After a long silence
        // the batch holds far more than the others complete in one interval: fold one interval's
        // worth of the fleet's traffic, with the batch's mix of errors and latency, or the
        // window's (the last WINDOW_S seconds) when the batch reaches further back than that,
        // instead of replaying minutes as if they had just happened.
        const w = view.window
        const perInterval = (w.latencyCount * this.config.sync.intervalMs) / (WINDOW_S * 1000)
        if (perInterval >= 1 && fresh.count > perInterval) {
          const mix = fresh.count > w.latencyCount ? w : {
            latencyCount: fresh.count,
            latencySumMs: fresh.latencySumMs,
            errors: fresh.errors,
          }
          fresh.count = perInterval
          fresh.latencySumMs = (mix.latencySumMs / mix.latencyCount) * perInterval
          fresh.errors = (mix.errors / mix.latencyCount) * perInterval
        }
        this.engine.absorb(slot, fresh.count, fresh.latencySumMs, fresh.errors, isolates, now)
      } else {
        this.engine.absorb(slot, 0, 0, 0, isolates, now)
      }
      if (this.watching) this.checkMode(slot, now)
      ex.heard(slot, view.window)
    }
  }

  pendingSamples(): number {
    return this.ex?.samples ?? 0
  }

  exchangeNews(minSamples: number, latencySamples = minSamples): ExchangeNews | null {
    const ex = this.ex
    if (ex === undefined) return null
    const d = ex.d
    for (let i = 0; i < ex.dirtyCount; i++) {
      const slot = ex.dirty[i] as number
      const o = slot * DELTA_FIELDS
      const n = d[o + D_LAT_COUNT] as number
      if (!(n >= minSamples) || n < 1) continue
      const info = this.info[slot]
      if (info === undefined) continue
      const requests = d[o + D_REQUESTS] as number
      const heardPerS = (d[o + D_HEARD_REQ] as number) / WINDOW_S
      const mode = tellableMode(this.engine.readState(slot, L.S_MODE))
      const told = d[o + D_TOLD_MODE] as number
      if (n >= latencySamples && mode !== (told === 0 ? TOLD_OPERATIONAL : told)) {
        const worse = mode > (told === 0 ? TOLD_OPERATIONAL : told)
        return { route: info.key, reason: 'mode', requests, heardPerS, worse }
      }
      // While the route sheds defensively (HALF_OPEN, CIRCUIT_BREAKER) its few admitted requests
      // are the probes that decide when to reopen: every one is worth telling.
      if (mode >= TOLD_HALF_OPEN) {
        return { route: info.key, reason: 'probes', requests, heardPerS, worse: false }
      }
      const heardN = d[o + D_HEARD_COUNT] as number
      if (!(heardN >= 1)) continue
      // Errors: news when the local count is unlikely under the heard rate, by the Chernoff
      // bound P <= exp(-n KL(local || heard)) < NEWS_P, and far enough from it to move the
      // physics. One success is news to a window of nothing but failures; two failures in a
      // hundred are not news to a window of 1%.
      const local = (d[o + D_ERRORS] as number) / n
      const heard = Math.min(Math.max((d[o + D_HEARD_ERRORS] as number) / heardN, 1e-3), 1 - 1e-3)
      if (
        Math.abs(local - heard) >= NEWS_ERROR_RATE && n * klBernoulli(local, heard) >= NEWS_NATS
      ) {
        return { route: info.key, reason: 'errors', requests, heardPerS, worse: local > heard }
      }
      if (n < latencySamples) continue
      const latency = (d[o + D_LAT_SUM] as number) / n
      const heardLatency = (d[o + D_HEARD_SUM] as number) / heardN
      if (
        heardLatency > 0 &&
        (latency >= NEWS_LATENCY_FACTOR * heardLatency ||
          latency * NEWS_LATENCY_FACTOR <= heardLatency)
      ) {
        const worse = latency > heardLatency
        return { route: info.key, reason: 'latency', requests, heardPerS, worse }
      }
    }
    return null
  }

  setStoreDegraded(degraded: boolean): void {
    this.storeDegraded = degraded
  }

  private countDecision(slot: number, allow: boolean): void {
    const ex = this.ex as ExchangeState
    const d = ex.d
    const o = slot * DELTA_FIELDS
    d[o + D_REQUESTS] = (d[o + D_REQUESTS] as number) + 1
    if (allow) d[o + D_ADMITTED] = (d[o + D_ADMITTED] as number) + 1
    else d[o + D_SHED] = (d[o + D_SHED] as number) + 1
    ex.markDirty(slot)
  }

  /** Counts a completed request for the stats and, when exchanging, for the next delta. */
  private countOutcome(slot: number, latencyMs: number, ok: boolean): void {
    // The engine sanitises what it is given; counters and deltas must stay finite for the store
    // and the metrics too.
    if (!(latencyMs >= 0) || latencyMs === Infinity) return
    const bucket = histogramBucket(latencyMs)
    this.recorder.outcome(slot, latencyMs, bucket)
    const ex = this.ex
    if (ex === undefined) return
    const d = ex.d
    const o = slot * DELTA_FIELDS
    if (ok) d[o + D_OK] = (d[o + D_OK] as number) + 1
    else d[o + D_ERRORS] = (d[o + D_ERRORS] as number) + 1
    d[o + D_LAT_SUM] = (d[o + D_LAT_SUM] as number) + latencyMs
    d[o + D_LAT_COUNT] = (d[o + D_LAT_COUNT] as number) + 1
    d[o + D_HIST + bucket] = (d[o + D_HIST + bucket] as number) + 1
    ex.samples++
    ex.markDirty(slot)
  }

  reconfigureProblems(config: GovernorConfig): ConfigProblem[] {
    const problems: ConfigProblem[] = []
    const redeploy = 'it sizes the engine when the isolate starts: redeploy to change it'
    if (config.engine !== this.config.engine) {
      problems.push({ path: 'engine', message: `Engine cannot change live (${redeploy})` })
    }
    if (config.maxRoutes !== this.config.maxRoutes) {
      problems.push({ path: 'maxRoutes', message: `maxRoutes cannot change live (${redeploy})` })
    }
    // One parameter set per configured route, plus the built-in profiles of unconfigured ones.
    const most = this.engine.maxParamSets - 8
    if (config.routes.length > most) {
      problems.push({
        path: 'routes',
        message: `${config.routes.length} routes exceed the ${most} this isolate reserved at ` +
          'start: redeploy with the larger config',
      })
    }
    return problems
  }

  reconfigure(input: GovernorConfigInput | GovernorConfig): void {
    const config = parseConfig(input)
    const problems = this.reconfigureProblems(config)
    if (problems.length > 0) throw new ConfigError(problems)
    const was = this.configured
    const now = new Map<string, RouteOptions>()
    for (const route of config.routes) now.set(route.id, route)
    const ownProfile = (route: string) =>
      resolveProfile(now.get(route)?.profile ?? config.defaults.profile)
    const classes = new Map<string, number>()
    config.priorities.forEach((name, i) => classes.set(name, i))
    const defaultClass = (route: string) => {
      const priority = now.get(route)?.priority ?? config.defaults.priority
      return priority !== undefined
        ? classes.get(priority) as number
        : Math.floor(config.priorities.length / 2)
    }
    // Each surviving slot keeps the parameter set index it runs on (the engine holds it in the
    // slot's state); the set is rewritten with the new parameters. A slot whose new identity
    // would need another slot's set is dropped instead.
    const sets = new Map<string, { index: number; route: string; profile: ResolvedProfile }>()
    const claimed = new Map<number, string>()
    const drop: number[] = []
    for (let s = this.head; s !== NO_SLOT; s = this.next[s] as number) {
      const info = this.info[s] as RouteInfo
      const configured = now.has(info.route)
      if (configured !== was.has(info.route)) {
        drop.push(s)
        continue
      }
      const own = ownProfile(info.route)
      const profile = info.key === info.route ? own : info.profile
      if (info.key !== info.route && profile.name === own.name) {
        drop.push(s) // `route@P` and `route` now name the same state: the plain key keeps it
        continue
      }
      const id = configured ? `route:${info.route}|${profile.name}` : `|${profile.name}`
      const index = this.engine.readState(s, L.S_PARAMS)
      const holder = claimed.get(index)
      if ((holder !== undefined && holder !== id) || (sets.get(id)?.index ?? index) !== index) {
        drop.push(s)
        continue
      }
      claimed.set(index, id)
      sets.set(id, { index, route: info.route, profile })
      this.info[s] = { key: info.key, route: info.route, profile, defaultClass: 0 }
    }
    for (const slot of drop) this.dropSlot(slot)
    if (config.priorities.join('\n') !== this.config.priorities.join('\n')) {
      // Counters are kept per class: under other classes they restart from zero (a counter
      // reset, as Prometheus sees a restart).
      this.recorder = new Recorder(this.maxSlots, config.priorities.length)
    }
    this.config = config
    this.configured.clear()
    for (const [id, route] of now) this.configured.set(id, route)
    this.classIndex.clear()
    for (const [name, i] of classes) this.classIndex.set(name, i)
    for (let s = this.head; s !== NO_SLOT; s = this.next[s] as number) {
      const info = this.info[s] as RouteInfo
      info.defaultClass = defaultClass(info.route)
    }
    this.paramSets.clear()
    for (const [id, { index, route, profile }] of sets) {
      const physics = physicsFor(config, now.get(route) ?? {}, profile)
      this.engine.setParams(index, paramBlock(physics))
      this.excessScale[index] = {
        base: physics.baseOhm,
        sum: physics.pressureOhm + physics.momentumOhm + physics.scarOhm,
      }
      this.paramSets.set(id, index)
    }
  }

  /** Forgets a slot: its tickets go stale, its unsent deltas go, the slot is free for reuse. */
  private dropSlot(slot: number): void {
    const info = this.info[slot] as RouteInfo
    this.unlink(slot)
    this.slots.delete(info.key)
    this.info[slot] = undefined
    this.generation[slot] = ((this.generation[slot] as number) + 1) >>> 0
    this.pinned[slot] = 0
    if (this.ex !== undefined) this.ex.reset(slot)
    this.recorder.reset(slot)
    this.freeSlots.push(slot)
  }

  /** The lowest parameter set index no set uses. */
  private freeParamSet(): number {
    const used = new Set(this.paramSets.values())
    let index = 0
    while (used.has(index)) index++
    return index
  }

  // ---- internals --------------------------------------------------------------------------------

  private now(): number {
    const t = this.clock()
    return typeof t === 'number' ? t : NaN
  }

  private keyOf(route: string, profile: Profile | undefined): string {
    if (profile === undefined) return route
    const own = this.configured.get(route)?.profile ?? this.config.defaults.profile
    const resolved = resolveProfile(profile)
    if (resolveProfile(own).name === resolved.name) return route
    return `${route}@${resolved.name}`
  }

  private classOf(info: RouteInfo, priority: string | undefined): number {
    if (priority === undefined) return info.defaultClass
    const cls = this.classIndex.get(priority)
    if (cls === undefined) {
      throw new RangeError(
        `Unknown priority "${priority}": expected one of ${
          this.config.priorities.map((p) => `"${p}"`).join(', ')
        }`,
      )
    }
    return cls
  }

  private slotFor(route: string, profile: Profile | undefined, now: number): number {
    const key = profile === undefined ? route : this.keyOf(route, profile)
    const slot = this.slots.get(key)
    if (slot !== undefined) {
      if (slot !== this.head) this.touch(slot)
      return slot
    }
    return this.createSlot(key, route, profile, now)
  }

  private createSlot(
    key: string,
    route: string,
    profile: Profile | undefined,
    now: number,
  ): number {
    if (typeof route !== 'string' || route.length === 0) {
      throw new TypeError(`Route id must be a non-empty string, got "${String(route)}"`)
    }
    let slot: number
    if (this.freeSlots.length > 0) {
      slot = this.freeSlots.pop() as number
    } else if (this.used < this.maxSlots) {
      slot = this.used++
    } else {
      slot = this.evictionVictim()
      this.unlink(slot)
      this.slots.delete((this.info[slot] as RouteInfo).key)
      // Tickets of the evicted route are now stale: completing them does nothing.
      this.generation[slot] = ((this.generation[slot] as number) + 1) >>> 0
      // Its unsent deltas go with it: the store has what was sent, the rest was this isolate's.
      if (this.ex !== undefined) this.ex.reset(slot)
      this.recorder.reset(slot)
    }
    const options = this.configured.get(route) ?? {}
    const resolved = resolveProfile(profile ?? options.profile ?? this.config.defaults.profile)
    const paramSet = this.paramSetFor(route, options, resolved)
    const priority = options.priority ?? this.config.defaults.priority
    const defaultClass = priority !== undefined
      ? this.classIndex.get(priority) as number
      : Math.floor(this.config.priorities.length / 2)
    this.info[slot] = { key, route, profile: resolved, defaultClass }
    this.engine.initSlot(slot, paramSet, now)
    this.tickets.reset(slot, ticketBoundMs(this.configured.get(route)?.timeoutMs), now)
    this.syncSeen(slot)
    this.slots.set(key, slot)
    this.pushFront(slot)
    return slot
  }

  /** Least recently used slot without an active lease; the LRU one if all hold leases. */
  private evictionVictim(): number {
    for (let s = this.tail; s !== NO_SLOT; s = this.prev[s] as number) {
      if (this.pinned[s] === 0) return s
    }
    return this.tail
  }

  private paramSetFor(route: string, options: RouteOptions, profile: ResolvedProfile): number {
    const id = this.configured.has(route) ? `route:${route}|${profile.name}` : `|${profile.name}`
    let index = this.paramSets.get(id)
    if (index === undefined) {
      index = this.freeParamSet()
      if (index >= this.engine.maxParamSets) {
        throw new RangeError(`Too many distinct route profiles (${index}); configure fewer`)
      }
      const physics = physicsFor(this.config, options, profile)
      this.engine.setParams(index, paramBlock(physics))
      this.excessScale[index] = {
        base: physics.baseOhm,
        sum: physics.pressureOhm + physics.momentumOhm + physics.scarOhm,
      }
      this.paramSets.set(id, index)
    }
    return index
  }

  private paramsOf(slot: number) {
    const info = this.info[slot] as RouteInfo
    return physicsFor(this.config, this.configured.get(info.route) ?? {}, info.profile)
  }

  private touch(slot: number): void {
    this.unlink(slot)
    this.pushFront(slot)
  }

  private unlink(slot: number): void {
    const p = this.prev[slot] as number
    const n = this.next[slot] as number
    if (p !== NO_SLOT) this.next[p] = n
    else this.head = n
    if (n !== NO_SLOT) this.prev[n] = p
    else this.tail = p
    this.prev[slot] = NO_SLOT
    this.next[slot] = NO_SLOT
  }

  private pushFront(slot: number): void {
    this.prev[slot] = NO_SLOT
    this.next[slot] = this.head
    if (this.head !== NO_SLOT) this.prev[this.head] = slot
    this.head = slot
    if (this.tail === NO_SLOT) this.tail = slot
  }

  /** Gives back the slots of tickets that outlived their bound; the physics learns nothing. */
  private expireTickets(slot: number, now: number): void {
    const expired = this.tickets.advance(slot, now)
    for (let i = 0; i < expired; i++) this.engine.complete(slot, NaN, NaN, NaN, now, 0)
  }

  private expireLeases(now: number): void {
    for (const lease of [...this.activeLeases]) {
      if (lease.expiresAt <= now) this.endLease(lease, 'timeout')
    }
    this.recomputeLeaseExpiry()
  }

  private recomputeLeaseExpiry(): void {
    let next = Infinity
    for (const lease of this.activeLeases) if (lease.expiresAt < next) next = lease.expiresAt
    this.nextLeaseExpiry = next
  }

  private arm(lease: LeaseImpl): void {
    const scheduler = this.scheduler
    if (scheduler === undefined) return
    this.disarm(lease)
    const delay = Math.max(0, lease.expiresAt - this.now())
    lease.timer = scheduler.setTimeout(() => {
      lease.timer = undefined
      this.tick()
    }, delay)
  }

  private disarm(lease: LeaseImpl): void {
    if (lease.timer !== undefined) {
      this.scheduler?.clearTimeout(lease.timer)
      lease.timer = undefined
    }
  }
}

// Per-slot exchange bookkeeping, in one Float64Array: the pending deltas (counts and histogram),
// and for the fold, what this isolate has sent in total and what it last saw of the others.
const D_REQUESTS = 0
const D_ADMITTED = 1
const D_SHED = 2
const D_OK = 3
const D_ERRORS = 4
const D_LAT_SUM = 5
const D_LAT_COUNT = 6
const D_HIST = 7
const D_OWN_COUNT = D_HIST + HISTOGRAM_BUCKETS
const D_OWN_SUM = D_OWN_COUNT + 1
const D_OWN_ERRORS = D_OWN_COUNT + 2
const D_SEEN_COUNT = D_OWN_COUNT + 3
const D_SEEN_SUM = D_OWN_COUNT + 4
const D_SEEN_ERRORS = D_OWN_COUNT + 5
const D_SEEN_KNOWN = D_OWN_COUNT + 6
// The route's window as last heard from the store (count, errors, latency sum), and the mode the
// isolate was in when it last told the store (tellableMode + 1; 0 = never told).
const D_HEARD_COUNT = D_OWN_COUNT + 7
const D_HEARD_ERRORS = D_OWN_COUNT + 8
const D_HEARD_SUM = D_OWN_COUNT + 9
const D_TOLD_MODE = D_OWN_COUNT + 10
const D_HEARD_REQ = D_OWN_COUNT + 11
const DELTA_FIELDS = D_OWN_COUNT + 12

/**
 * News thresholds (docs/sync.md, "When an isolate talks"): a departure from the heard window that
 * moves the physics. The error pressure ramps over tens of percent of errors and the learned
 * latency threshold lies between 1x and 4x the baseline (docs/physics.md), so 0.1 of error rate
 * (with the evidence of NEWS_NATS) and a factor of 2 of mean latency over `newsSamples` samples
 * are changes the other isolates would act on; a factor of 2 is well outside the noise of eight
 * samples' mean at the lognormal spreads the tunnel uses.
 */
const NEWS_ERROR_RATE = 0.1
const NEWS_LATENCY_FACTOR = 2
/** ln(1000): news is what the heard window makes less likely than 1 in 1,000. */
const NEWS_NATS = Math.log(1000)

/** Kullback–Leibler divergence of Bernoulli(q) from Bernoulli(p), nats; p within (0, 1). */
function klBernoulli(q: number, p: number): number {
  const a = q > 0 ? q * Math.log(q / p) : 0
  const b = q < 1 ? (1 - q) * Math.log((1 - q) / (1 - p)) : 0
  return a + b
}
const TOLD_OPERATIONAL = 2
const TOLD_HALF_OPEN = 3

/** A mode as the news test compares it (+1, so 0 means unknown): BOOTSTRAP counts as OPERATIONAL. */
function tellableMode(mode: number): number {
  return (mode === 0 ? 1 : mode) + 1
}

class ExchangeState {
  readonly d: Float64Array
  readonly dirty: Int32Array
  readonly isDirty: Uint8Array
  dirtyCount = 0
  /** Completed requests counted since the last takeDeltas, all slots. */
  samples = 0

  constructor(maxSlots: number) {
    this.d = new Float64Array(maxSlots * DELTA_FIELDS)
    this.dirty = new Int32Array(maxSlots)
    this.isDirty = new Uint8Array(maxSlots)
  }

  markDirty(slot: number): void {
    if (this.isDirty[slot] === 1) return
    this.isDirty[slot] = 1
    this.dirty[this.dirtyCount++] = slot
  }

  reset(slot: number): void {
    this.d.fill(0, slot * DELTA_FIELDS, (slot + 1) * DELTA_FIELDS)
  }

  read(slot: number, route: string, inflight: number): RouteDelta {
    const d = this.d
    const o = slot * DELTA_FIELDS
    const counts = zeroCounts()
    counts.requests = d[o + D_REQUESTS] as number
    counts.admitted = d[o + D_ADMITTED] as number
    counts.shed = d[o + D_SHED] as number
    counts.ok = d[o + D_OK] as number
    counts.errors = d[o + D_ERRORS] as number
    counts.latencySumMs = d[o + D_LAT_SUM] as number
    counts.latencyCount = d[o + D_LAT_COUNT] as number
    const histogram = Array.from(d.subarray(o + D_HIST, o + D_HIST + HISTOGRAM_BUCKETS))
    return { route, counts, histogram, inflight }
  }

  /** Records the window of the store's answer, the baseline of `exchangeNews`. */
  heard(slot: number, window: Counts): void {
    const d = this.d
    const o = slot * DELTA_FIELDS
    const n = window.latencyCount
    if (!(n >= 0) || !Number.isFinite(n)) return
    d[o + D_HEARD_REQ] = window.requests >= 0 && Number.isFinite(window.requests)
      ? window.requests
      : 0
    d[o + D_HEARD_COUNT] = n
    d[o + D_HEARD_ERRORS] = Number.isFinite(window.errors) ? window.errors : 0
    d[o + D_HEARD_SUM] = Number.isFinite(window.latencySumMs) ? window.latencySumMs : 0
  }

  /** The pending deltas have been sent: add them to what this isolate sent, start again. */
  markSent(slot: number): void {
    const d = this.d
    const o = slot * DELTA_FIELDS
    d[o + D_OWN_COUNT] = (d[o + D_OWN_COUNT] as number) + (d[o + D_LAT_COUNT] as number)
    d[o + D_OWN_SUM] = (d[o + D_OWN_SUM] as number) + (d[o + D_LAT_SUM] as number)
    d[o + D_OWN_ERRORS] = (d[o + D_OWN_ERRORS] as number) + (d[o + D_ERRORS] as number)
    d.fill(0, o, o + D_OWN_COUNT)
  }

  /** Undoes markSent for a delta that did not reach the store. */
  giveBack(slot: number, delta: RouteDelta): void {
    const d = this.d
    const o = slot * DELTA_FIELDS
    const c = delta.counts
    d[o + D_REQUESTS] = (d[o + D_REQUESTS] as number) + c.requests
    d[o + D_ADMITTED] = (d[o + D_ADMITTED] as number) + c.admitted
    d[o + D_SHED] = (d[o + D_SHED] as number) + c.shed
    d[o + D_OK] = (d[o + D_OK] as number) + c.ok
    d[o + D_ERRORS] = (d[o + D_ERRORS] as number) + c.errors
    d[o + D_LAT_SUM] = (d[o + D_LAT_SUM] as number) + c.latencySumMs
    d[o + D_LAT_COUNT] = (d[o + D_LAT_COUNT] as number) + c.latencyCount
    for (let i = 0; i < HISTOGRAM_BUCKETS; i++) {
      d[o + D_HIST + i] = (d[o + D_HIST + i] as number) + (delta.histogram[i] ?? 0)
    }
    d[o + D_OWN_COUNT] = (d[o + D_OWN_COUNT] as number) - c.latencyCount
    d[o + D_OWN_SUM] = (d[o + D_OWN_SUM] as number) - c.latencySumMs
    d[o + D_OWN_ERRORS] = (d[o + D_OWN_ERRORS] as number) - c.errors
  }

  /**
   * What the other isolates completed since the last answer: the store's totals minus what this
   * isolate sent, minus what it had already seen. Null the first time (history is not replayed)
   * and when the totals went backwards (the store lost state): both just resynchronise.
   */
  othersSince(
    slot: number,
    totals: { latencyCount: number; latencySumMs: number; errors: number },
  ): { count: number; latencySumMs: number; errors: number } | null {
    const d = this.d
    const o = slot * DELTA_FIELDS
    const count = totals.latencyCount - (d[o + D_OWN_COUNT] as number)
    const sum = totals.latencySumMs - (d[o + D_OWN_SUM] as number)
    const errors = totals.errors - (d[o + D_OWN_ERRORS] as number)
    if (!Number.isFinite(count) || !Number.isFinite(sum) || !Number.isFinite(errors)) return null
    const known = d[o + D_SEEN_KNOWN] === 1
    const fresh = {
      count: count - (d[o + D_SEEN_COUNT] as number),
      latencySumMs: sum - (d[o + D_SEEN_SUM] as number),
      errors: errors - (d[o + D_SEEN_ERRORS] as number),
    }
    d[o + D_SEEN_COUNT] = count
    d[o + D_SEEN_SUM] = sum
    d[o + D_SEEN_ERRORS] = errors
    d[o + D_SEEN_KNOWN] = 1
    if (!known || fresh.count < 0 || fresh.latencySumMs < 0 || fresh.errors < 0) return null
    return fresh
  }
}

function numberOrNaN(value: unknown): number {
  return typeof value === 'number' ? value : NaN
}

/**
 * Creates a governor.
 *
 * @param options Config, engine choice, WASM module, clock.
 * @returns The governor.
 * @throws {ConfigError} When the config is invalid, listing every problem.
 * @throws {Error} With `engine: 'wasm'` when the WASM module is missing or does not load.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * let now = 0
 * const gov = createGovernor({ engine: 'ts', clock: () => now })
 * const d = gov.admit('anything', { priority: 'low' })
 * if (!d.allow || d.ticket === null) throw new Error('a fresh route admits')
 * now += 40
 * gov.complete(d.ticket, { latencyMs: 40, ok: true })
 * ```
 */
export function createGovernor(options: GovernorOptions = {}): Governor {
  return new GovernorImpl(options)
}
