/**
 * Prometheus text exposition (format 0.0.4) of the stats document: every family with its HELP and
 * TYPE lines, counters ending in `_total`, the latency histogram as cumulative `_bucket{le}`
 * series with `_sum` and `_count`, seconds as the unit of time, label values escaped. The list of
 * metrics is in docs/operations.md.
 *
 * @module
 */

import { MODES } from '../engine/types.ts'
import type { Stats } from './stats.ts'

/** The `content-type` of the exposition. */
export const PROMETHEUS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

type Labels = Record<string, string>
type Sample = readonly [labels: Labels, value: number, suffix?: string]

/**
 * Renders the stats document as Prometheus text.
 *
 * @param stats The document (collectStats()).
 * @returns The exposition, ending with a newline.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { collectStats } from './stats.ts'
 * import { renderMetrics } from './metrics.ts'
 * const governor = createGovernor({ engine: 'ts' })
 * governor.admit('checkout', { priority: 'low' })
 * const text = renderMetrics(await collectStats({ governor, maxBodyBytes: 65536 }))
 * if (!text.includes('rheostat_admitted_total{route="checkout",priority="low"} 1')) {
 *   throw new Error('counted')
 * }
 * ```
 */
export function renderMetrics(stats: Stats): string {
  const out: string[] = []
  const family = (name: string, type: string, help: string, samples: readonly Sample[]) => {
    out.push(`# HELP ${name} ${escapeHelp(help)}`, `# TYPE ${name} ${type}`)
    for (const [labels, value, suffix] of samples) {
      out.push(`${name}${suffix ?? ''}${labelText(labels)} ${numberText(value)}`)
    }
  }
  const perRoute = (pick: (r: Stats['routes'][number]) => number): Sample[] =>
    stats.routes.map((r) => [{ route: r.route }, pick(r)])
  const perPriority = (pick: (r: Stats['routes'][number]) => Record<string, number>): Sample[] =>
    stats.routes.flatMap((r) =>
      Object.entries(pick(r)).map(([priority, n]): Sample => [{ route: r.route, priority }, n])
    )

  family('rheostat_isolate_info', 'gauge', 'This isolate: its id and the engine it runs (1)', [
    [{ isolate_id: stats.isolateId, engine: stats.engine }, 1],
  ])
  family('rheostat_config_version', 'gauge', 'Config version this isolate runs (0: deployed)', [
    [{}, stats.configVersion],
  ])
  family('rheostat_routes', 'gauge', 'Routes this isolate holds', [[{}, stats.routesHeld]])
  family(
    'rheostat_resistance_ohms',
    'gauge',
    'Route resistance R',
    perRoute((r) => r.resistanceOhm),
  )
  family(
    'rheostat_pressure',
    'gauge',
    'Route pressure 0..1 per axis (latency, errors, saturation) and combined',
    stats.routes.flatMap((r) =>
      (['latency', 'errors', 'saturation', 'combined'] as const).map((axis): Sample => [
        { route: r.route, axis },
        r.pressure[axis],
      ])
    ),
  )
  family(
    'rheostat_momentum_per_second',
    'gauge',
    'Route momentum: smoothed change of pressure per second',
    perRoute((r) => r.momentumPerS),
  )
  family('rheostat_scar', 'gauge', 'Route scar tissue 0..1', perRoute((r) => r.scar))
  family(
    'rheostat_injected_pressure',
    'gauge',
    'Pressure injected through the telemetry endpoint, in force now (0: none)',
    perRoute((r) => r.injected?.pressure ?? 0),
  )
  family(
    'rheostat_mode',
    'gauge',
    'Route mode: 1 for the current one',
    stats.routes.flatMap((r) =>
      MODES.map((mode): Sample => [{ route: r.route, mode }, r.mode === mode ? 1 : 0])
    ),
  )
  family(
    'rheostat_mode_transitions_total',
    'counter',
    'Mode changes of the route since this isolate created it',
    perRoute((r) => r.modeTransitions),
  )
  family(
    'rheostat_tickets_expired_total',
    'counter',
    'Admitted requests never completed within their bound, given back without a sample',
    perRoute((r) => r.expiredTickets),
  )
  family(
    'rheostat_latency_threshold_seconds',
    'gauge',
    'Latency above which a standing queue counts: tolerance x the unqueued latency',
    perRoute((r) => r.thresholds.latencyMs / 1000),
  )
  family(
    'rheostat_learned_latency_seconds',
    'gauge',
    'Unqueued latency of successes, measured by drains (docs/physics.md section 6)',
    perRoute((r) => r.thresholds.learnedLatencyMs / 1000),
  )
  family(
    'rheostat_error_rate_threshold',
    'gauge',
    'Error-rate threshold 0..1',
    perRoute((r) => r.thresholds.errorRate),
  )
  family(
    'rheostat_admission_ratio',
    'gauge',
    'Share of the priority the route admits now 0..1',
    perPriority((r) => r.admission),
  )
  family(
    'rheostat_admitted_total',
    'counter',
    'Requests admitted',
    perPriority((r) => r.admitted),
  )
  family('rheostat_shed_total', 'counter', 'Requests shed', perPriority((r) => r.shed))
  family(
    'rheostat_request_duration_seconds',
    'histogram',
    'Latency of completed admitted requests',
    stats.routes.flatMap((r) => {
      const { boundsMs, counts, sumMs, count } = r.latency
      const samples: Sample[] = []
      let cumulative = 0
      counts.forEach((n, i) => {
        cumulative += n
        const le = i < boundsMs.length ? numberText((boundsMs[i] as number) / 1000) : '+Inf'
        samples.push([{ route: r.route, le }, cumulative, '_bucket'])
      })
      samples.push([{ route: r.route }, sumMs / 1000, '_sum'], [
        { route: r.route },
        count,
        '_count',
      ])
      return samples
    }),
  )
  family(
    'rheostat_inflight',
    'gauge',
    'Requests admitted and not completed',
    perRoute((r) => r.inflight),
  )
  family(
    'rheostat_concurrency_limit',
    'gauge',
    'Capacity estimate: requests in flight the whole origin serves without a standing queue',
    perRoute((r) => r.concurrencyLimit),
  )
  const sync = stats.sync
  family(
    'rheostat_sync_degraded',
    'gauge',
    '1 while the exchange with the shared store fails',
    [[{ store: sync.store }, sync.degraded ? 1 : 0]],
  )
  family('rheostat_sync_exchanges_total', 'counter', 'Exchanges with the store attempted', [
    [{}, sync.exchanges],
  ])
  family('rheostat_sync_failures_total', 'counter', 'Exchanges that failed or timed out', [
    [{}, sync.failures],
  ])
  family('rheostat_sync_timeouts_total', 'counter', 'Exchanges that timed out', [
    [{}, sync.timeouts],
  ])
  family(
    'rheostat_sync_exchange_duration_seconds',
    'gauge',
    'Duration of the last exchange',
    [[{}, sync.lastLatencyMs / 1000]],
  )
  family(
    'rheostat_sync_last_success_timestamp_seconds',
    'gauge',
    'Clock time of the last successful exchange (0: none yet)',
    [[{}, sync.lastOkMs / 1000]],
  )
  family('rheostat_isolates', 'gauge', 'Isolates the control plane knows', [
    [{}, stats.isolates.length],
  ])
  family('rheostat_event_subscribers', 'gauge', 'Clients reading the event stream', [
    [{}, stats.events.subscribers],
  ])
  family(
    'rheostat_events_dropped_total',
    'counter',
    'Events not delivered because a client read too slowly',
    [[{}, stats.events.dropped]],
  )
  family(
    'rheostat_events_sampled_out_total',
    'counter',
    'Decision events left out by the per-client rate cap',
    [[{}, stats.events.sampledOut]],
  )
  return out.join('\n') + '\n'
}

function labelText(labels: Labels): string {
  const entries = Object.entries(labels)
  if (entries.length === 0) return ''
  return `{${entries.map(([k, v]) => `${k}="${escapeLabel(v)}"`).join(',')}}`
}

/** Label values escape backslash, double quote and line feed (the 0.0.4 text format). */
function escapeLabel(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n')
}

/** HELP text escapes backslash and line feed. */
function escapeHelp(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')
}

function numberText(value: number): string {
  if (Number.isNaN(value)) return 'NaN'
  if (value === Infinity) return '+Inf'
  if (value === -Infinity) return '-Inf'
  return String(value)
}
