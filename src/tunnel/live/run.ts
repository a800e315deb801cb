/**
 * Live mode: one scenario against real processes, time-compressed by `speed` (scenario time =
 * wall time × speed). For each strategy, a fresh origin process (src/tunnel/live/origin.ts) and,
 * for `rheostat`, a fresh workerd serving the Worker (src/tunnel/live/workerd.ts) in front of it;
 * `none` sends the same arrivals straight to the origin. A bounded open-loop load generator on
 * 127.0.0.1 sends the scenario's arrivals (the simulator's, drawn from the same seed), retries as
 * the scenario's clients do, and records each attempt. The records are replayed into the
 * simulator's `Recorder`, so the report has the same fields, computed the same way.
 *
 * docs/wind-tunnel.md, "Live mode", says what differs from the simulation.
 *
 * @module
 */

import { type ChildProcess, fork } from 'node:child_process'
import { Agent, request as httpRequest } from 'node:http'
import { mkdtempSync, rmSync } from 'node:fs'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { parseConfig } from '../../config/schema.ts'
import { PROBLEM_JSON, SHED_PROBLEM_TYPE } from '../../http/responses.ts'
import { Arrivals } from '../arrivals.ts'
import { Recorder, type StrategyMetrics } from '../metrics.ts'
import { createRandom } from '../random.ts'
import { type ScenarioReport, setIdealShares, type StrategyReport } from '../report.ts'
import type { Scenario } from '../scenario.ts'
import { simulate } from '../simulator.ts'
import { ideal } from '../strategies/ideal.ts'
import type { StrategyProbe } from '../strategy.ts'
import type { OriginLog } from './origin.ts'
import { ORIGIN_HEALTH_PATH, wallNowMs } from './origin.ts'
import {
  buildLiveWorker,
  CLASS_HEADER,
  type LiveBundle,
  liveConfig,
  LiveSetupError,
  PROBE_PATH,
  serveLiveWorker,
} from './workerd.ts'

/** Strategies live mode runs: the governor in workerd, and no protection. */
export const LIVE_STRATEGIES = ['rheostat', 'none'] as const
export type LiveStrategy = (typeof LIVE_STRATEGIES)[number]

/** Bounds of `--speed`. Above 20, a 20 ms service time is 1 ms of wall time: timer resolution. */
export const MIN_SPEED = 0.1
export const MAX_SPEED = 20
/** Most new requests per wall second live mode sends (retries come on top). */
export const MAX_WALL_RPS = 1500
/** Longest run of one strategy, wall seconds. */
export const MAX_WALL_S = 900
/** Most attempts in flight at once; an arrival beyond it is not sent and counted. */
export const MAX_IN_FLIGHT = 1024
/**
 * How much longer than the Worker's route timeout the client waits, wall ms, so that the
 * Worker's 504 (which completes the governor's ticket as a failure) arrives first.
 */
const CLIENT_GRACE_MS = 250

/** What a live run measured besides the metrics, per strategy. */
export interface LiveFacts {
  speed: number
  /** Wall time of the run, s. */
  wallS: number
  /** Attempts sent (new requests and retries). */
  sent: number
  /** Arrivals not sent because `MAX_IN_FLIGHT` attempts were in flight. */
  clientCapped: number
  /** Attempts that ended in a connection error. */
  connectionErrors: number
  /** Attempts the client gave up on at its timeout. */
  clientTimeouts: number
  /** Attempts the governor shed (503 problem of type temporary-reduced-capacity). */
  governorShed: number
  /** The governor's sheds by the problem's `mode` and `reason` ("CIRCUIT_BREAKER/breaker"). */
  shedReasons: Record<string, number>
  /** Largest delay of a send behind its scheduled time, scenario ms: did the generator keep up. */
  maxSendLagMs: number
  /** What the origin process saw (queue events aside). */
  origin: Omit<OriginLog, 'queue'>
}

/**
 * A live scenario report: the simulation's shape, plus what only a live run has. The `ideal`
 * reference cannot run live (it reads the simulator's origin): its entry is simulated, on the
 * same arrivals, and has no `live` facts.
 */
