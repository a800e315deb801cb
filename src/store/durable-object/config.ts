/**
 * The Durable Object config store client: a `ConfigStore` kept in one `ConfigDO`
 * (`idFromName('config')`) and reached over RPC. It imports nothing from `cloudflare:*`.
 *
 * @module
 */

import {
  cleanIsolateInfo,
  type ConfigPutResult,
  type ConfigRecord,
  type ConfigStore,
  type HeartbeatResult,
  type IsolateInfo,
} from '../../contract/config-store.ts'

/** A record as the object stores it: the config as JSON text. */
export interface StoredRecord {
  version: number
  config: string
  updatedAt: number
}

/** The RPC methods of `ConfigDO`, as a stub exposes them. */
export interface ConfigRpc {
  current(): Promise<StoredRecord | null>
  /** `expectedVersion` -1: unconditional. */
  put(
    configJson: string,
    nowMs: number,
    expectedVersion: number,
  ): Promise<{ ok: true; record: StoredRecord } | { ok: false; currentVersion: number }>
  history(limit: number): Promise<StoredRecord[]>
  heartbeat(info: IsolateInfo, nowMs: number): Promise<HeartbeatResult>
  isolates(nowMs: number): Promise<IsolateInfo[]>
}

/** The two calls made on the namespace binding of `ConfigDO` (`env.CONFIG_STORE`). */
export interface ConfigNamespace<Id = unknown> {
  idFromName(name: string): Id
  get(id: Id): ConfigRpc
}

/** The name of the one object that holds a deployment's configs. */
export const CONFIG_OBJECT_NAME = 'config'

/**
 * A ConfigStore on a Durable Object.
 *
 * @example Usage in a Worker
 * ```ts ignore
 * import { DurableObjectConfigStore } from './config.ts'
 * const store = new DurableObjectConfigStore(env.CONFIG_STORE)
 * const current = await store.current()
 * ```
 */
export class DurableObjectConfigStore<Id = unknown> implements ConfigStore {
  readonly kind = 'durable-object' as const
  private readonly namespace: ConfigNamespace<Id>
  private readonly name: string

  /**
   * @param namespace The namespace binding of `ConfigDO`.
   * @param name The object's name; tests give each store its own.
   */
  constructor(namespace: ConfigNamespace<Id>, name: string = CONFIG_OBJECT_NAME) {
    this.namespace = namespace
    this.name = name
  }

  async current(): Promise<ConfigRecord | null> {
    const record = await this.stub().current()
    return record === null ? null : parsed(record)
  }

  async put(config: unknown, nowMs: number, expectedVersion?: number): Promise<ConfigPutResult> {
    const text = JSON.stringify(config)
    if (text === undefined) throw new TypeError('Cannot store a config that is not JSON')
    const result = await this.stub().put(text, nowMs, expectedVersion ?? -1)
    return result.ok ? { ok: true, record: parsed(result.record) } : result
  }

  async history(limit: number): Promise<ConfigRecord[]> {
    return (await this.stub().history(limit)).map(parsed)
  }

  heartbeat(info: IsolateInfo, nowMs: number): Promise<HeartbeatResult> {
    // Checked here too, so a bad record is refused without a round trip.
    const clean = cleanIsolateInfo(info)
    if (clean === null) {
      return Promise.reject(new RangeError('Cannot record an isolate without a valid isolateId'))
    }
    return this.stub().heartbeat(clean, nowMs)
  }

  isolates(nowMs: number): Promise<IsolateInfo[]> {
    return this.stub().isolates(nowMs)
  }

  // A fresh stub per call: one that saw an exception may stay broken.
  private stub(): ConfigRpc {
    return this.namespace.get(this.namespace.idFromName(this.name))
  }
}

function parsed(record: StoredRecord): ConfigRecord {
  return { version: record.version, config: JSON.parse(record.config), updatedAt: record.updatedAt }
}
