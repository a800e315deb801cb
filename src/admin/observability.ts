/**
 * `observabilitySection()`: the admin routes that report what the governor does. Mounted behind
 * the admin token (`createAdminApp({ sections })`); paths are relative to the admin prefix.
 *
 * - `GET /metrics`: Prometheus text exposition (metrics.ts).
 * - `GET /api/stats`: the same as JSON (stats.ts).
 * - `GET /api/events`: Server-Sent Events of stats, decisions and mode changes (events.ts).
 *
 * @module
 */

import type { Context, Hono } from 'hono'
import { DEFAULT_PROBLEM_TYPE_BASE, problemResponse } from '../http/responses.ts'
import type { AdminSection } from './admin.ts'
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from './metrics.ts'
import { collectStats, DEFAULT_ROUTE_LIMIT, type ObservabilityDeps } from './stats.ts'
import { EventHub, type EventStreamOptions } from './events.ts'

export type { ObservabilityDeps } from './stats.ts'

/** Options of `observabilitySection()` beyond its dependencies. */
export interface ObservabilityOptions extends ObservabilityDeps {
  /** Limits of the event stream. */
  events?: EventStreamOptions | undefined
}

/**
 * Creates the section.
 *
 * @param deps The governor, the syncer, the clock, the config version and isolates.
 * @returns The section, for `createAdminApp({ sections: [...] })`.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { createAdminApp } from './admin.ts'
 * import { observabilitySection } from './observability.ts'
 * const governor = createGovernor({ engine: 'ts' })
 * const admin = createAdminApp({
 *   token: 'secret',
 *   sections: [observabilitySection({ governor, maxBodyBytes: 65536 })],
 * })
 * const res = await admin.request('http://edge/__rheostat/api/stats', {
 *   headers: { authorization: 'Bearer secret' },
 * })
 * if ((await res.json()).routes.length !== 0) throw new Error('no routes yet')
 * ```
 */
export function observabilitySection(deps: ObservabilityOptions): AdminSection {
  const hub = new EventHub(deps.governor, deps.events)
  return function observability(app: Hono) {
    app.get('/metrics', async function metrics(c) {
      const limit = routeLimit(c, deps)
      if (limit instanceof Response) return limit
      const text = renderMetrics(await collectStats(deps, { limit, events: hub.counters() }))
      return c.body(text, 200, { 'content-type': PROMETHEUS_CONTENT_TYPE })
    })

    app.get('/api/stats', async function stats(c) {
      const limit = routeLimit(c, deps)
      if (limit instanceof Response) return limit
      return c.json(await collectStats(deps, { limit, events: hub.counters() }))
    })

    app.get('/api/events', function events(c) {
      const limit = routeLimit(c, deps)
      if (limit instanceof Response) return limit
      const res = hub.stream(() => collectStats(deps, { limit, events: hub.counters() }))
      if (res !== null) return res
      return problemResponse({
        type: `${DEFAULT_PROBLEM_TYPE_BASE}too-many-streams`,
        title: 'Too many streams',
        status: 503,
        detail: `This isolate already serves ${hub.maxSubscribers} event streams; try again later`,
      }, { 'retry-after': '5' })
    })
  }
}

/** `?limit=N`: most routes listed, 1..maxRoutes; default DEFAULT_ROUTE_LIMIT. */
function routeLimit(c: Context, deps: ObservabilityDeps): number | Response {
  const max = deps.governor.config.maxRoutes
  const text = c.req.query('limit')
  if (text === undefined) return Math.min(DEFAULT_ROUTE_LIMIT, max)
  const n = Number(text)
  if (!Number.isInteger(n) || n < 1 || n > max) {
    return problemResponse({
      type: `${DEFAULT_PROBLEM_TYPE_BASE}invalid-query`,
      title: 'Invalid query',
      status: 422,
      detail: `limit must be a whole number from 1 to ${max}, got "${text}"`,
      problems: [{ path: 'limit', message: `Expected a whole number from 1 to ${max}` }],
    })
  }
  return n
}
