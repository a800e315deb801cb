// Differential testing of the two engines: runtime-neutral (Node, workerd and Deno all run it).
// An operation sequence is applied to both engines; every decision code and every state field
// must be identical, bit for bit (stronger than the 1e-9 relative tolerance the spec allows).
import { paramBlock, type PhysicsParams } from '../../src/engine/params.ts'
import { SLOT_FIELDS } from '../../src/engine/reference/layout.ts'
import type { EngineCore } from '../../src/engine/types.ts'

export type Op =
  | { op: 'admit'; slot: number; cls: number; dtMs: number }
  | {
    op: 'complete'
    slot: number
    latencyMs: number
    /** Outcome kind (0 ok, 1 error, 2 overload, 3 lost), or anything hostile. */
    err: number
    retryAfterS: number
    dtMs: number
    sample: number
  }
  | { op: 'observe'; slot: number; latencyMs: number; err: number; sat: number; dtMs: number }
  | { op: 'advance'; slot: number; dtMs: number }
  | {
    op: 'absorb'
    slot: number
    count: number
    latencySumMs: number
    errors: number
    isolates: number
    /** The fleet's requests in flight (absorb's last argument); absent: not passed. */
    fleet?: number
    dtMs: number
  }
  | { op: 'jump'; toMs: number }
  | { op: 'inject'; slot: number; pressure: number; ttlMs: number; dtMs: number }

export interface Sequence {
  params: PhysicsParams[]
  slots: number
  startMs: number
  ops: Op[]
}

export interface Trace {
  codes: number[]
  state: number[]
}

export const DEFAULT_PARAMS: PhysicsParams = {
  tickMs: 100,
  baselineLatencyMs: 100,
  warmupS: 10,
  scarFactor: 1,
  classes: 3,
  concurrencyInitial: 100,
  concurrencyMin: 1,
  concurrencyMax: 10000,
  tripPressure: 0.95,
  tripAfterS: 1,
  maxRetryAfterS: 30,
  signalTauS: 1,
  momentumTauS: 1,
  limitTauS: 0.45,
  shortLatencyTauS: 0.15,
  baseTrackTauS: 2,
  pressureOhm: 10,
  momentumOhm: 4,
  scarOhm: 4,
  baseOhm: 1,
  saturationThreshold: 0.8,
  errorRateThreshold: 0.05,
  latencyTolerance: 1.5,
  limitGrowthPerS: 2,
  overloadBackoff: 0.5,
  drainPeriodS: 5,
  drainFraction: 0.25,
  drainSamples: 3,
  drainAfterShrinkS: 1,
  drainGiveUp: 20,
  outageOkFraction: 0.05,
  outageAfterS: 0.3,
  outageSamples: 10,
  silenceFactor: 8,
  rampStart: 0.0625,
  rampDoubleS: 0.1,
  priorityReserve: 1,
  askWindowS: 1,
  queueAllowance: 0,
  rampResume: 1,
  baseConfidence: 0,
  growthConfidence: 3,
  drainRelease: 1,
  resumeAtAnswer: 1,
  sloMs: 0,
  startEvidence: 1,
  drainSupersedes: 0,
  spreadMs: 250,
}

/** Runs a sequence on one engine and records every decision code and the final state. */
export function runSequence(engine: EngineCore, seq: Sequence): Trace {
  seq.params.forEach((p, i) => engine.setParams(i, paramBlock(p)))
  let now = seq.startMs
  for (let s = 0; s < seq.slots; s++) engine.initSlot(s, s % seq.params.length, now)
  const codes: number[] = []
  const state: number[] = []
  const snapshot = () => {
    for (let s = 0; s < seq.slots; s++) {
      for (let f = 0; f < SLOT_FIELDS; f++) state.push(engine.readState(s, f))
    }
  }
  for (const o of seq.ops) {
    if (o.op === 'jump') {
      now = o.toMs
      continue
    }
    now += o.dtMs
    if (o.op === 'admit') codes.push(engine.admit(o.slot, o.cls, now))
    else if (o.op === 'complete') {
      engine.complete(o.slot, o.latencyMs, o.err, o.retryAfterS, now, o.sample)
    } else if (o.op === 'observe') engine.observe(o.slot, o.latencyMs, o.err, o.sat, now)
    else if (o.op === 'absorb') {
      engine.absorb(o.slot, o.count, o.latencySumMs, o.errors, o.isolates, now, o.fleet)
    } else if (o.op === 'inject') engine.inject(o.slot, o.pressure, now + o.ttlMs, now)
    else engine.advance(o.slot, now)
  }
  snapshot()
  return { codes, state }
}

