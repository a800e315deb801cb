/**
 * The exchange loop of one isolate, driven by requests: it talks to the store when it has
 * something worth telling (enough new samples, news, or a heartbeat falling due), at most once per
 * sync interval, never awaited on a request's path, never failing a request. docs/sync.md.
 *
 * @module
 */

import {
  type ExchangeResult,
  exchangeResultProblem,
  type TelemetryStore,
} from '../contract/telemetry-store.ts'
import type { Clock, Governor } from './governor.ts'
import type { LiveConfig } from './live-config.ts'
import { initialSyncStatus, type SyncHook, type SyncStatus } from './sync-types.ts'
import { GLOBAL_TIMERS, TimeoutError, type Timers, withTimeout } from './timeout.ts'

export type { SyncHook, SyncStatus } from './sync-types.ts'

/** Options of `createSyncer`. */
export interface SyncerOptions {
  governor: Governor
  store: TelemetryStore
  /** This isolate's id in the store. @default a random UUID */
  isolateId?: string | undefined
  /** @default the governor config's sync.intervalMs */
  intervalMs?: number | undefined
  /** @default the governor config's sync.timeoutMs */
  timeoutMs?: number | undefined
  /** @default Date.now */
  clock?: Clock | undefined
  /** Timers for the exchange timeout. @default globalThis.setTimeout / clearTimeout */
  timers?: Timers
  /**
   * The isolate's live config: with it, the heartbeat exchange (and an exchange whose answer
   * carries another config version) also polls the config store and applies a newer version it
   * finds (docs/sync.md).
   * @default none: the config never changes
   */
  config?: Pick<LiveConfig, 'poll' | 'version' | 'lastError'> | undefined
}

/** A SyncHook with its counters, for stats. */
export interface Syncer extends SyncHook {
  /** Exchanges now, whether due or not (still one at a time); resolves when done, never rejects. */
  syncNow(): Promise<void>
}

/**
 * Connects a governor to a store.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { MemoryStore } from '../store/memory/store.ts'
 * import { createSyncer } from './sync.ts'
 * const governor = createGovernor({ engine: 'ts' })
 * const sync = createSyncer({ governor, store: new MemoryStore() })
 * const pending = sync.maybeSync() // after a request; hand it to ctx.waitUntil
 * if (pending) await pending
 * ```
 */
