/**
 * `--plot`: one hand-written SVG per scenario from the per-second series the simulator records.
 * Stacked panels share the time axis, fault windows are shaded on every one:
 *
 * 1. Demand and goodput, req/s: offered and the capacity bound Σ min(offered, capacity) (the same
 *    for every strategy), good per strategy (the `ideal` reference's among them).
 * 2. Admitted, req/s, per strategy.
 * 3. The `rheostat` strategy per class: offered (dashed) and good (solid).
 * 4. `rheostat` resistance, Ω, over coloured bands of its mode.
 * 5. p99 latency per strategy, ms, log scale (seconds without answers leave a gap).
 *
 * No dependencies, and every number goes through fixed formatting, so the same report gives the
 * same bytes.
 *
 * @module
 */

import type { ScenarioReport } from './report.ts'
import type { Scenario } from './scenario.ts'

const WIDTH = 960
const LEFT = 72
const RIGHT = 210
const PANEL_H = 150
const GAP = 44
const TOP = 48
const PLOT_W = WIDTH - LEFT - RIGHT

/** Colours per strategy, in registry order; unknown strategies cycle through the rest. */
const STRATEGY_COLOURS: Record<string, string> = {
  rheostat: '#d62728',
  none: '#7f7f7f',
  'token-bucket': '#1f77b4',
  breaker: '#ff7f0e',
  gradient2: '#2ca02c',
  atrion: '#9467bd',
  vegas: '#8c564b',
  'envoy-gradient': '#e377c2',
  'sre-throttle': '#17becf',
  bbr: '#bcbd22',
  ideal: '#000000',
}
const EXTRA_COLOURS = ['#393b79', '#637939', '#8c6d31', '#843c39']
const CLASS_COLOURS = ['#d62728', '#1f77b4', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b']
/** Mode bands of panel 4; OPERATIONAL is the normal state and stays unshaded. */
const MODE_COLOURS: Record<string, string> = {
  BOOTSTRAP: '#c7c7c7',
  HALF_OPEN: '#ffd92f',
  CIRCUIT_BREAKER: '#fb6a4a',
  OPEN: '#fb6a4a',
}
const FAULT_FILL = '#fdd0a2'

interface Line {
  label: string
  colour: string
  dashed?: boolean
  values: (number | null)[]
}

interface Band {
  fromS: number
  toS: number
  fill: string
  opacity: string
}

/** Fixed formatting: one decimal, no negative zero. */
function f(n: number): string {
  const s = n.toFixed(1)
  return s === '-0.0' ? '0.0' : s
}

function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(
    /"/g,
    '&quot;',
  )
}

/** Tick label: integers plainly, small values with up to 3 significant decimals. */
function tickLabel(v: number): string {
  if (v >= 10000) return `${f(v / 1000).replace(/\.0$/, '')}k`
  if (Number.isInteger(v)) return String(v)
  return String(Number(v.toPrecision(3)))
}

/** A 1-2-5 step giving about `n` ticks over 0..max. */
function niceStep(max: number, n: number): number {
  const raw = max / n
  const mag = Math.pow(10, Math.floor(Math.log10(raw)))
  for (const m of [1, 2, 5, 10]) if (m * mag >= raw) return m * mag
  return 10 * mag
}

function sum(records: Record<string, number[]>, seconds: number): number[] {
  const out = new Array<number>(seconds).fill(0)
  for (const values of Object.values(records)) {
    for (let i = 0; i < seconds; i++) out[i] = (out[i] as number) + (values[i] ?? 0)
  }
  return out
}

/** The fault windows of the scenario, s; `untilS ≤ atS` runs to the end. */
function faultBands(scenario: Scenario, durationS: number): Band[] {
  return scenario.faults.map((fault) => ({
    fromS: fault.atS,
    toS: fault.untilS > fault.atS ? Math.min(fault.untilS, durationS) : durationS,
    fill: FAULT_FILL,
    opacity: '0.5',
  }))
}

/** Runs of equal mode as bands. */
function modeBands(modes: (string | null)[]): Band[] {
  const bands: Band[] = []
  let start = 0
  for (let i = 1; i <= modes.length; i++) {
    if (i < modes.length && modes[i] === modes[start]) continue
    const colour = MODE_COLOURS[modes[start] ?? '']
    if (colour !== undefined) {
      bands.push({ fromS: start, toS: i, fill: colour, opacity: '0.45' })
    }
    start = i
  }
  return bands
}

interface Panel {
  title: string
  unit: string
  log: boolean
  lines: Line[]
  bands: Band[]
  note?: string
}

