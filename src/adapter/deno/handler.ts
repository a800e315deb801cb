/**
 * `createDenoHandler()`: the origin proxy as a Deno fetch handler, for `Deno.serve`, `deno serve`
 * and Deno Deploy entry files. It validates the config, picks the store (Upstash when its REST
 * credentials are in the environment, else memory), runs the WebAssembly engine from the `.wasm`
 * import and connects the syncer.
 *
 * @module
 */

import type { Hono } from 'hono'
// Deno (>= 2.1) imports a `.wasm` file as a module whose exports are already instantiated: one
// instance per isolate, so it backs the first governor made here and no other (the loader
// refuses to share it).
import * as wasmImport from '../../../wasm/build/rheostat.wasm'
import {
  ConfigError,
  type ConfigProblem,
  type GovernorConfig,
  type GovernorConfigInput,
  parseEdgeConfig,
  parseEdgeConfigText,
} from '../../config/schema.ts'
import type { EngineChoice } from '../../engine/types.ts'
import type { WasmEngineExports, WasmSource } from '../../engine/wasm/loader.ts'
import { type Clock, createGovernor, type Governor } from '../../governor/governor.ts'
import { createSyncer, type Syncer } from '../../governor/sync.ts'
import { createEdgeAdmin, originsFromEnv, secretProblems } from '../../admin/edge.ts'
import { createLiveConfig, type LiveConfig } from '../../governor/live-config.ts'
import type { ConfigStore } from '../../contract/config-store.ts'
import { MemoryConfigStore } from '../../store/memory/config.ts'
import { watchDecisionLog } from '../../admin/events.ts'
import { upstashConfigStore } from '../../store/upstash/config.ts'
import { createProxyApp, type Fallback, type FetchLike } from '../../http/proxy.ts'
import { MemoryStore } from '../../store/memory/store.ts'
import type { TelemetryStore } from '../../contract/telemetry-store.ts'
import { upstashStore } from '../../store/upstash/index.ts'
import { denoClientIp, type DenoEnv } from './conninfo.ts'

/** The environment variables the handler reads for its store. */
export const UPSTASH_ENV = {
  url: 'UPSTASH_REDIS_REST_URL',
  token: 'UPSTASH_REDIS_REST_TOKEN',
} as const

/** Reads an environment variable. */
export type EnvReader = (name: string) => string | undefined

/** Options of `createDenoHandler()`. */
export interface DenoHandlerOptions {
  /**
   * The edge config: JSON text (as `RHEOSTAT_CONFIG` holds it) or an object. Every route needs
   * `match` and `origin`. `sync.store` as written picks the store: `"upstash"` requires the
   * credentials, `"memory"` keeps state in the isolate, absent means Upstash when the credentials
   * are set, else memory. `"durable-object"` is refused: it exists only on Cloudflare Workers.
   */
  config: string | GovernorConfigInput | GovernorConfig
  /**
   * Where `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN` are read.
   * @default Deno.env.get
   */
  env?: EnvReader | undefined
  /** A store you built; replaces the choice above. */
  store?: TelemetryStore | undefined
  /**
   * Where uploaded configs live (docs/operations.md).
   * @default Upstash beside the shared state when it is there (same prefix), else memory:
   * uploads then reach this isolate only
   */
  configStore?: ConfigStore | undefined
  /**
   * Key prefix in Upstash, so deployments can share a database.
   * @default "rheostat"
   */
  upstashPrefix?: string | undefined
  /** Overrides `config.engine`. */
  engine?: EngineChoice | undefined
  /**
   * The compiled engine. The `.wasm` import backs one governor per isolate; give a second
   * handler in the same isolate a `WebAssembly.Module` (or `engine: 'ts'`), or `"auto"` falls
   * back to TypeScript and logs why.
   * @default the `.wasm` import of wasm/build/rheostat.wasm
   */
  wasm?: WasmSource | undefined
  /**
   * Clock of the governor, the syncer and origin latency, ms.
   * @default Date.now
   */
  clock?: Clock | undefined
  /**
   * How origins are fetched.
   * @default the global fetch
   */
  fetch?: FetchLike | undefined
  /** Where unmatched requests go when the config says `unmatched: "pass"`. */
  fallback?: Fallback | undefined
  /**
   * This isolate's id in the store.
   * @default a random UUID
   */
  isolateId?: string | undefined
  /** Where the engine fallback and store notes are reported. @default console */
  logger?: { warn(message: string): void } | undefined
}

/** The environment variable whose value turns the admin API on (docs/operations.md). */
export const ADMIN_TOKEN_ENV = 'RHEOSTAT_ADMIN_TOKEN'

