/**
 * The runtime-neutral governor: route ids and priority names in, decisions out. This file is
 * the façade that ties the parts together; each concern lives beside it:
 *
 * - `types.ts` the public types and the `Governor` interface, `errors.ts` its errors;
 * - `slot-table.ts` the route → engine-slot map (least recently used evicted beyond
 *   `maxRoutes`), `tickets.ts` the expiry of tickets for admitted requests;
 * - `leases.ts` leases for long tasks, `snapshot.ts` a route's state read from the engine;
 * - `exchange.ts` the deltas and news for the shared store, `reconfigure.ts` hot reload.
 *
 * All time comes from the injected clock.
 *
 * @module
 */

import { createEngine } from '../engine/engine.ts'
import { paramBlock, type PhysicsParams } from '../engine/params.ts'
import type { EngineCore, EngineKind, Mode } from '../engine/types.ts'
import { MODES } from '../engine/types.ts'
import {
  decisionAllows,
  decisionMode,
  decisionReason,
  decisionRetryAfterS,
  inflightOf,
  isGhostAnswer,
  limitOf,
  modeIndexOf,
  modeOf,
  OUTCOME,
  resistanceOf,
  transitionsOf,
} from '../engine/view.ts'
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
import { createSyncer, type Syncer } from './sync.ts'
import { Recorder, type RouteCounters } from './recorder.ts'
import { ticketBoundMs, TicketLedger } from './tickets.ts'
import {
  type ExchangeResult,
  histogramBucket,
  type RouteDelta,
  type TelemetryStore,
} from '../contract/telemetry-store.ts'
import type {
  AdmitOptions,
  Clock,
  Decision,
  ExchangeNews,
  Governor,
  GovernorOptions,
  GovernorWatcher,
  Lease,
  LeaseOutcome,
  Outcome,
  RouteSnapshot,
  TaskOptions,
  Telemetry,
  Ticket,
} from './types.ts'
import { LeaseExpiredError, TaskRefusedError } from './errors.ts'
import { outcomeKind } from './outcome.ts'
import { NO_SLOT, type RouteInfo, SlotTable } from './slot-table.ts'
import { LeaseBook, LeaseImpl, leaseOutcomeKind } from './leases.ts'
import { readSnapshot } from './snapshot.ts'
import { boundBatch, ExchangeState } from './exchange.ts'
import { defaultClassOf, paramSetId, planReconfigure, reconfigureProblems } from './reconfigure.ts'

export type {
  AdmitOptions,
  Clock,
  Decision,
  ExchangeNews,
  Governor,
  GovernorOptions,
  GovernorWatcher,
  Lease,
  LeaseOutcome,
  Outcome,
  RouteSnapshot,
  Scheduler,
  TaskOptions,
  Telemetry,
  Ticket,
} from './types.ts'
export { LeaseExpiredError, TaskRefusedError } from './errors.ts'
export { outcomeKind } from './outcome.ts'

/** Least parameter sets reserved, so a live config may add routes (48 f64 each: 192 KiB). */
const MIN_PARAM_SETS = 512

class GovernorImpl implements Governor {
  config: GovernorConfig
  readonly engineKind: EngineKind
  sync: Syncer | undefined = undefined
  private readonly engine: EngineCore
  private readonly clock: Clock
  private readonly maxSlots: number
  private readonly classIndex = new Map<string, number>()
  private readonly configured = new Map<string, RouteOptions & { timeoutMs?: number | undefined }>()
  private readonly paramSets = new Map<string, number>()
  private readonly table: SlotTable
  // The table's map and per-slot arrays, read on every request.
  private readonly slots: Map<string, number>
  private readonly info: (RouteInfo | undefined)[]
  private readonly generation: Uint32Array
  private readonly pinned: Uint32Array
  private ex: ExchangeState | undefined = undefined
  private storeDegraded = false
  private readonly leaseBook: LeaseBook
  private recorder: Recorder
  private watchers: GovernorWatcher[] = []
  private watching = false
  // Per slot, the mode and transition count last reported to watchers.
  private readonly seenMode: Uint8Array
  private readonly seenTransitions: Float64Array
  // Open tickets per slot and epoch: a ticket never completed gives its slot back (H1).
  private readonly tickets: TicketLedger
  // For the exchange's news test, bound once.
  private readonly keyOfSlot = (slot: number): string | undefined => this.info[slot]?.key
  private readonly modeOfSlot = (slot: number): number => modeIndexOf(this.engine, slot)

