/**
 * The edge stack, assembled once for every runtime: config → stores (src/store/backends.ts) →
 * governor with its syncer and live config → decision log → admin app → origin proxy. The
 * adapters (src/adapter/cloudflare-workers, src/adapter/deno) read their environment and hand it
 * here; what differs between runtimes is only how they read it and how they fail.
 *
 * @module
 */

import type { Env, Hono } from 'hono'
import type { GovernorConfig } from '../config/schema.ts'
import type { ConfigStore } from '../contract/config-store.ts'
import type { TelemetryStore } from '../contract/telemetry-store.ts'
import type { EngineChoice } from '../engine/types.ts'
import type { WasmSource } from '../engine/wasm/loader.ts'
import { createGovernor, type Governor } from '../governor/governor.ts'
import { createLiveConfig, type LiveConfig } from '../governor/live-config.ts'
import type { Syncer } from '../governor/sync.ts'
import { createEdgeAdmin, originsFromEnv } from '../admin/edge.ts'
import { watchDecisionLog } from '../admin/events.ts'
import { createProxyApp, type Fallback, type FetchLike, type GetClientIp } from '../http/proxy.ts'

/** What `createEdge()` takes: the parsed config, the stores and the runtime's parts. */
export interface EdgeOptions<E extends Env = Env> {
  /** The deployed config, parsed (`parseEdgeConfig`). */
  config: GovernorConfig
  /** The deployed config as given (JSON value), version 0 of the live config. */
  deployed: unknown
  /** The shared state (`selectStores`, or one of your own). */
  store: TelemetryStore
  /** Where uploaded configs live. */
  configStore: ConfigStore
  /** The compiled WASM engine. */
  wasm?: WasmSource | undefined
  /** Overrides `config.engine`. */
  engine?: EngineChoice | undefined
  /** @default Date.now */
  clock?: (() => number) | undefined
  /** This isolate's id in the store. @default a random UUID */
  isolateId?: string | undefined
  logger?: { warn(message: string): void } | undefined
  /** `RHEOSTAT_ADMIN_TOKEN`, `RHEOSTAT_READ_TOKEN`, `RHEOSTAT_ORIGINS` (already checked). */
  adminToken?: string | undefined
  readToken?: string | undefined
  origins?: string | undefined
  /** The runtime's client address. */
  getClientIp?: GetClientIp<E> | undefined
  /** The proxy's fetch and fallback; the runtime's own by default. */
  fetch?: FetchLike | undefined
  fallback?: Fallback | undefined
  /** True where the runtime's fetch decodes bodies but keeps Content-Encoding (Deno). */
  decodedBodies?: boolean | undefined
}

/** One isolate's edge: its parts and the app serving requests now. */
export interface Edge<E extends Env = Env> {
  readonly governor: Governor
  readonly sync: Syncer
  readonly store: TelemetryStore
  readonly configStore: ConfigStore
  readonly live: LiveConfig
  /** The config running now (changes with each applied upload). */
  readonly config: GovernorConfig
  /** The proxy app running now (rebuilt with each applied upload; the governor stays). */
  readonly app: Hono<E>
}

/**
 * Assembles the edge stack of one isolate.
 *
 * @param options The parsed config, the stores and the runtime's parts.
 * @returns The edge; serve requests with `edge.app.fetch` (read `app` per request: an upload
 * replaces it).
 * @throws {Error} With `engine: 'wasm'` when the WASM module is missing or does not load.
 *
 * @example Usage
 * ```ts
 * import { createEdge } from './create-edge.ts'
 * import { parseEdgeConfig } from '../config/schema.ts'
 * import { MemoryConfigStore, MemoryStore } from '../store/memory/index.ts'
 * const deployed = { routes: [{ id: 'api', match: { path: '/api/*' }, origin: 'https://o.example' }] }
 * const edge = createEdge({
 *   config: parseEdgeConfig(deployed),
 *   deployed,
 *   store: new MemoryStore(),
 *   configStore: new MemoryConfigStore(),
 *   engine: 'ts',
 *   fetch: async (request) => new Response(new URL(request.url).pathname),
 * })
 * const res = await edge.app.fetch(new Request('http://edge.example/api/items'))
 * if (await res.text() !== '/api/items') throw new Error('forwarded')
 * ```
 */
export function createEdge<E extends Env = Env>(options: EdgeOptions<E>): Edge<E> {
  const { config, clock } = options
  let live!: LiveConfig
  let app!: Hono<E>
  const governor = createGovernor({
    config,
    engine: options.engine,
    wasm: options.wasm,
    clock,
    logger: options.logger,
    store: options.store,
    isolateId: options.isolateId,
    live: (governor) =>
      live = createLiveConfig({
        governor,
        deployed: options.deployed,
        store: options.configStore,
        allowedOrigins: originsFromEnv(options.origins),
        // Called on uploads only, never while the edge is being made.
        onApply(next) {
          app = proxyFor(next)
        },
      }),
  })
  const sync = governor.sync as Syncer
  if (config.decisionLog.enabled) {
    watchDecisionLog(governor, { maxDecisionsPerS: config.decisionLog.maxDecisionsPerS })
  }
  const admin = createEdgeAdmin({
    token: options.adminToken || undefined,
    readToken: options.readToken || undefined,
    config,
    governor,
    sync,
    live,
    clock,
  })
  const proxyFor = (next: GovernorConfig) =>
    createProxyApp<E>({
      governor,
      admin,
      config: next,
      sync,
      clock,
      fetch: options.fetch,
      fallback: options.fallback,
      getClientIp: options.getClientIp,
      decodedBodies: options.decodedBodies,
    })
  app = proxyFor(config)
  return {
    governor,
    sync,
    store: options.store,
    configStore: options.configStore,
    live,
    get config() {
      return live.config()
    },
    get app() {
      return app
    },
  }
}
