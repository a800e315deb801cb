// Test harness for physics properties: a governor per engine on a virtual clock, and drivers that
// send evenly spaced requests whose outcomes are given as functions of time.
import {
  createGovernor,
  type Decision,
  type Governor,
  type GovernorConfigInput,
} from '../../src/adapter/node/mod.ts'
import type { EngineKind } from '../../src/engine/types.ts'

export const ENGINES: readonly EngineKind[] = ['ts', 'wasm']

/** A virtual clock in ms. */
export interface VirtualClock {
  now: number
  read: () => number
}

export function virtualClock(start = 0): VirtualClock {
  const clock: VirtualClock = { now: start, read: () => clock.now }
  return clock
}

export interface Rig {
  gov: Governor
  clock: VirtualClock
}

export function rig(engine: EngineKind, config: GovernorConfigInput = {}, start = 0): Rig {
  const clock = virtualClock(start)
  const gov = createGovernor({ engine, config, clock: clock.read, logger: { warn() {} } })
  if (gov.engineKind !== engine) throw new Error(`wanted engine ${engine}, got ${gov.engineKind}`)
  return { gov, clock }
}

export interface DriveOptions {
  route?: string
  rps: number
  seconds: number
  /** Latency of a request started at time t (ms since the drive began). */
  latencyMs: (t: number, i: number) => number
  /** Whether a request started at time t succeeds. */
  ok?: (t: number, i: number) => boolean
  /** Priority of request i. */
  priority?: (i: number) => string
  /** Called after every decision. */
  onDecision?: (d: Decision, t: number, i: number) => void
}

/**
 * Sends `rps` evenly spaced requests for `seconds`; each admitted one completes at once with the
 * given latency (the clock does not wait for it, so in-flight stays ~0 unless a test holds
 * tickets itself).
 */
export function drive(r: Rig, o: DriveOptions): { admitted: number; shed: number } {
  const route = o.route ?? 'route'
  const gapMs = 1000 / o.rps
  const total = Math.round(o.rps * o.seconds)
  const start = r.clock.now
  let admitted = 0
  let shed = 0
  for (let i = 0; i < total; i++) {
    const t = i * gapMs
    r.clock.now = start + t
    const d = r.gov.admit(route, { priority: o.priority?.(i) })
    o.onDecision?.(d, t, i)
    if (d.ticket) {
      admitted++
      r.gov.complete(d.ticket, { latencyMs: o.latencyMs(t, i), ok: o.ok?.(t, i) ?? true })
    } else {
      shed++
    }
  }
  r.clock.now = start + total * gapMs
  return { admitted, shed }
}

/** Healthy traffic until the route has learned and left BOOTSTRAP. */
export function warmUp(r: Rig, route = 'route', latencyMs = 50, seconds = 20): void {
  drive(r, { route, rps: 50, seconds, latencyMs: () => latencyMs })
}

export const PRIORITIES = ['critical', 'normal', 'low'] as const
export const mixed = (i: number): string => PRIORITIES[i % 3] as string
