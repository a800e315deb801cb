/**
 * Typed readers of the engine's state: the one place outside the engines that knows the layout
 * (`reference/layout.ts`). Everything above `engine/` reads a route through these, so a field can
 * move, or its meaning change, in `engine/` alone (`tests/unit/layers.test.ts` fails when a module
 * outside `src/engine/` imports the layout).
 *
 * Two kinds of reader:
 *
 * - `readRoute` gathers a route's whole state into a `RouteView` (stats, dashboards, snapshots). It
 *   runs `inspect` and allocates; it is not for the request path.
 * - The named accessors (`modeOf`, `resistanceOf`, …) and the decision-code readers each read one
 *   number and allocate nothing: they are what `admit` and `complete` call, small enough for the
 *   JIT to inline into its caller.
 *
 * @module
 */

import * as L from './reference/layout.ts'
import { type EngineCore, type Mode, MODES, type Reason, REASONS } from './types.ts'

/** Outcome kinds `EngineCore.complete` takes (docs/physics.md §3). */
export const OUTCOME = {
  /** A success: its latency feeds the capacity law. */
  ok: L.OUTCOME_OK,
  /** An application error (500 and the rest): says nothing about load. */
  error: L.OUTCOME_ERROR,
  /** An overload answer (429, 503, 504): the origin answered, asking for less. */
  overload: L.OUTCOME_OVERLOAD,
  /** No answer (timeout, connection refused or reset): overload, and the origin is silent. */
  lost: L.OUTCOME_LOST,
} as const

/** Latency samples the engine takes, at most, ms (larger ones are clamped to it). */
export const MAX_LATENCY_MS: number = L.MAX_LATENCY_MS

// ---- one number each, for the request path ------------------------------------------------------

/** The route's mode as the engine numbers it (an index into `MODES`). */
export function modeIndexOf(e: EngineCore, slot: number): number {
  return e.readState(slot, L.S_MODE)
}

/** The route's mode. */
export function modeOf(e: EngineCore, slot: number): Mode {
  return MODES[e.readState(slot, L.S_MODE)] as Mode
}

/** Resistance as of the route's last tick, Ω. */
export function resistanceOf(e: EngineCore, slot: number): number {
  return e.readState(slot, L.S_R)
}

/** The capacity estimate: the concurrency the whole origin serves without a standing queue. */
export function limitOf(e: EngineCore, slot: number): number {
  return e.readState(slot, L.S_LIMIT)
}

/**
 * Whether an answer of `latencyMs` completing now is one the engine does not take as a sample:
 * its request was sent before the route's last outage (or return) counted it as a ghost
 * (docs/physics.md §9). Call after `advance(slot, nowMs)`, before `complete`.
 */
export function isGhostAnswer(
  e: EngineCore,
  slot: number,
  latencyMs: number,
  nowMs: number,
): boolean {
  return e.readState(slot, L.S_GHOSTS) > 0 && latencyMs > nowMs - e.readState(slot, L.S_GHOST_T)
}

/** Requests admitted on the route and not yet completed. */
export function inflightOf(e: EngineCore, slot: number): number {
  return e.readState(slot, L.S_INFLIGHT)
}

/** Mode transitions since the slot was created. */
export function transitionsOf(e: EngineCore, slot: number): number {
  return e.readState(slot, L.S_TRANSITIONS)
}

/** The index of the parameter set the slot runs with. */
export function paramSetOf(e: EngineCore, slot: number): number {
  return e.readState(slot, L.S_PARAMS)
}

// ---- the decision code of `EngineCore.admit` -----------------------------------------------------

/** True when the decision admits the request. */
export function decisionAllows(code: number): boolean {
  return (code & 1) === 1
}

/** The mode the route was in when it decided. */
export function decisionMode(code: number): Mode {
  return MODES[(code >> L.CODE_MODE_SHIFT) & 0x3] as Mode
}

/** Why the decision went the way it did. */
export function decisionReason(code: number): Reason {
  return REASONS[(code >> L.CODE_REASON_SHIFT) & 0x7] as Reason
}

/** The Retry-After of a refusal, whole seconds (0 when admitted). */
export function decisionRetryAfterS(code: number): number {
  return code >>> L.CODE_RETRY_SHIFT
}

// ---- a route's whole state, for stats --------------------------------------------------------------

