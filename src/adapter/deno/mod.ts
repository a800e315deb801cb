/**
 * Deno entry: the runtime-neutral API plus `createDenoHandler()`, the origin proxy as a Deno
 * fetch handler with the WebAssembly engine from the `.wasm` import and the store picked from the
 * environment (Upstash or memory). `main.ts` serves it (`deno task start`).
 *
 * @example Usage
 * ```ts ignore
 * import { createDenoHandler } from './mod.ts'
 * const handler = createDenoHandler({ config: Deno.env.get('RHEOSTAT_CONFIG') ?? '{}' })
 * Deno.serve(handler.fetch)
 * ```
 *
 * @module
 */

export * from '../../mod.ts'
export { denoClientIp, type DenoEnv } from './conninfo.ts'
export {
  createDenoHandler,
  type DenoHandler,
  type DenoHandlerOptions,
  type EnvReader,
  storeFromEnv,
  UPSTASH_ENV,
} from './handler.ts'
export {
  createSyncer,
  type Syncer,
  type SyncerOptions,
  type SyncStatus,
} from '../../governor/sync.ts'
export { parseEdgeConfig, parseEdgeConfigText } from '../../config/schema.ts'
export { MemoryStore } from '../../store/memory/store.ts'
export { UpstashStore, upstashStore } from '../../store/upstash/index.ts'
export type { TelemetryStore } from '../../contract/telemetry-store.ts'
