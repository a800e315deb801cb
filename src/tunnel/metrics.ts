/**
 * What the wind tunnel measures, per scenario and strategy: a recorder the simulator feeds as the
 * run goes (counts per second and class, latency histograms, the origin queue, strategy probes)
 * and the summary computed from it at the end. docs/wind-tunnel.md documents every formula; the
 * comments here say why each is what it is.
 *
 * @module
 */

import { FAST_FAILURE_SHARE, faultsAt, firstFaultStartMs, lastFaultEndMs } from './faults.ts'
import type { Scenario } from './scenario.ts'
import type { StrategyProbe } from './strategy.ts'

/** The monitoring window of the collapse test, s. */
export const COLLAPSE_WINDOW_S = 10
/** Queue fill (share of `queueLimit`) at which a growing queue counts towards collapse. */
export const COLLAPSE_FILL = 0.85
/** Admitted share of attempts over a 1-s window that counts as recovered. */
export const RECOVERED_ADMISSION = 0.95
/** z of the 99th percentile of the standard normal: σ = ln(p99/p50)/Z99 for the lognormal. */
export const Z99 = 2.3263478740408408
/** Sub-steps per second at which the ideal capacity samples the fault schedule. */
const CAPACITY_STEPS = 10

// Latency histograms: log buckets 1% wide from 0.01 ms, so a quantile is within 0.5% of the
// sample it stands for; bucket 0 holds everything at or below 0.01 ms (immediate answers).
const HIST_MIN_MS = 0.01
const HIST_GROWTH = 1.01
const HIST_K = 1 / Math.log(HIST_GROWTH)
const HIST_BUCKETS = 2400

function bucketOf(ms: number): number {
  if (!(ms > HIST_MIN_MS)) return 0
  const b = 1 + Math.floor(Math.log(ms / HIST_MIN_MS) * HIST_K)
  return b < HIST_BUCKETS ? b : HIST_BUCKETS - 1
}

function bucketValueMs(b: number): number {
  return b === 0 ? 0 : HIST_MIN_MS * Math.pow(HIST_GROWTH, b - 0.5)
}

/** Nearest-rank quantile of a histogram; NaN when it is empty. */
function quantile(hist: Float64Array, count: number, q: number): number {
  if (count === 0) return NaN
  const rank = Math.max(1, Math.ceil(q * count))
  let seen = 0
  for (let b = 0; b < HIST_BUCKETS; b++) {
    seen += hist[b] as number
    if (seen >= rank) return bucketValueMs(b)
  }
  return bucketValueMs(HIST_BUCKETS - 1)
}

/** Per class, over the whole run. */
export interface ClassMetrics {
  priority: string
  /** New requests (the demand, the same for every strategy). */
  offered: number
  /** Retry attempts (they load the strategy and the origin like new requests). */
  retries: number
  /** Attempts admitted by the strategy. */
  admitted: number
  /** Requests answered OK within the class SLO, counted from the request's first attempt. */
  good: number
  /** Admitted attempts answered OK but after the SLO. */
  late: number
  /** Attempts shed by the strategy. */
  shed: number
  /** Admitted attempts that failed: a 5xx, a full queue's 503 or the client's timeout. */
  failed: number
  /** Of `failed`, answered with an overload status (429, 503 as a full queue's, 504). */
  failedOverload: number
  /** Of `failed`, answered with another status (500 as an `errors` fault's): application errors. */
  failedError: number
  /** Of `failed`, never answered: the client's timeout (a blackhole, a queue too slow). */
  failedNoAnswer: number
  /** good / offered; null without requests. */
  goodRatio: number | null
}

/** Per second, for plots: arrays of one value per second of the scenario. */
export interface Series {
  /** Per class name. */
  offered: Record<string, number[]>
  admitted: Record<string, number[]>
  good: Record<string, number[]>
  shed: number[]
  failed: number[]
  /** The ideal good answers of that second (see `goodputRatio`). */
  ideal: number[]
  /** Mean origin queue length. */
  queue: number[]
  /** Latency quantiles of attempts answered that second, ms; null when none was. */
  p95Ms: (number | null)[]
  p99Ms: (number | null)[]
  /** The strategy's probe at the end of each second. */
  resistance: (number | null)[]
  mode: (string | null)[]
}

