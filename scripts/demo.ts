// `npm run demo`: one route through a scripted day in virtual time (healthy, a gray failure, a
// hard outage, silence, recovery), printed second by second, so you can watch the physics decide.
// Deterministic: run it twice, get the same output. (`npm start` runs the real proxy.)
import { createGovernor } from '../src/adapter/node/mod.ts'

interface Phase {
  name: string
  untilS: number
  latencyMs: number
  errorRate: number
  rps: number
}

const phases: Phase[] = [
  { name: 'healthy', untilS: 20, latencyMs: 60, errorRate: 0, rps: 200 },
  { name: 'gray failure (slow 200s)', untilS: 35, latencyMs: 900, errorRate: 0, rps: 200 },
  { name: 'healthy', untilS: 50, latencyMs: 60, errorRate: 0, rps: 200 },
  { name: 'hard outage (fast 5xx)', untilS: 60, latencyMs: 20, errorRate: 1, rps: 200 },
  { name: 'no traffic at all', untilS: 90, latencyMs: 60, errorRate: 0, rps: 0 },
  { name: 'healthy again', untilS: 120, latencyMs: 60, errorRate: 0, rps: 200 },
]
const classes = ['critical', 'normal', 'low'] as const

let now = 0
const gov = createGovernor({ clock: () => now })
console.log(`Rheostat physics demo: engine ${gov.engineKind}, route "checkout", STANDARD profile`)
console.log('(virtual time; `npm start` runs the proxy in front of a real origin)\n')
console.log('  t  phase                      mode             R/Ω    P    scar  admitted c/n/l')

let i = 0
let second = 0
const admitted = { critical: 0, normal: 0, low: 0 }
const offered = { critical: 0, normal: 0, low: 0 }
for (const phase of phases) {
  while (second < phase.untilS) {
    const end = (second + 1) * 1000
    if (phase.rps > 0) {
      for (let k = 0; k < phase.rps; k++) {
        now = second * 1000 + (k * 1000) / phase.rps
        const priority = classes[i % 3] as (typeof classes)[number]
        offered[priority]++
        const d = gov.admit('checkout', { priority })
        if (d.ticket) {
          admitted[priority]++
          const failed = (i * 0.6180339887) % 1 < phase.errorRate
          gov.complete(d.ticket, { latencyMs: phase.latencyMs, ok: !failed })
        }
        i++
      }
    }
    now = end
    const s = gov.snapshot('checkout')!
    const pct = (c: (typeof classes)[number]) =>
      offered[c] === 0 ? '  -' : `${Math.round((100 * admitted[c]) / offered[c])}`.padStart(3)
    console.log(
      `${String(second + 1).padStart(3)}  ${phase.name.padEnd(26)} ${s.mode.padEnd(16)} ${
        s.resistanceOhm.toFixed(2).padStart(5)
      } ${s.pressure.combined.toFixed(2)} ${s.scar.toFixed(2)}  ${pct('critical')}%/${
        pct('normal')
      }%/${pct('low')}%`,
    )
    for (const c of classes) {
      admitted[c] = 0
      offered[c] = 0
    }
    second++
  }
}
console.log('\nModel: docs/physics.md. Tests: npm test. Engine speed: npm run bench:engine.')