export interface LiveScenarioReport extends ScenarioReport {
  mode: 'live'
  speed: number
  strategies: Record<string, StrategyReport & { live?: LiveFacts }>
}

/** Options of `runLive`. */
export interface LiveOptions {
  /** Scenario ms per wall ms. */
  speed: number
  /** Overrides the scenario's seed. */
  seed?: number | undefined
  /** In report order. @default both */
  strategies?: readonly LiveStrategy[] | undefined
  /** Progress of each strategy's run, 0..1, about once a scenario second. */
  onProgress?: ((strategy: string, fraction: number) => void) | undefined
  /** Lines for stderr (setup steps, warnings). */
  log?: ((line: string) => void) | undefined
}

/**
 * Why a scenario cannot run live at `speed`: speed out of range, too many requests per wall
 * second, too long. Empty when it can.
 */
export function liveProblems(scenario: Scenario, speed: number, seed?: number): string[] {
  const problems: string[] = []
  if (!(speed >= MIN_SPEED && speed <= MAX_SPEED)) {
    problems.push(`Speed must lie within ${MIN_SPEED}..${MAX_SPEED}, got ${speed}`)
    return problems
  }
  const plan = planArrivals(scenario, seed ?? scenario.seed)
  const perSecond = new Map<number, number>()
  let busiest = 0
  for (const a of plan) {
    const s = Math.floor(a.t / 1000)
    const n = (perSecond.get(s) ?? 0) + 1
    perSecond.set(s, n)
    if (n > busiest) busiest = n
  }
  if (busiest * speed > MAX_WALL_RPS) {
    const fit = Math.floor((MAX_WALL_RPS / busiest) * 10) / 10
    problems.push(
      `Scenario "${scenario.name}" is too large for live mode at speed ${speed}: its busiest ` +
        `second has ${busiest} arrivals, ${Math.round(busiest * speed)} req/s of wall time, ` +
        `above the cap of ${MAX_WALL_RPS} req/s${
          fit >= MIN_SPEED ? `; use --speed ${fit} or less` : '; it cannot run live'
        }`,
    )
  }
  const wallS = scenario.durationS / speed
  if (wallS > MAX_WALL_S) {
    problems.push(
      `Scenario "${scenario.name}" would take ${
        Math.round(wallS)
      } s of wall time per strategy at ` +
        `speed ${speed}, above the cap of ${MAX_WALL_S} s; use --speed ${
          Math.ceil((scenario.durationS / MAX_WALL_S) * 10) / 10
        } or more`,
    )
  }
  return problems
}

/** One planned arrival: scenario ms, class index and its origin draws. */
interface Planned {
  t: number
  cls: number
  z: number
  u: number
}

/**
 * The scenario's arrivals with their class and origin draws, drawn in the simulator's order from
 * the simulator's stream, so live mode offers the very requests the simulation did.
 */
export function planArrivals(scenario: Scenario, seed: number): Planned[] {
  const rng = createRandom(seed, 0)
  const arrivals = new Arrivals(scenario, rng)
  const total = scenario.classes.reduce((a, c) => a + c.share, 0)
  let acc = 0
  const cum = scenario.classes.map((c) => (acc += c.share / total))
  cum[cum.length - 1] = 1
  const out: Planned[] = []
  for (let t = arrivals.next(0); t < Infinity; t = arrivals.next(t)) {
    const u = rng.next()
    let cls = 0
    while (u >= (cum[cls] as number)) cls++
    const z = rng.normal()
    out.push({ t, cls, z, u: rng.next() })
  }
  return out
}

// ---- child processes -----------------------------------------------------------------------------

const children = new Set<ChildProcess>()

function track(child: ChildProcess): void {
  children.add(child)
  child.once('exit', () => children.delete(child))
}

/**
 * Ends every child process live mode started (origins, workerd), by its own handle: SIGTERM,
 * SIGKILL after 2 s. The tunnel command calls it on Ctrl-C; `runLive` calls it when it ends.
 */
