/**
 * The store backends by name: what `sync.store` may say. Each entry says what it needs from the
 * environment (bindings, secrets), and builds the telemetry store and the config store from it.
 * A new backend is a folder under src/store/ and one line in `STORE_BACKENDS`; the edge
 * (src/edge/create-edge.ts) selects from this table on every runtime by one rule:
 * `sync.store` names the backend (absent: "memory"), and a backend whose needs are not met is
 * refused with the reason. docs/decisions.md ("One store-selection rule").
 *
 * @module
 */

import type { ConfigProblem } from '../config/schema.ts'
import type { ConfigStore } from '../contract/config-store.ts'
import type { TelemetryStore } from '../contract/telemetry-store.ts'
import { MemoryConfigStore, MemoryStore } from './memory/index.ts'
import { DurableObjectStore, type RouteStateNamespace } from './durable-object/store.ts'
import { type ConfigNamespace, DurableObjectConfigStore } from './durable-object/config.ts'
import { upstashStore } from './upstash/store.ts'
import { upstashConfigStore } from './upstash/config.ts'

/** Reads a binding, secret or environment variable by name; undefined when unset. */
export type EnvReader = (name: string) => unknown

/** What a backend may use besides the environment. */
export interface BackendContext {
  /** The runtime, as `StoreBackend.runtimes` names it. */
  runtime: string
  /** A key prefix for stores that share a database (Upstash). */
  prefix?: string | undefined
  logger: { warn(message: string): void }
  /** A config store of your own: used instead of the backend's (which is then not built). */
  configStore?: ConfigStore | undefined
}

/** One backend: its needs and its two stores. */
export interface StoreBackend {
  /** Runtimes it runs on; absent: every runtime. */
  readonly runtimes?: readonly string[]
  /** Why the environment cannot run it; empty when it can. */
  problems(env: EnvReader, context: BackendContext): ConfigProblem[]
  /** The telemetry store (call only when `problems` is empty). */
  telemetry(env: EnvReader, context: BackendContext): TelemetryStore
  /** Where uploaded configs live beside it (call only when `problems` is empty). */
  config(env: EnvReader, context: BackendContext): ConfigStore
}

/** The Upstash secrets, by role. */
export const UPSTASH_ENV = {
  url: 'UPSTASH_REDIS_REST_URL',
  token: 'UPSTASH_REDIS_REST_TOKEN',
} as const

const text = (env: EnvReader, name: string): string | undefined => {
  const value = env(name)
  return typeof value === 'string' && value !== '' ? value : undefined
}

// deno-lint-ignore no-explicit-any -- any namespace's id type: DurableObjectId on Workers
const namespace = <T extends RouteStateNamespace<any> | ConfigNamespace<any>>(
  env: EnvReader,
  name: string,
): T | undefined => {
  const value = env(name) as T | undefined
  return value !== undefined && value !== null && typeof value.idFromName === 'function' &&
      typeof value.get === 'function'
    ? value
    : undefined
}

const memory: StoreBackend = {
  problems: () => [],
  telemetry: () => new MemoryStore(),
  config: () => new MemoryConfigStore(),
}

const durableObject: StoreBackend = {
  runtimes: ['cloudflare-workers'],
  problems(env) {
    if (namespace(env, 'ROUTE_STATE') !== undefined) return []
    return [{
      path: 'sync.store',
      message: 'Store "durable-object" needs the Durable Object binding "ROUTE_STATE" of ' +
        'class "RouteStateDO": add [[durable_objects.bindings]] name = "ROUTE_STATE", ' +
        'class_name = "RouteStateDO" and a migration with new_sqlite_classes to wrangler.toml',
    }]
  },
  telemetry(env) {
    // With the config object bound, route objects answer its version with each exchange.
    // deno-lint-ignore no-explicit-any -- any namespace's id type
    return new DurableObjectStore(namespace<RouteStateNamespace<any>>(env, 'ROUTE_STATE')!, {
      configVersion: namespace(env, 'CONFIG_STORE') !== undefined,
    })
  },
  config(env, { logger }) {
    const configs = namespace<ConfigNamespace<unknown>>(env, 'CONFIG_STORE')
    if (configs !== undefined) return new DurableObjectConfigStore(configs)
    logger.warn(
      'Rheostat: no Durable Object binding "CONFIG_STORE" of class "ConfigDO", so a config ' +
        'upload reaches only the isolate that takes it; add the binding and a migration with ' +
        'new_sqlite_classes = ["ConfigDO"] to wrangler.toml',
    )
    return new MemoryConfigStore()
  },
}

