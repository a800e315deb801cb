/**
 * The exchange's bookkeeping per slot (docs/sync.md): the deltas waiting for the next exchange,
 * what this isolate has sent and seen of the others (the fold of a store's answer), and the news
 * test of "When an isolate talks". Plain numbers in one Float64Array; the governor owns the
 * engine and feeds it what this module computes.
 *
 * @module
 */

import {
  type Counts,
  HISTOGRAM_BUCKETS,
  type RouteDelta,
  WINDOW_S,
  zeroCounts,
} from '../contract/telemetry-store.ts'
import type { ExchangeNews } from './types.ts'

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
/** Requests this isolate has sent the store on the route, all exchanges. */
const D_OWN_REQ = D_OWN_COUNT + 12
/** When this isolate counted its first request on the route, ms; D_OWN_SINCE_KNOWN is 1 once set. */
const D_OWN_SINCE = D_OWN_COUNT + 13
const D_OWN_SINCE_KNOWN = D_OWN_COUNT + 14
/**
 * The other isolates' samples in the store's last answer since the answer before it (count,
 * errors, latency sum): the recent part of what the store heard, the second baseline of the news
 * test (docs/sync.md, "News").
 */
const D_RECENT_COUNT = D_OWN_COUNT + 15
const D_RECENT_ERRORS = D_OWN_COUNT + 16
const D_RECENT_SUM = D_OWN_COUNT + 17
/** The requests of the window last heard (D_HEARD_REQ is their rate over the window's span). */
const D_HEARD_WINDOW_REQ = D_OWN_COUNT + 18
const DELTA_FIELDS = D_OWN_COUNT + 19

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
/**
 * Errors: news when `n` local samples at error rate `local` are unlikely under the baseline rate,
 * by the Chernoff bound P <= exp(-n KL(local || baseline)) < 1/1,000, and far enough from it to
 * move the physics. One success is news to a window of nothing but failures; two failures in a
 * hundred are not news to a window of 1%.
 */
function errorNews(local: number, n: number, baseline: number): boolean {
  const p = Math.min(Math.max(baseline, 1e-3), 1 - 1e-3)
  return Math.abs(local - p) >= NEWS_ERROR_RATE && n * klBernoulli(local, p) >= NEWS_NATS
}

/** Latency: news when the local mean is off the baseline's by NEWS_LATENCY_FACTOR either way. */
function latencyNews(latency: number, baseline: number): boolean {
  return baseline > 0 &&
    (latency >= NEWS_LATENCY_FACTOR * baseline || latency * NEWS_LATENCY_FACTOR <= baseline)
}

const TOLD_OPERATIONAL = 2
const TOLD_HALF_OPEN = 3

/** A mode as the news test compares it (+1, so 0 means unknown): BOOTSTRAP counts as OPERATIONAL. */
function tellableMode(mode: number): number {
  return (mode === 0 ? 1 : mode) + 1
}

export class ExchangeState {
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

  /**
   * Records the window of the store's answer and the other isolates' samples since the answer
   * before it (`othersSince`; null when unknown), the baselines of `exchangeNews`.
   */
  heard(
    slot: number,
    window: Counts,
    recent: { count: number; latencySumMs: number; errors: number } | null,
    totalRequests: number,
    nowMs: number,
  ): void {
    const d = this.d
    const o = slot * DELTA_FIELDS
    const ok = recent !== null && recent.count > 0 && Number.isFinite(recent.count) &&
      recent.latencySumMs >= 0 && Number.isFinite(recent.latencySumMs) && recent.errors >= 0 &&
      recent.errors <= recent.count
    d[o + D_RECENT_COUNT] = ok ? recent.count : 0
    d[o + D_RECENT_ERRORS] = ok ? recent.errors : 0
    d[o + D_RECENT_SUM] = ok ? recent.latencySumMs : 0
    const n = window.latencyCount
    if (!(n >= 0) || !Number.isFinite(n)) return
    // The fleet's requests per second: the window's over the seconds it spans. A window that
    // holds the route's whole history (its requests are all the totals have) spans less than
    // WINDOW_S: at most since this isolate's first request, the span of a fleet that started
    // together (a longer-lived route's rate is then overestimated, its share underestimated).
    let spanS = WINDOW_S
    if (totalRequests <= window.requests && d[o + D_OWN_SINCE_KNOWN] === 1) {
      spanS = Math.min(WINDOW_S, this.ownSpanS(o, nowMs))
    }
    const requests = window.requests >= 0 && Number.isFinite(window.requests) ? window.requests : 0
    d[o + D_HEARD_REQ] = requests / spanS
    d[o + D_HEARD_WINDOW_REQ] = requests
    d[o + D_HEARD_COUNT] = n
    d[o + D_HEARD_ERRORS] = Number.isFinite(window.errors) ? window.errors : 0
    d[o + D_HEARD_SUM] = Number.isFinite(window.latencySumMs) ? window.latencySumMs : 0
  }

