/**
 * The exchange loop of one isolate, driven by requests: at most one store round trip per sync
 * interval, never awaited on a request's path, never failing a request. docs/sync.md.
 *
 * @module
 */

import { type ExchangeResult, exchangeResultProblem, type TelemetryStore } from '../store/types.ts'
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
   * The isolate's live config: with it, each exchange also sends a heartbeat to the config store
   * and applies a newer version it finds (docs/sync.md).
   * @default none: the config never changes
   */
  config?: LiveConfig | undefined
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
 * import { MemoryStore } from '../store/memory.ts'
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
  const intervalMs = () => options.intervalMs ?? governor.config.sync.intervalMs
  const timeoutMs = () => options.timeoutMs ?? governor.config.sync.timeoutMs
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
  let running: Promise<void> | null = null

  const exchange = async (): Promise<void> => {
    const started = clock()
    lastAttemptMs = started
    status.exchanges++
    const deltas = governor.takeDeltas()
    // Beside the exchange, not after it: one waitUntil, and neither waits on the other's failure.
    const polled = live === undefined ? undefined : withTimeout(
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
        status.failures++
        status.degraded = true
        status.lastError = describe(error)
        governor.setStoreDegraded(true)
      }
      // Outside the try that gives deltas back: a throw here must not send them twice.
      if (result !== undefined) {
        const failed = result.failed ?? []
        if (failed.length > 0) {
          // Partly taken: only the failed routes' deltas go again, never the others'.
          governor.returnDeltas(deltas.filter((d) => failed.includes(d.route)))
          status.failures++
          status.lastError = `Store exchange failed for ${failed.length} of ${deltas.length} routes`
        }
        try {
          governor.applyExchange(result)
          status.degraded = false
          status.lastOkMs = clock()
          governor.setStoreDegraded(false)
        } catch (error) {
          // The deltas reached the store: they are not sent again.
          status.failures++
          status.lastError = describe(error)
        }
      }
    } finally {
      status.lastLatencyMs = clock() - started
      await polled
      running = null
    }
  }

  return {
    maybeSync(): Promise<void> | null {
      if (running !== null) return null
      const now = clock()
      // A clock that stepped back would otherwise hold sync off until it caught up (L12).
      if (now < lastAttemptMs) lastAttemptMs = -Infinity
      if (now - lastAttemptMs < intervalMs()) return null
      running = exchange()
      return running
    },
    syncNow(): Promise<void> {
      if (running !== null) return running
      running = exchange()
      return running
    },
    status(): SyncStatus {
      if (live !== undefined) status.configVersion = live.version()
      return { ...status }
    },
  }
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