export function createSyncer(options: SyncerOptions): Syncer {
  const { governor, store } = options
  const live = options.config
  // Read per exchange: a live config may change them.
  const sync = () => governor.config.sync
  const intervalMs = () => options.intervalMs ?? sync().intervalMs
  const timeoutMs = () => options.timeoutMs ?? sync().timeoutMs
  const clock = options.clock ?? Date.now
  const timers = options.timers ?? GLOBAL_TIMERS
  governor.enableExchange()
  const status: SyncStatus = initialSyncStatus(
    store.kind,
    options.isolateId ?? crypto.randomUUID(),
    live?.version() ?? 0,
  )
  governor.useLeaseStore(store, status.isolateId, timeoutMs())
  let lastAttemptMs = -Infinity
  const createdMs = clock()
  // The heartbeat's phase comes from the isolate id: a fleet's heartbeats spread over the period
  // as if its isolates had started at different times, instead of all falling due together.
  let lastBeatMs = clock() - phaseOf(status.isolateId) * sync().heartbeatMs
  // After an early (news) exchange the next needs twice the samples, until a routine one; a
  // teller of a large fleet tells a change once (docs/sync.md, "Streaks").
  let newsNeed = 1
  let lastNewsWorse: boolean | undefined
  let probing = false
  // Whether the last news was told as one of a sample of a large fleet (teller chance below 1).
  let sampled = false
  // When this isolate first found news it will tell (its report waits its turn in the spread).
  let newsAtMs: number | undefined
  // When a teller of news hears back if it completed nothing since: one spread after its report,
  // the other tellers of the same change have reached the store (docs/sync.md, "The echo").
  let echoAtMs: number | undefined
  const echoDue = (now: number): boolean =>
    echoAtMs !== undefined && now >= echoAtMs && governor.pendingRoutes() > 0
  // Consecutive failures: each doubles the wait before the next attempt, up to 64 intervals (16 s
  // at the default): a store that is down is not asked by every isolate every interval, and one
  // that is back is heard from again within seconds.
  let failed = 0
  let running: Promise<void> | null = null

  const due = (now: number): ExchangeKind | null => {
    const pending = governor.pendingSamples()
    // An isolate whose routes shed everything completes nothing, so nothing below would make it
    // talk: after telling news it hears back once on its requests alone (the echo, docs/sync.md).
    if (pending === 0) return echoDue(now) ? 'echo' : null
    const s = sync()
    // The threshold varies by ±25% from one exchange to the next (a hash of the isolate and its
    // exchange count, so replayable): a fleet started together would otherwise reach it together.
    const draw = phaseOf(`${status.isolateId}:${status.exchanges}`)
    if (pending >= Math.round(s.samplesPerExchange * (0.75 + 0.5 * draw))) return 'samples'
    if (now - lastBeatMs >= s.heartbeatMs) return 'heartbeat'
    // The first word: an isolate that has never heard the store does not know its share of the
    // route's traffic, so its local limit is the whole capacity (docs/physics.md §13). It asks
    // once it has newsSamples to 4 × newsSamples samples (by its draw): a fleet started together
    // says its first words at about 1 / (2.5 × newsSamples) of its request rate, not all at once.
    if (status.lastOkMs === 0 && status.exchanges === 0) {
      const first = phaseOf(`${status.isolateId}:first`)
      if (pending >= Math.round(s.newsSamples * (1 + FIRST_WORD_SPREAD * first))) return 'first'
    }
    // Errors are news on their evidence alone (one success after nothing but failures is), and
    // so is each probe of a route that sheds defensively; latency and mode need newsSamples.
    // Errors, latency and mode need twice the samples after each news exchange in a row (when
    // this isolate alone sees a fault, the window it hears never catches up with it), until a
    // routine exchange or the heartbeat.
    if (pending >= 1) {
      let news = governor.exchangeNews(1, s.newsSamples)
      // News the other way round (recovery after trouble) starts a new streak.
      if (news !== null && news.reason === 'probes') {
        // Probes are few by construction: each is told, without a streak.
      } else if (news !== null && news.worse !== lastNewsWorse) newsNeed = 1
      else if (pending < newsNeed) news = null
      else if (newsNeed > 1) {
        news = governor.exchangeNews(newsNeed, Math.max(newsNeed, s.newsSamples))
      }
      // An isolate that never heard the store has no baseline to call anything news: its first
      // word is a routine exchange or its heartbeat.
      if (news !== null && news.heardPerS > 0) {
        const spanS = Math.max(intervalMs(), now - Math.max(lastAttemptMs, createdMs)) / 1000
        const share = news.requests / spanS / news.heardPerS
        const chance = NEWS_TELLERS * share
        // In a fleet larger than NEWS_TELLERS the tellers are a sample, and a change the store
        // already has from others is not reported again; in a smaller one every isolate tells,
        // and its news exchanges are how it hears the others' samples while the change lasts.
        if (draw < chance && !(news.told === true && chance < 1)) {
          // The tellers of one change spread their reports by the same draw over up to
          // NEWS_SPREAD_MS, in proportion to how many they are (about min(1 / share,
          // NEWS_TELLERS)), so that they do not all reach the store's key within one second.
          newsAtMs ??= now
          // The spread reads the window over its full 30 s (docs/sync.md, "Spread").
          const windowShare = news.requests / spanS / (news.windowPerS || news.heardPerS)
          const tellers = Math.min(1 / Math.max(windowShare, 1e-9), NEWS_TELLERS)
          const spreadMs = (NEWS_SPREAD_MS * tellers) / NEWS_TELLERS
          if (now - newsAtMs >= (draw / Math.min(1, chance)) * spreadMs) {
            if (news.reason !== 'probes') lastNewsWorse = news.worse
            probing = news.reason === 'probes'
            sampled = chance < 1
            return 'news'
          }
        }
      }
    }
    return null
  }

  const poll = (started: number): Promise<void> =>
    live === undefined ? Promise.resolve() : withTimeout(
      live.poll({ isolateId: status.isolateId, syncDegraded: status.degraded }, started),
      timeoutMs(),
      'Config poll',
      timers,
    ).then(
      () => {
        status.configError = live.lastError()
      },
      (error) => {
        status.configError = describe(error)
      },
    ).finally(() => {
      status.configVersion = live.version()
    })

  const exchange = async (kind: ExchangeKind): Promise<void> => {
    const started = clock()
    lastAttemptMs = started
    status.exchanges++
    const s = sync()
    if (kind === 'news' && !probing) {
      // One of a sample of a large fleet: its reports cannot move the window, the others tell.
      newsNeed = sampled ? s.samplesPerExchange : Math.min(2 * newsNeed, s.samplesPerExchange)
    } else if (kind !== 'news' && kind !== 'echo') newsNeed = 1
    // A teller of news may hear the store before the other tellers of the same change reported
    // (they spread their reports over NEWS_SPREAD_MS). With samples coming in, its next routine or
    // news exchange hears them; a teller that then sheds everything has none, so it hears back
    // once, one spread later, on its requests alone, unless another exchange comes first. Probes
    // are told one by one and need no echo.
    echoAtMs = kind === 'news' && !probing
      ? started + Math.max(NEWS_SPREAD_MS, intervalMs())
      : undefined
    // Without the version in the exchange's answer, the first exchange polls too: a new isolate
    // learns which config runs with its first word to the store.
    const beat = kind === 'heartbeat' || kind === 'now' ||
      (!status.configHeard && store.carriesConfigVersion !== true)
    if (beat) lastBeatMs = started
    newsAtMs = undefined
    const deltas = governor.takeDeltas()
    // A heartbeat's poll goes beside the exchange, not after it: one waitUntil, and neither
    // waits on the other's failure. Otherwise the exchange's answer says whether to poll.
    const polled = beat ? poll(started) : undefined
    if (beat) status.configHeard = true
    let after: Promise<void> | undefined
    // Aborted at the timeout, so a store that can cancel its requests does not pile them up.
    const abort = new AbortController()
    let result: ExchangeResult | undefined
    try {
      try {
        result = await withTimeout(
          store.exchange(status.isolateId, deltas, started, abort.signal),
          timeoutMs(),
          'Store exchange',
          timers,
        )
        // An answer of the wrong shape is refused before it touches any state.
        const problem = exchangeResultProblem(result, deltas.map((d) => d.route))
        if (problem !== null) throw new MalformedAnswerError(problem)
      } catch (error) {
        abort.abort()
        result = undefined
        if (error instanceof TimeoutError) {
          // Unknown outcome: the store may still apply it. Sending the deltas again would count
          // them twice, and again after every further timeout, so they are dropped (at most once).
          status.timeouts++
        } else if (!(error instanceof MalformedAnswerError)) {
          // The store refused: send the deltas again with the next exchange (at least once). A
          // malformed answer came from a store that may have applied them: dropped, as above.
          governor.returnDeltas(deltas)
        }
        failed++
        status.failures++
        status.degraded = true
        status.lastError = describe(error)
        governor.setStoreDegraded(true)
      }
      // Outside the try that gives deltas back: a throw here must not send them twice.
      if (result !== undefined) {
        const failedRoutes = result.failed ?? []
        if (failedRoutes.length > 0) {
          // Partly taken: only the failed routes' deltas go again, never the others'.
          governor.returnDeltas(deltas.filter((d) => failedRoutes.includes(d.route)))
          status.failures++
          status.lastError =
            `Store exchange failed for ${failedRoutes.length} of ${deltas.length} routes`
        }
        try {
          governor.applyExchange(result)
          status.degraded = false
          status.lastOkMs = clock()
          failed = 0
          governor.setStoreDegraded(false)
        } catch (error) {
          // The deltas reached the store: they are not sent again.
          status.failures++
          status.lastError = describe(error)
        }
        if (
          !beat && live !== undefined && store.carriesConfigVersion === true &&
          result.configVersion !== live.version()
        ) {
          after = poll(started)
        }
      }
    } finally {
      status.lastLatencyMs = clock() - started
      await polled
      await after
      running = null
    }
  }

  return {
    maybeSync(): Promise<void> | null {
      if (running !== null) return null
      const now = clock()
      // A clock that stepped back would otherwise hold sync off until it caught up (L12).
      if (now < lastAttemptMs) lastAttemptMs = -Infinity
      const wait = failed === 0
        ? intervalMs()
        : Math.min(intervalMs() * 2 ** Math.min(failed, MAX_BACKOFF_DOUBLINGS), sync().heartbeatMs)
      if (now - lastAttemptMs < wait) return null
      const kind = due(now)
      if (kind === null) return null
      status.lastKind = kind
      running = exchange(kind)
      return running
    },
    syncNow(): Promise<void> {
      if (running !== null) return running
      status.lastKind = 'now'
      running = exchange('now')
      return running
    },
    status(): SyncStatus {
      if (live !== undefined) status.configVersion = live.version()
      return { ...status }
    },
  }
}

