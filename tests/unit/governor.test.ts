// The governor API: leases (property 14), bounded memory (15), tickets, config and engine choice.
import { afterEach, describe, expect, it, vi } from 'vitest'
import {
  ConfigError,
  createGovernor,
  LeaseExpiredError,
  parseConfig,
  TaskRefusedError,
} from '../../src/adapter/node/mod.ts'
import { createGovernor as createNeutral } from '../../src/mod.ts'
import { SLOT_FIELDS } from '../../src/engine/reference/layout.ts'
import { drive, ENGINES, rig, warmUp } from '../support/harness.ts'

describe.each(ENGINES)('governor on the %s engine', (engine) => {
  describe('14. leases', () => {
    it('startTask() requires an AbortController for HEAVY and EXTREME', async () => {
      const r = rig(engine)
      await expect(r.gov.startTask('report', { profile: 'HEAVY' })).rejects.toThrow(
        /requires an AbortController/,
      )
      await expect(r.gov.startTask('export', { profile: 'EXTREME' })).rejects.toBeInstanceOf(
        TypeError,
      )
      const lease = await r.gov.startTask('quick', { profile: 'LIGHT' })
      expect(lease.release()).toBe(true)
    })

    it('startTask() is refused when the route sheds the priority', async () => {
      const r = rig(engine, { defaults: { profile: 'HEAVY' } })
      drive(r, { route: 'jobs', rps: 20, seconds: 5, latencyMs: () => 20, ok: () => false })
      const error = await r.gov
        .startTask('jobs', { abortController: new AbortController(), priority: 'low' })
        .then(() => null, (e: unknown) => e)
      expect(error).toBeInstanceOf(TaskRefusedError)
      expect((error as TaskRefusedError).decision.retryAfterS).toBeGreaterThanOrEqual(1)
    })

    it('heartbeat() extends the lease; without heartbeats it is aborted within 1.5 intervals', async () => {
      const r = rig(engine)
      const controller = new AbortController()
      const lease = await r.gov.startTask('jobs', {
        profile: 'HEAVY',
        abortController: controller,
        heartbeatMs: 1000,
      })
      for (let i = 0; i < 10; i++) {
        r.clock.now += 1000
        expect(lease.heartbeat()).toBe(true)
        r.gov.tick()
      }
      expect(controller.signal.aborted).toBe(false)
      r.clock.now += 1499
      r.gov.tick()
      expect(controller.signal.aborted).toBe(false)
      r.clock.now += 1
      r.gov.tick()
      expect(controller.signal.aborted).toBe(true)
      expect(controller.signal.reason).toBeInstanceOf(LeaseExpiredError)
      expect(lease.outcome).toBe('timeout')
      expect(lease.heartbeat()).toBe(false)
      expect(r.gov.leases()).toEqual([])
    })

    it('lease outcomes feed the physics: failed tasks show as errors, shed nothing, capacity comes back', async () => {
      const r = rig(engine)
      let refused = 0
      for (let i = 0; i < 50; i++) {
        const lease = await r.gov
          .startTask('jobs', { profile: 'HEAVY', abortController: new AbortController() })
          .catch((e: unknown) => {
            if (!(e instanceof TaskRefusedError)) throw e
            return null
          })
        r.clock.now += 200
        if (lease === null) {
          refused++
          continue
        }
        expect(r.gov.snapshot('jobs', { profile: 'HEAVY' })!.inflight).toBe(1)
        lease.release(i % 2 === 0 ? 'failed' : 'completed')
        expect(lease.release()).toBe(false)
      }
      // A failed task is an application error: it shows in the error rate and never sheds
      // (docs/physics.md §3); only overload answers or silence would.
      const s = r.gov.snapshot('jobs', { profile: 'HEAVY' })!
      expect(s.inflight).toBe(0)
      expect(s.signals.errorRate).toBeGreaterThan(0.3)
      expect(s.pressure.errors).toBe(0)
      expect(refused).toBe(0)
    })

    it('an aborted task gives its capacity back without a sample', async () => {
      const r = rig(engine)
      const controller = new AbortController()
      const lease = await r.gov.startTask('jobs', { profile: 'HEAVY', abortController: controller })
      r.clock.now += 300
      controller.abort()
      expect(lease.outcome).toBe('aborted')
      const s = r.gov.snapshot('jobs', { profile: 'HEAVY' })!
      expect(s.inflight).toBe(0)
      expect(s.signals.errorRate).toBe(0)
    })
  })

  describe('15. bounded memory', () => {
    it('keeps at most maxRoutes routes, evicting the least recently used', () => {
      const r = rig(engine, { maxRoutes: 100 })
      for (let i = 0; i < 100; i++) r.gov.admit(`r${i}`)
      r.gov.admit('r0') // r0 is now the most recent; r1 the least
      for (let i = 100; i < 1000; i++) r.gov.admit(`r${i}`)
      const held = r.gov.routes()
      expect(held.length).toBe(100)
      expect(held[0]).toBe('r999')
      expect(held).not.toContain('r1')
      expect(r.gov.snapshot('r1')).toBeUndefined()
      r.gov.admit('r0')
      expect(r.gov.routes()[0]).toBe('r0')
    })

    it('a ticket of an evicted route is stale: complete() ignores it', () => {
      const r = rig(engine, { maxRoutes: 2 })
      const d = r.gov.admit('a')
      r.gov.admit('b')
      r.gov.admit('c')
      expect(r.gov.complete(d.ticket!, { latencyMs: 10 })).toBe(false)
    })

    it('a route holding a lease is not evicted while others can be', async () => {
      const r = rig(engine, { maxRoutes: 3 })
      const lease = await r.gov.startTask('long', { profile: 'LIGHT' })
      for (let i = 0; i < 10; i++) r.gov.admit(`r${i}`)
      expect(r.gov.routes()).toContain('long@LIGHT')
      expect(lease.release()).toBe(true)
    })

    it('state per route in the engine is 880 bytes', () => {
      expect(SLOT_FIELDS * 8).toBe(880)
    })
  })

  describe('tickets', () => {
    it('complete() counts once and defaults latency to the clock', () => {
      const r = rig(engine)
      const d = r.gov.admit('route')
      r.clock.now += 3000
      expect(r.gov.complete(d.ticket!)).toBe(true)
      expect(r.gov.complete(d.ticket!)).toBe(false)
      r.clock.now += 100
      expect(r.gov.snapshot('route')!.signals.latencyMs).toBe(3000)
    })

    it('an unknown priority is a clear error; an unconfigured route gets the defaults', () => {
      const r = rig(engine)
      expect(r.gov.admit('anything', { priority: 'low' }).allow).toBe(true)
      expect(() => r.gov.admit('anything', { priority: 'gold' })).toThrow(
        'Unknown priority "gold": expected one of "critical", "normal", "low"',
      )
      expect(r.gov.snapshot('anything')!.profile).toBe('STANDARD')
    })

    it('configured routes use their own profile and default priority', () => {
      const r = rig(engine, {
        routes: [{ id: 'search', profile: 'LIGHT', priority: 'low' }],
      })
      warmUp(r, 'search', 5)
      const s = r.gov.snapshot('search')!
      expect(s.profile).toBe('LIGHT')
      // LIGHT's baseline (10 ms) is the unqueued latency assumed until a drain measures one.
      const fresh = rig(engine, { routes: [{ id: 'search', profile: 'LIGHT' }] })
      fresh.gov.admit('search')
      expect(fresh.gov.snapshot('search')!.capacity.unqueuedLatencyMs).toBe(10)
      expect(r.gov.admit('search').ticket?.priority).toBe('low')
    })
  })
})

