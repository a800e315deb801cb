/**
 * A route's snapshot (stats, dashboards) read from the engine's state and scratch after
 * `inspect`: the one place the governor reads the engine's layout field by field.
 *
 * @module
 */

import * as L from '../engine/reference/layout.ts'
import type { EngineCore, Mode } from '../engine/types.ts'
import { MODES } from '../engine/types.ts'
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
  const now = c.now
  e.inspect(slot)
  const admission: Record<string, number> = {}
  c.priorities.forEach((name, i) => {
    admission[name] = e.readScratch(L.X_ADMIT0 + i)
  })
  return {
    route: c.route,
    profile: c.profile,
    engine: e.kind,
    mode: MODES[e.readState(slot, L.S_MODE)] as Mode,
    resistanceOhm: e.readScratch(L.X_R),
    pressure: {
      latency: e.readScratch(L.X_PL),
      errors: e.readScratch(L.X_PE),
      saturation: e.readScratch(L.X_PS),
      combined: e.readState(slot, L.S_P),
    },
    momentumPerS: e.readState(slot, L.S_M),
    scar: e.readState(slot, L.S_SCAR),
    thresholds: {
      latencyMs: e.readScratch(L.X_T),
      errorRate: c.errorRateThreshold,
      learnedLatencyMs: e.readState(slot, L.S_BASE),
      learnedSigmaMs: e.readState(slot, L.S_SHORT),
      warm: e.readState(slot, L.S_DRAINS) >= 1,
    },
    capacity: {
      limit: e.readState(slot, L.S_LIMIT),
      localLimit: e.readScratch(L.X_E),
      share: e.readState(slot, L.S_SHARE),
      unqueuedLatencyMs: e.readState(slot, L.S_BASE),
      shortLatencyMs: e.readState(slot, L.S_SHORT),
      ramp: e.readState(slot, L.S_RAMP),
      drains: e.readState(slot, L.S_DRAINS),
    },
    signals: {
      latencyMs: e.readState(slot, L.S_LAT),
      errorRate: e.readState(slot, L.S_ERR),
      saturation: e.readState(slot, L.S_SAT),
    },
    inflight: e.readState(slot, L.S_INFLIGHT),
    concurrencyLimit: e.readState(slot, L.S_LIMIT),
    admission,
    modeTransitions: e.readState(slot, L.S_TRANSITIONS),
    expiredTickets: c.expiredTickets,
    injected: e.readState(slot, L.S_INJ_P) > 0 && e.readState(slot, L.S_INJ_UNTIL) > now
      ? { pressure: e.readState(slot, L.S_INJ_P), untilMs: e.readState(slot, L.S_INJ_UNTIL) }
      : null,
  }
}
