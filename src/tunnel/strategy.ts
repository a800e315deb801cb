/**
 * What a protection strategy is to the wind tunnel: per isolate, a synchronous decision for each
 * arriving request and the outcome of each admitted one, all in virtual time. The simulator owns
 * the clock, the arrivals, the origin and the metrics; a strategy only decides.
 *
 * @module
 */

import type { ClassSpec, Scenario } from './scenario.ts'
import type { StoreOps } from './store-ops.ts'

/** What happened to an admitted request. */
export interface Outcome {
  /** Time from admission to the answer (or to the client's timeout), ms. */
  latencyMs: number
  /** True for a success (2xx) answered before the client's timeout. */
  ok: boolean
}

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
}

/** A named strategy. */
export interface Strategy {
  /** As used on the command line: rheostat, none, token-bucket, breaker, gradient2, atrion. */
  name: string
  /** Where its algorithm and parameters come from (docs/wind-tunnel.md quotes it). */
  source: string
  create(scenario: Scenario, options: StrategyOptions): StrategyInstance
}