/** The read-only token for metrics, stats and events (docs/operations.md). */
export const READ_TOKEN_ENV = 'RHEOSTAT_READ_TOKEN'

/** Origins uploaded configs may point at, comma-separated (docs/operations.md). */
export const ORIGINS_ENV = 'RHEOSTAT_ORIGINS'

/** A running handler and its parts. */
export interface DenoHandler {
  /**
   * The fetch handler for `Deno.serve(handler.fetch)`: the connection info becomes the proxy's
   * client address. Bound: it can be passed around on its own.
   */
  readonly fetch: (request: Request, info?: Deno.ServeHandlerInfo) => Promise<Response>
  readonly governor: Governor
  /** The exchange loop; `status()` tells whether the store is degraded. */
  readonly sync: Syncer
  readonly store: TelemetryStore
  /** The config running now: changes with each applied upload. */
  readonly config: GovernorConfig
  /** The proxy app running now: rebuilt with each applied upload, the governor stays. */
  readonly app: Hono<DenoEnv>
  /** The uploaded versions and this isolate's place among them. */
  readonly live: LiveConfig
}

/**
 * Creates the proxy handler for Deno.
 *
 * The store exchange after a request is never awaited on the request's path: Deno has no
 * `waitUntil`, and the isolate keeps running the promise after the response is sent (the proxy
 * hands it to nobody, and the syncer's promise never rejects).
 *
 * @param options The config and, optionally, store, engine, clock and fetch.
 * @returns The handler, with its governor, syncer, store and Hono app.
 * @throws {ConfigError} Listing every problem: config validation, a store Deno cannot use,
 * missing or half-set Upstash credentials.
 *
 * @example Usage
 * ```ts
 * import { createDenoHandler } from './handler.ts'
 * const handler = createDenoHandler({
 *   config: { routes: [{ id: 'api', match: { path: '/api/*' }, origin: 'https://origin.example' }] },
 *   env: () => undefined,
 *   engine: 'ts',
 *   fetch: async (request) => new Response(new URL(request.url).pathname),
 * })
 * const res = await handler.fetch(new Request('http://edge.example/api/items'))
 * if (await res.text() !== '/api/items') throw new Error('forwarded')
 * if (handler.store.kind !== 'memory') throw new Error('memory without credentials')
 * ```
 */
export function createDenoHandler(options: DenoHandlerOptions): DenoHandler {
  const env = options.env ?? ((name: string) => Deno.env.get(name))
  const asked = askedStore(options.config)
  // Every problem at once, config and store alike, so one start shows all there is to fix.
  const problems: ConfigProblem[] = []
  let config: GovernorConfig | undefined
  try {
    config = typeof options.config === 'string'
      ? parseEdgeConfigText(options.config)
      : parseEdgeConfig(options.config)
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    problems.push(...error.problems)
  }
  if (options.store === undefined) problems.push(...storeProblems(asked, env))
  problems.push(...secretProblems(env(ADMIN_TOKEN_ENV), env(READ_TOKEN_ENV)))
  if (config === undefined || problems.length > 0) throw new ConfigError(problems)
  const store = options.store ?? storeFromEnv(asked, env, {
    prefix: options.upstashPrefix,
    logger: options.logger,
  })
  const clock = options.clock ?? Date.now
  const governor = createGovernor({
    config,
    engine: options.engine,
    wasm: options.wasm ?? (wasmImport as unknown as WasmEngineExports),
    clock,
    logger: options.logger,
  })
  const live = createLiveConfig({
    governor,
    deployed: typeof options.config === 'string' ? JSON.parse(options.config) : options.config,
    store: options.configStore ?? configStoreFrom(store, env, options.upstashPrefix),
    allowedOrigins: originsFromEnv(env(ORIGINS_ENV)),
    onApply(next) {
      app = proxyFor(next)
    },
  })
  const sync = createSyncer({
    governor,
    store,
    clock,
    isolateId: options.isolateId,
    config: live,
  })
  if (config.decisionLog.enabled) {
    watchDecisionLog(governor, { maxDecisionsPerS: config.decisionLog.maxDecisionsPerS })
  }
  const admin = createEdgeAdmin({
    token: env(ADMIN_TOKEN_ENV) || undefined,
    readToken: env(READ_TOKEN_ENV) || undefined,
    config,
    governor,
    sync,
    live,
    clock,
  })
  const proxyFor = (next: GovernorConfig) =>
    createProxyApp<DenoEnv>({
      governor,
      admin,
      config: next,
      sync,
      clock,
      fetch: options.fetch,
      fallback: options.fallback,
      getClientIp: denoClientIp,
      // Deno's fetch decodes gzip/br bodies but keeps Content-Encoding (docs/http.md).
      decodedBodies: true,
    })
  let app = proxyFor(config)
  const fetch = async (request: Request, info?: Deno.ServeHandlerInfo): Promise<Response> =>
    await app.fetch(request, info)
  return {
    fetch,
    governor,
    sync,
    store,
    live,
    get config() {
      return live.config()
    },
    get app() {
      return app
    },
  }
}

