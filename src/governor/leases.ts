/**
 * Leases for long tasks: the lease object a caller holds, and the book of active leases with
 * their expiry, watchdog timers and the store that makes them global (docs/sync.md). The
 * governor decides what a lease's end means for the physics.
 *
 * @module
 */

import { OUTCOME } from '../engine/view.ts'
import type { TelemetryStore } from '../contract/telemetry-store.ts'
import type { Lease, LeaseOutcome, Scheduler, Ticket } from './types.ts'

/** What a lease calls back into: the governor. */
export interface LeaseOwner {
  heartbeatLease(lease: LeaseImpl): boolean
  endLease(lease: LeaseImpl, outcome: LeaseOutcome): boolean
}

/** The store that makes leases global, this isolate's id in it, and the calls' timeout. */
export interface LeaseStore {
  store: TelemetryStore
  isolateId: string
  timeoutMs: number
}

export class LeaseImpl implements Lease {
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
  private readonly gov: LeaseOwner

  constructor(
    gov: LeaseOwner,
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

/** The active leases, the earliest expiry among them, and their watchdog timers. */
export class LeaseBook {
  readonly active = new Set<LeaseImpl>()
  /** The earliest expiry of an active lease, ms; Infinity when none. */
  nextExpiry = Infinity
  /** Set by `Governor.useLeaseStore`: leases of profiles that require one are then global. */
  store: LeaseStore | undefined = undefined
  private ids = 0
  private readonly scheduler: Scheduler | undefined
  private readonly now: () => number
  private readonly onTimer: () => void

  /**
   * @param scheduler Timers for the watchdog; without it leases expire only on governor calls.
   * @param now The governor's clock.
   * @param onTimer What a watchdog timer runs (the governor's `tick`).
   */
  constructor(scheduler: Scheduler | undefined, now: () => number, onTimer: () => void) {
    this.scheduler = scheduler
    this.now = now
    this.onTimer = onTimer
  }

  nextId(): number {
    return ++this.ids
  }

  /** Adds a new lease and arms its watchdog. */
  add(lease: LeaseImpl): void {
    this.active.add(lease)
    if (lease.expiresAt < this.nextExpiry) this.nextExpiry = lease.expiresAt
    this.arm(lease)
  }

  recompute(): void {
    let next = Infinity
    for (const lease of this.active) if (lease.expiresAt < next) next = lease.expiresAt
    this.nextExpiry = next
  }

  arm(lease: LeaseImpl): void {
    const scheduler = this.scheduler
    if (scheduler === undefined) return
    this.disarm(lease)
    const delay = Math.max(0, lease.expiresAt - this.now())
    lease.timer = scheduler.setTimeout(() => {
      lease.timer = undefined
      this.onTimer()
    }, delay)
  }

  disarm(lease: LeaseImpl): void {
    if (lease.timer !== undefined) {
      this.scheduler?.clearTimeout(lease.timer)
      lease.timer = undefined
    }
  }
}

/** The engine's outcome kind for a lease that ended otherwise than aborted. */
export function leaseOutcomeKind(outcome: LeaseOutcome): number {
  // A failed task is an application error; one whose heartbeats stopped sent no answer.
  return outcome === 'completed' ? OUTCOME.ok : outcome === 'failed' ? OUTCOME.error : OUTCOME.lost
}