describe('lease watchdog timers', () => {
  afterEach(() => {
    vi.useRealTimers()
  })

  it('a scheduler aborts a silent lease on time and leaves no timer behind', async () => {
    vi.useFakeTimers()
    const gov = createGovernor({
      engine: 'ts',
      clock: () => Date.now(),
      scheduler: { setTimeout, clearTimeout: (h) => clearTimeout(h as number) },
    })
    const silent = new AbortController()
    await gov.startTask('jobs', { profile: 'HEAVY', abortController: silent, heartbeatMs: 1000 })
    const kept = await gov.startTask('jobs', {
      profile: 'HEAVY',
      abortController: new AbortController(),
      heartbeatMs: 1000,
    })
    expect(vi.getTimerCount()).toBe(2)
    vi.advanceTimersByTime(1000)
    kept.heartbeat()
    vi.advanceTimersByTime(500)
    expect(silent.signal.aborted).toBe(true)
    expect(kept.outcome).toBe(null)
    kept.release()
    expect(vi.getTimerCount()).toBe(0)
  })
})

describe('config', () => {
  it('parseConfig() fills in every default', () => {
    const c = parseConfig({})
    expect(c.engine).toBe('auto')
    expect(c.priorities).toEqual(['critical', 'normal', 'low'])
    expect(c.maxRoutes).toBe(10000)
    expect(c.routes).toEqual([])
  })

  it('parseConfig() refuses bad config with the path and reason of every problem', () => {
    let error: unknown
    try {
      parseConfig({
        engine: 'gpu',
        routes: [
          { id: 'a', priority: 'gold', profile: 'HUGE' },
          { id: 'a', scarFactor: -1, concurrency: { min: 50, max: 10 } },
        ],
        maxRoutes: 0,
        typo: true,
      })
    } catch (e) {
      error = e
    }
    expect(error).toBeInstanceOf(ConfigError)
    const paths = (error as ConfigError).problems.map((p) => p.path)
    expect(paths).toEqual(
      expect.arrayContaining([
        'engine',
        'routes.0.profile',
        'routes.1.scarFactor',
        'maxRoutes',
        '',
      ]),
    )
    expect((error as ConfigError).message).toMatch(/routes\.1\.scarFactor: Too small/)
  })

  it('cross-field rules: unknown priority, duplicate ids, min above max', () => {
    const problems = (() => {
      try {
        parseConfig({
          routes: [
            { id: 'a', priority: 'gold' },
            { id: 'a', concurrency: { min: 50, max: 10 } },
            { id: 'b', breaker: { tripPressure: 0.5, closePressure: 0.6 } },
          ],
        })
      } catch (e) {
        return (e as ConfigError).problems
      }
      return []
    })()
    expect(problems).toEqual([
      {
        path: 'routes.0.priority',
        message: 'Unknown priority "gold": expected one of "critical", "normal", "low"',
      },
      { path: 'routes.1.id', message: 'Duplicate route id "a"' },
      { path: 'routes.1.concurrency', message: 'Concurrency min (50) exceeds max (10)' },
      {
        path: 'routes.2.breaker.closePressure',
        message: 'Breaker closePressure must be below tripPressure',
      },
    ])
    expect(() => parseConfig({ physics: { pressureOhm: 0, momentumOhm: 0, scarOhm: 0 } })).toThrow(
      'physics.pressureOhm: At least one of pressureOhm, momentumOhm, scarOhm must be above 0',
    )
  })

  it('createGovernor() throws ConfigError for an invalid config', () => {
    expect(() => createGovernor({ config: { maxRoutes: -5 } })).toThrow(ConfigError)
  })
})

