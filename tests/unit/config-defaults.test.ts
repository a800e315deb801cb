import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import {
  BREAKER_DEFAULTS,
  CONCURRENCY_DEFAULTS,
  PHYSICS_DEFAULTS,
  SCAR_FACTOR_DEFAULT,
  THRESHOLD_DEFAULTS,
} from '../../src/config/defaults.ts'
import { ConfigError, parseConfig } from '../../src/config/schema.ts'
import { physicsFor, resolveProfile } from '../../src/governor/physics-params.ts'

const read = (path: string) => readFileSync(new URL(`../../${path}`, import.meta.url), 'utf8')

function problemsOf(input: unknown): { path: string; message: string }[] {
  try {
    parseConfig(input as never)
  } catch (error) {
    if (error instanceof ConfigError) return error.problems
    throw error
  }
  return []
}

/** `@default` notes of the fields of one `export const NAME = z.strictObject({ … })` block. */
function schemaDefaults(source: string, name: string): Record<string, string> {
  const start = source.indexOf(`export const ${name} = z.strictObject({`)
  expect(start, `${name} in schema.ts`).toBeGreaterThanOrEqual(0)
  const end = source.indexOf('\n})', start)
  const block = source.slice(start, end)
  const out: Record<string, string> = {}
  for (const m of block.matchAll(/\/\*\*((?:(?!\*\/)[\s\S])*)\*\/\s*(\w+):/g)) {
    // Numeric notes only: `thresholds.latencyMs` defaults to the profile's baseline.
    const note = /@default (-?[\d.]+)/.exec(m[1] as string)
    if (note) out[m[2] as string] = note[1] as string
  }
  return out
}

/** The second column of the Markdown table rows whose first cell is `` `key` ``. */
function docDefault(doc: string, key: string): string | undefined {
  const row = doc.split('\n').find((line) => line.split('|')[1]?.trim() === `\`${key}\``)
  return row?.split('|')[2]?.trim().replaceAll('`', '')
}

describe('config defaults (src/config/defaults.ts) are the one table', () => {
  const schema = read('src/config/schema.ts')
  const groups = [
    ['ThresholdsSchema', THRESHOLD_DEFAULTS],
    ['ConcurrencySchema', CONCURRENCY_DEFAULTS],
    ['BreakerSchema', BREAKER_DEFAULTS],
    ['PhysicsSchema', PHYSICS_DEFAULTS],
  ] as const

  it.each(groups)("schema.ts %s: every field's @default note is the table's value", (name, t) => {
    const notes = schemaDefaults(schema, name)
    expect(Object.keys(notes).sort()).toEqual(Object.keys(t).sort())
    for (const [key, value] of Object.entries(t)) {
      expect([key, Number(notes[key])]).toEqual([key, value])
    }
  })

  it("docs/config.md's route table shows the table's defaults", () => {
    const doc = read('docs/config.md')
    for (const [key, value] of Object.entries(THRESHOLD_DEFAULTS)) {
      expect([key, docDefault(doc, `thresholds.${key}`)]).toEqual([key, String(value)])
    }
    for (const [key, value] of Object.entries(BREAKER_DEFAULTS)) {
      expect([key, docDefault(doc, `breaker.${key}`)]).toEqual([key, String(value)])
    }
    const c = CONCURRENCY_DEFAULTS
    expect(docDefault(doc, 'concurrency.initial` / `min` / `max')).toBe(
      `${c.initial} / ${c.min} / ${c.max}`,
    )
    expect(docDefault(doc, 'scarFactor')).toBe(String(SCAR_FACTOR_DEFAULT))
  })

  it("docs/physics.md's table of shared constants shows the table's defaults", () => {
    const doc = read('docs/physics.md')
    const ohms = ['pressureOhm', 'momentumOhm', 'scarOhm', 'baseOhm'] as const
    let rows = 0
    for (const [key, value] of Object.entries(PHYSICS_DEFAULTS)) {
      const shown = docDefault(doc, key)
      if (shown === undefined) continue // a field the capacity law does not read
      rows++
      expect([key, Number(shown)]).toEqual([key, value])
    }
    expect(rows).toBeGreaterThanOrEqual(20)
    const weights = docDefault(doc, ohms.join('`, `'))
    expect(weights).toBe(ohms.map((k) => PHYSICS_DEFAULTS[k]).join(', '))
  })

  it('physicsFor() of an empty config runs the engine on the table', () => {
    const config = parseConfig({})
    const p = physicsFor(config, {}, resolveProfile(undefined))
    expect(p.concurrencyInitial).toBe(CONCURRENCY_DEFAULTS.initial)
    expect(p.concurrencyMin).toBe(CONCURRENCY_DEFAULTS.min)
    expect(p.concurrencyMax).toBe(CONCURRENCY_DEFAULTS.max)
    expect(p.tripPressure).toBe(BREAKER_DEFAULTS.tripPressure)
    expect(p.errorRateThreshold).toBe(THRESHOLD_DEFAULTS.errorRate)
    expect(p.scarFactor).toBe(SCAR_FACTOR_DEFAULT)
    for (const key of Object.keys(p)) {
      if (key in PHYSICS_DEFAULTS) {
        expect([key, p[key as keyof typeof p]]).toEqual([
          key,
          PHYSICS_DEFAULTS[key as keyof typeof PHYSICS_DEFAULTS],
        ])
      }
    }
  })

  it('physicsFor() takes a route over the config defaults over the table, field by field', () => {
    const config = parseConfig({
      defaults: { concurrency: { max: 500 }, thresholds: { errorRate: 0.2 } },
      routes: [{ id: 'a', concurrency: { min: 5 } }],
    })
    const p = physicsFor(config, config.routes[0]!, resolveProfile(undefined))
    expect([p.concurrencyMin, p.concurrencyMax, p.concurrencyInitial]).toEqual([
      5,
      500,
      CONCURRENCY_DEFAULTS.initial,
    ])
    expect(p.errorRateThreshold).toBe(0.2)
  })
})

