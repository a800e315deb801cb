/**
 * The dashboard page's script: asks for the admin token once (kept in this tab's sessionStorage,
 * nowhere else), streams `GET {prefix}/api/events` with `fetch()` because EventSource cannot send
 * an Authorization header, reconnects with backoff, and draws per-route charts from the last few
 * minutes of `stats` events. Compiled into the page's one module by scripts/dashboard-assets.ts.
 *
 * @module
 */

import { type Band, drawChart, formatValue, runs, type Series } from './chart.ts'
import {
  backoffMs,
  type ModeEvent,
  prioritiesOf,
  rates,
  record,
  type Sample,
  sseReader,
  type StatsEvent,
} from './model.ts'

const TOKEN_KEY = 'rheostat.adminToken'
const WINDOW_MS = 5 * 60_000
/** The shortest time axis, so that the first seconds of data are not stretched over the chart. */
const MIN_SPAN_MS = 60_000
const MODE_COLORS: Record<string, string> = {
  BOOTSTRAP: 'rgba(128,128,128,0.18)',
  OPERATIONAL: 'rgba(40,160,80,0.14)',
  HALF_OPEN: 'rgba(230,160,20,0.22)',
  CIRCUIT_BREAKER: 'rgba(220,50,50,0.22)',
}
const PALETTE = ['#2c6fbb', '#2a9d55', '#c9820a', '#8e44ad', '#d0463c', '#138d90', '#7f8c8d']

const $ = (id: string) => document.getElementById(id) as HTMLElement
const histories = new Map<string, Sample[]>()
const modeChanges: ModeEvent[] = []
const decisions: { t: number; route: string; priority: string; allow: boolean }[] = []
let latest: StatsEvent | undefined
/** The config version last asked for: a failed fetch is retried when the version changes. */
let configAsked: number | undefined
let stream: AbortController | undefined
let attempt = 0
let retryTimer: ReturnType<typeof setTimeout> | undefined

function api(path: string): string {
  return new URL(`api/${path}`, import.meta.url).href
}

function authorization(): HeadersInit | undefined {
  const token = sessionStorage.getItem(TOKEN_KEY)
  return token ? { authorization: `Bearer ${token}` } : undefined
}

function status(state: 'live' | 'connecting' | 'down', text: string): void {
  const el = $('status')
  el.dataset.state = state
  el.textContent = text
}

function askToken(message = ''): void {
  stream?.abort()
  clearTimeout(retryTimer)
  $('main').hidden = true
  $('forget').hidden = true
  $('login').hidden = false
  $('login-error').textContent = message
  status('down', 'signed out')
  ;($('token') as HTMLInputElement).focus()
}

function start(): void {
  $('login').hidden = true
  $('main').hidden = false
  $('forget').hidden = false
  connect()
}

async function connect(): Promise<void> {
  const headers = authorization()
  if (headers === undefined) return askToken()
  const controller = stream = new AbortController()
  status('connecting', 'connecting…')
  try {
    const res = await fetch(api('events'), {
      headers: { ...headers, accept: 'text/event-stream' },
      cache: 'no-store',
      signal: controller.signal,
    })
    if (res.status === 401) {
      sessionStorage.removeItem(TOKEN_KEY)
      return askToken('The token was refused: enter it again')
    }
    if (!res.ok || res.body === null) throw new Error(`the event stream answered ${res.status}`)
    configAsked = undefined
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader()
    const read = sseReader()
    for (;;) {
      const { value, done } = await reader.read()
      if (done) break
      for (const message of read(value)) handle(message.event, message.data)
    }
    throw new Error('the event stream ended')
  } catch (error) {
    if (controller.signal.aborted) return
    const delayMs = backoffMs(attempt++)
    const why = error instanceof Error ? error.message : String(error)
    status('down', `${why}; reconnecting in ${delayMs / 1000} s`)
    retryTimer = setTimeout(connect, delayMs)
  }
}

