/**
 * What the HTTP layer needs from the exchange: a hook to call after each request. Implemented by
 * `createSyncer` (src/governor/sync.ts).
 *
 * @module
 */

/** Health of an isolate's exchange with the store. */
export interface SyncStatus {
  /** The store's kind (`TelemetryStore.kind`), or "none" without a store. */
  store: string
  isolateId: string
  /** True while the last exchange failed or timed out. */
  degraded: boolean
  /** Clock time of the last successful exchange, ms; 0 before the first. */
  lastOkMs: number
  /** Exchanges attempted, and how many failed. */
  exchanges: number
  failures: number
  /**
   * Exchanges that timed out: their outcome is unknown (the store may have applied them), so
   * their deltas are not sent again. Counted so the loss is visible.
   */
  timeouts: number
  /** The last failure's message (never contains credentials). */
  lastError: string | null
  /** Duration of the last exchange, ms. */
  lastLatencyMs: number
  /** The config version this isolate runs; 0 is the deployed config (docs/operations.md). */
  configVersion: number
  /**
   * Why the last config poll failed or the store's version was not applied; null when it
   * worked. The isolate keeps the config it runs.
   */
  configError: string | null
  /**
   * Why the last exchange was sent: enough samples, news, the heartbeat, or a forced `syncNow`;
   * null before the first.
   */
  lastKind: 'samples' | 'news' | 'heartbeat' | 'now' | null
  /** True once a config poll has been sent (the first exchange always sends one). */
  configHeard: boolean
}

/**
 * The status of an isolate that has not exchanged yet (or never will: `store: "none"`).
 *
 * @param store Where shared state lives.
 * @param isolateId The isolate's id.
 * @param configVersion The config version it runs.
 * @returns A status with every count at zero and no error.
 *
 * @example Usage
 * ```ts
 * import { initialSyncStatus } from './sync-types.ts'
 * const status = initialSyncStatus('none', 'local')
 * if (status.degraded || status.exchanges !== 0) throw new Error('fresh')
 * ```
 */
export function initialSyncStatus(
  store: SyncStatus['store'],
  isolateId: string,
  configVersion = 0,
): SyncStatus {
  return {
    store,
    isolateId,
    degraded: false,
    lastOkMs: 0,
    exchanges: 0,
    failures: 0,
    timeouts: 0,
    lastError: null,
    lastLatencyMs: 0,
    configVersion,
    configError: null,
    lastKind: null,
    configHeard: false,
  }
}

/** The hook the middleware calls after each request. */
export interface SyncHook {
  /**
   * Starts an exchange if one is due (at most one per interval, one at a time) and returns its
   * promise, which never rejects: pass it to `waitUntil`. Returns null when none is due.
   */
  maybeSync(): Promise<void> | null
  status(): SyncStatus
}