/** Everything measured for one strategy on one scenario. */
export interface StrategyMetrics {
  /** good / Σ ideal over the seconds; null when the ideal is 0. */
  goodputRatio: number | null
  /** good / offered of the most important priority present; null without such requests. */
  criticalGoodRatio: number | null
  /** Latency of admitted attempts as their client saw it (timeouts count as timeoutMs), ms. */
  p50Ms: number | null
  p95Ms: number | null
  p99Ms: number | null
  /** shed / attempts. */
  shedRatio: number
  /** From the strategy's last probe; null when it reports none. */
  modeTransitions: number | null
  /** First fault start → first shed, s; null without faults or without a shed after one. */
  detectS: number | null
  /** Last fault end → start of the first 1-s window admitting ≥ 95% of attempts, s; or null. */
  recoverS: number | null
  /** The collapse test (see docs/wind-tunnel.md). */
  collapsed: boolean
  /** The second the collapse test first held; null when it never did. */
  collapsedAtS: number | null
  queueMax: number
  /** Time the origin queue was full, s. */
  fullQueueS: number
  requests: number
  attempts: number
  good: number
  ideal: number
  classes: Record<string, ClassMetrics>
  series: Series
}

/**
 * Collects what the simulator sees. Hot-path methods take class indices and virtual ms; the
 * simulator calls `closeSecond` at every second boundary before any event at that time.
 */
export class Recorder {
  readonly seconds: number
  private readonly scenario: Scenario
  private readonly k: number
  private readonly durationMs: number
  private readonly queueLimit: number
  readonly offered: Float64Array
  readonly retries: Float64Array
  readonly admitted: Float64Array
  readonly shed: Float64Array
  readonly good: Float64Array
  readonly late: Float64Array
  readonly failed: Float64Array
  /** Per class: failures by kind, [overload, error, no answer]. */
  private readonly failedBy: Float64Array
  private readonly hist = new Float64Array(HIST_BUCKETS)
  private histCount = 0
  private readonly secondHist = new Float64Array(HIST_BUCKETS)
  private secondCount = 0
  private readonly p95: Float64Array
  private readonly p99: Float64Array
  private readonly queueMean: Float64Array
  private readonly resistance: (number | null)[]
  private readonly mode: (string | null)[]
  private readonly sloMs: Float64Array
  private closed = 0
  private queueLen = 0
  private queueSinceMs = 0
  private queueArea = 0
  queueMax = 0
  private fullMs = 0
  private readonly faultStartMs: number | null
  private firstShedMs = NaN
  private lastProbe: StrategyProbe = {}

  constructor(scenario: Scenario) {
    this.scenario = scenario
    this.k = scenario.classes.length
    this.durationMs = scenario.durationS * 1000
    this.seconds = Math.ceil(scenario.durationS)
    this.queueLimit = scenario.origin.queueLimit
    const cells = this.seconds * this.k
    this.offered = new Float64Array(cells)
    this.retries = new Float64Array(cells)
    this.admitted = new Float64Array(cells)
    this.shed = new Float64Array(cells)
    this.good = new Float64Array(cells)
    this.late = new Float64Array(cells)
    this.failed = new Float64Array(cells)
    this.failedBy = new Float64Array(this.k * 3)
    this.p95 = new Float64Array(this.seconds).fill(NaN)
    this.p99 = new Float64Array(this.seconds).fill(NaN)
    this.queueMean = new Float64Array(this.seconds)
    this.resistance = new Array<number | null>(this.seconds).fill(null)
    this.mode = new Array<string | null>(this.seconds).fill(null)
    this.sloMs = Float64Array.from(scenario.classes, (c) => c.sloMs)
    this.faultStartMs = firstFaultStartMs(scenario)
  }