function handle(event: string, data: string): void {
  let body: unknown
  try {
    body = JSON.parse(data)
  } catch {
    return
  }
  attempt = 0
  if (event === 'stats') {
    const stats = body as StatsEvent
    latest = stats
    record(histories, stats, WINDOW_MS)
    status('live', `live · ${new Date(stats.t).toLocaleTimeString()}`)
    if (stats.configVersion !== undefined && stats.configVersion !== configAsked) {
      configAsked = stats.configVersion
      void loadConfig()
    }
    render()
  } else if (event === 'mode') {
    modeChanges.unshift(body as ModeEvent)
    modeChanges.length = Math.min(modeChanges.length, 50)
    renderModes()
  } else if (event === 'decision') {
    decisions.unshift(body as (typeof decisions)[number])
    decisions.length = Math.min(decisions.length, 12)
  }
}

async function loadConfig(): Promise<void> {
  try {
    const res = await fetch(api('config'), { headers: authorization(), cache: 'no-store' })
    if (res.status === 401) return askToken('The token was refused: enter it again')
    if (!res.ok) throw new Error(`The config answered ${res.status}`)
    const body = await res.json() as { version: number; config: unknown }
    $('config-version').textContent = `version ${body.version}`
    $('config').textContent = JSON.stringify(body.config, null, 2)
  } catch (error) {
    $('config').textContent = error instanceof Error ? error.message : String(error)
  }
}

function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className = '',
  text = '',
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag)
  if (className) node.className = className
  if (text) node.textContent = text
  return node
}

const CHARTS = [
  ['resistance', 'Resistance (Ω) over mode'],
  ['admission', 'Admitted ─ and shed ╌ per s, by priority'],
  ['latency', 'Latency (ms)'],
  ['inflight', 'In flight and concurrency limit'],
] as const

function card(route: string): HTMLElement {
  const found = document.querySelector<HTMLElement>(`article[data-route="${CSS.escape(route)}"]`)
  if (found) return found
  const article = el('article', 'route')
  article.dataset.route = route
  const title = el('h2', '', route)
  title.append(' ', el('span', 'mode'))
  article.append(title, el('dl', 'now'))
  const charts = el('div', 'charts')
  for (const [name, caption] of CHARTS) {
    const figure = el('figure')
    const canvas = el('canvas')
    canvas.dataset.chart = name
    figure.append(canvas, el('figcaption', '', caption))
    charts.append(figure)
  }
  article.append(charts)
  $('routes').append(article)
  return article
}

function render(): void {
  if (latest === undefined) return
  const to = latest.t
  const routes = [...histories.keys()].sort()
  for (const route of routes) renderRoute(card(route), histories.get(route) ?? [], to)
  for (const article of document.querySelectorAll<HTMLElement>('article.route')) {
    if (!histories.has(article.dataset.route ?? '')) article.remove()
  }
  $('empty').hidden = routes.length > 0
  const meta = [`isolate ${latest.isolateId ?? '?'}`]
  if (latest.configVersion !== undefined) meta.push(`config v${latest.configVersion}`)
  $('meta').textContent = meta.join(' · ')
  renderIsolates()
  renderDecisions()
}

