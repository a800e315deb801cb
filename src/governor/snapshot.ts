/**
 * A route's snapshot (stats, dashboards): the engine's `RouteView` (src/engine/view.ts) with the
 * names and settings only the governor knows.
 *
 * @module
 */

import type { EngineCore } from '../engine/types.ts'
import { readRoute } from '../engine/view.ts'
import type { RouteSnapshot } from './types.ts'

/** What the snapshot takes from the governor rather than the engine. */
export interface SnapshotContext {
  route: string
  profile: string
  priorities: readonly string[]
  /** The route's configured error rate threshold. */
  errorRateThreshold: number
  expiredTickets: number
  now: number
}

/** Builds the snapshot of `slot`; runs `inspect` (the engine must be advanced to `now`). */
export function readSnapshot(e: EngineCore, slot: number, c: SnapshotContext): RouteSnapshot {
  const v = readRoute(e, slot, c.priorities.length, c.now)
  const admission: Record<string, number> = {}
  c.priorities.forEach((name, i) => {
    admission[name] = v.admission[i] as number
  })
  return {
    route: c.route,
    profile: c.profile,
    engine: e.kind,
    mode: v.mode,
    resistanceOhm: v.resistanceOhm,
    pressure: v.pressure,
    momentumPerS: v.momentumPerS,
    scar: v.scar,
    thresholds: {
      latencyMs: v.queueThresholdMs,
      errorRate: c.errorRateThreshold,
      learnedLatencyMs: v.unqueuedLatencyMs,
      learnedSigmaMs: v.shortLatencyMs,
      warm: v.drains >= 1,
    },
    capacity: {
      limit: v.limit,
      localLimit: v.localLimit,
      share: v.share,
      unqueuedLatencyMs: v.unqueuedLatencyMs,
      shortLatencyMs: v.shortLatencyMs,
      ramp: v.ramp,
      drains: v.drains,
    },
    signals: v.signals,
    inflight: v.inflight,
    concurrencyLimit: v.limit,
    admission,
    modeTransitions: v.transitions,
    expiredTickets: c.expiredTickets,
    injected: v.injected,
  }
}
