/**
 * The Durable Object backend of `TelemetryStore` and `ConfigStore`: `DurableObjectStore` and
 * `DurableObjectConfigStore` (the clients, runtime neutral), `RouteStateDO` and `ConfigDO` (the
 * Durable Object classes a Worker exports and binds).
 *
 * @module
 */

export { RouteStateDO } from './route-state.ts'
export { DurableObjectStore, type RouteStateNamespace, type RouteStateRpc } from './store.ts'
export { ConfigDO } from './config-do.ts'
export {
  CONFIG_OBJECT_NAME,
  type ConfigNamespace,
  type ConfigRpc,
  DurableObjectConfigStore,
  type StoredRecord,
} from './config.ts'