/** First difference between two traces, or null. Uses Object.is: NaN = NaN, +0 ≠ −0. */
export function firstDifference(a: Trace, b: Trace): string | null {
  if (a.codes.length !== b.codes.length) {
    return `decision count ${a.codes.length} ≠ ${b.codes.length}`
  }
  for (let i = 0; i < a.codes.length; i++) {
    if (a.codes[i] !== b.codes[i]) return `decision ${i}: ${a.codes[i]} ≠ ${b.codes[i]}`
  }
  for (let i = 0; i < a.state.length; i++) {
    if (!Object.is(a.state[i], b.state[i])) {
      const slot = Math.floor(i / SLOT_FIELDS)
      return `slot ${slot} field ${i % SLOT_FIELDS}: ${a.state[i]} ≠ ${b.state[i]}`
    }
  }
  return null
}

/** A deterministic pseudo-random source for scripted sequences (mulberry32). */
export function prng(seed: number): () => number {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/**
 * Lognormal draws of the given mean and σ (Box–Muller on `prng`), as the wind tunnel's origins
 * serve: for tests that need a realistic service-time spread.
 */
export function lognormal(seed: number, meanMs: number, sigma: number): () => number {
  const u = prng(seed)
  const mu = Math.log(meanMs) - sigma * sigma / 2
  return () => {
    const a = u() || 1e-12
    const b = u()
    return Math.exp(mu + sigma * Math.sqrt(-2 * Math.log(a)) * Math.cos(2 * Math.PI * b))
  }
}

/**
 * A scripted sequence: phases of healthy, slow, failing and silent traffic and a black hole
 * (requests admitted, never answered) on a few routes, with hostile values mixed in. Deterministic for a seed; used for golden vectors. With
 * `inject`, about 1 op in 100 also injects pressure (the sequences without it are unchanged).
 */
export function scriptedSequence(
  seed: number,
  length: number,
  options: { inject?: boolean | undefined } = {},
): Sequence {
  const rnd = prng(seed)
  const slots = 3
  const ops: Op[] = []
  const hostile = [NaN, Infinity, -Infinity, -1, 1e308, -0, 5e-324]
  const startMs = 1_700_000_000_000
  let t = 0
  for (let i = 0; i < length; i++) {
    const dtMs = rnd() * 25
    t += dtMs
    const phase = Math.floor(t / 15000) % 5
    const slot = Math.floor(rnd() * slots)
    const r = rnd()
    if (phase === 3 && r < 0.98) {
      ops.push({ op: 'advance', slot, dtMs: dtMs * 20 })
      continue
    }
    if (r < 0.01) {
      // Mostly forward (a stalled isolate), sometimes back (a clock correction).
      t += rnd() * 120000 - 10000
      ops.push({ op: 'jump', toMs: startMs + t })
      continue
    }
    if (r < 0.05) {
      ops.push({
        op: 'observe',
        slot,
        latencyMs: hostile[Math.floor(rnd() * hostile.length)] as number,
        err: rnd() < 0.5 ? NaN : rnd(),
        sat: rnd() < 0.3 ? rnd() * 1.2 : NaN,
        dtMs,
      })
      continue
    }
    if (options.inject === true && r > 0.99) {
      const pressure = rnd() < 0.1 ? hostile[Math.floor(rnd() * hostile.length)] as number : rnd()
      ops.push({ op: 'inject', slot, pressure, ttlMs: rnd() * 30000, dtMs })
      continue
    }
    ops.push({ op: 'admit', slot, cls: Math.floor(rnd() * 3), dtMs })
    // Phase 4 is a black hole: nothing admitted is answered.
    if (phase === 4) continue
    const latencyMs = phase === 1 ? 300 + rnd() * 2000 : 40 + rnd() * 60
    // Phase 2 fails: 97% of outcomes are errors, overload answers or no answer at all.
    const failed = phase === 2 ? rnd() < 0.97 : rnd() < 0.01
    const err = failed ? 1 + Math.floor(rnd() * 3) : 0
    const retryAfterS = failed && rnd() < 0.1 ? rnd() * 5 : NaN
    ops.push({ op: 'complete', slot, latencyMs, err, retryAfterS, dtMs: rnd() * 5, sample: 1 })
    if (rnd() < 0.02) {
      ops.push({
        op: 'absorb',
        slot,
        count: Math.floor(rnd() * 40),
        latencySumMs: rnd() * 4000,
        errors: Math.floor(rnd() * 5),
        isolates: 1 + Math.floor(rnd() * 4),
        dtMs: 0,
      })
    }
  }
  const light = { ...DEFAULT_PARAMS, baselineLatencyMs: 10, classes: 5 }
  return { params: [DEFAULT_PARAMS, light], slots, startMs, ops }
}
