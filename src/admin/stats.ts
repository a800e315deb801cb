/**
 * The stats document (`GET {prefix}/api/stats`, the SSE `stats` event and the dashboard): every
 * route this isolate holds, with its physics state, cumulative counters and latency percentiles,
 * plus the isolates the control plane knows and the health of the exchange. Prometheus metrics
 * (metrics.ts) are rendered from the same document, so the two views cannot disagree.
 *
 * @module
 */

import type { Clock, Governor, RouteSnapshot } from '../governor/governor.ts'
import { type LatencyHistogram, latencyQuantile } from '../governor/recorder.ts'
import { initialSyncStatus, type SyncHook, type SyncStatus } from '../governor/sync-types.ts'
import type { IsolateInfo } from '../contract/config-store.ts'

/** One route in the stats document. */
export interface RouteStats extends RouteSnapshot {
  /** Percentiles of the latency histogram, ms; null before the first completed request. */
  latencyMs: { p50: number | null; p99: number | null }
  /** The histogram itself (per-bucket counts, not cumulative). */
  latency: LatencyHistogram
  /** Requests admitted, by priority, since this isolate created the route. */
  admitted: Record<string, number>
  /** Requests shed, by priority. */
  shed: Record<string, number>
}

/** The stats document. */
export interface Stats {
  /** When it was taken, ms on the governor's clock. */
  t: number
  isolateId: string
  configVersion: number
  engine: Governor['engineKind']
  /** Routes this isolate holds. */
  routesHeld: number
  /** True when `routes` lists fewer than `routesHeld` (the `limit`). */
  truncated: boolean
  /** The most recently used routes first. */
  routes: RouteStats[]
  isolates: IsolateInfo[]
  sync: SyncStatus
  /** The event stream: subscribers now, events dropped for slow ones, decisions sampled out. */
  events: EventCounters
}

/** Counters of the event stream (events.ts). */
export interface EventCounters {
  subscribers: number
  dropped: number
  sampledOut: number
}

/** What the stats, metrics, events and telemetry sections read. */
export interface ObservabilityDeps {
  governor: Governor
  /** The exchange loop; without one, sync reads as store "none". */
  sync?: SyncHook | undefined
  /** @default Date.now */
  clock?: Clock | undefined
  /**
   * The config version this isolate runs.
   * @default () => 0 (the deployed config)
   */
  configVersion?: (() => number) | undefined
  /**
   * The isolates the control plane knows.
   * @default this isolate alone, from the sync status
   */
  isolates?: (() => Promise<IsolateInfo[]>) | undefined
  /** Largest request body read (telemetry injection), bytes: the config's `admin.maxBodyBytes`. */
  maxBodyBytes: number
}

/** The default number of routes one stats document or scrape lists (`?limit=` up to `maxRoutes`). */
export const DEFAULT_ROUTE_LIMIT = 1000

const NO_EVENTS: EventCounters = { subscribers: 0, dropped: 0, sampledOut: 0 }

/**
 * Takes the stats document.
 *
 * @param deps The governor and what else there is to report.
 * @param options `limit`: most routes listed (most recently used first); `events`: the event
 * stream's counters.
 * @returns The document.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { collectStats } from './stats.ts'
 * const governor = createGovernor({ engine: 'ts' })
 * governor.admit('checkout', { priority: 'normal' })
 * const stats = await collectStats({ governor, maxBodyBytes: 65536 })
 * if (stats.routes[0]?.admitted.normal !== 1) throw new Error('counted')
 * ```
 */
export async function collectStats(
  deps: ObservabilityDeps,
  options: { limit?: number | undefined; events?: EventCounters | undefined } = {},
): Promise<Stats> {
  const { governor } = deps
  const clock = deps.clock ?? Date.now
  const limit = options.limit ?? DEFAULT_ROUTE_LIMIT
  const keys = governor.routes()
  const routes: RouteStats[] = []
  for (const key of keys) {
    if (routes.length >= limit) break
    const snapshot = governor.snapshot(key)
    const counters = governor.counters(key)
    if (snapshot === undefined || counters === undefined) continue
    routes.push({
      ...snapshot,
      latencyMs: {
        p50: latencyQuantile(counters.latency, 0.5),
        p99: latencyQuantile(counters.latency, 0.99),
      },
      latency: counters.latency,
      admitted: counters.admitted,
      shed: counters.shed,
    })
  }
  const sync = deps.sync?.status() ?? localSync()
  const configVersion = deps.configVersion?.() ?? 0
  const t = clock()
  const isolates = deps.isolates !== undefined ? await deps.isolates() : [{
    isolateId: sync.isolateId,
    configVersion,
    lastSeenMs: t,
    syncDegraded: sync.degraded,
  }]
  return {
    t,
    isolateId: sync.isolateId,
    configVersion,
    engine: governor.engineKind,
    routesHeld: keys.length,
    truncated: routes.length < keys.length,
    routes,
    isolates,
    sync,
    events: options.events ?? NO_EVENTS,
  }
}

function localSync(): SyncStatus {
  return initialSyncStatus('none', 'local')
}
