/**
 * The dashboard's time-series chart: a few pure functions (ticks, scales, polylines, bands) and
 * `drawChart()`, which paints them on a canvas. Written for the page rather than taken from a
 * charting library, because the Worker bundle has about 1 KiB gzip to spare and uPlot alone would
 * add some 20 KiB (docs/decisions.md). Runs in the browser: scripts/dashboard-assets.ts compiles it
 * into the page's one JS module.
 *
 * @module
 */

/** A point: time (ms since the epoch) and value. */
export type Point = readonly [t: number, value: number]

/** One line of a chart. */
export interface Series {
  label: string
  /** A CSS colour. */
  color: string
  points: readonly Point[]
  /** Drawn dashed (a limit rather than a measurement). */
  dashed?: boolean
}

/** A shaded time span behind the lines, e.g. a mode. */
export interface Band {
  from: number
  to: number
  /** A CSS colour; give it some transparency. */
  color: string
}

/** What `drawChart()` paints. */
export interface ChartSpec {
  series: readonly Series[]
  bands?: readonly Band[]
  /** The time window shown, ms since the epoch. */
  from: number
  to: number
  /** The lowest value on the y axis is at most this. @default 0 */
  yFloor?: number
  /** The highest value on the y axis is at least this. @default 1 */
  yCeiling?: number
  /** Gaps longer than this break a line (a lost stream is not drawn as a straight ramp). */
  maxGapMs?: number
}

/** Nice ticks of an axis: `min` and `max` rounded out to whole `step`s. */
export interface Ticks {
  min: number
  max: number
  step: number
  values: number[]
}

/**
 * The smallest step of 1, 2 or 5 times a power of ten that cuts `span` into at most `count` parts
 * (the raw step `span / count` rounded up, so labels never crowd).
 *
 * @param span The axis length, > 0.
 * @param count How many parts are wanted, ≥ 1.
 * @returns The step.
 *
 * @example Usage
 * ```ts
 * import { niceStep } from './chart.ts'
 * if (niceStep(100, 4) !== 50) throw new Error('100 in at most 4 parts: 25 rounds up to 50')
 * ```
 */
export function niceStep(span: number, count: number): number {
  const raw = span / Math.max(1, count)
  const power = 10 ** Math.floor(Math.log10(raw))
  const f = raw / power
  return (f <= 1 ? 1 : f <= 2 ? 2 : f <= 5 ? 5 : 10) * power
}

/**
 * Ticks for values in [min, max]: the range rounded out to nice steps. An empty or degenerate
 * range becomes one unit wide, so a flat line still has an axis.
 *
 * @param min Smallest value to show.
 * @param max Largest value to show.
 * @param count About how many intervals.
 * @returns The rounded range, its step and the tick values.
 *
 * @example Usage
 * ```ts
 * import { niceTicks } from './chart.ts'
 * const t = niceTicks(0.3, 9.2, 4)
 * if (t.min !== 0 || t.max !== 10 || t.values.join() !== '0,5,10') throw new Error('0, 5, 10')
 * ```
 */
export function niceTicks(min: number, max: number, count = 4): Ticks {
  if (!Number.isFinite(min) || !Number.isFinite(max)) [min, max] = [0, 1]
  if (max < min) [min, max] = [max, min]
  if (max - min < 1e-12) [min, max] = [min - 0.5, max + 0.5]
  const step = niceStep(max - min, count)
  const lo = Math.floor(min / step + 1e-9) * step
  const hi = Math.ceil(max / step - 1e-9) * step
  const values: number[] = []
  // Multiplying (not adding) keeps 0.1-steps free of accumulated float error.
  for (let i = 0; lo + i * step <= hi + step * 1e-9; i++) values.push(roundTo(lo + i * step, step))
  return { min: lo, max: hi, step, values }
}

function roundTo(value: number, step: number): number {
  const digits = Math.max(0, -Math.floor(Math.log10(step)))
  return Number(value.toFixed(Math.min(20, digits)))
}

/**
 * A linear map from a domain to a range (pixels); a zero-width domain maps to the range's middle.
 *
 * @example Usage
 * ```ts
 * import { linearScale } from './chart.ts'
 * const y = linearScale(0, 10, 100, 0)
 * if (y(5) !== 50 || y(10) !== 0) throw new Error('flipped: larger values higher up')
 * ```
 */
