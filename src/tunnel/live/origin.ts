/**
 * The live origin: a node:http server on 127.0.0.1 that implements the scenario's origin model
 * and fault schedule in wall time, compressed by `speed` (scenario ms = wall ms × speed).
 *
 * - `concurrency` × capacity-factor servers and a FIFO queue of `queueLimit`; a request that finds
 *   every server busy and the queue full gets an immediate 503 (`x-tunnel-origin: queue-full`,
 *   plain text, so it cannot be taken for the governor's shed, a problem+json), with
 *   `Retry-After` when the scenario's `origin.retryAfterS` sets one.
 * - Service time: lognormal with the scenario's p50 and p99, × the latency and gray factors active
 *   when service starts, divided by `speed` on the wall clock. The request carries its own normal
 *   deviate (`x-tunnel-z`) and error draw (`x-tunnel-u`), which the load generator draws from the
 *   scenario's seed exactly as the simulator does, so every strategy's origin serves the same
 *   requests. Under an `errors` fault that share fails fast: a 500 after 5% of the median.
 * - Blackhole: a request that arrives while one is active is never answered; its client gives up.
 * - A client that gives up does not take its request off the queue: it is still served and the
 *   work is wasted, as in the simulator.
 *
 * A capacity fault that ends starts queued requests at its end. `GET /__origin/health` answers
 * 200 at once, outside the model.
 *
 * @module
 */

import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { FAST_FAILURE_SHARE, faultBoundaries, faultsAt, type FaultState } from '../faults.ts'
import { serverCount, Z99 } from '../metrics.ts'
import type { Scenario } from '../scenario.ts'

/** Path of the health check, outside the model. */
export const ORIGIN_HEALTH_PATH = '/__origin/health'

/** What the origin saw, for the report. */
export interface OriginLog {
  /** Requests that reached the origin (health checks aside). */
  received: number
  /** Answered 200. */
  ok: number
  /** Answered 500 by an `errors` fault. */
  errors: number
  /** Answered 503 at once: the queue was full. */
  queueFull: number
  /** Never answered: a blackhole was active when they arrived. */
  blackholed: number
  /** Queue length changes: [scenario ms, length] pairs, flattened, in time order. */
  queue: number[]
}

/** A running live origin. */
export interface LiveOrigin {
  /** `http://127.0.0.1:PORT`. */
  url: string
  /**
   * Starts scenario time: `t0Ms` is the wall time (ms since the epoch, `performance.timeOrigin +
   * performance.now()`) that is scenario time 0.
   */
  start(t0Ms: number): void
  /** What it saw so far. */
  log(): OriginLog
  /** Closes the server and every connection. */
  close(): Promise<void>
}

interface Pending {
  res: ServerResponse
  z: number
  u: number
}

/** Wall ms since the epoch, sub-ms, comparable across processes of one machine. */
export function wallNowMs(): number {
  return performance.timeOrigin + performance.now()
}

/**
 * Starts the origin of `scenario` on 127.0.0.1 (an ephemeral port).
 *
 * @param scenario A scenario from `parseScenario`.
 * @param speed Scenario ms per wall ms.
 * @returns The origin; call `start` when the run begins.
 *
 * @example Usage
 * ```ts
 * import { parseScenario } from '../scenario.ts'
 * import { startOrigin, wallNowMs } from './origin.ts'
 * const scenario = parseScenario({
 *   name: 'tiny', durationS: 5,
 *   origin: { concurrency: 2, queueLimit: 4, serviceMs: { p50: 20, p99: 60 }, timeoutMs: 1000 },
 *   classes: [{ name: 'all', priority: 'normal', share: 1, sloMs: 200 }],
 *   load: [{ atS: 0, rps: 10 }],
 * })
 * const origin = await startOrigin(scenario, 1)
 * origin.start(wallNowMs())
 * const res = await fetch(`${origin.url}/c/all`, { headers: { 'x-tunnel-z': '0', 'x-tunnel-u': '0.5' } })
 * if (res.status !== 200) throw new Error('a healthy origin answers 200')
 * await origin.close()
 * ```
 */