/**
 * How many isolates are expected to report news that the whole fleet sees (docs/sync.md): enough
 * reports to carry the change, few enough that a fleet of thousands stays within the store's
 * budget per key.
 */
export const NEWS_TELLERS = 32

/** Over how long the reports of one change are spread, ms (with NEWS_TELLERS: ≤ 16 per second). */
export const NEWS_SPREAD_MS = 2000

/**
 * The first word of an isolate comes after newsSamples × (1 + FIRST_WORD_SPREAD × draw) samples:
 * spread over four times newsSamples.
 */
export const FIRST_WORD_SPREAD = 3

/** A failing store is retried after at most 2^6 = 64 intervals. */
const MAX_BACKOFF_DOUBLINGS = 6

/** Why an exchange was sent (docs/sync.md, "When an isolate talks"); `now` is `syncNow`. */
export type ExchangeKind = 'samples' | 'news' | 'echo' | 'first' | 'heartbeat' | 'now'

/** A number in [0, 1) from a string (FNV-1a), the same for the same string everywhere. */
export function phaseOf(id: string): number {
  let h = 0x811c9dc5
  for (let i = 0; i < id.length; i++) {
    h ^= id.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  return (h >>> 0) / 0x100000000
}

/** A store answer that is not an exchange result. */
class MalformedAnswerError extends Error {
  constructor(problem: string) {
    super(`Store answered an exchange with a malformed result: ${problem}`)
    this.name = 'MalformedAnswerError'
  }
}

/** An error's message without anything that looks like a credential. */
function describe(error: unknown): string {
  const message = error instanceof Error ? `${error.name}: ${error.message}` : String(error)
  return message.replace(/(Bearer\s+|token=)[^\s&"']+/gi, '$1[redacted]').slice(0, 500)
}