function renderPanel(panel: Panel, top: number, durationS: number, out: string[]): void {
  const x = (s: number) => LEFT + (s / durationS) * PLOT_W
  const finite = panel.lines.flatMap((l) =>
    l.values.filter((v): v is number => v !== null && Number.isFinite(v))
  )
  let lo = 0
  let hi = Math.max(1, ...finite)
  const ticks: number[] = []
  if (panel.log) {
    const positive = finite.filter((v) => v > 0)
    lo = Math.pow(10, Math.floor(Math.log10(Math.max(0.1, Math.min(1, ...positive)))))
    hi = Math.pow(10, Math.ceil(Math.log10(Math.max(lo * 10, ...positive))))
    for (let t = lo; t <= hi * 1.0001; t *= 10) ticks.push(Number(t.toPrecision(1)))
  } else {
    const step = niceStep(hi, 4)
    hi = Math.ceil(hi / step) * step
    for (let i = 0; i * step <= hi * 1.0001; i++) ticks.push(Number((i * step).toPrecision(6)))
  }
  const y = (v: number) => {
    const r = panel.log
      ? (Math.log10(Math.max(v, lo)) - Math.log10(lo)) / (Math.log10(hi) - Math.log10(lo))
      : v / hi
    return top + PANEL_H - r * PANEL_H
  }
  out.push(`<g class="panel">`)
  out.push(
    `<text x="${LEFT}" y="${f(top - 8)}" class="title">${esc(panel.title)}${
      panel.note === undefined ? '' : ` <tspan class="note">${esc(panel.note)}</tspan>`
    }</text>`,
  )
  for (const band of panel.bands) {
    const kind = band.fill === FAULT_FILL ? 'fault' : 'mode'
    out.push(
      `<rect class="${kind}" x="${f(x(band.fromS))}" y="${top}" width="${
        f(x(band.toS) - x(band.fromS))
      }" height="${PANEL_H}" fill="${band.fill}" fill-opacity="${band.opacity}"/>`,
    )
  }
  for (const t of ticks) {
    const ty = f(y(t))
    out.push(
      `<line x1="${LEFT}" y1="${ty}" x2="${LEFT + PLOT_W}" y2="${ty}" class="grid"/>`,
      `<text x="${LEFT - 6}" y="${ty}" class="ytick">${tickLabel(t)}</text>`,
    )
  }
  out.push(
    `<text x="16" y="${f(top + PANEL_H / 2)}" class="unit" transform="rotate(-90 16 ${
      f(top + PANEL_H / 2)
    })">${esc(panel.unit)}</text>`,
  )
  const tStep = niceStep(durationS, 10)
  for (let t = 0; t <= durationS + 1e-9; t += tStep) {
    const tx = f(x(t))
    out.push(
      `<line x1="${tx}" y1="${top + PANEL_H}" x2="${tx}" y2="${top + PANEL_H + 4}" class="axis"/>`,
      `<text x="${tx}" y="${f(top + PANEL_H + 16)}" class="xtick">${tickLabel(t)}</text>`,
    )
  }
  out.push(
    `<rect x="${LEFT}" y="${top}" width="${PLOT_W}" height="${PANEL_H}" class="frame"/>`,
  )
  // Each series is one group; a gap (a second without a value) starts a new polyline in it. A
  // value stands for its second, so it is drawn at the second's middle.
  for (const line of panel.lines) {
    out.push(`<g class="series" data-series="${esc(line.label)}">`)
    let points: string[] = []
    const flush = () => {
      if (points.length > 0) {
        out.push(
          `<polyline points="${points.join(' ')}" stroke="${line.colour}"${
            line.dashed === true ? ' stroke-dasharray="5 3"' : ''
          }/>`,
        )
      }
      points = []
    }
    line.values.forEach((v, i) => {
      if (v === null || !Number.isFinite(v)) return flush()
      points.push(`${f(x(i + 0.5))},${f(y(v))}`)
    })
    flush()
    out.push('</g>')
  }
  // Legend, right of the panel.
  panel.lines.forEach((line, i) => {
    const ly = top + 8 + i * 16
    out.push(
      `<line x1="${LEFT + PLOT_W + 12}" y1="${ly}" x2="${
        LEFT + PLOT_W + 34
      }" y2="${ly}" stroke="${line.colour}" class="key"${
        line.dashed === true ? ' stroke-dasharray="5 3"' : ''
      }/>`,
      `<text x="${LEFT + PLOT_W + 40}" y="${ly}" class="legend">${esc(line.label)}</text>`,
    )
  })
  out.push('</g>')
}

function strategyColour(name: string, index: number): string {
  return STRATEGY_COLOURS[name] ?? EXTRA_COLOURS[index % EXTRA_COLOURS.length] as string
}

