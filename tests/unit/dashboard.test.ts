// The dashboard's pure parts (chart scales and paths, the event-stream reader, rates from
// cumulative counters, bounded history), the generated assets module, and the section serving
// the page. The page itself runs in headless Chromium in tests/unit/dashboard-e2e.test.ts.
import { readFileSync } from 'node:fs'
import process from 'node:process'
import { Hono } from 'hono'
import { describe, expect, it } from 'vitest'
import { ASSETS_FILE, assetsModule } from '../../scripts/dashboard-assets.ts'
import { createAdminApp } from '../../src/admin/admin.ts'
import {
  extent,
  formatValue,
  linearScale,
  niceStep,
  niceTicks,
  polylines,
  runs,
} from '../../src/admin/dashboard/chart.ts'
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from '../../src/admin/dashboard/assets.ts'
import { DASHBOARD_CSP, dashboardSection } from '../../src/admin/dashboard/index.ts'
import {
  backoffMs,
  prioritiesOf,
  rates,
  record,
  type Sample,
  sseReader,
  type StatsEvent,
  trim,
} from '../../src/admin/dashboard/model.ts'
import { chromiumPath } from '../support/chromium.ts'

describe('chart', () => {
  it('niceStep() picks 1, 2 or 5 times a power of ten', () => {
    expect(niceStep(100, 4)).toBe(50) // 25 → 50
    expect(niceStep(10, 5)).toBe(2)
    expect(niceStep(1, 4)).toBeCloseTo(0.5)
    expect(niceStep(0.03, 3)).toBeCloseTo(0.01)
    expect(niceStep(7000, 7)).toBe(1000)
  })

  it('niceTicks() rounds the range out to whole steps', () => {
    expect(niceTicks(0.3, 9.2, 4)).toEqual({ min: 0, max: 10, step: 5, values: [0, 5, 10] })
    expect(niceTicks(0, 300, 5)).toEqual({
      min: 0,
      max: 300,
      step: 100,
      values: [0, 100, 200, 300],
    })
    const small = niceTicks(0.12, 0.37, 5)
    expect(small.values).toEqual([0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4])
    expect(small.min).toBeLessThanOrEqual(0.12)
    expect(small.max).toBeGreaterThanOrEqual(0.37)
  })

  it('niceTicks() widens a flat or empty range and accepts reversed bounds', () => {
    const flat = niceTicks(3, 3)
    expect(flat.min).toBeLessThan(3)
    expect(flat.max).toBeGreaterThan(3)
    expect(niceTicks(NaN, Infinity)).toEqual(niceTicks(0, 1))
    expect(niceTicks(10, 0)).toEqual(niceTicks(0, 10))
  })

  it('linearScale() maps the domain onto the range, flipped when asked', () => {
    const y = linearScale(0, 10, 100, 0)
    expect(y(0)).toBe(100)
    expect(y(10)).toBe(0)
    expect(y(2.5)).toBe(75)
    expect(linearScale(5, 5, 0, 40)(123)).toBe(20)
  })

  it('polylines() keeps the window, breaks at gaps and non-finite values', () => {
    const x = linearScale(0, 100, 0, 100)
    const y = (v: number) => v
    const points = [[-20, 1], [-10, 2], [10, 3], [20, NaN], [30, 4], [40, 5], [90, 6], [
      120,
      7,
    ]] as const
    expect(polylines(points, x, y, 0, 100, 30)).toEqual([
      [[-10, 2], [10, 3]], // the point just before the window enters the line
      [[30, 4], [40, 5]], // NaN broke it
      [[90, 6]], // a 50 ms gap broke it; 120 is after the window
    ])
    expect(polylines([], x, y, 0, 100)).toEqual([])
  })

  it('extent() spans the visible values, the floor and the ceiling', () => {
    const series = [{ label: 'a', color: 'red', points: [[0, -2], [5, 8], [50, 1000]] as const }]
    expect(extent(series, 0, 10, 0, 1)).toEqual([-2, 8])
    expect(extent([], 0, 10, 0, 1)).toEqual([0, 1])
  })

  it('runs() turns labelled samples into bands that end at the next change', () => {
    const bands = runs(
      [[0, 'OPERATIONAL'], [1, 'OPERATIONAL'], [2, 'CIRCUIT_BREAKER'], [5, 'UNKNOWN'], [
        6,
        'OPERATIONAL',
      ]],
      9,
      { OPERATIONAL: 'g', CIRCUIT_BREAKER: 'r' },
    )
    expect(bands).toEqual([
      { from: 0, to: 2, color: 'g' },
      { from: 2, to: 5, color: 'r' },
      { from: 6, to: 9, color: 'g' },
    ])
  })

  it('formatValue() gives three significant digits and k/M suffixes', () => {
    expect(formatValue(0)).toBe('0')
    expect(formatValue(0.123456)).toBe('0.123')
    expect(formatValue(12.5)).toBe('12.5')
    expect(formatValue(1234)).toBe('1.23k')
    expect(formatValue(-2_500_000)).toBe('-2.5M')
    expect(formatValue(NaN)).toBe('–')
  })
})

