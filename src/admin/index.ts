/**
 * The admin API: bearer-token gate, body limits, and the route sections mounted behind it.
 *
 * @module
 */

export {
  type AdminOptions,
  type AdminSection,
  createAdminApp,
  DEFAULT_ADMIN_PREFIX,
} from './admin.ts'
export { tokenMatches } from './auth.ts'
export { type BodyRead, readJsonBody } from './body.ts'
export {
  DEFAULT_INJECTION_TTL_S,
  MAX_INJECTION_TTL_S,
  type ObservabilityOptions,
  observabilitySection,
  TelemetryBodySchema,
} from './observability.ts'
export {
  type DecisionEvent,
  type DecisionLogOptions,
  EventHub,
  type EventStreamOptions,
  type ModeEvent,
  sseFrame,
  watchDecisionLog,
} from './events.ts'
export {
  collectStats,
  DEFAULT_ROUTE_LIMIT,
  type EventCounters,
  type ObservabilityDeps,
  type RouteStats,
  type Stats,
} from './stats.ts'
export { PROMETHEUS_CONTENT_TYPE, renderMetrics } from './metrics.ts'
