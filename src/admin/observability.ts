/**
 * `observabilitySection()`: the admin routes that report what the governor does. Mounted behind
 * the admin token (`createAdminApp({ sections })`); paths are relative to the admin prefix.
 *
 * - `GET /metrics`: Prometheus text exposition (metrics.ts).
 * - `GET /api/stats`: the same as JSON (stats.ts).
 * - `GET /api/events`: Server-Sent Events of stats, decisions and mode changes (events.ts).
 * - `POST /api/telemetry`: pressure or telemetry from upstream systems for one route.
 *
 * @module
 */

import type { Context, Hono } from 'hono'
import * as z from 'zod/mini'
import { problemsOf } from '../config/schema.ts'
import { MAX_LATENCY_MS } from '../engine/view.ts'
import { readJsonBody } from './body.ts'
import { DEFAULT_PROBLEM_TYPE_BASE, problemResponse } from '../http/responses.ts'
import type { AdminSection } from './admin.ts'
import { PROMETHEUS_CONTENT_TYPE, renderMetrics } from './metrics.ts'
import { collectStats, DEFAULT_ROUTE_LIMIT, type ObservabilityDeps } from './stats.ts'
import { EventHub, type EventStreamOptions } from './events.ts'

export type { ObservabilityDeps } from './stats.ts'

/** Longest injection, s: an hour; an upstream system that means longer should say so again. */
export const MAX_INJECTION_TTL_S = 3600

/** The body of `POST {prefix}/api/telemetry`. */
export const TelemetryBodySchema = z.strictObject({
  /** A configured route id, or a route the isolate holds (`GET /api/stats` lists them). */
  route: z.string().check(z.minLength(1), z.maxLength(256)),
  /** Pressure to inject, 0..1: the route's pressure is at least this until the ttl. */
  pressure: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** How long the injected pressure lasts, s. @default 30 */
  ttlS: z.optional(z.number().check(z.gt(0), z.lte(MAX_INJECTION_TTL_S))),
  /** Raw telemetry, as `governor.observe` takes it: a latency sample, ms. */
  latencyMs: z.optional(z.number().check(z.gte(0), z.lte(MAX_LATENCY_MS))),
  /** An error rate seen upstream, 0..1. */
  errorRate: z.optional(z.number().check(z.gte(0), z.lte(1))),
  /** How full the origin says it is, 0..1. */
  saturation: z.optional(z.number().check(z.gte(0), z.lte(1))),
}).check(
  z.refine(
    (body) =>
      body.pressure !== undefined || body.latencyMs !== undefined ||
      body.errorRate !== undefined || body.saturation !== undefined,
    { message: 'Give "pressure" or telemetry ("latencyMs", "errorRate", "saturation")' },
  ),
  z.refine((body) => body.ttlS === undefined || body.pressure !== undefined, {
    message: '"ttlS" applies to an injected "pressure": give one',
    path: ['ttlS'],
  }),
)

/** The injection's default lifetime, s. */
export const DEFAULT_INJECTION_TTL_S = 30

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
 *   token: 'an-admin-token-of-32-characters-',
 *   sections: [observabilitySection({ governor, maxBodyBytes: 65536 })],
 * })
 * const res = await admin.request('http://edge/__rheostat/api/stats', {
 *   headers: { authorization: 'Bearer an-admin-token-of-32-characters-' },
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
      // Hono answers HEAD with the GET handler and drops the body without cancelling it: a
      // stream opened here would hold its slot for good.
      if (c.req.raw.method === 'HEAD') {
        return c.body(null, 200, { 'content-type': 'text/event-stream; charset=utf-8' })
      }
      const res = hub.stream(() => collectStats(deps, { limit, events: hub.counters() }))
      if (res !== null) return res
      return problemResponse({
        type: `${DEFAULT_PROBLEM_TYPE_BASE}too-many-streams`,
        title: 'Too many streams',
        status: 503,
        detail: `This isolate already serves ${hub.maxSubscribers} event streams; try again later`,
      }, { 'retry-after': '5' })
    })

    app.post('/api/telemetry', async function telemetry(c) {
      const body = await readJsonBody(c, deps.maxBodyBytes)
      if (!body.ok) return body.response
      const parsed = z.safeParse(TelemetryBodySchema, body.value)
      if (!parsed.success) {
        const problems = problemsOf(parsed.error.issues)
        return problemResponse({
          type: `${DEFAULT_PROBLEM_TYPE_BASE}invalid-telemetry`,
          title: 'Invalid telemetry',
          status: 422,
          detail: `The telemetry has ${problems.length} problem${
            problems.length === 1 ? '' : 's'
          }; none of it was applied`,
          problems,
        })
      }
      const input = parsed.data
      const { governor } = deps
      // Only routes the governor knows: a made-up id would take a slot and evict a real route.
      const known = governor.config.routes.some((r) => r.id === input.route) ||
        governor.routes().includes(input.route)
      if (!known) {
        return problemResponse({
          type: `${DEFAULT_PROBLEM_TYPE_BASE}unknown-route`,
          title: 'Unknown route',
          status: 404,
          detail: `No route "${input.route}" is configured or held by this isolate`,
          problems: [{ path: 'route', message: 'Expected a configured route id' }],
        })
      }
      if (
        input.latencyMs !== undefined || input.errorRate !== undefined ||
        input.saturation !== undefined
      ) {
        governor.observe(input.route, {
          latencyMs: input.latencyMs,
          errorRate: input.errorRate,
          saturation: input.saturation,
        })
      }
      if (input.pressure !== undefined) {
        governor.inject(input.route, input.pressure, input.ttlS ?? DEFAULT_INJECTION_TTL_S)
      }
      const snapshot = governor.snapshot(input.route)
      return c.json({
        route: input.route,
        isolateId: deps.sync?.status().isolateId ?? 'local',
        injected: snapshot?.injected ?? null,
        observed: input.latencyMs !== undefined || input.errorRate !== undefined ||
          input.saturation !== undefined,
      }, 202)
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
