// fast-check arbitraries for the differential tests: valid physics parameters and operation
// sequences full of hostile numbers (NaN, ±Infinity, negatives, huge values, clock jumps).
import fc from 'fast-check'
import type { PhysicsParams } from '../../src/engine/params.ts'
import type { EngineCore } from '../../src/engine/types.ts'
import {
  DEFAULT_PARAMS,
  firstDifference,
  type Op,
  runSequence,
  type Sequence,
} from './differential.ts'

const anyDouble = fc.oneof(
  fc.double(),
  fc.constantFrom(NaN, Infinity, -Infinity, -0, 0, 1e308, -1e308, 5e-324),
  fc.double({ min: 0, max: 5000, noNaN: true }),
)

export const paramsArb: fc.Arbitrary<PhysicsParams> = fc.record({
  tickMs: fc.constantFrom(10, 50, 100, 250, 1000),
  baselineLatencyMs: fc.constantFrom(10, 100, 5000, 60000, 3.5),
  classes: fc.integer({ min: 1, max: 8 }),
  warmupS: fc.constantFrom(0, 1, 10),
  scarFactor: fc.constantFrom(0, 1, 2.5, 10),
  concurrencyInitial: fc.constantFrom(4, 100),
  tripAfterS: fc.constantFrom(0.2, 1),
  drainPeriodS: fc.constantFrom(0, 1, 5),
  outageOkFraction: fc.constantFrom(0, 0.05),
  silenceFactor: fc.constantFrom(0, 5),
  rampStart: fc.constantFrom(0.0625, 1),
  priorityReserve: fc.constantFrom(0, 1),
  queueAllowance: fc.constantFrom(0, 1),
  rampResume: fc.constantFrom(0, 0.5, 1),
  baseConfidence: fc.constantFrom(0, 2, 3),
  growthConfidence: fc.constantFrom(0, 3),
  drainRelease: fc.constantFrom(0, 1),
  resumeAtAnswer: fc.constantFrom(0, 1),
  sloMs: fc.constantFrom(0, 150, 400, 3000),
  startEvidence: fc.constantFrom(0, 1, 2),
  drainSupersedes: fc.constantFrom(0, 1),
}).map((p) => ({ ...DEFAULT_PARAMS, ...p }))

const dt = fc.oneof(
  fc.double({ min: 0, max: 50, noNaN: true }),
  fc.double({ min: 0, max: 100000, noNaN: true }),
  anyDouble,
)

function opArb(slots: number): fc.Arbitrary<Op> {
  const slot = fc.integer({ min: 0, max: slots - 1 })
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('admit' as const),
        slot,
        cls: fc.oneof(fc.integer({ min: -1, max: 9 }), anyDouble),
        dtMs: dt,
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        op: fc.constant('complete' as const),
        slot,
        latencyMs: anyDouble,
        err: fc.oneof(fc.constantFrom(0, 1, 2, 3), anyDouble),
        retryAfterS: fc.oneof(fc.constant(NaN), anyDouble),
        dtMs: dt,
        sample: fc.constantFrom(0, 1),
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        op: fc.constant('observe' as const),
        slot,
        latencyMs: anyDouble,
        err: anyDouble,
        sat: anyDouble,
        dtMs: dt,
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('advance' as const), slot, dtMs: dt }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('absorb' as const),
        slot,
        count: fc.oneof(fc.integer({ min: 0, max: 500 }), anyDouble),
        latencySumMs: fc.oneof(fc.double({ min: 0, max: 1e6, noNaN: true }), anyDouble),
        errors: fc.oneof(fc.integer({ min: 0, max: 100 }), anyDouble),
        isolates: fc.oneof(fc.integer({ min: 0, max: 64 }), anyDouble),
        fleet: fc.oneof(fc.double({ min: 0, max: 1000, noNaN: true }), anyDouble),
        dtMs: dt,
      }),
    },
    { weight: 1, arbitrary: fc.record({ op: fc.constant('jump' as const), toMs: anyDouble }) },
    {
      weight: 1,
      arbitrary: fc.record({
        op: fc.constant('inject' as const),
        slot,
        pressure: fc.oneof(fc.double({ min: 0, max: 1, noNaN: true }), anyDouble),
        ttlMs: fc.oneof(dt, anyDouble),
        dtMs: dt,
      }),
    },
  )
}

/** A random sequence on 1..3 routes with 1..2 parameter sets. */
export const sequenceArb: fc.Arbitrary<Sequence> = fc.integer({ min: 1, max: 3 }).chain((slots) =>
  fc.record({
    params: fc.array(paramsArb, { minLength: 1, maxLength: 2 }),
    slots: fc.constant(slots),
    startMs: fc.oneof(fc.constant(0), fc.constant(1_700_000_000_000), anyDouble),
    ops: fc.array(opArb(slots), { minLength: 1, maxLength: 80 }),
  })
)

/**
 * Runs `numRuns` random sequences on two fresh engines each and throws on the first difference
 * (fast-check shrinks it to a minimal sequence first).
 */
export function assertRandomParity(
  numRuns: number,
  newA: () => EngineCore,
  newB: () => EngineCore,
): void {
  fc.assert(
    fc.property(sequenceArb, (seq) => {
      const diff = firstDifference(runSequence(newA(), seq), runSequence(newB(), seq))
      if (diff !== null) throw new Error(diff)
    }),
    { numRuns },
  )
}
