/**
 * The Worker's request handler, apart from the entry module so that tests can make a fresh one:
 * it reads `RHEOSTAT_CONFIG`, picks the stores `sync.store` names from the env's bindings and
 * secrets (src/store/backends.ts, the same rule as on Deno), assembles the edge once per isolate
 * (src/edge/create-edge.ts; again when the config text or the store's bindings change), and
 * answers every request with its app, or with a 500 problem when the config cannot be applied.
 *
 * @module
 */

import type { Hono } from 'hono'
import { secretProblems } from '../../admin/edge.ts'
import type { LiveConfig } from '../../governor/live-config.ts'
import type { ConfigStore } from '../../contract/config-store.ts'
import type { TelemetryStore } from '../../contract/telemetry-store.ts'
import type { ConfigNamespace } from '../../store/durable-object/config.ts'
import type { RouteStateNamespace } from '../../store/durable-object/store.ts'
import { selectStores } from '../../store/backends.ts'
import { createEdge } from '../../edge/create-edge.ts'
import { ConfigError, type ConfigProblem, parseEdgeConfigText } from '../../config/schema.ts'
import type { GovernorConfig } from '../../config/schema.ts'
import type { Governor } from '../../governor/governor.ts'
import type { Syncer } from '../../governor/sync.ts'
import type { WasmSource } from '../../engine/wasm/loader.ts'
import { cloudflareClientIp } from '../../http/proxy.ts'
import { DEFAULT_PROBLEM_TYPE_BASE, problemResponse } from '../../http/responses.ts'

/**
 * What the handler reads from the Worker's env. The generated `RheostatEnv`
 * (worker-configuration.d.ts) fits; the Upstash secrets are set with `wrangler secret put`.
 */
export interface WorkerEnv {
  /** The config, JSON text (docs/config.md). */
  RHEOSTAT_CONFIG?: string | undefined
  /** Namespace binding of `RouteStateDO`, for `sync.store: "durable-object"`. */
  // deno-lint-ignore no-explicit-any -- any namespace's id type: DurableObjectId on Workers
  ROUTE_STATE?: RouteStateNamespace<any> | undefined
  /**
   * Namespace binding of `ConfigDO`: where uploads live with `sync.store: "durable-object"`.
   * Without it uploads reach only the isolate that took them (a warning says so).
   */
  // deno-lint-ignore no-explicit-any -- any namespace's id type: DurableObjectId on Workers
  CONFIG_STORE?: ConfigNamespace<any> | undefined
  /** For `sync.store: "upstash"`. */
  UPSTASH_REDIS_REST_URL?: string | undefined
  /** For `sync.store: "upstash"`. A secret: never logged or answered. */
  UPSTASH_REDIS_REST_TOKEN?: string | undefined
  /**
   * Turns the admin API on (docs/operations.md); at least 32 characters. A secret: never logged
   * or answered.
   */
  RHEOSTAT_ADMIN_TOKEN?: string | undefined
  /** A read-only token for metrics, stats and events (docs/operations.md). A secret. */
  RHEOSTAT_READ_TOKEN?: string | undefined
  /**
   * Origins uploaded configs may point at, comma-separated (docs/operations.md); unset: the
   * origins of RHEOSTAT_CONFIG.
   */
  RHEOSTAT_ORIGINS?: string | undefined
}

/** The slice of `ExecutionContext` the handler uses. */
export interface WaitUntilContext {
  waitUntil(promise: Promise<unknown>): void
  passThroughOnException(): void
}

/** Options of `createEdgeHandler`. */
export interface EdgeHandlerOptions {
  /** The compiled WASM engine (the `.wasm` import); without it `engine: "auto"` runs TypeScript. */
  wasm?: WasmSource | undefined
  /** Where an unusable config and engine fallbacks are reported. @default console */
  logger?: { error(message: string): void; warn(message: string): void } | undefined
  /**
   * Where uploaded configs live; replaces the choice `sync.store` makes (docs/operations.md).
   * Handlers given the same store behave as isolates of one deployment.
   */
  configStore?: ConfigStore | undefined
  /**
   * The time source of the governor, the syncer and the proxy's latency measurement, ms. The wind
   * tunnel's live mode passes a time-compressed clock (src/tunnel/live/worker.ts).
   * @default Date.now
   */
  clock?: (() => number) | undefined
}

/** What one build made: the parts serving requests, or the problems that stopped it. */
export type EdgeBuild =
  | {
    ok: true
    /** The config running now (changes with each applied upload). */
    config: GovernorConfig
    governor: Governor
    sync: Syncer
    store: TelemetryStore
    /** The proxy app running now (rebuilt with each applied upload; the governor stays). */
    app: Hono
    /** The uploaded versions and this isolate's place among them. */
    live: LiveConfig
    configStore: ConfigStore
  }
  | { ok: false; problems: ConfigProblem[] }

/** The handler: `fetch` for the Worker, `current()` for stats and tests. */
export interface EdgeHandler {
  fetch(request: Request, env: WorkerEnv, ctx: WaitUntilContext): Response | Promise<Response>
  /** The build serving requests now; undefined before the first request. */
  current(): EdgeBuild | undefined
}