export async function startOrigin(scenario: Scenario, speed: number): Promise<LiveOrigin> {
  const o = scenario.origin
  const sigma = Math.log(o.serviceMs.p99 / o.serviceMs.p50) / Z99
  const boundaries = faultBoundaries(scenario).filter((t) => t > 0 && Number.isFinite(t))
  const queue: Pending[] = []
  const log: OriginLog = { received: 0, ok: 0, errors: 0, queueFull: 0, blackholed: 0, queue: [] }
  const timers = new Set<ReturnType<typeof setTimeout>>()
  let t0 = NaN
  let busy = 0

  const nowMs = () => (t0 === t0 ? (wallNowMs() - t0) * speed : 0)
  const faults = (): FaultState => faultsAt(scenario, nowMs())
  const later = (wallMs: number, fn: () => void) => {
    const timer = setTimeout(() => {
      timers.delete(timer)
      fn()
    }, wallMs)
    timers.add(timer)
  }
  const queueChanged = () => log.queue.push(nowMs(), queue.length)

  function serve(p: Pending, f: FaultState): void {
    busy++
    const fail = p.u < f.errorRate
    const serviceMs = fail
      ? FAST_FAILURE_SHARE * o.serviceMs.p50
      : o.serviceMs.p50 * Math.exp(sigma * p.z) * f.serviceFactor
    later(serviceMs / speed, () => {
      busy--
      if (fail) log.errors++
      else log.ok++
      answer(p.res, fail ? 500 : 200, fail ? 'error' : 'ok')
      dispatch()
    })
  }

  function dispatch(): void {
    if (queue.length === 0) return
    const f = faults()
    const servers = serverCount(o.concurrency, f.capacityFactor)
    let moved = false
    while (queue.length > 0 && busy < servers) {
      serve(queue.shift() as Pending, f)
      moved = true
    }
    if (moved) queueChanged()
  }

  function onRequest(req: IncomingMessage, res: ServerResponse): void {
    req.resume()
    if (req.url === ORIGIN_HEALTH_PATH) return answer(res, 200, 'healthy')
    log.received++
    const z = Number(req.headers['x-tunnel-z'] ?? 0)
    const u = Number(req.headers['x-tunnel-u'] ?? 1)
    const p: Pending = { res, z: Number.isFinite(z) ? z : 0, u: Number.isFinite(u) ? u : 1 }
    const f = faults()
    if (f.blackhole) {
      log.blackholed++
      return
    }
    if (busy < serverCount(o.concurrency, f.capacityFactor)) return serve(p, f)
    if (queue.length < o.queueLimit) {
      queue.push(p)
      queueChanged()
      return
    }
    log.queueFull++
    const headers: Record<string, string> = {
      'content-type': 'text/plain',
      'x-tunnel-origin': 'queue-full',
    }
    // In scenario seconds: the governor's clock runs in scenario time.
    if (o.retryAfterS !== undefined) headers['retry-after'] = String(o.retryAfterS)
    res.writeHead(503, headers)
    res.end('queue full')
  }

  const server: Server = createServer({ keepAliveTimeout: 60_000 }, onRequest)
  await new Promise<void>((done, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => done())
  })
  const { port } = server.address() as AddressInfo

  return {
    url: `http://127.0.0.1:${port}`,
    start(startMs) {
      t0 = startMs
      // A fault's end can free servers with nobody leaving one: start the queue then.
      for (const t of boundaries) later(Math.max(0, t0 + t / speed - wallNowMs()), dispatch)
    },
    log: () => ({ ...log, queue: [...log.queue] }),
    async close() {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.closeAllConnections()
      await new Promise<void>((done) => server.close(() => done()))
    },
  }
}

function answer(res: ServerResponse, status: number, body: string): void {
  if (res.destroyed) return
  res.writeHead(status, { 'content-type': 'text/plain', 'content-length': Buffer.byteLength(body) })
  res.end(body)
}
