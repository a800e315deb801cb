/**
 * The contract both engines implement: numbers in, numbers out, one route per slot.
 *
 * @module
 */

/** Which engine runs the physics. */
export type EngineKind = 'ts' | 'wasm'

/** Engine selection in config: `auto` takes WASM where it loads and falls back to TypeScript. */
export type EngineChoice = 'auto' | EngineKind

/**
 * The slot-level engine. Time is always passed in (`nowMs` on the injected clock); a decision is
 * one i32 (read it with the `decision*` functions of `view.ts`). Both implementations give bit-identical results.
 */
export interface EngineCore {
  readonly kind: EngineKind
  readonly maxSlots: number
  readonly maxParamSets: number
  /** Copies PARAM_FIELDS values into parameter set `index`. */
  setParams(index: number, values: ArrayLike<number>): void
  /** Resets `slot` to a fresh route using parameter set `paramSet`. */
  initSlot(slot: number, paramSet: number, nowMs: number): void
  /** Decides one request of priority class `classIndex` (0 = most important). */
  admit(slot: number, classIndex: number, nowMs: number): number
  /**
   * Ends an admitted request; `sample` 0 releases it without feeding the physics. `outcome` is
   * OUTCOME_OK, OUTCOME_ERROR (an application error), OUTCOME_OVERLOAD (429/503/504) or
   * OUTCOME_LOST (no answer); `retryAfterS` the origin's Retry-After, NaN or 0 for none.
   */
  complete(
    slot: number,
    latencyMs: number,
    outcome: number,
    retryAfterS: number,
    nowMs: number,
    sample: number,
  ): void
  /** The share (0..1) of class `classIndex` the route admitted lately. */
  admission(slot: number, classIndex: number): number
  /** Feeds external telemetry; NaN in any argument means "not reported". */
  observe(
    slot: number,
    latencyMs: number,
    errorRate: number,
    saturation: number,
    nowMs: number,
  ): void
  /**
   * Folds other isolates' samples (count, latency sum, failures) into the next ticks; `isolates`
   * is how many isolates share the route (this one's traffic share is 1/isolates);
   * `fleetInflight` the fleet's requests in flight on the route, from the store's window
   * (docs/physics.md §13; omitted, negative or NaN: unchanged).
   */
  absorb(
    slot: number,
    count: number,
    latencySumMs: number,
    errorCount: number,
    isolates: number,
    nowMs: number,
    fleetInflight?: number,
  ): void
  /**
   * Injects pressure (0..1) from outside until `untilMs`: each tick that ends by then takes the
   * larger of the measured and the injected pressure, and the limit shrinks by it. Replaces an
   * earlier injection.
   */
  inject(slot: number, pressure: number, untilMs: number, nowMs: number): void
  /** Brings the slot's ticks up to `nowMs`. */
  advance(slot: number, nowMs: number): void
  /** Writes derived values (resistance, pressures, threshold, limit, shares) to the scratch registers. */
  inspect(slot: number): void
  readState(slot: number, field: number): number
  readScratch(field: number): number
}

/** Mode names as reported by the API. */
export type Mode = 'BOOTSTRAP' | 'OPERATIONAL' | 'HALF_OPEN' | 'CIRCUIT_BREAKER'

/** Why a decision went the way it did. */
export type Reason =
  | 'admitted'
  | 'probe'
  | 'pressure'
  | 'concurrency'
  | 'circuit-open'
  | 'half-open'

/** Mode names indexed by the engine's mode number. */
export const MODES: readonly Mode[] = ['BOOTSTRAP', 'OPERATIONAL', 'HALF_OPEN', 'CIRCUIT_BREAKER']

/** Reason names indexed by the engine's reason number. */
export const REASONS: readonly Reason[] = [
  'admitted',
  'probe',
  'pressure',
  'concurrency',
  'circuit-open',
  'half-open',
]