export async function killLiveChildren(): Promise<void> {
  await Promise.all([...children].map((child) =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done()
      const force = setTimeout(() => child.kill('SIGKILL'), 2000)
      child.once('exit', () => {
        clearTimeout(force)
        done()
      })
      child.kill('SIGTERM')
    })
  ))
}

const workDirs = new Set<string>()

// The last resort when the process exits without cleaning up (an uncaught throw, Ctrl-C).
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
  for (const dir of workDirs) rmSync(dir, { recursive: true, force: true })
})

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createNetServer()
    probe.once('error', fail)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => done(port))
    })
  })
}

interface OriginHandle {
  url: string
  start(t0Ms: number): void
  finish(): Promise<OriginLog>
}

/** Starts the origin process and waits for its URL. */
function startOriginProcess(scenario: Scenario, speed: number): Promise<OriginHandle> {
  const child = fork(new URL('./origin-process.ts', import.meta.url).pathname, [], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  track(child)
  // A send after the child is gone (Ctrl-C ended it) is reported by `finish`, not thrown here.
  child.on('error', () => {})
  return new Promise((done, fail) => {
    const onExit = (code: number | null) =>
      fail(new LiveSetupError(`The origin process exited with status ${code} before it was ready`))
    child.once('exit', onExit)
    child.once('message', (message: { type: string; url?: string; message?: string }) => {
      if (message.type !== 'ready') {
        fail(new LiveSetupError(`The origin process failed: ${message.message ?? message.type}`))
        return
      }
      child.off('exit', onExit)
      done({
        url: message.url as string,
        start: (t0Ms) => child.send({ type: 'start', t0Ms }),
        finish: () =>
          new Promise<OriginLog>((ok, bad) => {
            child.once('message', (m: { type: string; log?: OriginLog }) => {
              if (m.type === 'log' && m.log !== undefined) ok(m.log)
              else bad(new Error('The origin process sent no log'))
            })
            child.once('exit', () => bad(new Error('The origin process exited without its log')))
            if (!child.connected) bad(new Error('The origin process is gone'))
            else child.send({ type: 'finish' })
          }),
      })
    })
    child.send({ type: 'init', scenario, speed })
  })
}

// ---- the run -------------------------------------------------------------------------------------

/**
 * Runs `scenario` live against each strategy, one after the other, on the same arrivals.
 *
 * @param scenario A scenario from `parseScenario`; check it with `liveProblems` first.
 * @param options Speed, seed, strategies, progress and log callbacks.
 * @returns The report: the simulation's fields, plus `live` facts per strategy.
 * @throws {LiveSetupError} When the Worker cannot be built or served, or the origin not started.
 */
export async function runLive(
  scenario: Scenario,
  options: LiveOptions,
): Promise<LiveScenarioReport> {
  const { speed } = options
  const seed = options.seed ?? scenario.seed
  const log = options.log ?? (() => {})
  const problems = liveProblems(scenario, speed, seed)
  if (problems.length > 0) throw new LiveSetupError(problems.join('\n'))
  const strategies = options.strategies ?? LIVE_STRATEGIES
  if (scenario.isolates > 1) {
    log(
      `${scenario.name}: live mode runs one isolate (one workerd process); the scenario's ` +
        `${scenario.isolates} isolates are not reproduced`,
    )
  }
  const plan = planArrivals(scenario, seed)
  const report: LiveScenarioReport = {
    mode: 'live',
    speed,
    name: scenario.name,
    description: scenario.description,
    seed,
    durationS: scenario.durationS,
    isolates: 1,
    strategies: {},
  }
  const workDir = mkdtempSync(join(tmpdir(), 'rheostat-tunnel-live-'))
  workDirs.add(workDir)
  try {
    let bundle: LiveBundle | undefined
    for (const strategy of strategies) {
      if (strategy === 'rheostat' && bundle === undefined) {
        log('building the Worker (wrangler deploy --dry-run)…')
        bundle = buildLiveWorker(join(workDir, 'bundle'))
      }
      const origin = await startOriginProcess(scenario, speed)
      let target = origin.url
      if (strategy === 'rheostat') {
        const port = await freePort()
        const worker = await serveLiveWorker(
          bundle as LiveBundle,
          liveConfig(scenario, origin.url, speed),
          speed,
          port,
          track,
        )
        target = worker.url
      }
      log(
        `${scenario.name} · ${strategy}: ${plan.length} arrivals over ${
          (scenario.durationS / speed).toFixed(1)
        } s of wall time (speed ${speed})`,
      )
      const run = await drive(
        scenario,
        plan,
        seed,
        speed,
        target,
        strategy === 'rheostat',
        origin,
        {
          onProgress: (f) => options.onProgress?.(strategy, f),
        },
      )
      await killLiveChildren()
      report.strategies[strategy] = { ...run, idealShare: null }
    }
    const reference = await simulate(scenario, ideal, { seed })
    report.strategies[ideal.name] = {
      ...reference.metrics,
      simulatedRequests: reference.simulatedRequests,
      idealShare: null,
    }
    setIdealShares(report.strategies)
  } finally {
    await killLiveChildren()
    rmSync(workDir, { recursive: true, force: true })
    workDirs.delete(workDir)
  }
  return report
}

// Replayed events, in scenario ms.
const E_ARRIVAL = 0
const E_DECISION = 1
const E_ANSWER = 2
const E_QUEUE = 3

interface Event {
  t: number
  kind: number
  cls: number
  /** Decision: allow; answer: ok. */
  flag: boolean
  /** Decision: retry. */
  retry: boolean
  latencyMs: number
  userLatencyMs: number
  /** Answer: the HTTP status the client got; undefined for a timeout or a connection error. */
  status?: number | undefined
}

/** One strategy's run: sends the plan, records, replays into a Recorder. */
async function drive(
  scenario: Scenario,
  plan: readonly Planned[],
  seed: number,
  speed: number,
  target: string,
  governed: boolean,
  origin: OriginHandle,
  hooks: { onProgress(fraction: number): void },
): Promise<StrategyMetrics & { simulatedRequests: number; live: LiveFacts }> {
  const durationMs = scenario.durationS * 1000
  const seconds = Math.ceil(scenario.durationS)
  const timeoutMs = scenario.origin.timeoutMs
  const clientTimeoutWallMs = timeoutMs / speed + (governed ? CLIENT_GRACE_MS : 0)
  const { retries, retryBackoffMs } = scenario.clients
  const retryRng = createRandom(seed, 1)
  const events: Event[] = []
  const probes: (StrategyProbe | undefined)[] = new Array(seconds).fill(undefined)
  const facts: LiveFacts = {
    speed,
    wallS: 0,
    sent: 0,
    clientCapped: 0,
    connectionErrors: 0,
    clientTimeouts: 0,
    governorShed: 0,
    shedReasons: {},
    maxSendLagMs: 0,
    origin: { received: 0, ok: 0, errors: 0, queueFull: 0, blackholed: 0 },
  }
  const agent = new Agent({ keepAlive: true, maxSockets: MAX_IN_FLIGHT, maxFreeSockets: 256 })
  const targetUrl = new URL(target)
  const timers = new Set<ReturnType<typeof setTimeout>>()
  const later = (wallMs: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, Math.max(0, wallMs))
    timers.add(timer)
  }
  let inFlight = 0
  let t0 = 0
  const now = () => (wallNowMs() - t0) * speed
  const event = (e: Partial<Event> & { t: number; kind: number; cls: number }) =>
    events.push({ flag: false, retry: false, latencyMs: 0, userLatencyMs: 0, ...e })

  let settle: () => void = () => {}
  const settled = new Promise<void>((done) => (settle = done))
  let arrivalsDone = false
  const checkSettled = () => {
    if (arrivalsDone && inFlight === 0 && timers.size === 0) settle()
  }

  function retryLater(cls: number, n: number, firstMs: number, t: number): void {
    if (n > retries) return
    const atMs = t + retryBackoffMs * 2 ** (n - 1)
    if (atMs >= durationMs) return
    const z = retryRng.normal()
    const u = retryRng.next()
    later((atMs - now()) / speed, () => attempt(cls, n, firstMs, atMs, z, u))
  }

  function attempt(cls: number, n: number, firstMs: number, dueMs: number, z: number, u: number) {
    if (inFlight >= MAX_IN_FLIGHT) {
      facts.clientCapped++
      return
    }
    const c = scenario.classes[cls] as Scenario['classes'][number]
    const sendMs = now()
    const first = n === 0 ? sendMs : firstMs
    facts.maxSendLagMs = Math.max(facts.maxSendLagMs, sendMs - dueMs)
    facts.sent++
    inFlight++
    let done = false
    const finish = (kind: 'shed' | 'ok' | 'failed' | 'timeout' | 'error', status?: number) => {
      if (done) return
      done = true
      clearTimeout(deadline)
      inFlight--
      const t = now()
      if (kind === 'shed') {
        facts.governorShed++
        event({ t: sendMs, kind: E_DECISION, cls, flag: false, retry: n > 0 })
        retryLater(cls, n + 1, first, t)
      } else {
        if (kind === 'timeout') facts.clientTimeouts++
        if (kind === 'error') facts.connectionErrors++
        event({ t: sendMs, kind: E_DECISION, cls, flag: true, retry: n > 0 })
        const ok = kind === 'ok'
        // A client timeout, or the Worker's 504 at the same moment, costs the timeout.
        const latencyMs = Math.min(t - sendMs, timeoutMs)
        event({
          t,
          kind: E_ANSWER,
          cls,
          flag: ok,
          latencyMs,
          userLatencyMs: t - first,
          status,
        })
        if (!ok) retryLater(cls, n + 1, first, t)
      }
      checkSettled()
    }
    const req = httpRequest({
      agent,
      host: targetUrl.hostname,
      port: targetUrl.port,
      method: 'GET',
      path: `/c/${encodeURIComponent(c.name)}`,
      headers: { [CLASS_HEADER]: c.name, 'x-tunnel-z': String(z), 'x-tunnel-u': String(u) },
    }, (res) => {
      const status = res.statusCode ?? 0
      const problem = status === 503 &&
        String(res.headers['content-type'] ?? '').startsWith(PROBLEM_JSON)
      let body = ''
      res.setEncoding('utf8')
      res.on('data', (chunk: string) => {
        if (problem) body += chunk
      })
      res.on('end', () => {
        if (problem) {
          let problem: { type?: unknown; mode?: unknown; reason?: unknown } = {}
          try {
            problem = JSON.parse(body)
          } catch {
            // Not a problem body after all: an origin's 503.
          }
          if (problem.type === SHED_PROBLEM_TYPE) {
            const why = `${problem.mode}/${problem.reason}`
            facts.shedReasons[why] = (facts.shedReasons[why] ?? 0) + 1
            return finish('shed')
          }
        }
        finish(status === 200 ? 'ok' : 'failed', status)
      })
      res.on('error', () => finish('error'))
    })
    req.on('error', () => finish('error'))
    const deadline = setTimeout(() => {
      finish('timeout')
      req.destroy()
    }, clientTimeoutWallMs)
    req.end()
  }

  // Probes of the governor at the end of each scenario second (the simulator probes then too).
  const probe = async (): Promise<StrategyProbe | undefined> => {
    try {
      const res = await fetch(target + PROBE_PATH, { signal: AbortSignal.timeout(2000) })
      const body = await res.json() as {
        snapshot: { resistanceOhm: number; mode: string; modeTransitions: number } | null
      }
      const s = body.snapshot
      return s === null
        ? {}
        : { resistance: s.resistanceOhm, mode: s.mode, modeTransitions: s.modeTransitions }
    } catch {
      return undefined
    }
  }

  // Warm-up outside the model (the probe or the origin's health check): opens sockets and runs
  // the request path once, so the first arrivals are not sent late.
  // For the Worker, the admin API's public health check (outside every route) builds the governor.
  const warmPaths = governed
    ? [`${parseConfig(scenario.governor).admin.prefix}/health`, PROBE_PATH]
    : [ORIGIN_HEALTH_PATH]
  for (const warmPath of warmPaths) {
    await Promise.all(Array.from({ length: 16 }, () =>
      new Promise<void>((done) => {
        const req = httpRequest(
          { agent, host: targetUrl.hostname, port: targetUrl.port, path: warmPath },
          (res) => res.resume().on('end', done).on('error', done),
        )
        req.on('error', () => done())
        req.end()
      })))
  }
  const started = performance.now()
  t0 = wallNowMs() + 100
  origin.start(t0)
  let i = 0
  const pump = () => {
    const t = now()
    while (i < plan.length && (plan[i] as Planned).t <= t) {
      const a = plan[i] as Planned
      event({ t: a.t, kind: E_ARRIVAL, cls: a.cls })
      attempt(a.cls, 0, 0, a.t, a.z, a.u)
      i++
    }
    if (i < plan.length) later(((plan[i] as Planned).t - now()) / speed, pump)
    else {
      arrivalsDone = true
      checkSettled()
    }
  }
  later(t0 - wallNowMs(), pump)
  const probeTasks: Promise<void>[] = []
  const probeTimers: ReturnType<typeof setTimeout>[] = []
  for (let s = 0; s < seconds; s++) {
    const endMs = Math.min((s + 1) * 1000, durationMs)
    const wallMs = t0 + endMs / speed - wallNowMs()
    const timer = setTimeout(() => {
      hooks.onProgress((s + 1) / seconds)
      if (!governed) return
      probeTasks.push(probe().then((p) => void (probes[s] = p)))
    }, Math.max(0, wallMs))
    // Not in `timers`: the run does not wait for them, and they are cleared at its end.
    probeTimers.push(timer)
  }
  // The whole run, drained, within the duration plus a timeout (and a margin) of wall time.
  const hardStopMs = (durationMs + timeoutMs) / speed + 5000 + CLIENT_GRACE_MS
  let hardStopped = false
  const hardStop = setTimeout(() => {
    hardStopped = true
    settle()
  }, hardStopMs + (t0 - wallNowMs()))
  await settled
  clearTimeout(hardStop)
  for (const timer of probeTimers) clearTimeout(timer)
  await Promise.all(probeTasks)
  const finalProbe = governed ? await probe() : undefined
  for (const timer of timers) clearTimeout(timer)
  timers.clear()
  agent.destroy()
  facts.wallS = Math.round((performance.now() - started) / 10) / 100
  if (hardStopped) facts.clientTimeouts += inFlight

  const originLog = await origin.finish()
  const { queue, ...originFacts } = originLog
  facts.origin = originFacts
  for (let q = 0; q < queue.length; q += 2) {
    event({ t: queue[q] as number, kind: E_QUEUE, cls: queue[q + 1] as number })
  }

  // Replay in time order; at equal times in the order recorded.
  const order = events.map((_, k) => k)
  order.sort((a, b) => (events[a] as Event).t - (events[b] as Event).t || a - b)
  const rec = new Recorder(scenario)
  let closed = 0
  let lastProbe: StrategyProbe = {}
  const close = (s: number) => {
    lastProbe = probes[s] ?? lastProbe
    rec.closeSecond(s, governed ? lastProbe : {})
  }
  for (const k of order) {
    const e = events[k] as Event
    while (closed < seconds && Math.min((closed + 1) * 1000, durationMs) <= e.t) close(closed++)
    const t = Math.max(0, e.t)
    switch (e.kind) {
      case E_ARRIVAL:
        rec.arrival(e.cls, t)
        break
      case E_DECISION:
        rec.decision(e.cls, t, e.flag, e.retry)
        break
      case E_ANSWER:
        rec.answer(e.cls, t, e.latencyMs, e.userLatencyMs, e.flag, e.status)
        break
      case E_QUEUE:
        rec.queue(e.cls, t)
        break
    }
  }
  while (closed < seconds) close(closed++)
  const metrics = rec.finish(parseConfig(scenario.governor).priorities, finalProbe ?? lastProbe)
  if (!governed) metrics.modeTransitions = null
  return { ...metrics, simulatedRequests: metrics.attempts, live: facts }
}