  /** Index of the (second, class) cell of an event at `tMs`; the drain after the end counts last. */
  cell(tMs: number, cls: number): number {
    const s = Math.floor(tMs / 1000)
    return (s < this.seconds ? s : this.seconds - 1) * this.k + cls
  }

  /** A new request of class `cls` arrived. */
  arrival(cls: number, tMs: number): void {
    const i = this.cell(tMs, cls)
    this.offered[i] = (this.offered[i] as number) + 1
  }

  /** The strategy decided an attempt (a new request or a retry). */
  decision(cls: number, tMs: number, allow: boolean, retry: boolean): void {
    const i = this.cell(tMs, cls)
    if (retry) this.retries[i] = (this.retries[i] as number) + 1
    if (allow) {
      this.admitted[i] = (this.admitted[i] as number) + 1
    } else {
      this.shed[i] = (this.shed[i] as number) + 1
      if (this.firstShedMs !== this.firstShedMs && this.faultStartMs !== null) {
        if (tMs >= this.faultStartMs) this.firstShedMs = tMs
      }
    }
  }

  /**
   * An admitted attempt was answered.
   *
   * @param latencyMs The attempt's own latency (what the percentiles measure).
   * @param userLatencyMs Since the request's first attempt (what the SLO measures).
   * @param ok A success.
   * @param status The answer's HTTP status; undefined when none came (a client timeout). Only
   *   failures use it, to count them by kind.
   */
  answer(
    cls: number,
    tMs: number,
    latencyMs: number,
    userLatencyMs: number,
    ok: boolean,
    status?: number,
  ): void {
    const i = this.cell(tMs, cls)
    if (!ok) {
      this.failed[i] = (this.failed[i] as number) + 1
      const kind = status === undefined ? 2 : isOverloadStatus(status) ? 0 : 1
      this.failedBy[cls * 3 + kind] = (this.failedBy[cls * 3 + kind] as number) + 1
    } else if (userLatencyMs <= (this.sloMs[cls] as number)) {
      this.good[i] = (this.good[i] as number) + 1
    } else this.late[i] = (this.late[i] as number) + 1
    const b = bucketOf(latencyMs)
    this.hist[b] = (this.hist[b] as number) + 1
    this.histCount++
    if (this.closed < this.seconds) {
      this.secondHist[b] = (this.secondHist[b] as number) + 1
      this.secondCount++
    }
  }

  /** The origin queue changed length at `tMs`. */
  queue(length: number, tMs: number): void {
    if (this.closed < this.seconds) {
      const elapsed = tMs - this.queueSinceMs
      this.queueArea += this.queueLen * elapsed
      if (this.queueLen >= this.queueLimit && this.queueLimit > 0) this.fullMs += elapsed
      this.queueSinceMs = tMs
    }
    this.queueLen = length
    if (length > this.queueMax) this.queueMax = length
  }

  /** Closes second `s` (its end is now) with the strategy's probe. */
  closeSecond(s: number, probe: StrategyProbe): void {
    const endMs = Math.min((s + 1) * 1000, this.durationMs)
    this.queue(this.queueLen, endMs)
    this.queueMean[s] = this.queueArea / Math.max(1e-9, endMs - s * 1000)
    this.queueArea = 0
    this.p95[s] = quantile(this.secondHist, this.secondCount, 0.95)
    this.p99[s] = quantile(this.secondHist, this.secondCount, 0.99)
    this.secondHist.fill(0)
    this.secondCount = 0
    this.resistance[s] = probe.resistance ?? null
    this.mode[s] = probe.mode ?? null
    this.lastProbe = probe
    this.closed = s + 1
  }

