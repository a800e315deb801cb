// The shipped wind-tunnel scenarios (examples/scenarios/*.json) must stay valid as the schema
// grows: each parses, names itself after its file, uses the governor's priorities, keeps its faults
// inside the run and splits its load exactly.
import { readdirSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { parseConfig } from '../../src/config/schema.ts'
import { parseScenario } from '../../src/tunnel/scenario.ts'

const dir = new URL('../../examples/scenarios/', import.meta.url)
const files = readdirSync(dir).filter((f) => f.endsWith('.json')).sort()

// The lists of issue 4, section 5, and issue 11, item 5: a file that goes missing or appears
// unannounced fails here.
const SHIPPED = [
  'black-friday',
  'capacity-steps',
  'cb-recovery',
  'congestion',
  'control',
  'error-levels',
  'errors-overload',
  'flapping-origin',
  'flash-crowd',
  'fleet-overload',
  'gray-failure',
  'many-isolates',
  'partial-outage',
  'pure-overload',
  'retry-storm',
  'saturation',
  'slow-drift',
  'slow-origin',
]

describe('shipped scenarios', () => {
  it('examples/scenarios holds exactly the shipped scenarios', () => {
    expect(files.map((f) => f.replace(/\.json$/, ''))).toEqual(SHIPPED)
  })

  for (const file of files) {
    describe(file, () => {
      // Parsed inside each test, so an invalid file fails its own tests with the schema's message
      // instead of aborting the collection of the whole suite.
      const load = () => parseScenario(JSON.parse(readFileSync(new URL(file, dir), 'utf8')))

      it('parseScenario() accepts it and its name is the file name', () => {
        const scenario = load()
        expect(`${scenario.name}.json`).toBe(file)
        expect(scenario.description.length).toBeGreaterThan(0)
      })

      it('every class priority is a governor priority', () => {
        const scenario = load()
        const priorities = parseConfig(scenario.governor).priorities
        for (const c of scenario.classes) expect(priorities).toContain(c.priority)
        expect(new Set(scenario.classes.map((c) => c.name)).size).toBe(scenario.classes.length)
      })

      it('every fault window lies within durationS', () => {
        const scenario = load()
        for (const f of scenario.faults) {
          expect(f.atS).toBeLessThanOrEqual(scenario.durationS)
          expect(f.untilS).toBeLessThanOrEqual(scenario.durationS)
          // untilS ≤ atS means "until the end"; a shipped file writes that only as 0 from 0.
          if (f.untilS <= f.atS) expect(f).toMatchObject({ atS: 0, untilS: 0 })
        }
      })

      it('class shares sum to 1 within 1e-9', () => {
        const scenario = load()
        const total = scenario.classes.reduce((sum, c) => sum + c.share, 0)
        expect(Math.abs(total - 1)).toBeLessThanOrEqual(1e-9)
      })

      it('the load curve is in time order and within the run', () => {
        const scenario = load()
        const at = scenario.load.map((p) => p.atS)
        expect(at).toEqual([...at].sort((a, b) => a - b))
        expect(at[0]).toBe(0)
        for (const p of scenario.load) {
          expect(p.atS + (p.rampS ?? 0)).toBeLessThanOrEqual(scenario.durationS)
        }
      })
    })
  }
})
