/**
 * Rheostat: a physics-based rate governor for the edge. Runtime-neutral entry: works unchanged
 * in Node, workerd and Deno. Pass `wasm` (the compiled engine) to run the WebAssembly engine;
 * `rheostat/node` does that for you on Node.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from './mod.ts'
 * let now = 0
 * const gov = createGovernor({ engine: 'ts', clock: () => now })
 * const d = gov.admit('checkout', { priority: 'critical' })
 * if (d.ticket) gov.complete(d.ticket, { latencyMs: 42, ok: true })
 * ```
 *
 * @module
 */

export {
  type AdmitOptions,
  type Clock,
  createGovernor,
  type Decision,
  type Governor,
  type GovernorOptions,
  type GovernorWatcher,
  type Lease,
  LeaseExpiredError,
  type LeaseOutcome,
  type Outcome,
  type RouteSnapshot,
  type Scheduler,
  type TaskOptions,
  TaskRefusedError,
  type Telemetry,
  type Ticket,
} from './governor/governor.ts'
export { type LatencyHistogram, latencyQuantile, type RouteCounters } from './governor/recorder.ts'
export {
  ConfigError,
  type ConfigProblem,
  type GovernorConfig,
  type GovernorConfigInput,
  GovernorConfigSchema,
  parseConfig,
  type Profile,
  type ProfileName,
  PROFILES,
} from './config/schema.ts'
export type { EngineChoice, EngineKind, Mode, Reason } from './engine/types.ts'
export { loadWasmEngine, type WasmSource } from './engine/wasm/loader.ts'

// HTTP layer: Hono middleware, fetch-handler wrapper, origin proxy, response helpers.
export { governor, type GovernorMiddlewareOptions, type WithRheostat } from './http/middleware.ts'
export {
  type FetchFunction,
  type FetchHandlerObject,
  type WaitUntil,
  withGovernor,
  type WithGovernorOptions,
} from './http/fetch-handler.ts'
export {
  cloudflareClientIp,
  createProxyApp,
  type Fallback,
  type FetchLike,
  type GetClientIp,
  type ProxyAppOptions,
  stripHopByHop,
} from './http/proxy.ts'
export {
  type CompiledRoute,
  compileRoutes,
  DEFAULT_TIMEOUT_MS,
  defaultPriority,
  type RouteTable,
} from './http/routes.ts'
export {
  DEFAULT_PROBLEM_TYPE_BASE,
  PROBLEM_JSON,
  type ProblemDetails,
  problemResponse,
  rateLimitFor,
  rateLimitHeaders,
  type RateLimitState,
  SHED_PROBLEM_TYPE,
  shedResponse,
} from './http/responses.ts'
export { isFailureStatus, type RheostatInfo, type RheostatVariables } from './http/gate.ts'
