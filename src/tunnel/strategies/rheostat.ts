/**
 * The `rheostat` strategy: the real governor and engine (`--engine ts|wasm`), one governor per
 * isolate on a virtual clock, config from the scenario's `governor` field. Every class is a
 * priority on one route, `origin`: the classes share one origin, so they share one resistance and
 * the priorities decide who is shed first. With several isolates they exchange through the real
 * `MemoryStore` with the governor's own `takeDeltas`/`applyExchange`: the deltas are taken when
 * the exchange is sent, the store adds them half a round trip later, and the answer is folded
 * in a whole round trip later, each at its virtual time.
 *
 * @module
 */

import {
  type AdmitOptions,
  createGovernor,
  type Governor,
  type Ticket,
} from '../../adapter/node/mod.ts'
import { createSyncer, type Syncer } from '../../governor/sync.ts'
import { MemoryConfigStore } from '../../store/memory/config.ts'
import { MemoryStore } from '../../store/memory/store.ts'
import { NO_TIMERS, OpCounter, SimulatedStore } from '../store-ops.ts'
import { type ClassSpec, governorConfig, type Scenario } from '../scenario.ts'
import type { Strategy, StrategyInstance, StrategyOptions, StrategyProbe } from '../strategy.ts'

/** The route every class is governed on. */
export const ROUTE_ID = 'origin'

const RHEOSTAT_SOURCE = 'This repository: src/governor/governor.ts and the engine of ' +
  'docs/physics.md, config from the scenario\'s "governor" field, route "origin", priority = ' +
  'class priority'

/** The real governor, one per isolate. */
export const rheostat: Strategy = rheostatStrategy()

/**
 * The `rheostat` strategy, with an optional hook that receives each run's governors (one per
 * isolate) when they are created: the trace tool (src/cli/tunnel-trace.ts) reads their snapshots.
 */
export function rheostatStrategy(onGovernors?: (governors: readonly Governor[]) => void): Strategy {
  return {
    name: 'rheostat',
    source: RHEOSTAT_SOURCE,
    create: (scenario, options) => createRheostat(scenario, options, onGovernors),
  }
}

function createRheostat(
  scenario: Scenario,
  options: StrategyOptions,
  onGovernors: ((governors: readonly Governor[]) => void) | undefined,
): StrategyInstance {
  let now = 0
  const clock = () => now
  const governors: Governor[] = []
  for (let i = 0; i < scenario.isolates; i++) {
    governors.push(
      createGovernor({ config: governorConfig(scenario), engine: options.engine, clock }),
    )
  }
  onGovernors?.(governors)
  let syncers: Syncer[] | undefined
  // Exchanges by why they were sent (docs/sync.md, "When an isolate talks"), for the cost model.
  const exchanges: Record<string, number> = {}
  const maybeSync = (isolate: number) => {
    const syncer = syncers?.[isolate]
    if (syncer === undefined || syncer.maybeSync() === null) return
    const kind = syncer.status().lastKind ?? 'now'
    exchanges[kind] = (exchanges[kind] ?? 0) + 1
  }
  const admitOptions = new Map<ClassSpec, AdmitOptions>()
  const optionsOf = (cls: ClassSpec): AdmitOptions => {
    let o = admitOptions.get(cls)
    if (o === undefined) {
      o = { priority: cls.priority }
      admitOptions.set(cls, o)
    }
    return o
  }

  const instance: StrategyInstance = {
    admit(isolate, cls, nowMs) {
      now = nowMs
      const d = (governors[isolate] as Governor).admit(ROUTE_ID, optionsOf(cls))
      // A shed request is a request too: the syncer is asked after every one.
      if (!d.allow) maybeSync(isolate)
      return { allow: d.allow, handle: d.ticket }
    },
    complete(isolate, handle, outcome, nowMs) {
      now = nowMs
      ;(governors[isolate] as Governor).complete(handle as Ticket, outcome)
      maybeSync(isolate)
    },
    probe(nowMs): StrategyProbe {
      now = nowMs
      let resistance = 0
      let held = 0
      let mode: string | undefined
      let modeTransitions = 0
      for (const gov of governors) {
        const snap = gov.snapshot(ROUTE_ID)
        if (snap === undefined) continue
        resistance += snap.resistanceOhm
        held++
        mode ??= snap.mode
        modeTransitions = Math.max(modeTransitions, snap.modeTransitions)
      }
      if (held === 0) return {}
      // Resistance: the isolates' mean; mode: the first isolate's; transitions: the most any
      // one isolate made (flapping is per isolate; a sum would grow with the isolate count).
      return { resistance: resistance / held, mode, modeTransitions }
    },
  }

  // One isolate has nobody to exchange with: the store would only echo its own deltas.
  if (scenario.isolates > 1 && options.schedule !== undefined) {
    // Each isolate runs the real syncer (src/governor/sync.ts), asked after every request as
    // the HTTP layer asks it, against the memory store seen through virtual time.
    const counter = new OpCounter()
    const config = new MemoryConfigStore()
    const store = new SimulatedStore(
      new MemoryStore({ configVersion: () => 0 }),
      counter,
      options.schedule,
      scenario.sync.latencyMs,
      (ms) => {
        now = ms
      },
    )
    syncers = governors.map((governor, i) => {
      const isolateId = `isolate-${i}`
      // The config heartbeat goes to a config object; no version is ever uploaded here.
      const live = {
        version: () => 0,
        lastError: () => null,
        poll: async (isolate: { isolateId: string; syncDegraded: boolean }, nowMs: number) => {
          await store.heartbeat(config, {
            isolateId: isolate.isolateId,
            configVersion: 0,
            lastSeenMs: nowMs,
            syncDegraded: isolate.syncDegraded,
          }, nowMs)
        },
      }
      return createSyncer({
        governor,
        store,
        isolateId,
        clock,
        timers: NO_TIMERS,
        config: live,
        intervalMs: scenario.sync.intervalMs,
      })
    })
    instance.storeOps = (attempts) => ({
      ...counter.result(attempts),
      exchanges: { ...exchanges },
    })
  }
  return instance
}
