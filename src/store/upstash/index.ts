/**
 * The Upstash backend of the TelemetryStore: `upstashStore({ url, token })`, or `UpstashStore`
 * over a client you built.
 *
 * @module
 */

export {
  type UpstashClient,
  UpstashStore,
  upstashStore,
  type UpstashStoreFactoryOptions,
  type UpstashStoreOptions,
} from './store.ts'
export { runPinned, upstashRest, type UpstashRestOptions } from './rest.ts'
export { type PinnedScript, SCRIPTS } from './scripts.ts'
export {
  CONFIG_SCRIPTS,
  UpstashConfigStore,
  upstashConfigStore,
  type UpstashConfigStoreOptions,
} from './config.ts'
