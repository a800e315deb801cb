// Fixtures shared by the HTTP-layer tests: a governor on a virtual clock that records outcomes,
// and a SyncHook that records its calls (our own interface, so a recording implementation is a
// test fixture, not a stand-in for a supported component).
import { createGovernor, type GovernorConfigInput, type Outcome } from '../../src/mod.ts'
import { initialSyncStatus, type SyncHook } from '../../src/governor/sync-types.ts'

export function rig(config: GovernorConfigInput = {}) {
  const clock = { now: 0 }
  const gov = createGovernor({ engine: 'ts', config, clock: () => clock.now })
  const completions: Outcome[] = []
  const complete = gov.complete.bind(gov)
  gov.complete = (ticket, outcome) => {
    completions.push(outcome ?? {})
    return complete(ticket, outcome)
  }
  return { gov, clock, completions, read: () => clock.now }
}

export function fakeSync() {
  const state = { calls: 0, pending: [] as Promise<void>[] }
  const hook: SyncHook = {
    maybeSync() {
      state.calls++
      const p = Promise.resolve()
      state.pending.push(p)
      return p
    },
    status: () => initialSyncStatus('none', 'test'),
  }
  return { hook, state }
}