/**
 * Renders one scenario's report as an SVG document (see the module doc for the panels).
 *
 * @param scenario The scenario that was run (its faults are shaded).
 * @param report The scenario's report from `runScenario`.
 * @returns The SVG text; the same inputs give the same bytes.
 *
 * @example Write the plot of a run
 * ```ts ignore
 * // A whole simulated run: `npm run tunnel -- FILE --plot DIR` does this for every scenario.
 * const report = await runScenario(scenario, STRATEGIES)
 * writeFileSync(`${scenario.name}.svg`, renderPlot(scenario, report))
 * ```
 */
export function renderPlot(scenario: Scenario, report: ScenarioReport): string {
  const durationS = report.durationS
  const entries = Object.entries(report.strategies)
  const seconds = Math.max(1, ...entries.map(([, m]) => m.series.ideal.length))
  const faults = faultBands(scenario, durationS)
  const panels: Panel[] = []
  const first = entries[0]?.[1]
  const demand: Line[] = first === undefined ? [] : [
    {
      label: 'offered',
      colour: '#000000',
      dashed: true,
      values: sum(first.series.offered, seconds),
    },
    // The capacity bound of goodputRatio (series.ideal), not the `ideal` strategy.
    { label: 'bound', colour: '#969696', dashed: true, values: first.series.ideal },
  ]
  panels.push({
    title: 'Offered, capacity bound and good (OK within SLO) per strategy',
    unit: 'req/s',
    log: false,
    bands: faults,
    lines: [
      ...demand,
      ...entries.map(([name, m], i) => ({
        label: `good ${name}`,
        colour: strategyColour(name, i),
        values: sum(m.series.good, seconds),
      })),
    ],
  })
  panels.push({
    title: 'Admitted per strategy',
    unit: 'req/s',
    log: false,
    bands: faults,
    lines: entries.map(([name, m], i) => ({
      label: name,
      colour: strategyColour(name, i),
      values: sum(m.series.admitted, seconds),
    })),
  })
  const rheostat = report.strategies['rheostat']
  if (rheostat !== undefined) {
    const classes = scenario.classes.map((c) => c.name)
    panels.push({
      title: 'rheostat per class: offered (dashed) and good (solid)',
      unit: 'req/s',
      log: false,
      bands: faults,
      lines: classes.flatMap((c, i) => {
        const colour = CLASS_COLOURS[i % CLASS_COLOURS.length] as string
        return [
          { label: `${c} offered`, colour, dashed: true, values: rheostat.series.offered[c] ?? [] },
          { label: `${c} good`, colour, values: rheostat.series.good[c] ?? [] },
        ]
      }),
    })
    panels.push({
      title: 'rheostat resistance',
      note: 'bands: grey BOOTSTRAP, yellow HALF_OPEN, red CIRCUIT_BREAKER',
      unit: 'Ω',
      log: false,
      bands: [...faults, ...modeBands(rheostat.series.mode)],
      lines: [{ label: 'resistance', colour: '#000000', values: rheostat.series.resistance }],
    })
  }
  panels.push({
    title: 'p99 latency of answered attempts per strategy (log scale)',
    unit: 'ms',
    log: true,
    bands: faults,
    lines: entries.map(([name, m], i) => ({
      label: name,
      colour: strategyColour(name, i),
      values: m.series.p99Ms,
    })),
  })

  const height = TOP + panels.length * (PANEL_H + GAP) + 16
  const out: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="sans-serif" font-size="11">`,
    '<style>',
    '.frame{fill:none;stroke:#333}.grid{stroke:#e0e0e0}.axis{stroke:#333}',
    'polyline{fill:none;stroke-width:1.5}.key{stroke-width:2}',
    '.title{font-size:12px;font-weight:bold}.note{font-weight:normal;fill:#555}',
    '.ytick{text-anchor:end;dominant-baseline:middle}.xtick{text-anchor:middle}',
    '.unit{text-anchor:middle}.legend{dominant-baseline:middle}',
    '</style>',
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    `<text x="${LEFT}" y="20" font-size="15" font-weight="bold">${esc(report.name)}</text>`,
    `<text x="${LEFT}" y="34" fill="#555">seed ${report.seed} · ${durationS} s · ${report.isolates} isolate${
      report.isolates === 1 ? '' : 's'
    } · time axis in s · shaded: fault windows</text>`,
  ]
  panels.forEach((panel, i) => renderPanel(panel, TOP + 14 + i * (PANEL_H + GAP), durationS, out))
  out.push('</svg>', '')
  return out.join('\n')
}