const upstash: StoreBackend = {
  problems(env, { runtime }) {
    const url = text(env, UPSTASH_ENV.url)
    const token = text(env, UPSTASH_ENV.token)
    if (url === undefined || token === undefined) {
      const missing = [UPSTASH_ENV.url, UPSTASH_ENV.token].filter((n) => text(env, n) === undefined)
      const how = runtime === 'cloudflare-workers'
        ? (name: string) => `run \`wrangler secret put ${name}\` (locally: put it in .dev.vars)`
        : (name: string) => `set the environment variable ${name}`
      return missing.map((name) => ({
        path: 'sync.store',
        message: `Store "upstash" needs the secret "${name}": ${how(name)}`,
      }))
    }
    if (!/^https?:$/.test(safeProtocol(url))) {
      // The value is not echoed: a token pasted into the wrong variable would end up in logs.
      return [{ path: UPSTASH_ENV.url, message: 'Upstash REST URL must be an http(s) URL' }]
    }
    return []
  },
  telemetry: (env, { prefix }) =>
    upstashStore({
      url: text(env, UPSTASH_ENV.url)!,
      token: text(env, UPSTASH_ENV.token)!,
      prefix,
    }),
  config: (env, { prefix }) =>
    upstashConfigStore({
      url: text(env, UPSTASH_ENV.url)!,
      token: text(env, UPSTASH_ENV.token)!,
      prefix,
    }),
}

/** The backends `sync.store` may name. A new backend: a folder, and one line here. */
export const STORE_BACKENDS: Readonly<Record<string, StoreBackend>> = Object.freeze({
  memory,
  'durable-object': durableObject,
  upstash,
})

/**
 * Why `kind` names no backend of `STORE_BACKENDS`; empty when it names one.
 *
 * @example Usage
 * ```ts
 * import { storeKindProblems } from './backends.ts'
 * if (storeKindProblems('upstash').length !== 0) throw new Error('a backend')
 * if (storeKindProblems('upstahs').length !== 1) throw new Error('a typo')
 * ```
 */
export function storeKindProblems(kind: string): ConfigProblem[] {
  if (Object.hasOwn(STORE_BACKENDS, kind)) return []
  return [{
    path: 'sync.store',
    message: `Unknown store "${kind}": expected one of ${
      Object.keys(STORE_BACKENDS).map((k) => `"${k}"`).join(', ')
    }`,
  }]
}

/** The two stores `selectStores` picked. */
export interface SelectedStores {
  telemetry: TelemetryStore
  config: ConfigStore
}

/**
 * The stores `kind` names, from the environment; the problems when it cannot run here. When
 * the chosen backend is memory while another backend's needs are all met (its secrets or
 * bindings are set), a warning says that state is not shared.
 *
 * @param kind `sync.store` of the config (the schema's default is "memory").
 * @param env Reads the runtime's bindings, secrets or environment variables.
 * @param context The runtime's name, an Upstash key prefix, a logger.
 * @returns The stores, or every problem found.
 *
 * @example Usage
 * ```ts
 * import { selectStores } from './backends.ts'
 * const context = { runtime: 'deno', logger: console }
 * const stores = selectStores('memory', () => undefined, context)
 * if (Array.isArray(stores) || stores.telemetry.kind !== 'memory') throw new Error('memory')
 * const refused = selectStores('upstash', () => undefined, context)
 * if (!Array.isArray(refused) || refused.length !== 2) throw new Error('two secrets missing')
 * ```
 */
export function selectStores(
  kind: string,
  env: EnvReader,
  context: BackendContext,
): SelectedStores | ConfigProblem[] {
  const unknown = storeKindProblems(kind)
  if (unknown.length > 0) return unknown
  const backend = STORE_BACKENDS[kind] as StoreBackend
  if (backend.runtimes !== undefined && !backend.runtimes.includes(context.runtime)) {
    const here = Object.entries(STORE_BACKENDS)
      .filter(([, b]) => b.runtimes === undefined || b.runtimes.includes(context.runtime))
      .map(([k]) => `"${k}"`)
    return [{
      path: 'sync.store',
      message: `Store "${kind}" needs ${backend.runtimes.map(runtimeName).join(' or ')}: on ` +
        `${runtimeName(context.runtime)} use ${here.join(' or ')}`,
    }]
  }
  const problems = backend.problems(env, context)
  if (problems.length > 0) return problems
  if (kind === 'memory') {
    const ready = Object.entries(STORE_BACKENDS).filter(([k, b]) =>
      k !== 'memory' && (b.runtimes === undefined || b.runtimes.includes(context.runtime)) &&
      b.problems(env, context).length === 0
    ).map(([k]) => k)
    if (ready.length > 0) {
      context.logger.warn(
        `Rheostat: sync.store is "memory" (the default), so state is not shared between ` +
          `isolates although store "${ready[0]}" could run here: set sync.store to use it`,
      )
    }
  }
  return {
    telemetry: backend.telemetry(env, context),
    config: context.configStore ?? backend.config(env, context),
  }
}

const RUNTIME_NAMES: Readonly<Record<string, string>> = {
  'cloudflare-workers': 'Cloudflare Workers',
  deno: 'Deno',
  node: 'Node',
}

function runtimeName(runtime: string): string {
  return RUNTIME_NAMES[runtime] ?? runtime
}

function safeProtocol(url: string): string {
  try {
    return new URL(url).protocol
  } catch {
    return ''
  }
}
