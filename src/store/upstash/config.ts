/**
 * The Upstash backend of the `ConfigStore`: versions and the isolate registry in Redis, each
 * operation one Lua script (atomic, one request; `EVALSHA` with an `EVAL` fallback, hashes pinned
 * like the telemetry scripts).
 *
 * Keys under `PREFIX:config`:
 * - `…:v`  the current version (a string integer; absent = 0)
 * - `…:h`  list of records as JSON, newest first, trimmed to `CONFIG_HISTORY_LIMIT`
 * - `…:i`  hash isolateId → IsolateInfo as JSON
 * - `…:iz` sorted set isolateId → last heartbeat (ms, the caller's clock)
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
import { runPinned, type UpstashClient, upstashClient } from './client.ts'
import type { PinnedScript } from './scripts.ts'

/**
 * KEYS: v, h. ARGV: config JSON, nowMs, expected version ('' = none), history limit.
 * Answers {1, version} or {0, current version}. The record is assembled here from JSON the client
 * made, so the version it carries is the one this script chose.
 */
const putScript = `
local cur = tonumber(redis.call('GET', KEYS[1]) or '0')
if ARGV[3] ~= '' and tonumber(ARGV[3]) ~= cur then return {0, cur} end
local nowMs = tonumber(ARGV[2])
if nowMs == nil or nowMs ~= nowMs or nowMs == math.huge or nowMs == -math.huge then
  error('rheostat: nowMs is not a finite number')
end
local nextVersion = cur + 1
redis.call('SET', KEYS[1], nextVersion)
redis.call('LPUSH', KEYS[2], '{"version":' .. nextVersion .. ',"updatedAt":' .. ARGV[2] ..
  ',"config":' .. ARGV[1] .. '}')
redis.call('LTRIM', KEYS[2], 0, tonumber(ARGV[4]) - 1)
return {1, nextVersion}
`

/**
 * KEYS: v, i, iz. ARGV: nowMs, ttlMs, then optionally isolateId and its info JSON (a heartbeat).
 * Drops isolates silent for ttlMs, records the heartbeat, answers {version, info JSON…}.
 */
const isolatesScript = `
local nowMs = tonumber(ARGV[1])
local ttlMs = tonumber(ARGV[2])
if nowMs == nil or nowMs ~= nowMs or nowMs == math.huge or nowMs == -math.huge then
  error('rheostat: nowMs is not a finite number')
end
local gone = redis.call('ZRANGEBYSCORE', KEYS[3], '-inf', string.format('%.17g', nowMs - ttlMs))
for _, id in ipairs(gone) do
  redis.call('HDEL', KEYS[2], id)
  redis.call('ZREM', KEYS[3], id)
end
if ARGV[3] then
  redis.call('HSET', KEYS[2], ARGV[3], ARGV[4])
  redis.call('ZADD', KEYS[3], nowMs, ARGV[3])
end
local out = {tonumber(redis.call('GET', KEYS[1]) or '0')}
local ids = redis.call('ZRANGE', KEYS[3], 0, -1)
for _, id in ipairs(ids) do
  local info = redis.call('HGET', KEYS[2], id)
  if info then out[#out + 1] = info end
end
return out
`

/** KEYS: h. ARGV: count. Answers the newest `count` records as JSON. */
const historyScript = `
return redis.call('LRANGE', KEYS[1], 0, tonumber(ARGV[1]) - 1)
`

/** The scripts of the Upstash config store, with their pinned SHA1. */
export const CONFIG_SCRIPTS = {
  configPut: { script: putScript, hash: '0c0e12507f58d16d7ba28aa627c3d338065749f5' },
  configIsolates: { script: isolatesScript, hash: '82998affb3a980360f4a0f285193685fcd667cf3' },
  configHistory: { script: historyScript, hash: '3f8f3eb7d861704af35803513421d9767a51c311' },
} as const satisfies Record<string, PinnedScript>

/** Options of `UpstashConfigStore`. */
export interface UpstashConfigStoreOptions {
  /** An `@upstash/redis` client (`upstashClient()` builds one with the stores' settings). */
  redis: UpstashClient
  /**
   * Prefix of the keys (`PREFIX:config:…`): the telemetry store's prefix, so one deployment's
   * state sits together.
   * @default "rheostat"
   */
  prefix?: string | undefined
}

/**
 * A ConfigStore in Upstash Redis.
 *
 * @example Usage
 * ```ts ignore
 * import { upstashConfigStore } from './config.ts'
 * const store = upstashConfigStore({ url: env.UPSTASH_REDIS_REST_URL, token: env.UPSTASH_REDIS_REST_TOKEN })
 * const current = await store.current()
 * ```
 */