  constructor(options: GovernorOptions) {
    this.config = parseConfig(options.config ?? {})
    this.clock = options.clock ?? Date.now
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
    this.table = new SlotTable(this.maxSlots)
    this.slots = this.table.slots
    this.info = this.table.info
    this.generation = this.table.generation
    this.pinned = this.table.pinned
    this.leaseBook = new LeaseBook(options.scheduler, () => this.now(), () => this.tick())
    this.recorder = new Recorder(this.maxSlots, this.config.priorities.length)
    this.seenMode = new Uint8Array(this.maxSlots)
    this.seenTransitions = new Float64Array(this.maxSlots)
    this.tickets = new TicketLedger(this.maxSlots)
  }

  admit(route: string, options?: AdmitOptions): Decision {
    const now = this.now()
    if (now >= this.leaseBook.nextExpiry) this.expireLeases(now)
    const slot = this.slotFor(route, options?.profile, now)
    if (now >= (this.tickets.nextAt[slot] as number)) this.expireTickets(slot, now)
    const info = this.info[slot] as RouteInfo
    const cls = this.classOf(info, options?.priority)
    if (this.storeDegraded && cls > 0 && this.config.sync.onStoreFailure === 'closed') {
      if (this.ex !== undefined) this.ex.countDecision(slot, false, now)
      this.recorder.decision(slot, cls, false)
      const mode = modeOf(this.engine, slot)
      const resistance = resistanceOf(this.engine, slot)
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
    const allow = decisionAllows(code)
    if (this.ex !== undefined) this.ex.countDecision(slot, allow, now)
    this.recorder.decision(slot, cls, allow)
    if (this.watching) this.notifyDecision(slot, cls, allow, now)
    return {
      allow,
      mode: decisionMode(code),
      resistance: resistanceOf(this.engine, slot),
      reason: decisionReason(code),
      retryAfterS: decisionRetryAfterS(code),
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
    if (now >= this.leaseBook.nextExpiry) this.expireLeases(now)
    if (ticket.done || this.generation[ticket.slot] !== ticket.generation) return false
    ticket.done = true
    if (now >= (this.tickets.nextAt[ticket.slot] as number)) this.expireTickets(ticket.slot, now)
    // An expired ticket's slot was given back already, and its sample would be stale.
    if (!this.tickets.close(ticket.slot, ticket.epoch)) return false
    const latencyMs = outcome?.latencyMs ?? now - ticket.startMs
    const kind = outcomeKind(outcome)
    const retry = outcome?.retryAfterS
    // An answer to a request sent into an outage is no sample here (docs/physics.md §9), and no
    // news for the other isolates either: their engines would take it for a fresh one. Asked only
    // when exchanging: the engine's own complete() tells its ghosts apart.
    const ghost = this.ex !== undefined && this.ghostAnswer(ticket.slot, Number(latencyMs), now)
    this.engine.complete(
      ticket.slot,
      Number(latencyMs),
      kind,
      typeof retry === 'number' ? retry : NaN,
      now,
      1,
    )
    this.countOutcome(ticket.slot, Number(latencyMs), kind === OUTCOME.ok, ghost)
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
    const shared = this.leaseBook.store
    if (shared === undefined || !lease.requiresLease) return lease
    // Global leases: the store counts leases of every isolate against the route's limit. A store
    // that fails or is slow must not fail the task: the lease then holds locally only.
    const slot = lease.ticket.slot
    const maxActive = Math.max(1, Math.floor(limitOf(this.engine, slot)))
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
      mode: modeOf(this.engine, slot),
      resistance: resistanceOf(this.engine, slot),
      reason: 'concurrency',
      retryAfterS,
      ticket: null,
    })
  }

  useLeaseStore(store: TelemetryStore, isolateId: string, timeoutMs: number): void {
    this.leaseBook.store = { store, isolateId, timeoutMs }
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
    const book = this.leaseBook
    const lease = new LeaseImpl(this, book.nextId(), decision.ticket, heartbeatMs, controller)
    lease.key = info.key
    lease.requiresLease = info.profile.requiresLease
    lease.globalId = `${book.store?.isolateId ?? 'local'}:${lease.id}`
    this.pinned[slot] = (this.pinned[slot] as number) + 1
    book.add(lease)
    controller?.signal.addEventListener('abort', () => this.endLease(lease, 'aborted'), {
      once: true,
    })
    return lease
  }