describe('parseConfig() checks a route against the concurrency that takes effect', () => {
  it("refuses a route's concurrency.min above the max of the config's defaults", () => {
    const problems = problemsOf({
      defaults: { concurrency: { max: 50, initial: 20 } },
      routes: [{ id: 'a', concurrency: { min: 100 } }],
    })
    expect(problems).toEqual([
      { path: 'routes.0.concurrency', message: 'Concurrency min (100) exceeds max (50)' },
    ])
  })

  it("refuses a route's max below the min of the config's defaults", () => {
    const problems = problemsOf({
      defaults: { concurrency: { min: 20, initial: 20 } },
      routes: [{ id: 'a', concurrency: { max: 10 } }],
    })
    expect(problems.map((p) => p.path)).toEqual(['routes.0.concurrency'])
  })

  it('refuses an initial outside the min..max that takes effect', () => {
    const problems = problemsOf({
      defaults: { concurrency: { max: 50, initial: 40 } },
      routes: [{ id: 'a', concurrency: { min: 45 } }],
    })
    expect(problems).toEqual([{
      path: 'routes.0.concurrency.initial',
      message: 'Initial concurrency (40) must lie within min..max (45..50)',
    }])
  })

  it('takes a max below the old hard-coded min of 4 (the table says 1)', () => {
    expect(problemsOf({ routes: [{ id: 'a', concurrency: { max: 3, initial: 2 } }] })).toEqual([])
  })

  it("refuses a route's breaker.closePressure at or above the defaults' tripPressure", () => {
    const problems = problemsOf({
      defaults: { breaker: { tripPressure: 0.5 } },
      routes: [{ id: 'a', breaker: { closePressure: 0.6 } }],
    })
    expect(problems.map((p) => p.path)).toEqual(['routes.0.breaker.closePressure'])
  })

  it('takes routes whose own values fit the defaults', () => {
    expect(problemsOf({
      defaults: { concurrency: { max: 50, initial: 10 } },
      routes: [{ id: 'a', concurrency: { min: 5 } }, { id: 'b' }],
    })).toEqual([])
  })
})
