// scripts/tunnel-trace.ts: the per-step trace agrees with the run's own metrics.
import { describe, expect, it } from 'vitest'
import { trace } from '../../scripts/tunnel-trace.ts'
import { parseScenario } from '../../src/tunnel/scenario.ts'

describe('tunnel-trace', () => {
  it('records one row per step, counts every decision once, and sees a limit that binds', async () => {
    const sc = parseScenario({
      name: 'trace',
      seed: 5,
      durationS: 6,
      origin: { concurrency: 2, queueLimit: 20, serviceMs: { p50: 50, p99: 150 }, timeoutMs: 2000 },
      classes: [{ name: 'all', priority: 'normal', share: 1, sloMs: 400 }],
      load: [{ atS: 0, rps: 200 }],
    })
    const { rows, metrics } = await trace(sc, { stepMs: 500 })
    expect(rows.map((r) => r.t)).toEqual([0.5, 1, 1.5, 2, 2.5, 3, 3.5, 4, 4.5, 5, 5.5, 6])
    const cls = metrics.classes['all']
    if (cls === undefined) throw new Error('no class')
    // Every decision up to the last step (the answers after the end close it) is in one row.
    const admitted = rows.reduce((a, r) => a + r.admitted, 0)
    const shed = rows.reduce((a, r) => a + r.shed, 0)
    expect(admitted).toBeLessThanOrEqual(cls.admitted)
    expect(shed).toBeLessThanOrEqual(cls.shed)
    expect(admitted + shed).toBeGreaterThan(0.85 * (cls.admitted + cls.shed))
    // Four times what 2 servers answer: the limit binds and sheds, and the origin's truth is seen.
    expect(shed).toBeGreaterThan(admitted)
    expect(rows.every((r) => r.servers === 2 && r.limit >= 1)).toBe(true)
  })
})