  heartbeatLease(lease: LeaseImpl): boolean {
    const now = this.now()
    if (now >= this.leaseBook.nextExpiry) this.expireLeases(now)
    if (lease.outcome !== null) return false
    lease.expiresAt = now + 1.5 * lease.heartbeatMs
    const book = this.leaseBook
    book.recompute()
    book.arm(lease)
    if (lease.global && book.store !== undefined) {
      book.store.store.heartbeatLease(lease.key, lease.globalId, 1.5 * lease.heartbeatMs, now)
        .catch(() => {})
    }
    return true
  }

  endLease(lease: LeaseImpl, outcome: LeaseOutcome): boolean {
    if (lease.outcome !== null) return false
    lease.outcome = outcome
    const book = this.leaseBook
    book.active.delete(lease)
    book.disarm(lease)
    if (lease.global && book.store !== undefined) {
      // Background: a release that does not arrive is undone by the lease's TTL in the store.
      book.store.store.releaseLease(lease.key, lease.globalId, this.now()).catch(() => {})
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
        const kind = leaseOutcomeKind(outcome)
        const ghost = this.ex !== undefined &&
          this.ghostAnswer(ticket.slot, now - ticket.startMs, now)
        this.engine.complete(ticket.slot, now - ticket.startMs, kind, NaN, now, 1)
        this.countOutcome(ticket.slot, now - ticket.startMs, outcome === 'completed', ghost)
      }
    }
    if (outcome === 'timeout') {
      lease.controller?.abort(new LeaseExpiredError(lease.route, lease.heartbeatMs))
    }
    book.recompute()
    return true
  }

  tick(): void {
    const now = this.now()
    if (now >= this.leaseBook.nextExpiry) this.expireLeases(now)
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
    return readSnapshot(e, slot, {
      route,
      profile: info.profile.name,
      priorities: this.config.priorities,
      errorRateThreshold: this.paramsOf(slot).errorRateThreshold,
      expiredTickets: this.tickets.expired(slot),
      now,
    })
  }

  routes(): string[] {
    return this.table.keys()
  }

  leases(): Lease[] {
    return [...this.leaseBook.active]
  }

  counters(route: string): RouteCounters | undefined {
    const slot = this.slots.get(route)
    if (slot === undefined) return undefined
    return this.recorder.read(slot, this.config.priorities)
  }

  watch(watcher: GovernorWatcher): () => void {
    if (!this.watching) {
      // Start from what the engine says now, so only changes from here on are reported.
      const t = this.table
      for (let s = t.head; s !== NO_SLOT; s = t.next[s] as number) this.syncSeen(s)
    }
    this.watchers = [...this.watchers, watcher]
    this.watching = true
    return () => {
      this.watchers = this.watchers.filter((w) => w !== watcher)
      this.watching = this.watchers.length > 0
    }
  }

  private syncSeen(slot: number): void {
    this.seenMode[slot] = modeIndexOf(this.engine, slot)
    this.seenTransitions[slot] = transitionsOf(this.engine, slot)
  }

  private notifyDecision(slot: number, cls: number, allow: boolean, now: number): void {
    this.checkMode(slot, now)
    const route = (this.info[slot] as RouteInfo).key
    const priority = this.config.priorities[cls] as string
    const mode = MODES[this.seenMode[slot] as number] as Mode
    const resistance = resistanceOf(this.engine, slot)
    for (const w of this.watchers) w.decision?.(route, priority, allow, mode, resistance, now)
  }

  /** Reports a mode change the engine made since the last report on this slot. */
  private checkMode(slot: number, now: number): void {
    const transitions = transitionsOf(this.engine, slot)
    const seen = this.seenTransitions[slot] as number
    if (transitions === seen) return
    const from = MODES[this.seenMode[slot] as number] as Mode
    this.syncSeen(slot)
    const to = MODES[this.seenMode[slot] as number] as Mode
    const route = (this.info[slot] as RouteInfo).key
    const resistance = resistanceOf(this.engine, slot)
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
      out.push(ex.read(slot, info.key, inflightOf(this.engine, slot)))
      ex.markSent(slot)
      ex.markTold(slot, modeIndexOf(this.engine, slot))
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
      const recentCopy = fresh === null ? null : { ...fresh }
      // The isolates heard from share the route's traffic: this one's share is 1/isolates. A
      // sparse fleet's isolates talk every few dozen seconds, so the store's count of those heard
      // within INFLIGHT_TTL_MS falls short of the fleet; the traffic says how many there are: the
      // route's requests per second in the answer's window over this isolate's (docs/physics.md
      // §13). The larger of the two counts.
      const isolates = Math.max(
        1,
        numberOrNaN(view.isolates) || 1,
        ex.trafficIsolates(slot, view.window.requests, now),
      )
      // The fleet's requests in flight, by Little's law (docs/physics.md §13): what tells the
      // engine whether a limit below one request per isolate is in use.
      const fleet = ex.fleetInflight(slot, isolates, view.window, now)
      if (fresh !== null && fresh.count > 0) {
        // The pool is drained over one sync interval (docs/physics.md §13).
        boundBatch(fresh, view.window, this.config.sync.intervalMs)
        this.engine.absorb(
          slot,
          fresh.count,
          fresh.latencySumMs,
          fresh.errors,
          isolates,
          now,
          fleet,
        )
      } else {
        this.engine.absorb(slot, 0, 0, 0, isolates, now, fleet)
      }
      if (this.watching) this.checkMode(slot, now)
      ex.heard(slot, view.window, recentCopy, view.totals.requests, now)
    }
  }

  pendingSamples(): number {
    return this.ex?.samples ?? 0
  }

  pendingRoutes(): number {
    return this.ex?.dirtyCount ?? 0
  }

  exchangeNews(minSamples: number, latencySamples = minSamples): ExchangeNews | null {
    const ex = this.ex
    if (ex === undefined) return null
    return ex.news(minSamples, latencySamples, this.keyOfSlot, this.modeOfSlot)
  }

  setStoreDegraded(degraded: boolean): void {
    this.storeDegraded = degraded
  }

  /**
   * Whether the engine will count this answer as a ghost's (sent before the outage, or the return,
   * that made its request a ghost): brought to `now` first, as `complete` does.
   */
  private ghostAnswer(slot: number, latencyMs: number, now: number): boolean {
    if (!(latencyMs >= 0)) return false
    this.engine.advance(slot, now)
    return isGhostAnswer(this.engine, slot, latencyMs, now)
  }

  /**
   * Counts a completed request for the stats and, when exchanging and unless it is a ghost's
   * answer, for the next delta.
   */
  private countOutcome(slot: number, latencyMs: number, ok: boolean, ghost = false): void {
    // The engine sanitises what it is given; counters and deltas must stay finite for the store
    // and the metrics too.
    if (!(latencyMs >= 0) || latencyMs === Infinity) return
    const bucket = histogramBucket(latencyMs)
    this.recorder.outcome(slot, latencyMs, bucket)
    const ex = this.ex
    if (ex !== undefined && !ghost) ex.countOutcome(slot, latencyMs, ok, bucket)
  }

  reconfigureProblems(config: GovernorConfig): ConfigProblem[] {
    return reconfigureProblems(this.config, config, this.engine)
  }

  reconfigure(input: GovernorConfigInput | GovernorConfig): void {
    const config = parseConfig(input)
    const problems = this.reconfigureProblems(config)
    if (problems.length > 0) throw new ConfigError(problems)
    const plan = planReconfigure(this.table, this.configured, config, this.engine)
    for (const { slot, info } of plan.keep) this.info[slot] = info
    for (const slot of plan.drop) this.dropSlot(slot)
    if (config.priorities.join('\n') !== this.config.priorities.join('\n')) {
      // Counters are kept per class: under other classes they restart from zero (a counter
      // reset, as Prometheus sees a restart).
      this.recorder = new Recorder(this.maxSlots, config.priorities.length)
    }
    this.config = config
    this.configured.clear()
    for (const [id, route] of plan.configured) this.configured.set(id, route)
    this.classIndex.clear()
    for (const [name, i] of plan.classes) this.classIndex.set(name, i)
    const t = this.table
    for (let s = t.head; s !== NO_SLOT; s = t.next[s] as number) {
      const info = this.info[s] as RouteInfo
      info.defaultClass = defaultClassOf(config, this.classIndex, plan.configured.get(info.route))
    }
    this.paramSets.clear()
    for (const [id, { index, route, profile }] of plan.sets) {
      this.writeParams(index, physicsFor(config, plan.configured.get(route) ?? {}, profile))
      this.paramSets.set(id, index)
    }
  }

  /** Forgets a slot: its tickets go stale, its unsent deltas go, the slot is free for reuse. */
  private dropSlot(slot: number): void {
    this.table.drop(slot)
    if (this.ex !== undefined) this.ex.reset(slot)
    this.recorder.reset(slot)
  }

  /** Writes a parameter set into the engine. */
  private writeParams(index: number, physics: PhysicsParams): void {
    this.engine.setParams(index, paramBlock(physics))
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
      if (slot !== this.table.head) this.table.touch(slot)
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
    let slot = this.table.takeFree()
    if (slot === NO_SLOT) {
      slot = this.table.evict()
      // Its unsent deltas go with it: the store has what was sent, the rest was this isolate's.
      if (this.ex !== undefined) this.ex.reset(slot)
      this.recorder.reset(slot)
    }
    const options = this.configured.get(route) ?? {}
    const resolved = resolveProfile(profile ?? options.profile ?? this.config.defaults.profile)
    const paramSet = this.paramSetFor(route, options, resolved)
    const defaultClass = defaultClassOf(this.config, this.classIndex, options)
    this.engine.initSlot(slot, paramSet, now)
    this.tickets.reset(slot, ticketBoundMs(this.configured.get(route)?.timeoutMs), now)
    this.syncSeen(slot)
    this.table.hold(slot, { key, route, profile: resolved, defaultClass })
    return slot
  }

  private paramSetFor(route: string, options: RouteOptions, profile: ResolvedProfile): number {
    const id = paramSetId(this.configured.has(route), route, profile.name)
    let index = this.paramSets.get(id)
    if (index === undefined) {
      index = this.freeParamSet()
      if (index >= this.engine.maxParamSets) {
        throw new RangeError(`Too many distinct route profiles (${index}); configure fewer`)
      }
      this.writeParams(index, physicsFor(this.config, options, profile))
      this.paramSets.set(id, index)
    }
    return index
  }

  private paramsOf(slot: number) {
    const info = this.info[slot] as RouteInfo
    return physicsFor(this.config, this.configured.get(info.route) ?? {}, info.profile)
  }

  /** Gives back the slots of tickets that outlived their bound; the physics learns nothing. */
  private expireTickets(slot: number, now: number): void {
    const expired = this.tickets.advance(slot, now)
    for (let i = 0; i < expired; i++) this.engine.complete(slot, NaN, NaN, NaN, now, 0)
  }

  private expireLeases(now: number): void {
    for (const lease of [...this.leaseBook.active]) {
      if (lease.expiresAt <= now) this.endLease(lease, 'timeout')
    }
    this.leaseBook.recompute()
  }
}

function numberOrNaN(value: unknown): number {
  return typeof value === 'number' ? value : NaN
}

/**
 * Creates a governor.
 *
 * @param options Config, engine choice, WASM module, clock, and the store that makes its state
 * shared (the governor then owns the syncer, `governor.sync`).
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
 *
 * @example Shared state
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { MemoryStore } from '../store/memory/store.ts'
 * const gov = createGovernor({ engine: 'ts', store: new MemoryStore() })
 * const d = gov.admit('api')
 * if (d.ticket) gov.complete(d.ticket, { latencyMs: 12, status: 200 })
 * await gov.sync?.syncNow() // after requests: pass gov.sync.maybeSync() to waitUntil
 * if (gov.sync?.status().exchanges !== 1) throw new Error('one exchange')
 * ```
 */
export function createGovernor(options: GovernorOptions = {}): Governor {
  const governor = new GovernorImpl(options)
  if (options.store !== undefined) {
    governor.sync = createSyncer({
      governor,
      store: options.store,
      clock: options.clock,
      isolateId: options.isolateId,
      config: options.live?.(governor),
    })
  } else if (options.live !== undefined) {
    throw new TypeError('createGovernor() takes a live config only with a store')
  }
  return governor
}