  /**
   * The summary and the series.
   *
   * @param priorities The governor's priority names, most important first.
   * @param finalProbe The strategy's probe at the end of the run.
   */
  finish(priorities: readonly string[], finalProbe?: StrategyProbe): StrategyMetrics {
    const sc = this.scenario
    const n = this.seconds
    const k = this.k
    const probe = finalProbe ?? this.lastProbe
    const classes: Record<string, ClassMetrics> = {}
    const series: Series = {
      offered: {},
      admitted: {},
      good: {},
      shed: new Array<number>(n).fill(0),
      failed: new Array<number>(n).fill(0),
      ideal: idealSeries(sc, this.offered, k),
      queue: Array.from(this.queueMean, (q) => round(q, 2)),
      p95Ms: Array.from(this.p95, (v) => (v === v ? round(v, 1) : null)),
      p99Ms: Array.from(this.p99, (v) => (v === v ? round(v, 1) : null)),
      resistance: this.resistance.map((r) => (r === null ? null : round(r, 4))),
      mode: [...this.mode],
    }
    let good = 0
    let shed = 0
    let attempts = 0
    let requests = 0
    const top = Math.min(...sc.classes.map((c) => rankOf(priorities, c.priority)))
    let topGood = 0
    let topOffered = 0
    sc.classes.forEach((c, ci) => {
      const m: ClassMetrics = {
        priority: c.priority,
        offered: 0,
        retries: 0,
        admitted: 0,
        good: 0,
        late: 0,
        shed: 0,
        failed: 0,
        failedOverload: this.failedBy[ci * 3] as number,
        failedError: this.failedBy[ci * 3 + 1] as number,
        failedNoAnswer: this.failedBy[ci * 3 + 2] as number,
        goodRatio: null,
      }
      const off: number[] = new Array<number>(n)
      const adm: number[] = new Array<number>(n)
      const gd: number[] = new Array<number>(n)
      for (let s = 0; s < n; s++) {
        const i = s * k + ci
        off[s] = this.offered[i] as number
        adm[s] = this.admitted[i] as number
        gd[s] = this.good[i] as number
        series.shed[s] = (series.shed[s] as number) + (this.shed[i] as number)
        series.failed[s] = (series.failed[s] as number) + (this.failed[i] as number)
        m.offered += this.offered[i] as number
        m.retries += this.retries[i] as number
        m.admitted += this.admitted[i] as number
        m.good += this.good[i] as number
        m.late += this.late[i] as number
        m.shed += this.shed[i] as number
        m.failed += this.failed[i] as number
      }
      m.goodRatio = m.offered > 0 ? round(m.good / m.offered, 4) : null
      classes[c.name] = m
      series.offered[c.name] = off
      series.admitted[c.name] = adm
      series.good[c.name] = gd
      good += m.good
      shed += m.shed
      attempts += m.admitted + m.shed
      requests += m.offered
      if (rankOf(priorities, c.priority) === top) {
        topGood += m.good
        topOffered += m.offered
      }
    })
    const ideal = series.ideal.reduce((a, b) => a + b, 0)
    const collapse = this.collapseSecond()
    return {
      goodputRatio: ideal > 0 ? round(good / ideal, 4) : null,
      criticalGoodRatio: topOffered > 0 ? round(topGood / topOffered, 4) : null,
      p50Ms: nullable(round(quantile(this.hist, this.histCount, 0.5), 1)),
      p95Ms: nullable(round(quantile(this.hist, this.histCount, 0.95), 1)),
      p99Ms: nullable(round(quantile(this.hist, this.histCount, 0.99), 1)),
      shedRatio: attempts > 0 ? round(shed / attempts, 4) : 0,
      modeTransitions: probe.modeTransitions ?? null,
      detectS: this.faultStartMs !== null && this.firstShedMs === this.firstShedMs
        ? round((this.firstShedMs - this.faultStartMs) / 1000, 3)
        : null,
      recoverS: this.recoverS(),
      collapsed: collapse !== null,
      collapsedAtS: collapse,
      queueMax: this.queueMax,
      fullQueueS: round(this.fullMs / 1000, 3),
      requests,
      attempts,
      good,
      ideal: round(ideal, 1),
      classes,
      series: { ...series, ideal: series.ideal.map((v) => round(v, 2)) },
    }
  }