export class UpstashConfigStore implements ConfigStore {
  readonly kind = 'upstash' as const
  private readonly redis: UpstashClient
  private readonly keys: { v: string; h: string; i: string; iz: string }

  constructor({ redis, prefix = 'rheostat' }: UpstashConfigStoreOptions) {
    this.redis = redis
    const base = `${prefix}:config`
    this.keys = { v: `${base}:v`, h: `${base}:h`, i: `${base}:i`, iz: `${base}:iz` }
  }

  async current(): Promise<ConfigRecord | null> {
    return (await this.history(1))[0] ?? null
  }

  async put(config: unknown, nowMs: number, expectedVersion?: number): Promise<ConfigPutResult> {
    if (!Number.isFinite(nowMs)) throw new RangeError(`Cannot use nowMs "${nowMs}": not finite`)
    const text = JSON.stringify(config)
    if (text === undefined) throw new TypeError('Cannot store a config that is not JSON')
    const reply = await this.run(CONFIG_SCRIPTS.configPut, [this.keys.v, this.keys.h], [
      text,
      String(nowMs),
      expectedVersion === undefined ? '' : String(expectedVersion),
      String(CONFIG_HISTORY_LIMIT),
    ])
    if (!Array.isArray(reply) || reply.length !== 2) throw unexpected('configPut', reply)
    const version = Number(reply[1])
    if (Number(reply[0]) !== 1) return { ok: false, currentVersion: version }
    return { ok: true, record: { version, config: JSON.parse(text), updatedAt: nowMs } }
  }

  async history(limit: number): Promise<ConfigRecord[]> {
    const reply = await this.run(CONFIG_SCRIPTS.configHistory, [this.keys.h], [
      String(historyLimit(limit)),
    ])
    if (!Array.isArray(reply)) throw unexpected('configHistory', reply)
    const records: ConfigRecord[] = []
    for (const item of reply) {
      const record = decoded(item) as Partial<ConfigRecord> | null
      // A record of another shape is skipped, not passed on as a config.
      if (
        record !== null && typeof record === 'object' && Number.isInteger(record.version) &&
        typeof record.config === 'object' && record.config !== null
      ) records.push(record as ConfigRecord)
    }
    return records
  }

  async heartbeat(info: IsolateInfo, nowMs: number): Promise<HeartbeatResult> {
    const clean = cleanIsolateInfo(info)
    if (clean === null) throw new RangeError('Cannot record an isolate without a valid isolateId')
    const record = JSON.stringify({ ...clean, lastSeenMs: nowMs })
    return await this.registry(nowMs, [clean.isolateId, record])
  }

  async isolates(nowMs: number): Promise<IsolateInfo[]> {
    return (await this.registry(nowMs, [])).isolates
  }

  private async registry(nowMs: number, beat: string[]): Promise<HeartbeatResult> {
    if (!Number.isFinite(nowMs)) throw new RangeError(`Cannot use nowMs "${nowMs}": not finite`)
    const reply = await this.run(
      CONFIG_SCRIPTS.configIsolates,
      [this.keys.v, this.keys.i, this.keys.iz],
      [String(nowMs), String(ISOLATE_TTL_MS), ...beat],
    )
    if (!Array.isArray(reply) || reply.length < 1) throw unexpected('configIsolates', reply)
    const isolates: IsolateInfo[] = []
    for (const text of reply.slice(1)) {
      const info = cleanIsolateInfo(decoded(text))
      if (info !== null) isolates.push(info)
    }
    isolates.sort((a, b) => a.isolateId < b.isolateId ? -1 : a.isolateId > b.isolateId ? 1 : 0)
    return { version: Number(reply[0]), isolates }
  }

  private run(script: PinnedScript, keys: string[], args: string[]): Promise<unknown> {
    return runPinned(this.redis, script, keys, args)
  }
}

/**
 * Creates an Upstash config store with its own `@upstash/redis` client, set up as the telemetry
 * store's (`upstashClient()`).
 *
 * @param options REST URL and token, and the key prefix.
 * @returns The store.
 * @throws {TypeError} If `url` is not an http(s) URL.
 */
export function upstashConfigStore(
  { url, token, prefix }: { url: string; token: string; prefix?: string | undefined },
): UpstashConfigStore {
  return new UpstashConfigStore({ redis: upstashClient({ url, token }), prefix })
}

// @upstash/redis parses JSON replies itself (automaticDeserialization, its default): an item may
// arrive as the object, or as the text the REST client hands over.
function decoded(item: unknown): unknown {
  return typeof item === 'object' && item !== null ? item : safeJson(String(item))
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text)
  } catch {
    return null
  }
}

function unexpected(script: string, reply: unknown): Error {
  const text = JSON.stringify(reply) ?? String(reply)
  return new Error(`Unexpected reply from the ${script} script: ${text.slice(0, 200)}`)
}
