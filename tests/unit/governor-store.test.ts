import { describe, expect, it } from 'vitest'
import { createGovernor } from '../../src/governor/governor.ts'
import { MemoryStore } from '../../src/store/memory/store.ts'

describe('createGovernor({ store }) owns its sync', () => {
  it('has no syncer without a store', () => {
    expect(createGovernor({ engine: 'ts' }).sync).toBeUndefined()
    expect(() => createGovernor({ engine: 'ts', live: () => undefined })).toThrow(
      /live config only with a store/,
    )
  })

  it('each governor on a shared store exchanges through its own syncer', async () => {
    let now = 1_000_000
    const clock = () => now
    const store = new MemoryStore()
    const a = createGovernor({ engine: 'ts', clock, store, isolateId: 'a' })
    const b = createGovernor({ engine: 'ts', clock, store, isolateId: 'b' })
    expect(a.sync?.status()).toMatchObject({ store: 'memory', isolateId: 'a', exchanges: 0 })
    for (let i = 0; i < 30; i++) {
      now += 10
      const d = a.admit('api')
      if (d.ticket) a.complete(d.ticket, { latencyMs: 10, status: 200 })
    }
    await a.sync?.syncNow()
    await b.sync?.syncNow()
    const view = await store.snapshot('api', now)
    expect(view.totals.latencyCount).toBe(30)
    expect(view.isolates).toBe(1) // b has sent nothing on the route
    expect(a.sync?.status().exchanges).toBe(1)
    expect(b.sync?.status().exchanges).toBe(1)
  })
})
