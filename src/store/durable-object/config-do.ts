/**
 * `ConfigDO`: the Durable Object that holds uploaded configs and the isolate registry for the
 * Durable Object config store. One instance per deployment (`idFromName('config')`), SQLite
 * storage; it follows the memory config store (src/store/memory/config.ts) rule for rule.
 *
 * @module
 */

import { DurableObject } from 'cloudflare:workers'
import {
  cleanIsolateInfo,
  CONFIG_HISTORY_LIMIT,
  type HeartbeatResult,
  historyLimit,
  ISOLATE_TTL_MS,
  type IsolateInfo,
} from '../../contract/config-store.ts'
import type { ConfigRpc, StoredRecord } from './config.ts'

const SCHEMA = [
  'CREATE TABLE IF NOT EXISTS versions (version INTEGER PRIMARY KEY, config TEXT NOT NULL, ' +
  'updated_at REAL NOT NULL)',
  'CREATE TABLE IF NOT EXISTS isolates (isolate_id TEXT PRIMARY KEY, config_version INTEGER ' +
  'NOT NULL, last_seen REAL NOT NULL, degraded INTEGER NOT NULL)',
]

type VersionRow = { version: number; config: string; updated_at: number }
type IsolateRow = {
  isolate_id: string
  config_version: number
  last_seen: number
  degraded: number
}

/**
 * Versions and isolates of one deployment, in SQLite storage; reached over RPC by
 * `DurableObjectConfigStore`. Each method does its storage work synchronously before any
 * `await`, so concurrent uploads from many isolates serialise here: compare-and-set is exact.
 *
 * @example Binding it (wrangler.toml)
 * ```toml
 * [[durable_objects.bindings]]
 * name = "CONFIG_STORE"
 * class_name = "ConfigDO"
 *
 * [[migrations]]
 * tag = "v2"
 * new_sqlite_classes = ["ConfigDO"]
 * ```
 */
export class ConfigDO extends DurableObject<Env> implements ConfigRpc {
  // A heap cache only: the object is evicted when idle, the schema is in storage.
  private schemaReady = false

  /** The newest record; null before the first upload. */
  // deno-lint-ignore require-await -- async so that a refusal reaches the caller as a rejection
  async current(): Promise<StoredRecord | null> {
    this.ensureSchema()
    const row = this.ctx.storage.sql.exec<VersionRow>(
      'SELECT version, config, updated_at FROM versions ORDER BY version DESC LIMIT 1',
    ).toArray()[0]
    return row === undefined ? null : stored(row)
  }

  /**
   * Stores `configJson` as the next version unless `expectedVersion` (≥ 0) differs from the
   * current one; -1 means unconditional.
   * @throws {TypeError} If the config is not JSON text or `nowMs` is not finite.
   */
  // deno-lint-ignore require-await -- async so that a refusal reaches the caller as a rejection
  async put(
    configJson: string,
    nowMs: number,
    expectedVersion: number,
  ): Promise<{ ok: true; record: StoredRecord } | { ok: false; currentVersion: number }> {
    if (typeof configJson !== 'string') throw new TypeError('Cannot store: config is not text')
    JSON.parse(configJson) // refuse what could never be read back
    if (!Number.isFinite(nowMs)) throw new TypeError('Cannot store: nowMs is not finite')
    this.ensureSchema()
    const sql = this.ctx.storage.sql
    return this.ctx.storage.transactionSync(() => {
      const current = this.version()
      if (expectedVersion >= 0 && expectedVersion !== current) {
        return { ok: false as const, currentVersion: current }
      }
      const version = current + 1
      sql.exec(
        'INSERT INTO versions (version, config, updated_at) VALUES (?, ?, ?)',
        version,
        configJson,
        nowMs,
      )
      sql.exec('DELETE FROM versions WHERE version <= ?', version - CONFIG_HISTORY_LIMIT)
      return { ok: true as const, record: { version, config: configJson, updatedAt: nowMs } }
    })
  }

  /** The newest `limit` records, newest first. */
  // deno-lint-ignore require-await -- async so that a refusal reaches the caller as a rejection
  async history(limit: number): Promise<StoredRecord[]> {
    this.ensureSchema()
    const rows = this.ctx.storage.sql.exec<VersionRow>(
      'SELECT version, config, updated_at FROM versions ORDER BY version DESC LIMIT ?',
      historyLimit(limit),
    ).toArray()
    return rows.map(stored)
  }

  /**
   * Records an isolate's heartbeat and answers with the current version and every live isolate.
   * @throws {RangeError} If the record has no valid id.
   */
  // deno-lint-ignore require-await -- async so that a refusal reaches the caller as a rejection
  async heartbeat(info: IsolateInfo, nowMs: number): Promise<HeartbeatResult> {
    const clean = cleanIsolateInfo(info)
    if (clean === null) throw new RangeError('Cannot record an isolate without a valid isolateId')
    if (!Number.isFinite(nowMs)) throw new TypeError('Cannot record: nowMs is not finite')
    this.ensureSchema()
    return this.ctx.storage.transactionSync(() => {
      this.ctx.storage.sql.exec(
        'INSERT INTO isolates (isolate_id, config_version, last_seen, degraded) VALUES ' +
          '(?, ?, ?, ?) ON CONFLICT (isolate_id) DO UPDATE SET config_version = ' +
          'excluded.config_version, last_seen = excluded.last_seen, degraded = excluded.degraded',
        clean.isolateId,
        clean.configVersion,
        nowMs,
        clean.syncDegraded ? 1 : 0,
      )
      return { version: this.version(), isolates: this.live(nowMs) }
    })
  }

  /** Every isolate heard from within `ISOLATE_TTL_MS`, sorted by id. */
  // deno-lint-ignore require-await -- async so that a refusal reaches the caller as a rejection
  async isolates(nowMs: number): Promise<IsolateInfo[]> {
    if (!Number.isFinite(nowMs)) throw new TypeError('Cannot list: nowMs is not finite')
    this.ensureSchema()
    return this.ctx.storage.transactionSync(() => this.live(nowMs))
  }

  private version(): number {
    const row = this.ctx.storage.sql.exec<{ v: number | null }>(
      'SELECT MAX(version) AS v FROM versions',
    ).one()
    return row.v ?? 0
  }

  private live(nowMs: number): IsolateInfo[] {
    const sql = this.ctx.storage.sql
    sql.exec('DELETE FROM isolates WHERE last_seen + ? <= ?', ISOLATE_TTL_MS, nowMs)
    return sql.exec<IsolateRow>(
      'SELECT isolate_id, config_version, last_seen, degraded FROM isolates ORDER BY isolate_id',
    ).toArray().map((row) => ({
      isolateId: row.isolate_id,
      configVersion: row.config_version,
      lastSeenMs: row.last_seen,
      syncDegraded: row.degraded === 1,
    }))
  }

  private ensureSchema(): void {
    if (this.schemaReady) return
    for (const statement of SCHEMA) this.ctx.storage.sql.exec(statement)
    this.schemaReady = true
  }
}

function stored(row: VersionRow): StoredRecord {
  return { version: row.version, config: row.config, updatedAt: row.updated_at }
}