/** A route's state as the engine has it: units in the names, no layout indices. */
export interface RouteView {
  mode: Mode
  /** Resistance now (after `inspect`), Ω. */
  resistanceOhm: number
  /** Pressures now; `combined` as of the last tick (injection included). */
  pressure: { latency: number; errors: number; saturation: number; combined: number }
  momentumPerS: number
  /** The share of capacity withheld while ramping back after an outage. */
  scar: number
  /** Latency at which queueing starts to count: tolerance × the unqueued latency, ms. */
  queueThresholdMs: number
  /** Unqueued latency of successes (measured by drains, the profile's baseline before), ms. */
  unqueuedLatencyMs: number
  /** Short-window latency of successes, ms. */
  shortLatencyMs: number
  /** Drains completed. */
  drains: number
  /** Capacity: the concurrency the whole origin serves without a standing queue. */
  limit: number
  /** This isolate's limit now: limit × share × ramp, less injection and drains. */
  localLimit: number
  /** This isolate's share of the traffic, 1/isolates. */
  share: number
  /** Recovery ramp after an outage, 0..1 (1 when not recovering). */
  ramp: number
  /** The smoothed signals: latency of all outcomes (ms), error rate, external saturation. */
  signals: { latencyMs: number; errorRate: number; saturation: number }
  inflight: number
  /** The admitted share of each priority class lately, class 0 first (`classes` entries). */
  admission: number[]
  transitions: number
  /** Pressure injected from outside and until when (ms), or null when none is in force at `nowMs`. */
  injected: { pressure: number; untilMs: number } | null
}

/**
 * Reads a route's whole state. Runs `inspect` (bring the slot up to `nowMs` with `advance` first)
 * and allocates: for stats, not for the request path.
 *
 * @param e The engine.
 * @param slot The route's slot.
 * @param classes How many priority classes to report admission shares for (at most 8).
 * @param nowMs Now on the injected clock, to tell whether an injection is still in force.
 * @returns The route's state.
 *
 * @example Usage
 * ```ts
 * import { ReferenceEngine } from './reference/engine.ts'
 * import { readRoute } from './view.ts'
 * const e = new ReferenceEngine(1, 1)
 * e.initSlot(0, 0, 0)
 * const view = readRoute(e, 0, 3, 0)
 * if (view.mode !== 'BOOTSTRAP' || view.admission.length !== 3) throw new Error('a fresh route')
 * ```
 */
export function readRoute(e: EngineCore, slot: number, classes: number, nowMs: number): RouteView {
  e.inspect(slot)
  const admission: number[] = []
  for (let i = 0; i < classes && i < L.MAX_CLASSES; i++) {
    admission.push(e.readScratch(L.X_ADMIT0 + i))
  }
  const injectedP = e.readState(slot, L.S_INJ_P)
  const injectedUntil = e.readState(slot, L.S_INJ_UNTIL)
  return {
    mode: modeOf(e, slot),
    resistanceOhm: e.readScratch(L.X_R),
    pressure: {
      latency: e.readScratch(L.X_PL),
      errors: e.readScratch(L.X_PE),
      saturation: e.readScratch(L.X_PS),
      combined: e.readState(slot, L.S_P),
    },
    momentumPerS: e.readState(slot, L.S_M),
    scar: e.readState(slot, L.S_SCAR),
    queueThresholdMs: e.readScratch(L.X_T),
    unqueuedLatencyMs: e.readState(slot, L.S_BASE),
    shortLatencyMs: e.readState(slot, L.S_SHORT),
    drains: e.readState(slot, L.S_DRAINS),
    limit: e.readState(slot, L.S_LIMIT),
    localLimit: e.readScratch(L.X_E),
    share: e.readState(slot, L.S_SHARE),
    ramp: e.readState(slot, L.S_RAMP),
    signals: {
      latencyMs: e.readState(slot, L.S_LAT),
      errorRate: e.readState(slot, L.S_ERR),
      saturation: e.readState(slot, L.S_SAT),
    },
    inflight: e.readState(slot, L.S_INFLIGHT),
    admission,
    transitions: e.readState(slot, L.S_TRANSITIONS),
    injected: injectedP > 0 && injectedUntil > nowMs
      ? { pressure: injectedP, untilMs: injectedUntil }
      : null,
  }
}
