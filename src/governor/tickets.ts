/**
 * Ticket expiry: the governor's defence against completions that never come. A ticket is counted
 * in the epoch it was admitted in; once a slot's clock is `EPOCHS` epochs past it, the tickets of
 * that epoch still open are given back (their in-flight slot freed, no sample taken) and their
 * late completions, if any, are ignored. Counters per slot and epoch, so admission allocates
 * nothing and expiry costs one comparison on the hot path. docs/physics.md §"Lost completions".
 *
 * @module
 */

/**
 * Longest wait for an origin's response headers when a route sets no `timeoutMs`, ms: the bound
 * of tickets on routes that are not configured (and of every route of a governor without routes).
 */
export const DEFAULT_TICKET_TIMEOUT_MS = 10_000

/**
 * Added to a route's timeout to make its tickets' lifetime, ms. Workers keep a request's
 * `waitUntil` work alive for 30 s after the response or the client's disconnect
 * (developers.cloudflare.com/workers/runtime-apis/context/#waituntil): a completion that has not
 * come by then is not coming.
 */
export const TICKET_GRACE_MS = 30_000

// A ticket expires between its bound and 4/3 of it: EPOCHS epochs of bound / (EPOCHS - 1) each.
const EPOCHS = 4

/** The lifetime of tickets on a route with this timeout, ms. */
export function ticketBoundMs(timeoutMs: number | undefined): number {
  return (timeoutMs ?? DEFAULT_TICKET_TIMEOUT_MS) + TICKET_GRACE_MS
}

/** Open tickets per slot and admission epoch. */
export class TicketLedger {
  /** Per slot: the time at or after which `advance` has something to do, ms. */
  readonly nextAt: Float64Array
  private readonly spanMs: Float64Array
  private readonly epoch: Float64Array
  private readonly open: Uint32Array
  /** Per slot: tickets expired since the slot was created (stats, metrics). */
  private readonly expiredTotal: Float64Array

  constructor(maxSlots: number) {
    this.expiredTotal = new Float64Array(maxSlots)
    this.nextAt = new Float64Array(maxSlots)
    this.spanMs = new Float64Array(maxSlots)
    this.epoch = new Float64Array(maxSlots)
    this.open = new Uint32Array(maxSlots * EPOCHS)
  }

  /** Starts a slot afresh: nothing open, tickets live `boundMs` to 4/3 of it. */
  reset(slot: number, boundMs: number, now: number): void {
    const span = boundMs / (EPOCHS - 1)
    this.spanMs[slot] = span
    const epoch = Number.isFinite(now) ? Math.floor(now / span) : 0
    this.epoch[slot] = epoch
    this.nextAt[slot] = (epoch + 1) * span
    this.open.fill(0, slot * EPOCHS, (slot + 1) * EPOCHS)
    this.expiredTotal[slot] = 0
  }

  /** Tickets of the slot that expired (were given back without an answer) since it was created. */
  expired(slot: number): number {
    return this.expiredTotal[slot] as number
  }

  /**
   * Moves the slot's epoch to `now` and closes the tickets that outlived their bound.
   * @returns How many tickets expired: the caller gives their capacity back.
   */
  advance(slot: number, now: number): number {
    const span = this.spanMs[slot] as number
    const to = Math.floor(now / span)
    const from = this.epoch[slot] as number
    // A clock that steps back (or a NaN) moves nothing: tickets stay until it catches up.
    if (!(to > from)) return 0
    let expired = 0
    const steps = Math.min(to - from, EPOCHS)
    const base = slot * EPOCHS
    for (let i = 1; i <= steps; i++) {
      const at = base + slotOf(from + i)
      expired += this.open[at] as number
      this.open[at] = 0
    }
    this.epoch[slot] = to
    this.nextAt[slot] = (to + 1) * span
    this.expiredTotal[slot] = (this.expiredTotal[slot] as number) + expired
    return expired
  }

  /** Counts a ticket admitted now; returns its epoch. */
  take(slot: number): number {
    const epoch = this.epoch[slot] as number
    const at = slot * EPOCHS + slotOf(epoch)
    this.open[at] = (this.open[at] as number) + 1
    return epoch
  }

  /** Whether a ticket of `epoch` is still open on the slot; it is closed when it is. */
  close(slot: number, epoch: number): boolean {
    if (epoch <= (this.epoch[slot] as number) - EPOCHS) return false
    const at = slot * EPOCHS + slotOf(epoch)
    const n = this.open[at] as number
    if (n === 0) return false
    this.open[at] = n - 1
    return true
  }
}

// Epochs of a clock before 1970 are negative: the remainder must still index the ring.
function slotOf(epoch: number): number {
  const r = epoch % EPOCHS
  return r < 0 ? r + EPOCHS : r
}
