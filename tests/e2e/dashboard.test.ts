// The dashboard end to end: the real Worker (wrangler dev, workerd, Durable Object store) in front
// of a real loopback origin, the page in headless Chromium driven by playwright-core. It signs in,
// watches live traffic, then a failing origin that makes the governor shed, and checks that the
// page drew its charts, showed changing values and the config version, and logged no error. The
// screenshot lands in test-output/dashboard.png.
import { mkdirSync } from 'node:fs'
import { join, resolve } from 'node:path'
import type { Browser, Page } from 'playwright-core'
import { afterAll, beforeAll, expect, it } from 'vitest'
import { type DemoOrigin, startDemoOrigin } from '../../scripts/demo-origin.ts'
import { launchChromium } from '../support/chromium.ts'
import { type DevWorker, startWranglerDev } from '../support/wrangler-dev.ts'

const TOKEN = 'e2e-dashboard-token-0123456789abcdefg'
const OUT = resolve(import.meta.dirname, '../../test-output')
/** Conditions are waited for, never timed: these are only ceilings for a slow machine. */
const PATIENCE_MS = 90_000

let origin: DemoOrigin
let worker: DevWorker
let browser: Browser

beforeAll(async () => {
  // The browser first: a machine without Chromium fails here with how to install it.
  browser = await launchChromium()
  origin = await startDemoOrigin(0, { latencyMs: 15, jitterMs: 5, errorRate: 0 })
  const config = {
    sync: { store: 'durable-object', intervalMs: 250 },
    routes: [
      { id: 'search', match: { path: '/api/search/*' }, origin: origin.url, priority: 'low' },
      { id: 'api', match: { path: '/api/*' }, origin: origin.url, priority: 'normal' },
    ],
    unmatched: 'reject',
  }
  worker = await startWranglerDev(
    { RHEOSTAT_CONFIG: JSON.stringify(config), RHEOSTAT_ADMIN_TOKEN: TOKEN },
    '/__rheostat/health',
  )
}, 180_000)

afterAll(async () => {
  await browser?.close()
  await worker?.close()
  await origin?.close()
})

async function knobs(values: Record<string, number>): Promise<void> {
  const query = new URLSearchParams(Object.entries(values).map(([k, v]) => [k, String(v)]))
  const res = await fetch(`${origin.url}/__origin/knobs?${query}`, { method: 'POST' })
  expect(res.status).toBe(200)
  await res.arrayBuffer()
}

/** Clients requesting `paths` in a loop until stopped; counts answers by status. */
function traffic(paths: string[], clients = 3) {
  let running = true
  const statuses = new Map<number, number>()
  const loops = Array.from({ length: clients }, async (_, i) => {
    for (let n = i; running; n++) {
      try {
        const res = await fetch(worker.url + paths[n % paths.length])
        await res.arrayBuffer()
        statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1)
      } catch { /* counted by its absence; the page is what is tested */ }
      await new Promise((r) => setTimeout(r, 15))
    }
  })
  return {
    statuses,
    async stop() {
      running = false
      await Promise.all(loops)
    },
  }
}

/** The numbers a route's card shows, and its mode. */
function facts(page: Page, route: string): Promise<Record<string, string>> {
  return page.evaluate((route) => {
    const card = document.querySelector(`article[data-route="${route}"]`)
    const out: Record<string, string> = { mode: card?.querySelector('.mode')?.textContent ?? '' }
    for (const dd of card?.querySelectorAll<HTMLElement>('[data-fact]') ?? []) {
      out[dd.dataset.fact!] = dd.textContent ?? ''
    }
    return out
  }, route)
}

/**
 * Waits until every chart of the route has drawn lines: coloured pixels below the legend strip
 * (grid, labels and the pale mode bands are grey or nearly white, the lines are saturated). The
 * canvas is copied before it is read, so the page's own canvases stay fast to draw.
 */
function chartsDrawn(page: Page, route: string): Promise<void> {
  return page.waitForFunction(
    (route) => {
      const canvases = [
        ...document.querySelectorAll<HTMLCanvasElement>(`article[data-route="${route}"] canvas`),
      ]
      return canvases.length === 4 && canvases.every((canvas) => {
        const copy = document.createElement('canvas')
        copy.width = canvas.width
        copy.height = canvas.height
        const g = copy.getContext('2d', { willReadFrequently: true })!
        g.drawImage(canvas, 0, 0)
        const top = Math.ceil(18 * devicePixelRatio)
        const { data } = g.getImageData(0, top, copy.width, copy.height - top)
        let lines = 0
        for (let i = 0; i < data.length; i += 4) {
          const chroma = Math.max(data[i], data[i + 1], data[i + 2]) -
            Math.min(data[i], data[i + 1], data[i + 2])
          if (data[i + 3] > 200 && chroma > 80) lines++
        }
        return lines >= 20
      })
    },
    route,
    { timeout: PATIENCE_MS, polling: 500 },
  ).then(() => undefined)
}