/** The problem type of a config the Worker cannot apply. */
export const INVALID_CONFIG_PROBLEM_TYPE = `${DEFAULT_PROBLEM_TYPE_BASE}invalid-config`

type Key = readonly [unknown, unknown, unknown, unknown, unknown, unknown, unknown, unknown]

/**
 * Creates the Worker's handler. One per isolate: it keeps the governor's state between requests.
 *
 * @param options The WASM engine and a logger.
 * @returns The handler.
 *
 * @example Usage
 * ```ts
 * import { createEdgeHandler } from './handler.ts'
 * const handler = createEdgeHandler({ logger: { error() {}, warn() {} } })
 * const ctx = { waitUntil() {}, passThroughOnException() {} }
 * const res = await handler.fetch(new Request('http://edge/'), { RHEOSTAT_CONFIG: '{' }, ctx)
 * if (res.status !== 500) throw new Error('an invalid config answers 500')
 * ```
 */
export function createEdgeHandler(options: EdgeHandlerOptions = {}): EdgeHandler {
  const logger = options.logger ?? console
  let key: Key | undefined
  let build: EdgeBuild | undefined

  function refresh(env: WorkerEnv): void {
    // Rebuilt only when something it was built from changes; a binding's presence, not its
    // identity, so that an env object handed out per request cannot reset the physics.
    const next: Key = [
      env.RHEOSTAT_CONFIG,
      env.ROUTE_STATE !== undefined,
      env.CONFIG_STORE !== undefined,
      env.UPSTASH_REDIS_REST_URL,
      env.UPSTASH_REDIS_REST_TOKEN,
      env.RHEOSTAT_ADMIN_TOKEN,
      env.RHEOSTAT_READ_TOKEN,
      env.RHEOSTAT_ORIGINS,
    ]
    if (key !== undefined && next.every((value, i) => value === key![i])) return
    key = next
    build = buildFrom(env, options, logger)
    if (!build.ok) {
      // Once per build, not per request: the config is refused whole until it changes.
      logger.error(new ConfigError(build.problems).message.replace(
        /^Invalid Rheostat config/,
        'Rheostat cannot start: RHEOSTAT_CONFIG is unusable, every request answers 500 until ' +
          'it is fixed',
      ))
    }
  }

  return {
    fetch(request, env, ctx) {
      refresh(env)
      const current = build as EdgeBuild
      if (!current.ok) return invalidConfigResponse(current.problems)
      return current.app.fetch(request, env, ctx as ExecutionContextLike)
    },
    current: () => build,
  }
}

// Hono's `fetch` wants its own ExecutionContext type; the handler passes on what the runtime gave.
type ExecutionContextLike = Parameters<Hono['fetch']>[2]

function buildFrom(
  env: WorkerEnv,
  options: EdgeHandlerOptions,
  logger: { warn(message: string): void },
): EdgeBuild {
  const wasm = options.wasm
  const text = env.RHEOSTAT_CONFIG
  if (typeof text !== 'string' || text.trim() === '') {
    return {
      ok: false,
      problems: [{
        path: '',
        message: 'RHEOSTAT_CONFIG is not set: give the config as JSON text in wrangler.toml ' +
          '[vars] (docs/config.md)',
      }],
    }
  }
  const secrets = secretProblems(env.RHEOSTAT_ADMIN_TOKEN, env.RHEOSTAT_READ_TOKEN)
  if (secrets.length > 0) return { ok: false, problems: secrets }
  try {
    const config = parseEdgeConfigText(text)
    const stores = selectStores(
      config.sync.store,
      (name) => (env as Record<string, unknown>)[name],
      {
        runtime: 'cloudflare-workers',
        logger,
        configStore: options.configStore,
      },
    )
    if (Array.isArray(stores)) return { ok: false, problems: stores }
    const edge = createEdge({
      config,
      deployed: JSON.parse(text),
      store: stores.telemetry,
      configStore: stores.config,
      wasm,
      clock: options.clock,
      logger,
      adminToken: env.RHEOSTAT_ADMIN_TOKEN,
      readToken: env.RHEOSTAT_READ_TOKEN,
      origins: env.RHEOSTAT_ORIGINS,
      getClientIp: cloudflareClientIp,
    })
    // `fetch` reads the build's app per request: an applied upload swaps it in the edge, so the
    // next request takes the new route table and the governor keeps its state.
    return {
      ok: true,
      get config() {
        return edge.config
      },
      governor: edge.governor,
      sync: edge.sync,
      store: edge.store,
      get app() {
        return edge.app
      },
      live: edge.live,
      configStore: edge.configStore,
    }
  } catch (error) {
    if (error instanceof ConfigError) return { ok: false, problems: error.problems }
    return {
      ok: false,
      problems: [{ path: '', message: error instanceof Error ? error.message : String(error) }],
    }
  }
}

function invalidConfigResponse(problems: ConfigProblem[]): Response {
  const n = problems.length
  return problemResponse({
    type: INVALID_CONFIG_PROBLEM_TYPE,
    title: 'Invalid Rheostat config',
    status: 500,
    detail: `RHEOSTAT_CONFIG cannot be applied (${n} problem${n === 1 ? '' : 's'}); ` +
      'none of it is in effect',
    problems: problems.map(({ path, message }) => ({ path, message })),
  })
}