export function linearScale(d0: number, d1: number, r0: number, r1: number): (v: number) => number {
  const span = d1 - d0
  if (span === 0) return () => (r0 + r1) / 2
  const k = (r1 - r0) / span
  return (v) => r0 + (v - d0) * k
}

/**
 * Pixel polylines of a series: points outside [from, to] are dropped, except the last one before
 * the window so a line enters from the edge; non-finite values and gaps longer than `maxGapMs`
 * break the line.
 *
 * @param points The series, in time order.
 * @param x Time → pixel.
 * @param y Value → pixel.
 * @param from Window start, ms.
 * @param to Window end, ms.
 * @param maxGapMs Longest gap drawn as a line.
 * @returns Polylines of [x, y] pixel pairs, each with at least one point.
 *
 * @example Usage
 * ```ts
 * import { linearScale, polylines } from './chart.ts'
 * const x = linearScale(0, 10, 0, 100)
 * const y = linearScale(0, 1, 10, 0)
 * const lines = polylines([[0, 0], [1, 1], [2, NaN], [3, 0]], x, y, 0, 10, 5)
 * if (lines.length !== 2 || lines[0].length !== 2) throw new Error('NaN breaks the line')
 * ```
 */
export function polylines(
  points: readonly Point[],
  x: (t: number) => number,
  y: (v: number) => number,
  from: number,
  to: number,
  maxGapMs = Infinity,
): [number, number][][] {
  const lines: [number, number][][] = []
  let line: [number, number][] = []
  let lastT = -Infinity
  for (let i = 0; i < points.length; i++) {
    const [t, v] = points[i]
    const next = points[i + 1]
    if (t > to || (t < from && next !== undefined && next[0] <= from)) continue
    if (!Number.isFinite(v) || t - lastT > maxGapMs) {
      if (line.length > 0) lines.push(line)
      line = []
    }
    lastT = t
    if (Number.isFinite(v)) line.push([x(t), y(v)])
  }
  if (line.length > 0) lines.push(line)
  return lines
}

/**
 * The smallest and largest finite value of the series inside [from, to], widened to include
 * `floor` and `ceiling`.
 *
 * @example Usage
 * ```ts
 * import { extent } from './chart.ts'
 * const [lo, hi] = extent([{ label: 'a', color: 'red', points: [[1, 3], [2, 7]] }], 0, 5, 0, 1)
 * if (lo !== 0 || hi !== 7) throw new Error('floor 0, max 7')
 * ```
 */
export function extent(
  series: readonly Series[],
  from: number,
  to: number,
  floor: number,
  ceiling: number,
): [number, number] {
  let lo = floor
  let hi = ceiling
  for (const s of series) {
    for (const [t, v] of s.points) {
      if (t < from || t > to || !Number.isFinite(v)) continue
      if (v < lo) lo = v
      if (v > hi) hi = v
    }
  }
  return [lo, hi]
}

/**
 * Runs of equal labels over time, as bands: each sample's label holds until the next sample;
 * the last one until `end`.
 *
 * @param samples Time and label, in time order.
 * @param end Where the last run ends, ms.
 * @param colors The colour of each label; labels without one get no band.
 *
 * @example Usage
 * ```ts
 * import { runs } from './chart.ts'
 * const bands = runs([[0, 'A'], [1, 'A'], [2, 'B']], 3, { A: 'red', B: 'blue' })
 * if (bands.length !== 2 || bands[0].to !== 2 || bands[1].to !== 3) throw new Error('two runs')
 * ```
 */
export function runs(
  samples: readonly (readonly [t: number, label: string])[],
  end: number,
  colors: Readonly<Record<string, string>>,
): Band[] {
  const bands: Band[] = []
  for (let i = 0; i < samples.length;) {
    const [from, label] = samples[i]
    let j = i + 1
    while (j < samples.length && samples[j][1] === label) j++
    const to = j < samples.length ? samples[j][0] : end
    const color = colors[label]
    if (color !== undefined) bands.push({ from, to, color })
    i = j
  }
  return bands
}

/**
 * A short label for a number: 3 significant digits, k/M for thousands and millions.
 *
 * @example Usage
 * ```ts
 * import { formatValue } from './chart.ts'
 * if (formatValue(1234) !== '1.23k' || formatValue(0.5) !== '0.5') throw new Error('short')
 * ```
 */
export function formatValue(v: number): string {
  if (!Number.isFinite(v)) return '–'
  const a = Math.abs(v)
  if (a >= 1e6) return `${trim(v / 1e6)}M`
  if (a >= 1e3) return `${trim(v / 1e3)}k`
  return trim(v)
}