  /** The pending deltas have been sent: add them to what this isolate sent, start again. */
  markSent(slot: number): void {
    const d = this.d
    const o = slot * DELTA_FIELDS
    d[o + D_OWN_REQ] = (d[o + D_OWN_REQ] as number) + (d[o + D_REQUESTS] as number)
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
    d[o + D_OWN_REQ] = (d[o + D_OWN_REQ] as number) - c.requests
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

  /**
   * Seconds since this isolate's first request on the slot at offset `o`, at least one, so that a
   * first burst is not a rate (D_OWN_SINCE_KNOWN must be 1).
   */
  private ownSpanS(o: number, nowMs: number): number {
    return Math.max(1, (nowMs - (this.d[o + D_OWN_SINCE] as number)) / 1000)
  }

  /** This isolate's requests per second on the slot at offset `o` since its first. */
  private ownPerS(o: number, nowMs: number): number {
    return (this.d[o + D_OWN_REQ] as number) / this.ownSpanS(o, nowMs)
  }

  /**
   * How many isolates the route's traffic makes: the fleet's requests in the answer's window (per
   * WINDOW_S) over this isolate's requests per second since its first; 0 when either is unknown.
   */
  trafficIsolates(slot: number, windowRequests: number, nowMs: number): number {
    const d = this.d
    const o = slot * DELTA_FIELDS
    const fleetPerS = windowRequests / WINDOW_S
    if (d[o + D_OWN_SINCE_KNOWN] !== 1 || !(fleetPerS > 0) || fleetPerS === Infinity) return 0
    const ownPerS = this.ownPerS(o, nowMs)
    if (!(ownPerS > 0)) return 0
    return Math.floor(fleetPerS / ownPerS)
  }

  /**
   * The fleet's requests in flight on the route (docs/physics.md §13), by Little's law: this
   * isolate's requests per second since its first, times the isolates the route's traffic makes,
   * times the mean latency of the answer's window. -1 when either is unknown. The rate is
   * demand (shed requests count): what the fleet would hold in flight if it admitted all.
   */
  fleetInflight(slot: number, isolates: number, window: Counts, nowMs: number): number {
    const d = this.d
    const o = slot * DELTA_FIELDS
    if (d[o + D_OWN_SINCE_KNOWN] !== 1 || !(window.latencyCount > 0)) return -1
    const f = (this.ownPerS(o, nowMs) * isolates * (window.latencySumMs / window.latencyCount)) /
      1000
    return f >= 0 && f !== Infinity ? f : -1
  }

  /** Counts one decision into the slot's pending delta. */
  countDecision(slot: number, allow: boolean, nowMs: number): void {
    const d = this.d
    const o = slot * DELTA_FIELDS
    d[o + D_REQUESTS] = (d[o + D_REQUESTS] as number) + 1
    if (d[o + D_OWN_SINCE_KNOWN] === 0) {
      d[o + D_OWN_SINCE] = nowMs
      d[o + D_OWN_SINCE_KNOWN] = 1
    }
    if (allow) d[o + D_ADMITTED] = (d[o + D_ADMITTED] as number) + 1
    else d[o + D_SHED] = (d[o + D_SHED] as number) + 1
    this.markDirty(slot)
  }

  /** Counts one completed request (a finite latency, its histogram bucket) into the delta. */
  countOutcome(slot: number, latencyMs: number, ok: boolean, bucket: number): void {
    const d = this.d
    const o = slot * DELTA_FIELDS
    if (ok) d[o + D_OK] = (d[o + D_OK] as number) + 1
    else d[o + D_ERRORS] = (d[o + D_ERRORS] as number) + 1
    d[o + D_LAT_SUM] = (d[o + D_LAT_SUM] as number) + latencyMs
    d[o + D_LAT_COUNT] = (d[o + D_LAT_COUNT] as number) + 1
    d[o + D_HIST + bucket] = (d[o + D_HIST + bucket] as number) + 1
    this.samples++
    this.markDirty(slot)
  }

  /** Records the engine's mode (`S_MODE`) as the one last told to the store. */
  markTold(slot: number, mode: number): void {
    this.d[slot * DELTA_FIELDS + D_TOLD_MODE] = tellableMode(mode)
  }

  /**
   * The first dirty slot whose pending samples are news (`Governor.exchangeNews`).
   *
   * @param keyOf The route key of a slot; undefined for a slot no longer held.
   * @param modeOf The engine's mode of a slot (`S_MODE`).
   */
  news(
    minSamples: number,
    latencySamples: number,
    keyOf: (slot: number) => string | undefined,
    modeOf: (slot: number) => number,
  ): ExchangeNews | null {
    const d = this.d
    // News the others' recent samples already show: returned only when no slot has other news.
    let toldNews: ExchangeNews | null = null
    for (let i = 0; i < this.dirtyCount; i++) {
      const slot = this.dirty[i] as number
      const o = slot * DELTA_FIELDS
      const n = d[o + D_LAT_COUNT] as number
      if (!(n >= minSamples) || n < 1) continue
      const route = keyOf(slot)
      if (route === undefined) continue
      const requests = d[o + D_REQUESTS] as number
      const heardPerS = d[o + D_HEARD_REQ] as number
      const windowPerS = (d[o + D_HEARD_WINDOW_REQ] as number) / WINDOW_S
      const mode = tellableMode(modeOf(slot))
      const told = d[o + D_TOLD_MODE] as number
      if (n >= latencySamples && mode !== (told === 0 ? TOLD_OPERATIONAL : told)) {
        const worse = mode > (told === 0 ? TOLD_OPERATIONAL : told)
        return { route, reason: 'mode', requests, heardPerS, windowPerS, worse }
      }
      // While the route sheds defensively (HALF_OPEN, CIRCUIT_BREAKER) its few admitted requests
      // are the probes that decide when to reopen: every one is worth telling.
      if (mode >= TOLD_HALF_OPEN) {
        return { route, reason: 'probes', requests, heardPerS, windowPerS, worse: false }
      }
      const heardN = d[o + D_HEARD_COUNT] as number
      if (!(heardN >= 1)) continue
      // A departure from the window that the others' recent samples (those in the last answer
      // that were new since the answer before, from latencySamples of them on) no longer show is
      // `told`: other isolates reported the change and the store has it (docs/sync.md, "News").
      const recentN = d[o + D_RECENT_COUNT] as number
      const hasRecent = recentN >= latencySamples && recentN >= 1
      const local = (d[o + D_ERRORS] as number) / n
      const heard = (d[o + D_HEARD_ERRORS] as number) / heardN
      let reason: 'errors' | 'latency'
      let worse: boolean
      let known: boolean
      if (errorNews(local, n, heard)) {
        reason = 'errors'
        worse = local > heard
        known = hasRecent && !errorNews(local, n, (d[o + D_RECENT_ERRORS] as number) / recentN)
      } else {
        if (n < latencySamples) continue
        const latency = (d[o + D_LAT_SUM] as number) / n
        const heardLatency = (d[o + D_HEARD_SUM] as number) / heardN
        if (!latencyNews(latency, heardLatency)) continue
        reason = 'latency'
        worse = latency > heardLatency
        known = hasRecent && !latencyNews(latency, (d[o + D_RECENT_SUM] as number) / recentN)
      }
      const news = { route, reason, requests, heardPerS, windowPerS, worse, told: known }
      if (!known) return news
      toldNews ??= news
    }
    return toldNews
  }
}

/**
 * Bounds a batch of the other isolates' samples to one sync interval's worth (docs/physics.md
 * §13), in place. After a long silence the batch holds far more than the others complete in one
 * interval: fold one interval's worth of the fleet's traffic, with the batch's mix of errors and
 * latency, or the window's (the last WINDOW_S seconds) when the batch reaches further back than
 * that, instead of replaying minutes as if they had just happened.
 */
export function boundBatch(
  fresh: { count: number; latencySumMs: number; errors: number },
  window: Counts,
  intervalMs: number,
): void {
  const w = window
  const perInterval = (w.latencyCount * intervalMs) / (WINDOW_S * 1000)
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
}
