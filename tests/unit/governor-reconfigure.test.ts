// governor.reconfigure(): hot reload keeps the physics of surviving routes, drops removed ones,
// applies new parameters and priorities, and refuses what cannot change live.
import { describe, expect, it } from 'vitest'
import { ConfigError, type GovernorConfigInput } from '../../src/adapter/node/mod.ts'
import { drive, ENGINES, rig, warmUp } from '../support/harness.ts'

const base: GovernorConfigInput = {
  routes: [
    { id: 'api', profile: 'STANDARD', priority: 'normal' },
    { id: 'search', profile: 'STANDARD', priority: 'low' },
  ],
}

describe.each(ENGINES)('governor.reconfigure() on the %s engine', (engine) => {
  it('reconfigure() keeps the state of a surviving route and applies its new parameters', () => {
    const r = rig(engine, base)
    warmUp(r, 'api', 40)
    // Overload answers shrink the capacity estimate: state a restart would lose.
    drive(r, { route: 'api', rps: 50, seconds: 3, latencyMs: () => 40, ok: (_, i) => i % 2 === 0 })
    const before = r.gov.snapshot('api')!
    expect(before.capacity.limit).toBeLessThan(100)
    expect(before.mode).not.toBe('BOOTSTRAP')

    r.gov.reconfigure({
      routes: [{
        id: 'api',
        profile: 'STANDARD',
        priority: 'normal',
        thresholds: { errorRate: 0.4 },
      }],
    })
    const after = r.gov.snapshot('api')!
    expect(after.capacity.limit).toBe(before.capacity.limit)
    expect(after.mode).toBe(before.mode)
    expect(after.thresholds.learnedLatencyMs).toBe(before.thresholds.learnedLatencyMs)
    expect(after.thresholds.errorRate).toBe(0.4)
    expect(before.thresholds.errorRate).toBe(0.05)
    expect(r.gov.config.routes).toHaveLength(1)
  })

  it('reconfigure() drops removed routes and makes their tickets stale', () => {
    const r = rig(engine, base)
    warmUp(r, 'search', 40, 2)
    const held = r.gov.admit('search')
    expect(held.ticket).not.toBeNull()
    r.gov.reconfigure({ routes: [{ id: 'api' }] })
    expect(r.gov.snapshot('search')).toBeUndefined()
    expect(r.gov.routes()).not.toContain('search')
    expect(r.gov.complete(held.ticket!, { latencyMs: 10 })).toBe(false)
    // The freed slot serves a new route from a fresh state.
    r.gov.admit('fresh')
    expect(r.gov.snapshot('fresh')!.mode).toBe('BOOTSTRAP')
  })

  it('reconfigure() applies new priority classes and a changed profile', () => {
    const r = rig(engine, base)
    warmUp(r, 'api', 5, 2)
    r.gov.reconfigure({
      priorities: ['gold', 'silver', 'bronze', 'lead'],
      routes: [{ id: 'api', profile: 'LIGHT', priority: 'bronze' }],
    })
    const d = r.gov.admit('api')
    expect(d.ticket?.priority).toBe('bronze')
    expect(() => r.gov.admit('api', { priority: 'normal' })).toThrow(/Unknown priority/)
    const snap = r.gov.snapshot('api')!
    expect(snap.profile).toBe('LIGHT')
    expect(Object.keys(snap.admission)).toEqual(['gold', 'silver', 'bronze', 'lead'])
    expect(r.gov.counters('api')!.admitted).toEqual({ gold: 0, silver: 0, bronze: 1, lead: 0 })
  })

  it('reconfigure() refuses an engine or maxRoutes change and keeps the running config', () => {
    const r = rig(engine, base)
    const other = engine === 'ts' ? 'wasm' : 'ts'
    let error: unknown
    try {
      r.gov.reconfigure({ ...base, engine: other, maxRoutes: 5 })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    expect((error as ConfigError).problems.map((p) => p.path)).toEqual(['engine', 'maxRoutes'])
    expect(r.gov.config.routes.map((route) => route.id)).toEqual(['api', 'search'])
  })

  it('reconfigure() many times in a row keeps routes and parameter sets consistent', () => {
    const r = rig(engine, base)
    for (let i = 0; i < 50; i++) {
      const ids = [`a${i % 7}`, `b${i % 5}`, 'api']
      r.gov.reconfigure({ routes: ids.map((id) => ({ id, scarFactor: (i % 3) + 1 })) })
      for (const id of ids) r.gov.admit(id)
      for (const id of ids) expect(r.gov.snapshot(id)).toBeDefined()
      expect(r.gov.routes().sort()).toEqual([...new Set(ids)].sort())
    }
  })
})