describe('model', () => {
  it('sseReader() assembles events across arbitrary chunks', () => {
    const text =
      'event: stats\ndata: {"a":\ndata: 1}\n\n: comment\n\nevent: mode\r\ndata:x\r\n\r\n' +
      'data: plain\n\n'
    const whole = sseReader()(text)
    expect(whole).toEqual([
      { event: 'stats', data: '{"a":\n1}' },
      { event: 'mode', data: 'x' },
      { event: 'message', data: 'plain' },
    ])
    // One character at a time gives the same events.
    const read = sseReader()
    const split = [...text].flatMap((ch) => read(ch))
    expect(split).toEqual(whole)
  })

  it('rates() differences cumulative counters per second and skips resets', () => {
    const samples = [{ t: 0, n: 0 }, { t: 1000, n: 10 }, { t: 3000, n: 30 }, { t: 4000, n: 5 }]
    const r = rates(samples, (s) => s.n)
    expect(r.slice(0, 2)).toEqual([[1000, 10], [3000, 10]])
    expect(r[2][0]).toBe(4000)
    expect(r[2][1]).toBeNaN()
    expect(rates([{ t: 0 }, { t: 500 }], () => undefined)).toEqual([[500, 0]])
  })

  const stats = (t: number, routes: string[]): StatsEvent => ({
    t,
    routes: routes.map((route) => ({
      route,
      mode: 'OPERATIONAL',
      resistanceOhm: t / 1000,
      inflight: 1,
      concurrencyLimit: null,
      latencyMs: { p50: 5, p99: 9 },
      admitted: { critical: 0, normal: t, low: 0 },
      shed: { critical: 0, normal: 0, low: 1 },
    })),
  })

  it('record() keeps a bounded, ordered history per route and forgets gone routes; prioritiesOf() lists the busy priorities', () => {
    const history = new Map<string, Sample[]>()
    for (let t = 0; t <= 10_000; t += 1000) record(history, stats(t, ['a', 'b']), 5000)
    const a = history.get('a')!
    expect(a.map((s) => s.t)).toEqual([5000, 6000, 7000, 8000, 9000, 10_000])
    expect(a.at(-1)).toMatchObject({ resistanceOhm: 10, p99: 9, admitted: { normal: 10_000 } })
    expect(a[0].concurrencyLimit).toBeNaN()
    // A replayed older tick is ignored.
    record(history, stats(9500, ['a']), 5000)
    expect(history.get('a')!.at(-1)!.t).toBe(10_000)
    // Route b stops reporting: it stays until its last sample is older than the window.
    for (let t = 11_000; t <= 16_000; t += 1000) record(history, stats(t, ['a']), 5000)
    expect(history.has('b')).toBe(false)
    expect(prioritiesOf(history.get('a')!)).toEqual(['normal', 'low'])
  })

  it('trim() drops only samples older than the window', () => {
    expect(trim([{ t: 1 }, { t: 5 }, { t: 9 }], 4)).toEqual([{ t: 5 }, { t: 9 }])
    expect(trim([], 4)).toEqual([])
  })

  it('backoffMs() doubles from 1 s up to its ceiling', () => {
    expect([0, 1, 2, 3, 10, 100].map((n) => backoffMs(n))).toEqual([
      1000,
      2000,
      4000,
      8000,
      30_000,
      30_000,
    ])
  })
})

