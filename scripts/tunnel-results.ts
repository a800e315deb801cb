// Renders the Results tables of docs/wind-tunnel.md from a tunnel JSON report, so that the
// section is regenerated, not retyped:
//
//   npm run tunnel -- examples/scenarios/*.json --json tunnel-results.json
//   node scripts/tunnel-results.ts tunnel-results.json
//
// Two tables on stdout: rheostat against the best baseline and the ideal per scenario, and every
// strategy's goodput / critical goodput. "Leads" applies issue 11's test: goodput and critical
// goodput at least every baseline's (the ideal is a reference, not a baseline) with 0.005 slack.
import { readFileSync } from 'node:fs'
import process from 'node:process'
import { table } from '../src/tunnel/grid.ts'
import type { StrategyReport, TunnelReport } from '../src/tunnel/report.ts'

const SLACK = 0.005
const SUBJECT = 'rheostat'
const REFERENCE = 'ideal'

const file = process.argv[2]
if (file === undefined) {
  process.stderr.write('Usage: node scripts/tunnel-results.ts REPORT.json\n')
  process.exit(2)
}
const report = JSON.parse(readFileSync(file, 'utf8')) as TunnelReport

const f3 = (v: number | null | undefined) => (v === null || v === undefined ? '–' : v.toFixed(3))

const summary: string[][] = []
let leads = 0
let sumShare = 0
let shares = 0
for (const sc of report.scenarios) {
  const s = sc.strategies
  const me = s[SUBJECT] as StrategyReport | undefined
  const ref = s[REFERENCE] as StrategyReport | undefined
  const baselines = Object.entries(s).filter(([n]) => n !== SUBJECT && n !== REFERENCE)
  const best = (key: 'goodputRatio' | 'criticalGoodRatio') =>
    baselines.reduce<[string, number]>(
      (acc, [n, m]) => ((m[key] ?? -1) > acc[1] ? [n, m[key] ?? -1] : acc),
      ['–', -1],
    )
  const [bestName, bestGood] = best('goodputRatio')
  const [bestCritName, bestCrit] = best('criticalGoodRatio')
  const led = me !== undefined &&
    (me.goodputRatio ?? 0) >= bestGood - SLACK &&
    (me.criticalGoodRatio ?? 0) >= bestCrit - SLACK
  if (led) leads++
  if (me?.idealShare !== null && me?.idealShare !== undefined) {
    sumShare += me.idealShare
    shares++
  }
  summary.push([
    sc.name,
    me === undefined ? '–' : `${f3(me.goodputRatio)} / ${f3(me.criticalGoodRatio)}`,
    f3(me?.idealShare),
    me?.modeTransitions === null || me === undefined ? '–' : String(me.modeTransitions),
    me?.collapsed ? 'yes' : 'no',
    `${bestName} ${f3(bestGood)}`,
    `${bestCritName} ${f3(bestCrit)}`,
    ref === undefined ? '–' : `${f3(ref.goodputRatio)} / ${f3(ref.criticalGoodRatio)}`,
    led ? 'yes' : 'no',
  ])
}

const names = [...new Set(report.scenarios.flatMap((sc) => Object.keys(sc.strategies)))]
const matrix = report.scenarios.map((sc) => {
  const baselineBest = Math.max(
    ...Object.entries(sc.strategies).filter(([n]) => n !== REFERENCE).map(([, m]) =>
      m.goodputRatio ?? -1
    ),
  )
  return [
    sc.name,
    ...names.map((n) => {
      const m = sc.strategies[n]
      if (m === undefined) return '–'
      const cell = `${f3(m.goodputRatio)} / ${f3(m.criticalGoodRatio)}${m.collapsed ? ' c' : ''}`
      return n !== REFERENCE && m.goodputRatio === baselineBest ? `**${cell}**` : cell
    }),
  ]
})

process.stdout.write(
  `${
    table(
      [
        'scenario',
        `${SUBJECT} good / critical`,
        'ideal share',
        'transitions',
        'collapsed',
        'best baseline goodput',
        'best baseline critical',
        `${REFERENCE} good / critical`,
        'leads',
      ],
      summary,
    )
  }\n\n${SUBJECT} leads every baseline in ${leads} of ${report.scenarios.length} scenarios; ` +
    `mean ideal share ${shares > 0 ? (sumShare / shares).toFixed(3) : '–'}.\n\n${
      table(['scenario', ...names.map((n) => `\`${n}\``)], matrix)
    }\n`,
)