/** The config store beside a telemetry store chosen from the environment. */
function configStoreFrom(
  store: TelemetryStore,
  env: EnvReader,
  prefix: string | undefined,
): ConfigStore {
  const url = env(UPSTASH_ENV.url) || undefined
  const token = env(UPSTASH_ENV.token) || undefined
  if (store.kind !== 'upstash' || url === undefined || token === undefined) {
    return new MemoryConfigStore()
  }
  return upstashConfigStore({ url, token, prefix })
}

/** `sync.store` as the user wrote it, before defaults: absent means "let the environment say". */
function askedStore(input: unknown): unknown {
  let raw = input
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input)
    } catch {
      return undefined // parseEdgeConfigText has already refused it
    }
  }
  if (typeof raw !== 'object' || raw === null) return undefined
  const sync = (raw as { sync?: unknown }).sync
  if (typeof sync !== 'object' || sync === null) return undefined
  return (sync as { store?: unknown }).store
}

/**
 * Picks the store for Deno from the config's `sync.store` and the environment.
 *
 * | `sync.store` | credentials set | store |
 * | --- | --- | --- |
 * | absent | both | Upstash |
 * | absent | none | memory |
 * | `"upstash"` | both | Upstash |
 * | `"memory"` | any | memory |
 * | `"durable-object"` | any | refused |
 *
 * One credential without the other, `"upstash"` without them, or a URL that is not http(s) is
 * refused too.
 *
 * @param asked `sync.store` as written (undefined when absent).
 * @param env Reads environment variables.
 * @throws {ConfigError} With path `sync.store` or the variable's name.
 */
export function storeFromEnv(
  asked: unknown,
  env: EnvReader,
  options: { prefix?: string | undefined; logger?: { warn(message: string): void } | undefined } =
    {},
): TelemetryStore {
  const problems = storeProblems(asked, env)
  if (problems.length > 0) throw new ConfigError(problems)
  const url = env(UPSTASH_ENV.url) || undefined
  const token = env(UPSTASH_ENV.token) || undefined
  if (asked === 'memory') {
    if (url !== undefined || token !== undefined) {
      ;(options.logger ?? console).warn(
        `Rheostat: config sync.store is "memory", so ${UPSTASH_ENV.url} is ignored and state is ` +
          'not shared between isolates',
      )
    }
    return new MemoryStore()
  }
  if (url === undefined || token === undefined) return new MemoryStore()
  return upstashStore({ url, token, prefix: options.prefix })
}

/** Why the store `storeFromEnv` would pick cannot be used; empty when it can. */
function storeProblems(asked: unknown, env: EnvReader): ConfigProblem[] {
  if (asked === 'durable-object') {
    return [{
      path: 'sync.store',
      message: 'Store "durable-object" needs Cloudflare Workers: on Deno use "upstash" (set ' +
        `${UPSTASH_ENV.url} and ${UPSTASH_ENV.token}) or "memory"`,
    }]
  }
  if (asked === 'memory') return []
  const url = env(UPSTASH_ENV.url) || undefined
  const token = env(UPSTASH_ENV.token) || undefined
  if (url === undefined && token === undefined) {
    if (asked !== 'upstash') return []
    return [{
      path: 'sync.store',
      message: `Store "upstash" needs ${UPSTASH_ENV.url} and ${UPSTASH_ENV.token}: neither is set`,
    }]
  }
  if (url === undefined || token === undefined) {
    const [set, unset] = url === undefined
      ? [UPSTASH_ENV.token, UPSTASH_ENV.url]
      : [UPSTASH_ENV.url, UPSTASH_ENV.token]
    return [{
      path: unset,
      message: `${set} is set but ${unset} is not: set both for Upstash, or neither for memory`,
    }]
  }
  if (!/^https?:$/.test(safeProtocol(url))) {
    // The value is not echoed: a token pasted into the wrong variable would end up in logs.
    return [{ path: UPSTASH_ENV.url, message: 'Upstash REST URL must be an http(s) URL' }]
  }
  return []
}

function safeProtocol(url: string): string {
  try {
    return new URL(url).protocol
  } catch {
    return ''
  }
}
