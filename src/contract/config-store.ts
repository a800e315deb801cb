/**
 * The `ConfigStore` contract: where uploaded edge configs live, versioned, and where isolates
 * report which version they run. Beside the `TelemetryStore` (src/contract/telemetry-store.ts),
 * with the same backends (src/store/<backend>/). docs/operations.md and docs/sync.md. Imports
 * nothing of ours.
 *
 * Versions are whole numbers that only grow. Version 0 is the deployed config (`RHEOSTAT_CONFIG`)
 * and is never stored: a store that holds nothing answers `current()` with null. Uploads get
 * 1, 2, …; a rollback is an upload of an old config, so it gets a new number too.
 *
 * @module
 */

/**
 * One isolate as the control plane last heard of it (stats, metrics and the dashboard list every
 * live isolate and the config version it runs).
 */
export interface IsolateInfo {
  isolateId: string
  /** The config version the isolate runs; 0 is the deployed config, before any upload. */
  configVersion: number
  /** Clock time the isolate last reported, ms. */
  lastSeenMs: number
  /** True while that isolate's exchanges with the store fail. */
  syncDegraded: boolean
}

/** Uploaded versions a store keeps; older ones are dropped as new ones arrive. */
export const CONFIG_HISTORY_LIMIT = 20

/**
 * How long an isolate counts as live after its last heartbeat, ms: two and a half of the longest
 * heartbeat period (`sync.heartbeatMs`, at most 10 minutes), so a live isolate never drops out
 * between two heartbeats, one of which may fail (docs/sync.md).
 */
export const ISOLATE_TTL_MS = 1_500_000

/** Largest isolate id a store accepts, characters. */
export const MAX_ISOLATE_ID_LENGTH = 512

/** One uploaded config. */
export interface ConfigRecord {
  /** 1, 2, … in upload order. */
  version: number
  /** The config as uploaded (JSON, before defaults are filled in). */
  config: unknown
  /** Clock time of the upload, ms. */
  updatedAt: number
}

/** The outcome of `put`: the new record, or the version that made the compare-and-set fail. */
export type ConfigPutResult =
  | { ok: true; record: ConfigRecord }
  | { ok: false; currentVersion: number }

/** What a heartbeat answers: the newest version and every live isolate. */
export interface HeartbeatResult {
  /** The store's current version; 0 before the first upload. */
  version: number
  /** Isolates heard from within `ISOLATE_TTL_MS`, this one included, sorted by id. */
  isolates: IsolateInfo[]
}

/** Versioned configs and the isolate registry. Every method may reject; callers must cope. */
export interface ConfigStore {
  /** The backend's name, as `sync.store` names it (src/store/backends.ts). */
  readonly kind: string
  /** The newest upload; null while the deployed config (version 0) is in force. */
  current(): Promise<ConfigRecord | null>
  /**
   * Stores `config` as the next version.
   * @param config The config, a JSON value already validated by the caller.
   * @param nowMs The caller's clock: the record's `updatedAt`.
   * @param expectedVersion Compare-and-set: refused unless the current version is this one
   * (0 = nothing uploaded yet). Absent: unconditional.
   */
  put(config: unknown, nowMs: number, expectedVersion?: number): Promise<ConfigPutResult>
  /** The newest `limit` uploads, newest first (at most `CONFIG_HISTORY_LIMIT`). */
  history(limit: number): Promise<ConfigRecord[]>
  /**
   * Records that an isolate is alive and which version it runs (kept for `ISOLATE_TTL_MS`,
   * by the caller's clock) and answers with the current version and every live isolate.
   */
  heartbeat(info: IsolateInfo, nowMs: number): Promise<HeartbeatResult>
  /** Every isolate heard from within `ISOLATE_TTL_MS` of `nowMs`, sorted by id. */
  isolates(nowMs: number): Promise<IsolateInfo[]>
}

/**
 * An isolate record from the network, made safe: a non-empty id of bounded length, a whole
 * version ≥ 0, a finite time. Null when it cannot be repaired.
 */
export function cleanIsolateInfo(input: unknown): IsolateInfo | null {
  if (typeof input !== 'object' || input === null) return null
  const i = input as Partial<IsolateInfo>
  if (typeof i.isolateId !== 'string' || i.isolateId === '') return null
  if (i.isolateId.length > MAX_ISOLATE_ID_LENGTH) return null
  const version = Number.isInteger(i.configVersion) && (i.configVersion as number) >= 0
    ? i.configVersion as number
    : 0
  const lastSeenMs = typeof i.lastSeenMs === 'number' && Number.isFinite(i.lastSeenMs)
    ? i.lastSeenMs
    : 0
  return {
    isolateId: i.isolateId,
    configVersion: version,
    lastSeenMs,
    syncDegraded: i.syncDegraded === true,
  }
}

/** A history limit made safe: a whole number in 1..CONFIG_HISTORY_LIMIT. */
export function historyLimit(limit: number): number {
  if (!Number.isFinite(limit)) return CONFIG_HISTORY_LIMIT
  return Math.min(Math.max(Math.floor(limit), 1), CONFIG_HISTORY_LIMIT)
}