function renderRoute(article: HTMLElement, samples: Sample[], to: number): void {
  const last = samples[samples.length - 1]
  if (last === undefined) return
  const first = samples[0].t
  const from = Math.min(to - MIN_SPAN_MS, Math.max(first, to - WINDOW_MS))
  const mode = article.querySelector('.mode') as HTMLElement
  mode.textContent = last.mode
  mode.dataset.mode = last.mode
  const priorities = prioritiesOf(samples)
  const sum = (pick: (s: Sample) => Record<string, number>) => (s: Sample) =>
    Object.values(pick(s)).reduce((a, b) => a + b, 0)
  const admitted = rates(samples, sum((s) => s.admitted)).at(-1)?.[1] ?? NaN
  const shed = rates(samples, sum((s) => s.shed)).at(-1)?.[1] ?? NaN
  const limit = Number.isFinite(last.concurrencyLimit)
    ? ` / ${formatValue(last.concurrencyLimit)}`
    : ''
  const facts: [string, string, string][] = [
    ['resistance', 'R', `${formatValue(last.resistanceOhm)} Ω`],
    ['admitted', 'admitted', `${formatValue(admitted)}/s`],
    ['shed', 'shed', `${formatValue(shed)}/s`],
    ['p50', 'p50', `${formatValue(last.p50)} ms`],
    ['p99', 'p99', `${formatValue(last.p99)} ms`],
    ['inflight', 'in flight', `${formatValue(last.inflight)}${limit}`],
  ]
  const dl = article.querySelector('dl') as HTMLElement
  dl.replaceChildren(...facts.map(([key, label, value]) => {
    const div = el('div')
    const dd = el('dd', '', value)
    dd.dataset.fact = key
    div.append(el('dt', '', label), dd)
    return div
  }))

  const line = (label: string, i: number, points: Series['points'], dashed = false): Series => ({
    label,
    color: PALETTE[i % PALETTE.length],
    points,
    dashed,
  })
  const bands: Band[] = runs(samples.map((s) => [s.t, s.mode] as const), to, MODE_COLORS)
  const specs: Record<string, { series: Series[]; bands?: Band[] }> = {
    resistance: {
      series: [line('R', 4, samples.map((s) => [s.t, s.resistanceOhm]))],
      bands,
    },
    admission: {
      series: priorities.flatMap((p, i) => [
        line(p, i, rates(samples, (s) => s.admitted[p])),
        line(`${p} shed`, i, rates(samples, (s) => s.shed[p]), true),
      ]),
    },
    latency: {
      series: [
        line('p50', 0, samples.map((s) => [s.t, s.p50])),
        line('p99', 4, samples.map((s) => [s.t, s.p99])),
      ],
    },
    inflight: {
      series: [
        line('in flight', 0, samples.map((s) => [s.t, s.inflight])),
        line('limit', 6, samples.map((s) => [s.t, s.concurrencyLimit]), true),
      ],
    },
  }
  for (const canvas of article.querySelectorAll<HTMLCanvasElement>('canvas')) {
    const spec = specs[canvas.dataset.chart ?? '']
    if (spec) drawChart(canvas, { ...spec, from, to, maxGapMs: 5000 })
  }
}

function time(t: number): string {
  return new Date(t).toLocaleTimeString()
}

function renderModes(): void {
  $('modes').replaceChildren(...modeChanges.map((m) => {
    const li = el('li', '', `${time(m.t)} ${m.route}: ${m.from} → ${m.to}`)
    li.append(el('span', 'muted', ` (R ${formatValue(m.resistanceOhm)} Ω)`))
    return li
  }))
}

function renderDecisions(): void {
  $('decisions').replaceChildren(
    ...decisions.map((d) =>
      el(
        'li',
        d.allow ? '' : 'shed',
        `${time(d.t)} ${d.route} ${d.priority}: ${d.allow ? 'admitted' : 'shed'}`,
      )
    ),
  )
}

function renderIsolates(): void {
  const rows = (latest?.isolates ?? []).map((i) => {
    const tr = el('tr')
    tr.append(
      el('td', '', i.isolateId),
      el('td', '', i.configVersion === undefined ? '–' : `v${i.configVersion}`),
      el('td', '', i.lastSeenMs === undefined ? '–' : time(i.lastSeenMs)),
      el('td', i.syncDegraded ? 'shed' : '', i.syncDegraded ? 'degraded' : 'ok'),
    )
    return tr
  })
  $('isolates').replaceChildren(...rows)
}

$('login').addEventListener('submit', (event) => {
  event.preventDefault()
  const input = $('token') as HTMLInputElement
  const token = input.value.trim()
  if (token === '') return
  input.value = ''
  sessionStorage.setItem(TOKEN_KEY, token)
  start()
})
$('forget').addEventListener('click', () => {
  sessionStorage.removeItem(TOKEN_KEY)
  askToken()
})
addEventListener('resize', render)
if (sessionStorage.getItem(TOKEN_KEY)) start()
else askToken()
