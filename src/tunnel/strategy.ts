/**
 * What a protection strategy is to the wind tunnel: per isolate, a synchronous decision for each
 * arriving request and the outcome of each admitted one, all in virtual time. The simulator owns
 * the clock, the arrivals, the origin and the metrics; a strategy only decides.
 *
 * @module
 */

import type { FaultState } from './faults.ts'
import type { ClassSpec, Scenario } from './scenario.ts'
import type { StoreOps } from './store-ops.ts'

/** What happened to an admitted request. */
export interface Outcome {
  /** Time from admission to the answer (or to the client's timeout), ms. */
  latencyMs: number
  /** True for a success (2xx) answered before the client's timeout. */
  ok: boolean
  /**
   * The origin's HTTP status: 200 for a success, 503 from a full queue (overload), 500 from an
   * `errors` fault (an application error). Absent when no answer came: a client timeout, or a
   * request sent into a blackhole.
   */
  status?: number
  /** The `Retry-After` of the answer, s, where the origin sends one (`origin.retryAfterS`). */
  retryAfterS?: number
}

/** The origin's status of a success. */
export const STATUS_OK = 200
/** The origin's status of an `errors` fault's fast failure: an application error. */
export const STATUS_ERROR = 500
/** The origin's status of a full queue: overload. */
export const STATUS_OVERLOAD = 503

/** A strategy's answer for one request. */
export interface StrategyDecision {
  allow: boolean
  /** Passed back to `complete` for an admitted request (a ticket, a start time, …). */
  handle: unknown
}

/** What a strategy can show for plots and flapping counts (isolate 0, or all isolates). */
export interface StrategyProbe {
  resistance?: number
  mode?: string
  /** Mode transitions so far (a breaker's open/half-open/closed changes count too). */
  modeTransitions?: number
}

/** One strategy running one scenario. */
export interface StrategyInstance {
  admit(isolate: number, cls: ClassSpec, nowMs: number): StrategyDecision
  complete(isolate: number, handle: unknown, outcome: Outcome, nowMs: number): void
  /**
   * Shared state: called by the simulator for each isolate every `scenario.sync.intervalMs` at
   * `sendMs`; the store applies the exchange at `sendMs + latency/2` and the answer reaches the
   * isolate at `sendMs + latency`. Strategies without shared state omit it.
   */
  exchange?(isolate: number, sendMs: number, latencyMs: number): Promise<void>
  probe?(nowMs: number): StrategyProbe
  /** Store operations of the run so far, for a run of `attempts` decided attempts. */
  storeOps?(attempts: number): StoreOps
}

/**
 * What the simulator gives a strategy besides the scenario. Strategies that need none of it
 * ignore it.
 */
export interface StrategyOptions {
  engine: 'ts' | 'wasm'
  /**
   * Runs `task` when virtual time reaches `atMs` (after the events already due then); a promise it
   * returns is awaited before the simulation goes on. This is how an exchange reaches the store
   * and comes back at the right virtual times. Absent outside the simulator.
   */
  schedule?: ((atMs: number, task: () => void | Promise<void>) => void) | undefined
  /**
   * The origin's true state at the current virtual time, for the `ideal` reference only: no
   * governor can see it. Absent outside the simulator.
   */
  oracle?: OriginOracle | undefined
}

/** What the simulator knows about its origin at the current virtual time. */
export interface OriginOracle {
  /** The active faults, combined. */
  faults(): FaultState
  /** Servers at work now (concurrency × capacity factors). */
  servers(): number
  /** Attempts at the origin now: in service plus queued (abandoned ones included: still served). */
  occupancy(): number
}

/** A named strategy. */
export interface Strategy {
  /** As used on the command line: rheostat, none, token-bucket, breaker, gradient2, atrion. */
  name: string
  /** Where its algorithm and parameters come from (docs/wind-tunnel.md quotes it). */
  source: string
  create(scenario: Scenario, options: StrategyOptions): StrategyInstance
}

/** What an observer of a strategy is told, after the strategy itself has seen it. */
export interface StrategyObserver {
  /** A decision, as the strategy took it. */
  admitted?(isolate: number, decision: StrategyDecision, nowMs: number): void
  /** An answer (or a timeout), after the strategy has counted it. */
  completed?(isolate: number, outcome: Outcome, nowMs: number): void
}

/**
 * `inner` with an observer told of every decision and answer after the strategy has seen it, so
 * that traces and tests can read the strategy's state at each event without changing what it does.
 *
 * @param inner The strategy to run.
 * @param observer What to call after each `admit` and `complete`.
 * @returns A strategy of the same name and source that decides exactly as `inner`.
 */
export function observed(inner: Strategy, observer: StrategyObserver): Strategy {
  return {
    name: inner.name,
    source: inner.source,
    create(scenario, options) {
      const inst = inner.create(scenario, options)
      return {
        ...inst,
        admit(isolate, cls, nowMs) {
          const decision = inst.admit(isolate, cls, nowMs)
          observer.admitted?.(isolate, decision, nowMs)
          return decision
        },
        complete(isolate, handle, outcome, nowMs) {
          inst.complete(isolate, handle, outcome, nowMs)
          observer.completed?.(isolate, outcome, nowMs)
        },
      }
    },
  }
}
