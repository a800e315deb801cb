/**
 * `createDenoHandler()`: the origin proxy as a Deno fetch handler, for `Deno.serve`, `deno serve`
 * and Deno Deploy entry files. It validates the config, picks the stores `sync.store` names from
 * the environment (src/store/backends.ts: the same rule as on Workers) and assembles the edge
 * (src/edge/create-edge.ts) with the WebAssembly engine from the `.wasm` import.
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
import type { Clock, Governor } from '../../governor/governor.ts'
import type { Syncer } from '../../governor/sync.ts'
import { secretProblems } from '../../admin/edge.ts'
import type { LiveConfig } from '../../governor/live-config.ts'
import type { ConfigStore } from '../../contract/config-store.ts'
import type { TelemetryStore } from '../../contract/telemetry-store.ts'
import { MemoryConfigStore } from '../../store/memory/config.ts'
import { type SelectedStores, selectStores, UPSTASH_ENV } from '../../store/backends.ts'
import { createEdge } from '../../edge/create-edge.ts'
import type { Fallback, FetchLike } from '../../http/proxy.ts'
import { denoClientIp, type DenoEnv } from './conninfo.ts'

/** The environment variables of the Upstash store. */
export { UPSTASH_ENV }

/** Reads an environment variable. */
export type EnvReader = (name: string) => string | undefined

/** Options of `createDenoHandler()`. */
export interface DenoHandlerOptions {
  /**
   * The edge config: JSON text (as `RHEOSTAT_CONFIG` holds it) or an object. Every route needs
   * `match` and `origin`. `sync.store` picks the store: `"upstash"` requires the credentials,
   * `"memory"` (the default) keeps state in the isolate (a warning says so when the Upstash
   * credentials are set). `"durable-object"` is refused: it exists only on Cloudflare Workers.
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
   * @default Upstash beside the shared state when `sync.store` is "upstash" (same prefix), else
   * memory: uploads then reach this isolate only
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
  const logger = options.logger ?? console
  let stores: SelectedStores | undefined
  if (options.store === undefined) {
    // From the parsed config, or as written when the config has other problems.
    const kind = config?.sync.store ?? writtenStore(options.config)
    const selected = selectStores(kind, env, {
      runtime: 'deno',
      prefix: options.upstashPrefix,
      logger,
      configStore: options.configStore,
    })
    if (Array.isArray(selected)) problems.push(...selected)
    else stores = selected
  }
  problems.push(...secretProblems(env(ADMIN_TOKEN_ENV), env(READ_TOKEN_ENV)))
  if (config === undefined || problems.length > 0) throw new ConfigError(problems)
  const store = options.store ?? (stores as SelectedStores).telemetry
  const edge = createEdge<DenoEnv>({
    config,
    deployed: typeof options.config === 'string' ? JSON.parse(options.config) : options.config,
    store,
    // A store of your own comes with no config store from the table: memory unless given one.
    configStore: stores?.config ?? options.configStore ?? new MemoryConfigStore(),
    engine: options.engine,
    wasm: options.wasm ?? (wasmImport as unknown as WasmEngineExports),
    clock: options.clock ?? Date.now,
    isolateId: options.isolateId,
    logger: options.logger,
    adminToken: env(ADMIN_TOKEN_ENV),
    readToken: env(READ_TOKEN_ENV),
    origins: env(ORIGINS_ENV),
    fetch: options.fetch,
    fallback: options.fallback,
    getClientIp: denoClientIp,
    // Deno's fetch decodes gzip/br bodies but keeps Content-Encoding (docs/http.md).
    decodedBodies: true,
  })
  const fetch = async (request: Request, info?: Deno.ServeHandlerInfo): Promise<Response> =>
    await edge.app.fetch(request, info)
  return {
    fetch,
    governor: edge.governor,
    sync: edge.sync,
    store,
    live: edge.live,
    get config() {
      return edge.config
    },
    get app() {
      return edge.app
    },
  }
}

/** `sync.store` as written, for a config that does not parse: "memory" when absent or unreadable. */
function writtenStore(input: unknown): string {
  let raw = input
  if (typeof input === 'string') {
    try {
      raw = JSON.parse(input)
    } catch {
      return 'memory' // parseEdgeConfigText has already refused it
    }
  }
  const store = (raw as { sync?: { store?: unknown } } | null)?.sync?.store
  return typeof store === 'string' ? store : 'memory'
}

/**
 * Picks the store for Deno by the one rule of every runtime (src/store/backends.ts): `sync.store`
 * names it, absent means memory.
 *
 * @param asked `sync.store` as written (undefined when absent: memory).
 * @param env Reads environment variables.
 * @throws {ConfigError} With path `sync.store` or the variable's name.
 */
export function storeFromEnv(
  asked: unknown,
  env: EnvReader,
  options: { prefix?: string | undefined; logger?: { warn(message: string): void } | undefined } =
    {},
): TelemetryStore {
  const selected = selectStores(typeof asked === 'string' ? asked : 'memory', env, {
    runtime: 'deno',
    prefix: options.prefix,
    logger: options.logger ?? console,
  })
  if (Array.isArray(selected)) throw new ConfigError(selected)
  return selected.telemetry
}
