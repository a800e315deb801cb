/**
 * `RouteStateDO`: the Durable Object that holds one route's shared state for the Durable Object
 * store. It follows the memory store (src/store/memory/store.ts) rule for rule: same buckets keyed by
 * the caller's clock, same gauges, same leases, same pruning on every view.
 *
 * @module
 */

import { DurableObject } from 'cloudflare:workers'
import {
  cleanDelta,
  COUNT_FIELDS,
  type Counts,
  emptyView,
  HISTOGRAM_BUCKETS,
  INFLIGHT_TTL_MS,
  type LeaseGrant,
  type RouteDelta,
  type RouteView,
  WINDOW_S,
  zeroCounts,
} from '../../contract/telemetry-store.ts'
import { CONFIG_OBJECT_NAME, type ConfigNamespace } from './config.ts'
import type { RouteStateRpc } from './store.ts'

/**
 * How long a route's object answers the config version it last read from the config object, ms:
 * however many isolates exchange, the config object hears from each route's object at most once
 * a second (docs/sync.md, "Config versions").
 */
export const CONFIG_VERSION_CACHE_MS = 1000

/** Longest isolate or lease id accepted, characters (the same cap `cleanDelta` puts on routes). */
const MAX_ID_LENGTH = 512

const COUNT_COLUMNS = COUNT_FIELDS.map((f) => f.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`))
const HISTOGRAM_COLUMNS = Array.from({ length: HISTOGRAM_BUCKETS }, (_, i) => `h${i}`)
const BUCKET_COLUMNS = [...COUNT_COLUMNS, ...HISTOGRAM_COLUMNS]
// REAL, not INTEGER: SQLite then stores exactly the float64 the memory store would add up, and
// hands back plain numbers whatever the magnitude.
const real = (column: string) => `${column} REAL NOT NULL DEFAULT 0`

// One wide row per bucket rather than a row per histogram slot: Durable Object SQLite is billed
// by rows read and written. Changing HISTOGRAM_BOUNDS_MS therefore needs a migration here.
const SCHEMA = [
  `CREATE TABLE IF NOT EXISTS totals (id INTEGER PRIMARY KEY CHECK (id = 1), ${
    COUNT_COLUMNS.map(real).join(', ')
  })`,
  'INSERT OR IGNORE INTO totals (id) VALUES (1)',
  `CREATE TABLE IF NOT EXISTS buckets (second INTEGER PRIMARY KEY, ${
    BUCKET_COLUMNS.map(real).join(', ')
  })`,
  'CREATE TABLE IF NOT EXISTS gauges (isolate_id TEXT PRIMARY KEY, inflight REAL NOT NULL, ' +
  'at_ms REAL NOT NULL)',
  'CREATE TABLE IF NOT EXISTS leases (lease_id TEXT PRIMARY KEY, expires_at REAL NOT NULL)',
]

const ADD_TOTALS = `UPDATE totals SET ${
  COUNT_COLUMNS.map((c) => `${c} = ${c} + ?`).join(', ')
} WHERE id = 1`
const ADD_BUCKET = `INSERT INTO buckets (second, ${BUCKET_COLUMNS.join(', ')}) VALUES (?${
  ', ?'.repeat(BUCKET_COLUMNS.length)
}) ON CONFLICT (second) DO UPDATE SET ${
  BUCKET_COLUMNS.map((c) => `${c} = ${c} + excluded.${c}`).join(', ')
}`
const SET_GAUGE = 'INSERT INTO gauges (isolate_id, inflight, at_ms) VALUES (?, ?, ?) ' +
  'ON CONFLICT (isolate_id) DO UPDATE SET inflight = excluded.inflight, at_ms = excluded.at_ms'
const READ_TOTALS = `SELECT ${COUNT_COLUMNS.join(', ')} FROM totals WHERE id = 1`
// TOTAL(), not SUM(): it answers 0.0 on an empty window instead of NULL.
const READ_WINDOW = `SELECT ${BUCKET_COLUMNS.map((c) => `TOTAL(${c})`).join(', ')} FROM buckets`
const READ_GAUGES = 'SELECT TOTAL(inflight), COUNT(*) FROM gauges'
const COUNT_LEASES = 'SELECT COUNT(*) FROM leases'
const COUNT_EXPIRING = 'SELECT (SELECT COUNT(*) FROM buckets) + (SELECT COUNT(*) FROM gauges) + ' +
  '(SELECT COUNT(*) FROM leases)'

/**
 * One route's shared state: cumulative totals, 1-second buckets, isolate gauges and leases, all
 * in the object's SQLite storage. Reached over RPC by `DurableObjectStore`.
 *
 * Every method does its storage work synchronously, inside one `transactionSync`, before its first
 * `await`: a Durable Object runs one event at a time between awaits, so concurrent exchanges from
 * many isolates serialise here and none is lost.
 *
 * @example Binding it (wrangler.toml)
 * ```toml
 * [[durable_objects.bindings]]
 * name = "ROUTE_STATE"
 * class_name = "RouteStateDO"
 *
 * [[migrations]]
 * tag = "v1"
 * new_sqlite_classes = ["RouteStateDO"]
 * ```
 */
export class RouteStateDO extends DurableObject<Env> implements RouteStateRpc {
  // Heap caches only, rebuilt after eviction: the object is evicted after ~10 s idle, so
  // nothing here may be the only copy of anything.
  private schemaReady = false
  /** The alarm time set in storage; undefined until read once since the object started. */
  private alarmAtMs: number | null | undefined = undefined
  /** The config version last read from the config object, and when (the object's clock). */
  private configCache: { version: number; atMs: number } | undefined = undefined

  /**
   * Adds an isolate's deltas for this route, in order.
   * @param isolateId The sending isolate; its in-flight gauge is replaced.
   * @param deltas Deltas of this object's route; `cleanDelta` drops or repairs bad ones.
   * @param nowMs The caller's clock: buckets and gauges are keyed by it.
   * @returns One view per delta kept, each taken right after that delta was added.
   * @throws {TypeError} If `isolateId` or `nowMs` is malformed, or `deltas` is not an array.
   * @throws {Error} If a delta names another route than the object's.
   */
  async exchange(isolateId: string, deltas: RouteDelta[], nowMs: number): Promise<RouteView[]> {
    checkId('isolateId', isolateId)
    checkFinite('nowMs', nowMs)
    if (!Array.isArray(deltas)) throw new TypeError('Cannot exchange: deltas is not an array')
    const kept: RouteDelta[] = []
    for (const raw of deltas) {
      const delta = cleanDelta(raw)
      if (delta === null) continue
      this.checkRoute(delta.route)
      kept.push(delta)
    }
    if (kept.length === 0) return []
    this.ensureSchema()
    const sql = this.ctx.storage.sql
    const second = Math.floor(nowMs / 1000)
    const views = this.ctx.storage.transactionSync(() =>
      kept.map((delta) => {
        const counts = COUNT_FIELDS.map((f) => delta.counts[f])
        sql.exec(ADD_TOTALS, ...counts)
        sql.exec(ADD_BUCKET, second, ...counts, ...delta.histogram)
        sql.exec(SET_GAUGE, isolateId, delta.inflight, nowMs)
        return this.view(delta.route, nowMs)
      })
    )
    await this.ensureAlarm()
    return views
  }

  /**
   * `exchange`, and the config store's current version in the same answer: read from the
   * `CONFIG_STORE` object (`ConfigDO`) at most once per `CONFIG_VERSION_CACHE_MS`, so isolates
   * learn of an upload without polling the config object themselves. The version is null when
   * the Worker has no `CONFIG_STORE` binding or the config object fails (the exchange stands).
   * @throws As `exchange`.
   */
  async exchangeWithConfig(
    isolateId: string,
    deltas: RouteDelta[],
    nowMs: number,
  ): Promise<{ views: RouteView[]; configVersion: number | null }> {
    const views = await this.exchange(isolateId, deltas, nowMs)
    return { views, configVersion: await this.configVersion() }
  }

  private async configVersion(): Promise<number | null> {
    const namespace = (this.env as { CONFIG_STORE?: ConfigNamespace } | undefined)?.CONFIG_STORE
    if (namespace === undefined) return null
    // The object's own clock: the cache is about load on the config object, not about the
    // callers' time.
    const now = Date.now()
    const cached = this.configCache
    if (cached !== undefined && now - cached.atMs < CONFIG_VERSION_CACHE_MS) return cached.version
    try {
      const record = await namespace.get(namespace.idFromName(CONFIG_OBJECT_NAME)).current()
      const version = record?.version ?? 0
      this.configCache = { version, atMs: now }
      return version
    } catch {
      return null
    }
  }

  /**
   * Grants a lease unless `maxActive` leases are already active; re-acquiring a held lease renews
   * it.
   * @throws {TypeError} If an id or number is malformed.
   */
  async acquireLease(
    leaseId: string,
    ttlMs: number,
    maxActive: number,
    nowMs: number,
  ): Promise<LeaseGrant> {
    checkId('leaseId', leaseId)
    checkFinite('ttlMs', ttlMs)
    checkFinite('nowMs', nowMs)
    if (typeof maxActive !== 'number' || Number.isNaN(maxActive)) {
      throw new TypeError(`Cannot use maxActive "${String(maxActive)}": not a number`)
    }
    this.ensureSchema()
    const sql = this.ctx.storage.sql
    const grant = this.ctx.storage.transactionSync((): LeaseGrant => {
      this.pruneLeases(nowMs)
      const active = countOf(sql.exec(COUNT_LEASES))
      const held = sql.exec('SELECT 1 FROM leases WHERE lease_id = ?', leaseId).toArray().length > 0
      if (!held && active >= maxActive) return { granted: false, active, expiresAt: 0 }
      const expiresAt = nowMs + ttlMs
      sql.exec(
        'INSERT INTO leases (lease_id, expires_at) VALUES (?, ?) ' +
          'ON CONFLICT (lease_id) DO UPDATE SET expires_at = excluded.expires_at',
        leaseId,
        expiresAt,
      )
      return { granted: true, active: held ? active : active + 1, expiresAt }
    })
    if (grant.granted) await this.ensureAlarm()
    return grant
  }

  /**
   * Extends an active lease to `nowMs + ttlMs`.
   * @returns false when the lease is unknown or expired.
   * @throws {TypeError} If an id or number is malformed.
   */
  async heartbeatLease(leaseId: string, ttlMs: number, nowMs: number): Promise<boolean> {
    checkId('leaseId', leaseId)
    checkFinite('ttlMs', ttlMs)
    checkFinite('nowMs', nowMs)
    if (!this.hasSchema()) return false
    const sql = this.ctx.storage.sql
    const extended = this.ctx.storage.transactionSync(() => {
      this.pruneLeases(nowMs)
      return sql.exec(
        'UPDATE leases SET expires_at = ? WHERE lease_id = ? RETURNING lease_id',
        nowMs + ttlMs,
        leaseId,
      ).toArray().length > 0
    })
    if (extended) await this.ensureAlarm()
    return extended
  }

  /**
   * Ends a lease.
   * @returns false when the lease was unknown or expired.
   * @throws {TypeError} If the id or `nowMs` is malformed.
   */
  // deno-lint-ignore require-await -- async so that a validation error rejects, as RPC callers expect
  async releaseLease(leaseId: string, nowMs: number): Promise<boolean> {
    checkId('leaseId', leaseId)
    checkFinite('nowMs', nowMs)
    if (!this.hasSchema()) return false
    const sql = this.ctx.storage.sql
    return this.ctx.storage.transactionSync(() => {
      this.pruneLeases(nowMs)
      return sql.exec('DELETE FROM leases WHERE lease_id = ? RETURNING lease_id', leaseId)
        .toArray().length > 0
    })
  }

  /**
   * The view of this route without adding anything (it still prunes what has expired, as the
   * memory store does).
   * @throws {TypeError} If `route` or `nowMs` is malformed.
   * @throws {Error} If `route` is not the object's route.
   */
  // deno-lint-ignore require-await -- async so that a validation error rejects, as RPC callers expect
  async snapshot(route: string, nowMs: number): Promise<RouteView> {
    checkId('route', route)
    checkFinite('nowMs', nowMs)
    this.checkRoute(route)
    if (!this.hasSchema()) return emptyView(route)
    return this.ctx.storage.transactionSync(() => this.view(route, nowMs))
  }

  /**
   * Drops buckets, gauges and leases that have expired by the object's own clock, and schedules
   * the next run while any of them remain. Totals stay.
   */
  override async alarm(): Promise<void> {
    // The alarm that woke us is consumed when this handler returns.
    this.alarmAtMs = null
    if (!this.hasSchema()) return
    const sql = this.ctx.storage.sql
    // Alarms carry no caller clock: real time is the only one here. Callers' clocks are the
    // same machines' clocks in production, so the skew is milliseconds against a 30 s window.
    const nowMs = Date.now()
    const remaining = this.ctx.storage.transactionSync(() => {
      this.pruneBuckets(nowMs)
      this.pruneGauges(nowMs)
      this.pruneLeases(nowMs)
      return countOf(sql.exec(COUNT_EXPIRING))
    })
    if (remaining > 0) await this.ensureAlarm()
  }

  private view(route: string, nowMs: number): RouteView {
    const sql = this.ctx.storage.sql
    this.pruneBuckets(nowMs)
    this.pruneGauges(nowMs)
    this.pruneLeases(nowMs)
    const totals = toCounts(sql.exec(READ_TOTALS).raw().next().value ?? [])
    const windowRow = (sql.exec(READ_WINDOW).raw().next().value ?? []) as number[]
    const gauges = (sql.exec(READ_GAUGES).raw().next().value ?? []) as number[]
    return {
      route,
      totals,
      window: toCounts(windowRow.slice(0, COUNT_COLUMNS.length)),
      histogram: windowRow.slice(COUNT_COLUMNS.length),
      inflight: gauges[0] ?? 0,
      isolates: gauges[1] ?? 0,
      leases: countOf(sql.exec(COUNT_LEASES)),
    }
  }

  // The object's name is its route (`idFromName(route)`): a delta sent to the wrong object would
  // corrupt another route's totals for good. Objects made without a name skip the check.
  private checkRoute(route: string): void {
    const name = this.ctx.id.name
    if (name !== undefined && route !== name) {
      throw new Error(`Cannot use route "${route.slice(0, 64)}" in the object of route "${name}"`)
    }
  }

  private pruneBuckets(nowMs: number): void {
    this.ctx.storage.sql.exec(
      'DELETE FROM buckets WHERE second <= ?',
      Math.floor(nowMs / 1000) - WINDOW_S,
    )
  }

  private pruneGauges(nowMs: number): void {
    // Written as the memory store's test (now - at >= TTL) so both round the same way.
    this.ctx.storage.sql.exec('DELETE FROM gauges WHERE ? - at_ms >= ?', nowMs, INFLIGHT_TTL_MS)
  }

  private pruneLeases(nowMs: number): void {
    this.ctx.storage.sql.exec('DELETE FROM leases WHERE expires_at <= ?', nowMs)
  }

  // Tables are made on the first write, not in the constructor: a snapshot or heartbeat of a
  // route nobody wrote must not leave a stored (and billed) object behind.
  private ensureSchema(): void {
    if (this.schemaReady) return
    const sql = this.ctx.storage.sql
    this.ctx.storage.transactionSync(() => {
      for (const statement of SCHEMA) sql.exec(statement)
    })
    this.schemaReady = true
  }

  private hasSchema(): boolean {
    if (this.schemaReady) return true
    this.schemaReady = this.ctx.storage.sql.exec(
      "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'leases'",
    ).toArray().length > 0
    return this.schemaReady
  }

  // An alarm WINDOW_S ahead, set only when none is pending: by then every bucket written now has
  // left the window, and one alarm per window bounds the wake-ups of a busy route.
  private async ensureAlarm(): Promise<void> {
    if (this.alarmAtMs === undefined) this.alarmAtMs = await this.ctx.storage.getAlarm()
    if (this.alarmAtMs !== null) return
    this.alarmAtMs = Date.now() + WINDOW_S * 1000
    await this.ctx.storage.setAlarm(this.alarmAtMs)
  }
}

function toCounts(row: ArrayLike<unknown>): Counts {
  const counts = zeroCounts()
  COUNT_FIELDS.forEach((f, i) => {
    counts[f] = Number(row[i] ?? 0)
  })
  return counts
}

function countOf(cursor: { raw(): Iterator<unknown[]> }): number {
  return Number(cursor.raw().next().value?.[0] ?? 0)
}

function checkId(name: string, value: unknown): void {
  if (typeof value !== 'string' || value.length > MAX_ID_LENGTH) {
    throw new TypeError(
      `Cannot use ${name} "${String(value).slice(0, 64)}": not a string of at most ` +
        `${MAX_ID_LENGTH} characters`,
    )
  }
}

function checkFinite(name: string, value: unknown): void {
  if (typeof value !== 'number' || !Number.isFinite(value)) {
    throw new TypeError(`Cannot use ${name} "${String(value)}": not a finite number`)
  }
}
