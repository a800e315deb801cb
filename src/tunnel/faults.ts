/**
 * The fault schedule of a scenario as the simulator and the metrics see it: which faults are
 * active at a virtual time and what they do to the origin, combined.
 *
 * @module
 */

import type { Fault, Scenario } from './scenario.ts'

/** The combined effect of the faults active at one time. */
export interface FaultState {
  /** Service time × this (latency × gray factors, multiplied). */
  serviceFactor: number
  /** Share of requests that fail fast with a 5xx: 1 − Π(1 − rate). */
  errorRate: number
  /** Servers × this (capacity factors, multiplied). */
  capacityFactor: number
  /** True while any blackhole is active: requests sent now are never answered. */
  blackhole: boolean
}

/** Fast failures of the `errors` fault take this share of the median service time. */
export const FAST_FAILURE_SHARE = 0.05

/** The window of a fault in virtual ms: [startMs, endMs); untilS ≤ atS means until the end. */
export function faultWindow(fault: Fault): { startMs: number; endMs: number } {
  return {
    startMs: fault.atS * 1000,
    endMs: fault.untilS > fault.atS ? fault.untilS * 1000 : Infinity,
  }
}

/** The combined faults active at `tMs`. */
export function faultsAt(scenario: Scenario, tMs: number): FaultState {
  const state: FaultState = { serviceFactor: 1, errorRate: 0, capacityFactor: 1, blackhole: false }
  let ok = 1
  for (const fault of scenario.faults) {
    const { startMs, endMs } = faultWindow(fault)
    if (tMs < startMs || tMs >= endMs) continue
    switch (fault.kind) {
      case 'latency':
      case 'gray':
        state.serviceFactor *= fault.factor
        break
      case 'errors':
        ok *= 1 - fault.rate
        break
      case 'capacity':
        state.capacityFactor *= fault.factor
        break
      case 'blackhole':
        state.blackhole = true
        break
    }
  }
  state.errorRate = 1 - ok
  return state
}

/** Every time at which the set of active faults changes, ascending, without duplicates. */
export function faultBoundaries(scenario: Scenario): number[] {
  const times = new Set<number>()
  for (const fault of scenario.faults) {
    const { startMs, endMs } = faultWindow(fault)
    times.add(startMs)
    if (Number.isFinite(endMs)) times.add(endMs)
  }
  return [...times].sort((a, b) => a - b)
}

/** First fault start, ms; null without faults. */
export function firstFaultStartMs(scenario: Scenario): number | null {
  let first: number | null = null
  for (const fault of scenario.faults) {
    const { startMs } = faultWindow(fault)
    if (first === null || startMs < first) first = startMs
  }
  return first
}

/** Last fault end, ms; null without faults or when a fault lasts until the end. */
export function lastFaultEndMs(scenario: Scenario): number | null {
  let last: number | null = null
  for (const fault of scenario.faults) {
    const { endMs } = faultWindow(fault)
    if (!Number.isFinite(endMs) || endMs >= scenario.durationS * 1000) return null
    if (last === null || endMs > last) last = endMs
  }
  return last
}