describe('engine selection', () => {
  it('"auto" falls back to TypeScript with a logged reason when no module is supplied', () => {
    const warnings: string[] = []
    const gov = createNeutral({ engine: 'auto', logger: { warn: (m) => warnings.push(m) } })
    expect(gov.engineKind).toBe('ts')
    expect(warnings).toEqual([
      'Rheostat engine "auto" runs TypeScript: no WASM module was supplied',
    ])
  })

  it('"auto" falls back with the reason when the module does not load', () => {
    const warnings: string[] = []
    const gov = createNeutral({
      engine: 'auto',
      wasm: new Uint8Array([0, 97, 115, 109, 9, 9, 9, 9]),
      logger: { warn: (m) => warnings.push(m) },
    })
    expect(gov.engineKind).toBe('ts')
    expect(warnings[0]).toMatch(
      /^Rheostat engine "auto" runs TypeScript: the WASM module did not load/,
    )
  })

  it('"wasm" throws a clear error when it cannot load', () => {
    expect(() => createNeutral({ engine: 'wasm' })).toThrow(
      /Cannot use engine "wasm": no WASM module was supplied/,
    )
    expect(() => createNeutral({ engine: 'wasm', wasm: new Uint8Array([1, 2, 3]) })).toThrow(
      /^Cannot use engine "wasm": /,
    )
  })

  it('the Node entry runs WASM by default', () => {
    expect(createGovernor({ logger: { warn() {} } }).engineKind).toBe('wasm')
    expect(createGovernor({ engine: 'ts' }).engineKind).toBe('ts')
  })
})