  /**
   * Recovery: from the last fault's end to the start of the first whole second after it in which
   * the strategy admitted at least 95% of the attempts it decided (0 when it never shed less).
   */
  private recoverS(): number | null {
    const endMs = lastFaultEndMs(this.scenario)
    if (endMs === null) return null
    const k = this.k
    for (let s = Math.ceil(endMs / 1000); s < this.seconds; s++) {
      if ((s + 1) * 1000 > this.durationMs) break
      let admitted = 0
      let attempts = 0
      for (let c = 0; c < k; c++) {
        admitted += this.admitted[s * k + c] as number
        attempts += (this.admitted[s * k + c] as number) + (this.shed[s * k + c] as number)
      }
      if (attempts > 0 && admitted >= RECOVERED_ADMISSION * attempts) {
        return round(s - endMs / 1000, 3)
      }
    }
    return null
  }

  /**
   * The Agent Chaos Framework's collapse: the queue is still growing as it passes 85% of its
   * limit (the second's mean queue is at least 85% full and above the second before), and the
   * p95 latency of that second is at least twice the p95 one monitoring window (10 s) earlier.
   * Returns the first second where both hold, or null.
   */
  private collapseSecond(): number | null {
    const limit = this.queueLimit
    if (limit === 0) return null
    for (let s = COLLAPSE_WINDOW_S; s < this.seconds; s++) {
      const q = this.queueMean[s] as number
      if (q < COLLAPSE_FILL * limit || q <= (this.queueMean[s - 1] as number)) continue
      const before = this.p95[s - COLLAPSE_WINDOW_S] as number
      const now = this.p95[s] as number
      if (before === before && now === now && now >= 2 * before) return s
    }
    return null
  }
}

/**
 * The ideal good answers per second: Σ over the second's sub-steps of
 * (1 − errorRate) · min(offered, capacity), where capacity = servers / mean service time,
 * servers = round(concurrency × capacity factors), and the mean service time blends the
 * lognormal mean p50·e^(σ²/2) × latency and gray factors with the errors fault's fast failures.
 * A blackhole makes it 0. `offered` counts new requests only (the demand), so every strategy is
 * measured against the same ideal.
 */
export function idealSeries(scenario: Scenario, offered: Float64Array, k: number): number[] {
  const n = Math.ceil(scenario.durationS)
  const { concurrency, serviceMs } = scenario.origin
  const sigma = Math.log(serviceMs.p99 / serviceMs.p50) / Z99
  const meanMs = serviceMs.p50 * Math.exp((sigma * sigma) / 2)
  const out = new Array<number>(n).fill(0)
  for (let s = 0; s < n; s++) {
    let demand = 0
    for (let c = 0; c < k; c++) demand += offered[s * k + c] as number
    if (demand === 0) continue
    let sum = 0
    for (let j = 0; j < CAPACITY_STEPS; j++) {
      const f = faultsAt(scenario, (s + (j + 0.5) / CAPACITY_STEPS) * 1000)
      if (f.blackhole) continue
      const servers = serverCount(concurrency, f.capacityFactor)
      const r = f.errorRate
      const blendedMs = (1 - r) * meanMs * f.serviceFactor + r * FAST_FAILURE_SHARE * serviceMs.p50
      const capacityPerS = (servers * 1000) / blendedMs
      sum += (1 - r) * Math.min(demand, capacityPerS)
    }
    out[s] = sum / CAPACITY_STEPS
  }
  return out
}

/**
 * Whether an HTTP status says the origin is overloaded (shedding can help) rather than that the
 * request failed on its own: 429, 503 and 504.
 */
export function isOverloadStatus(status: number): boolean {
  return status === 429 || status === 503 || status === 504
}

/** Servers at work under a capacity factor: rounded, never negative. */
export function serverCount(concurrency: number, factor: number): number {
  return Math.max(0, Math.round(concurrency * factor))
}

function rankOf(priorities: readonly string[], priority: string): number {
  const i = priorities.indexOf(priority)
  return i < 0 ? priorities.length : i
}

/** Rounds to `digits` decimals (reports stay readable and byte-stable). */
export function round(value: number, digits: number): number {
  const f = 10 ** digits
  return Math.round(value * f) / f
}

function nullable(v: number): number | null {
  return v === v ? v : null
}
