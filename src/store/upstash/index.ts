/**
 * The Upstash backend of the TelemetryStore and the ConfigStore, over `@upstash/redis`:
 * `upstashStore({ url, token })`, or `UpstashStore` over a client you built.
 *
 * @module
 */

export {
  UpstashStore,
  upstashStore,
  type UpstashStoreFactoryOptions,
  type UpstashStoreOptions,
} from './store.ts'
export {
  runPinned,
  type UpstashClient,
  upstashClient,
  type UpstashClientOptions,
} from './client.ts'
export { type PinnedScript, SCRIPTS } from './scripts.ts'
export {
  CONFIG_SCRIPTS,
  UpstashConfigStore,
  upstashConfigStore,
  type UpstashConfigStoreOptions,
} from './config.ts'
