/**
 * The Durable Object backend of `TelemetryStore`: `DurableObjectStore` (the client, runtime
 * neutral) and `RouteStateDO` (the Durable Object class a Worker exports and binds).
 *
 * @module
 */

export { RouteStateDO } from './route-state.ts'
export { DurableObjectStore, type RouteStateNamespace, type RouteStateRpc } from './store.ts'
