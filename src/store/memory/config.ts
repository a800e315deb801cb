/**
 * The memory config store: uploaded configs and the isolate registry in this process's memory.
 *
 * @module
 */

import {
  cleanIsolateInfo,
  CONFIG_HISTORY_LIMIT,
  type ConfigPutResult,
  type ConfigRecord,
  type ConfigStore,
  type HeartbeatResult,
  historyLimit,
  ISOLATE_TTL_MS,
  type IsolateInfo,
} from '../../contract/config-store.ts'

/**
 * Keeps configs and isolates in the isolate's memory: shared only by the handlers of one process
 * (tests, a single Node or Deno server). An upload then reaches nothing beyond it.
 *
 * @example Usage
 * ```ts
 * import { MemoryConfigStore } from './config.ts'
 * const store = new MemoryConfigStore()
 * const first = await store.put({ routes: [] }, 1000, 0)
 * if (!first.ok || first.record.version !== 1) throw new Error('the first upload is version 1')
 * const stale = await store.put({ routes: [] }, 2000, 0)
 * if (stale.ok) throw new Error('a stale expected version conflicts')
 * ```
 */
export class MemoryConfigStore implements ConfigStore {
  readonly kind = 'memory' as const
  private records: ConfigRecord[] = []
  private version = 0
  private readonly live = new Map<string, IsolateInfo>()

  current(): Promise<ConfigRecord | null> {
    const last = this.records[this.records.length - 1]
    return Promise.resolve(last === undefined ? null : copy(last))
  }

  put(config: unknown, nowMs: number, expectedVersion?: number): Promise<ConfigPutResult> {
    if (expectedVersion !== undefined && expectedVersion !== this.version) {
      return Promise.resolve({ ok: false, currentVersion: this.version })
    }
    // Stored as text, as the other backends do: a caller's later edits cannot reach it.
    const record = {
      version: ++this.version,
      config: JSON.parse(JSON.stringify(config)),
      updatedAt: nowMs,
    }
    this.records.push(record)
    if (this.records.length > CONFIG_HISTORY_LIMIT) this.records.shift()
    return Promise.resolve({ ok: true, record: copy(record) })
  }

  history(limit: number): Promise<ConfigRecord[]> {
    return Promise.resolve(this.records.slice(-historyLimit(limit)).reverse().map(copy))
  }

  async heartbeat(info: IsolateInfo, nowMs: number): Promise<HeartbeatResult> {
    const clean = cleanIsolateInfo(info)
    if (clean === null) throw new RangeError('Cannot record an isolate without a valid isolateId')
    this.live.set(clean.isolateId, { ...clean, lastSeenMs: nowMs })
    return { version: this.version, isolates: await this.isolates(nowMs) }
  }

  isolates(nowMs: number): Promise<IsolateInfo[]> {
    for (const [id, info] of this.live) {
      if (info.lastSeenMs + ISOLATE_TTL_MS <= nowMs) this.live.delete(id)
    }
    return Promise.resolve(
      [...this.live.values()].map((i) => ({ ...i })).sort((a, b) =>
        a.isolateId < b.isolateId ? -1 : a.isolateId > b.isolateId ? 1 : 0
      ),
    )
  }
}

function copy(record: ConfigRecord): ConfigRecord {
  return { ...record, config: JSON.parse(JSON.stringify(record.config)) }
}
