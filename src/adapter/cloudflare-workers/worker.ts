/**
 * The Cloudflare Worker: Rheostat as a governing proxy in front of your origins. Configure it with
 * the `RHEOSTAT_CONFIG` variable (JSON, docs/config.md) and bind `ROUTE_STATE` to `RouteStateDO`
 * for the `durable-object` store, and `CONFIG_STORE` to `ConfigDO` for config uploads; the root
 * wrangler.toml is a complete example.
 *
 * @example wrangler.toml
 * ```toml
 * main = "src/adapter/cloudflare-workers/worker.ts"
 * compatibility_date = "2026-10-01"
 * compatibility_flags = ["nodejs_compat"]
 *
 * [vars]
 * RHEOSTAT_CONFIG = '{"sync":{"store":"durable-object"},"routes":[{"id":"api","match":{"path":"/api/*"},"origin":"https://api.example.com"}]}'
 *
 * [[durable_objects.bindings]]
 * name = "ROUTE_STATE"
 * class_name = "RouteStateDO"
 *
 * [[migrations]]
 * tag = "v1"
 * new_sqlite_classes = ["RouteStateDO"]
 *
 * [[durable_objects.bindings]]
 * name = "CONFIG_STORE"
 * class_name = "ConfigDO"
 *
 * [[migrations]]
 * tag = "v2"
 * new_sqlite_classes = ["ConfigDO"]
 * ```
 *
 * @module
 */

// Workers forbid compiling WebAssembly from bytes at run time: the `.wasm` import is compiled by
// the runtime at upload and arrives as a `WebAssembly.Module`, which the engine instantiates.
import wasm from '../../../wasm/build/rheostat.wasm'
import { createEdgeHandler } from './handler.ts'

// Durable Object classes must be exports of the main module to be bound.
export { RouteStateDO } from '../../store/durable-object/route-state.ts'
export { ConfigDO } from '../../store/durable-object/config-do.ts'
// For a Worker of your own (the package's `rheostat/cloudflare-workers`): the factory this entry
// uses, and the Durable Object store for `createGovernor`/`createSyncer` by hand.
export {
  createEdgeHandler,
  type EdgeHandler,
  type EdgeHandlerOptions,
  type WorkerEnv,
} from './handler.ts'
export { DurableObjectStore } from '../../store/durable-object/store.ts'
export { DurableObjectConfigStore } from '../../store/durable-object/config.ts'
/** The compiled WebAssembly engine, for `createEdgeHandler({ wasm })` or `createGovernor`. */
export { wasm }

/** The bindings wrangler.toml declares (generated `RheostatEnv`) and the Upstash secrets. */
type Env = Omit<RheostatEnv, 'CONFIG_STORE'> & {
  /** Optional: without it uploads reach only the isolate that takes them (a warning says so). */
  CONFIG_STORE?: RheostatEnv['CONFIG_STORE']
  UPSTASH_REDIS_REST_URL?: string
  UPSTASH_REDIS_REST_TOKEN?: string
  RHEOSTAT_ADMIN_TOKEN?: string
}

// Module scope: one handler, hence one governor, per isolate; built on the first request because
// the env (the config) only arrives with it.
const handler = createEdgeHandler({ wasm })

export default {
  fetch(request: Request, env: Env, ctx: ExecutionContext): Response | Promise<Response> {
    return handler.fetch(request, env, ctx)
  },
} satisfies ExportedHandler<Env>