function trim(v: number): string {
  return String(Number(v.toPrecision(3)))
}

const PAD = { left: 44, right: 8, top: 18, bottom: 16 }

/**
 * Paints a chart on a canvas sized by CSS: bands, grid and y labels, the lines, a legend on top,
 * the time axis in seconds before `to`.
 *
 * @param canvas The canvas; its CSS size decides the drawing size.
 * @param spec What to draw.
 *
 * @example Usage
 * ```ts ignore
 * import { drawChart } from './chart.ts'
 * const canvas = document.querySelector('canvas')!
 * const now = Date.now()
 * drawChart(canvas, {
 *   from: now - 60_000,
 *   to: now,
 *   series: [{ label: 'R', color: '#c33', points: [[now - 1000, 1], [now, 2]] }],
 * })
 * ```
 */
export function drawChart(canvas: HTMLCanvasElement, spec: ChartSpec): void {
  const ratio = globalThis.devicePixelRatio || 1
  const width = canvas.clientWidth || 300
  const height = canvas.clientHeight || 120
  if (canvas.width !== Math.round(width * ratio)) canvas.width = Math.round(width * ratio)
  if (canvas.height !== Math.round(height * ratio)) canvas.height = Math.round(height * ratio)
  const g = canvas.getContext('2d')
  if (g === null) return
  g.setTransform(ratio, 0, 0, ratio, 0, 0)
  g.clearRect(0, 0, width, height)
  const { from, to } = spec
  const [lo, hi] = extent(spec.series, from, to, spec.yFloor ?? 0, spec.yCeiling ?? 1)
  // 5 % headroom, so a line at the maximum does not run along the top edge.
  const ticks = niceTicks(
    lo,
    hi + (hi - lo) * 0.05,
    Math.max(2, Math.floor((height - PAD.top - PAD.bottom) / 28)),
  )
  const x = linearScale(from, to, PAD.left, width - PAD.right)
  const y = linearScale(ticks.min, ticks.max, height - PAD.bottom, PAD.top)
  const style = getComputedStyle(canvas)
  const ink = style.color || '#333'
  g.font = `10px ${style.fontFamily || 'sans-serif'}`

  for (const band of spec.bands ?? []) {
    const x0 = Math.max(PAD.left, x(band.from))
    const x1 = Math.min(width - PAD.right, x(band.to))
    if (x1 <= x0) continue
    g.fillStyle = band.color
    g.fillRect(x0, PAD.top, x1 - x0, height - PAD.top - PAD.bottom)
  }

  g.strokeStyle = ink
  g.fillStyle = ink
  g.globalAlpha = 0.15
  g.lineWidth = 1
  g.beginPath()
  for (const v of ticks.values) {
    const py = Math.round(y(v)) + 0.5
    g.moveTo(PAD.left, py)
    g.lineTo(width - PAD.right, py)
  }
  g.stroke()
  g.globalAlpha = 1
  g.textAlign = 'right'
  g.textBaseline = 'middle'
  for (const v of ticks.values) g.fillText(formatValue(v), PAD.left - 4, y(v))
  const seconds = niceTicks(0, (to - from) / 1000, 5)
  g.textBaseline = 'bottom'
  for (const s of seconds.values) {
    const px = x(to - s * 1000)
    g.textAlign = s === 0 ? 'right' : 'center'
    if (px >= PAD.left) g.fillText(s === 0 ? 'now' : `-${s}s`, px, height)
  }

  g.lineWidth = 1.5
  g.lineJoin = 'round'
  let legendX = PAD.left
  g.textAlign = 'left'
  g.textBaseline = 'top'
  for (const s of spec.series) {
    g.strokeStyle = s.color
    g.setLineDash(s.dashed ? [4, 3] : [])
    for (const line of polylines(s.points, x, y, from, to, spec.maxGapMs)) {
      g.beginPath()
      g.moveTo(line[0][0], line[0][1])
      for (let i = 1; i < line.length; i++) g.lineTo(line[i][0], line[i][1])
      if (line.length === 1) g.lineTo(line[0][0] + 1, line[0][1])
      g.stroke()
    }
    g.setLineDash([])
    g.fillStyle = s.color
    g.fillRect(legendX, 3, 8, 8)
    g.fillStyle = ink
    g.fillText(s.label, legendX + 11, 2)
    legendX += 11 + g.measureText(s.label).width + 10
  }
}