describe('assets', () => {
  it('assets.ts is what `npm run dashboard:build` makes from the sources', () => {
    expect(readFileSync(ASSETS_FILE, 'utf8')).toBe(assetsModule())
  })

  it('the page loads only its own script and style sheet, no inline script or style', () => {
    const scripts = [...DASHBOARD_HTML.matchAll(/<script\b[^>]*>/g)].map((m) => m[0])
    expect(scripts).toEqual(['<script type="module" src="dashboard.js">'])
    expect(DASHBOARD_HTML).not.toMatch(/<script[^>]*>[^<]/)
    expect(DASHBOARD_HTML).not.toMatch(/\sstyle=|<style|\son[a-z]+=/i)
    expect(DASHBOARD_HTML).not.toMatch(/(src|href)="(https?:)?\/\//)
    expect(DASHBOARD_JS).not.toMatch(/\bimport\s*[({'"]|https?:\/\//)
  })

  it('the script keeps the token in sessionStorage only', () => {
    expect(DASHBOARD_JS).toContain('sessionStorage.setItem')
    expect(DASHBOARD_JS).not.toMatch(/localStorage|document\.cookie|searchParams|location\.hash/)
  })

  it('the page, script and style sheet stay small', () => {
    // Everything here ends up in the Worker bundle (docs/decisions.md).
    expect(DASHBOARD_HTML.length + DASHBOARD_CSS.length + DASHBOARD_JS.length).toBeLessThan(24_000)
  })
})

describe('dashboardSection()', () => {
  const admin = createAdminApp({
    token: 'a-dashboard-token-of-32-characters',
    publicSections: [dashboardSection()],
  })

  it('serves the page without the token, under a strict policy', async () => {
    const res = await admin.request('http://edge/__rheostat/')
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toBe('text/html; charset=utf-8')
    expect(res.headers.get('content-security-policy')).toBe(DASHBOARD_CSP)
    expect(DASHBOARD_CSP).toContain("script-src 'self'")
    expect(DASHBOARD_CSP).not.toContain('unsafe')
    expect(await res.text()).toBe(DASHBOARD_HTML)
  })

  it('redirects the bare prefix to the page, whose asset URLs are relative', async () => {
    const res = await admin.request('http://edge/__rheostat')
    expect(res.status).toBe(308)
    expect(res.headers.get('location')).toBe('/__rheostat/')
  })

  it('serves the script and the style sheet with their types', async () => {
    const js = await admin.request('http://edge/__rheostat/dashboard.js')
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8')
    expect(await js.text()).toBe(DASHBOARD_JS)
    const css = await admin.request('http://edge/__rheostat/dashboard.css')
    expect(css.headers.get('content-type')).toBe('text/css; charset=utf-8')
    expect(await css.text()).toBe(DASHBOARD_CSS)
  })

  it('answers the same mounted on an app that matches trailing slashes strictly', async () => {
    const edge = new Hono()
    edge.route('/', admin)
    edge.get('*', (c) => c.text('origin'))
    expect((await edge.request('http://edge/__rheostat')).status).toBe(308)
    const page = await edge.request('http://edge/__rheostat/')
    expect(page.status).toBe(200)
    expect(await page.text()).toBe(DASHBOARD_HTML)
    expect((await edge.request('http://edge/__rheostat/dashboard.css')).status).toBe(200)
  })

  it('follows the configured prefix and stays off with the admin API', async () => {
    const custom = createAdminApp({
      token: 'a-dashboard-token-of-32-characters',
      prefix: '/ops',
      publicSections: [dashboardSection()],
    })
    expect((await custom.request('http://edge/ops/')).status).toBe(200)
    const off = createAdminApp({ token: undefined, publicSections: [dashboardSection()] })
    expect((await off.request('http://edge/__rheostat/')).status).toBe(404)
    expect((await off.request('http://edge/__rheostat/dashboard.js')).status).toBe(404)
  })
})

describe('chromiumPath()', () => {
  it('chromiumPath() fails with how to install Chromium when the browser is missing', () => {
    const saved = process.env.CHROMIUM_PATH
    process.env.CHROMIUM_PATH = '/nonexistent/chromium'
    try {
      expect(() => chromiumPath()).toThrow(
        /Chromium not found at "\/nonexistent\/chromium".*apt-get install -y chromium.*CHROMIUM_PATH/,
      )
    } finally {
      if (saved === undefined) delete process.env.CHROMIUM_PATH
      else process.env.CHROMIUM_PATH = saved
    }
  })
})