function number(text: string | undefined): number {
  return Number.parseFloat(text ?? '')
}

it(
  'the dashboard charts live traffic and shedding from the event stream, with no console error',
  async () => {
    const page = await browser.newPage({ viewport: { width: 1400, height: 1100 } })
    const problems: string[] = []
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`${m.type()}: ${m.text()}`)
    })
    page.on('pageerror', (error) => problems.push(`uncaught: ${error.message}`))
    const load = traffic(['/api/items', '/api/search/shoes'])
    try {
      const res = await page.goto(`${worker.url}/__rheostat`)
      expect(res?.status()).toBe(200)
      expect(page.url()).toBe(`${worker.url}/__rheostat/`)
      expect(res?.headers()['content-security-policy']).toContain("script-src 'self'")

      // The token prompt, then the token in session storage and nowhere else.
      await page.locator('#token').fill(TOKEN)
      await page.locator('#login button[type="submit"]').click()
      expect(
        await page.evaluate(() => ({
          session: sessionStorage.getItem('rheostat.adminToken'),
          local: localStorage.length,
          cookie: document.cookie,
          url: location.href,
        })),
      ).toEqual({ session: TOKEN, local: 0, cookie: '', url: `${worker.url}/__rheostat/` })

      // Live: both routes appear and the charts draw.
      await page.waitForSelector('#status[data-state="live"]', { timeout: PATIENCE_MS })
      await page.waitForSelector('article[data-route="api"]', { timeout: PATIENCE_MS })
      await page.waitForSelector('article[data-route="search"]', { timeout: PATIENCE_MS })
      await page.waitForFunction(
        () => {
          const text = document.querySelector('article[data-route="api"] [data-fact="admitted"]')
          return Number.parseFloat(text?.textContent ?? '') > 0
        },
        null,
        { timeout: PATIENCE_MS },
      )
      await chartsDrawn(page, 'api')
      await chartsDrawn(page, 'search')
      const healthy = await facts(page, 'search')
      expect(number(healthy.admitted)).toBeGreaterThan(0)

      // The origin fails: the governor sheds and the page shows it.
      await knobs({ errorRate: 1 })
      await page.waitForFunction(
        () => {
          const text = document.querySelector('article[data-route="search"] [data-fact="shed"]')
          return Number.parseFloat(text?.textContent ?? '') > 0
        },
        null,
        { timeout: PATIENCE_MS },
      )
      await page.waitForSelector('#modes li', { timeout: PATIENCE_MS })
      // The card's mode follows the breaker (stats trail the mode event by up to a second).
      await page.waitForSelector(
        'article[data-route="search"] .mode:is([data-mode="CIRCUIT_BREAKER"], [data-mode="HALF_OPEN"])',
        { timeout: PATIENCE_MS },
      )
      const failing = await facts(page, 'search')
      expect(failing).not.toEqual(healthy)
      expect(number(failing.shed)).toBeGreaterThan(0)
      expect(load.statuses.get(503) ?? 0).toBeGreaterThan(0)

      // The config and its version, from the config API.
      await page.waitForFunction(
        () => /^version \d+$/.test(document.getElementById('config-version')?.textContent ?? ''),
        null,
        { timeout: PATIENCE_MS },
      )
      const config = JSON.parse(await page.locator('#config').textContent() ?? '')
      expect(config.routes.map((r: { id: string }) => r.id)).toEqual(['search', 'api'])

      mkdirSync(OUT, { recursive: true })
      await page.screenshot({ path: join(OUT, 'dashboard.png'), fullPage: true })
      expect(problems).toEqual([])
    } catch (error) {
      // What the page showed when it failed, for whoever reads the CI log.
      mkdirSync(OUT, { recursive: true })
      await page.screenshot({ path: join(OUT, 'dashboard-failure.png'), fullPage: true })
      throw new Error(`${error}\nconsole and page errors: ${JSON.stringify(problems)}`, {
        cause: error,
      })
    } finally {
      await load.stop()
      await knobs({ errorRate: 0 })
      await page.close()
    }
  },
  300_000,
)
