/**
 * Cumulative counters an operator reads (stats, Prometheus metrics): per route slot, requests
 * admitted and shed by priority class, and a histogram of completed requests' latencies. Kept in
 * one flat Float64Array sized once, one contiguous block per slot, so recording is a typed-array increment on the hot path and
 * the memory is bounded by `maxRoutes`. A slot's counters restart when its route is evicted
 * (Prometheus treats a counter that goes down as a reset).
 *
 * These are this isolate's counts since it started; the exchange deltas (governor.ts) are a
 * separate, resettable copy for the store.
 *
 * @module
 */

import { HISTOGRAM_BOUNDS_MS, HISTOGRAM_BUCKETS } from '../contract/telemetry-store.ts'

/** A route's counters, for stats and metrics. */
export interface RouteCounters {
  /** Requests admitted, by priority name, since the route was created in this isolate. */
  admitted: Record<string, number>
  /** Requests shed, by priority name. */
  shed: Record<string, number>
  /** Latencies of completed requests. */
  latency: LatencyHistogram
}

/** A latency histogram with fixed bucket bounds (not cumulative: one count per bucket). */
export interface LatencyHistogram {
  /** Upper bounds, ms; `counts` has one more entry, for everything above the last bound. */
  boundsMs: readonly number[]
  counts: number[]
  sumMs: number
  count: number
}

// A slot's block: the latency sum, the latency buckets, then admitted and shed per class. One
// block, not one array per kind, so a decision and its completion touch one or two cache lines.
const LAT_SUM = 0
const LAT_BUCKET0 = 1
const DECISIONS = LAT_BUCKET0 + HISTOGRAM_BUCKETS

/**
 * The counters of every slot.
 *
 * @example Usage
 * ```ts
 * import { Recorder } from './recorder.ts'
 * import { histogramBucket } from '../contract/telemetry-store.ts'
 * const recorder = new Recorder(10, 3)
 * recorder.decision(0, 1, true)
 * recorder.outcome(0, 42, histogramBucket(42))
 * const counters = recorder.read(0, ['critical', 'normal', 'low'])
 * if (counters.admitted.normal !== 1 || counters.latency.count !== 1) throw new Error('counted')
 * ```
 */
export class Recorder {
  private readonly classes: number
  private readonly stride: number
  private readonly data: Float64Array

  /**
   * @param maxSlots Route slots of the governor.
   * @param classes Priority classes of the config.
   */
  constructor(maxSlots: number, classes: number) {
    this.classes = classes
    this.stride = DECISIONS + 2 * classes
    this.data = new Float64Array(maxSlots * this.stride)
  }

  /** Counts one decision of class `cls` on `slot`. */
  decision(slot: number, cls: number, allow: boolean): void {
    const i = slot * this.stride + DECISIONS + (allow ? cls : this.classes + cls)
    this.data[i] = (this.data[i] as number) + 1
  }

  /**
   * Counts one completed request's latency, already found to be finite and ≥ 0, in its histogram
   * bucket (`histogramBucket(latencyMs)`, computed once by the governor for this and the delta).
   */
  outcome(slot: number, latencyMs: number, bucket: number): void {
    const o = slot * this.stride
    const l = this.data
    l[o + LAT_SUM] = (l[o + LAT_SUM] as number) + latencyMs
    l[o + LAT_BUCKET0 + bucket] = (l[o + LAT_BUCKET0 + bucket] as number) + 1
  }

  /** Zeroes a slot (its route was evicted and the slot reused). */
  reset(slot: number): void {
    this.data.fill(0, slot * this.stride, (slot + 1) * this.stride)
  }

  /** The slot's counters, keyed by the priority names (in class order). */
  read(slot: number, priorities: readonly string[]): RouteCounters {
    const admitted: Record<string, number> = {}
    const shed: Record<string, number> = {}
    const o = slot * this.stride
    for (let c = 0; c < this.classes; c++) {
      const name = priorities[c] as string
      admitted[name] = this.data[o + DECISIONS + c] as number
      shed[name] = this.data[o + DECISIONS + this.classes + c] as number
    }
    const counts = Array.from(
      this.data.subarray(o + LAT_BUCKET0, o + LAT_BUCKET0 + HISTOGRAM_BUCKETS),
    )
    let count = 0
    for (const n of counts) count += n
    return {
      admitted,
      shed,
      latency: {
        boundsMs: HISTOGRAM_BOUNDS_MS,
        counts,
        sumMs: this.data[o + LAT_SUM] as number,
        count,
      },
    }
  }
}

/**
 * The latency below which a fraction `q` of the histogram's samples fall, interpolated linearly
 * within the bucket as Prometheus' `histogram_quantile()` does; the highest bound when it falls in
 * the open last bucket; null without samples.
 *
 * @param histogram The histogram.
 * @param q The quantile, 0..1.
 * @returns Milliseconds, or null.
 *
 * @example Usage
 * ```ts
 * import { HISTOGRAM_BOUNDS_MS } from '../contract/telemetry-store.ts'
 * import { latencyQuantile } from './recorder.ts'
 * const counts = HISTOGRAM_BOUNDS_MS.map(() => 0).concat(0)
 * counts[3] = 10 // ten samples in (5, 10] ms
 * const p50 = latencyQuantile({ boundsMs: HISTOGRAM_BOUNDS_MS, counts, sumMs: 75, count: 10 }, 0.5)
 * if (p50 !== 7.5) throw new Error('interpolated within the bucket')
 * ```
 */
export function latencyQuantile(histogram: LatencyHistogram, q: number): number | null {
  const { boundsMs, counts, count } = histogram
  if (!(count > 0)) return null
  const rank = q * count
  let below = 0
  for (let i = 0; i < counts.length; i++) {
    const n = counts[i] as number
    if (n > 0 && below + n >= rank) {
      if (i >= boundsMs.length) return boundsMs[boundsMs.length - 1] as number
      const lower = i === 0 ? 0 : boundsMs[i - 1] as number
      const upper = boundsMs[i] as number
      return lower + (upper - lower) * (rank - below) / n
    }
    below += n
  }
  return boundsMs[boundsMs.length - 1] as number
}
