// The demo origin `npm start` puts behind the governor: an HTTP API whose latency and error rate
// you turn with knobs, to watch Rheostat react.
//
//   GET  /__origin/knobs                     current knobs as JSON
//   POST /__origin/knobs?latencyMs=800&errorRate=0.3&jitterMs=20   change them
//   anything else                            answers after the latency: 200 JSON, or 500 at errorRate
//
// Usage: node scripts/demo-origin.ts [--port 9000]   (PORT env works too)
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface Knobs {
  latencyMs: number
  jitterMs: number
  errorRate: number
}

export interface DemoOrigin {
  server: Server
  url: string
  knobs: Knobs
  close(): Promise<void>
}

/** Starts the demo origin on 127.0.0.1; port 0 picks a free one. */
export function startDemoOrigin(port = 9000, knobs: Partial<Knobs> = {}): Promise<DemoOrigin> {
  const state: Knobs = { latencyMs: 40, jitterMs: 10, errorRate: 0, ...knobs }
  let served = 0
  const server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://origin')
    if (url.pathname === '/__origin/knobs') {
      if (req.method === 'POST') {
        const problems: string[] = []
        for (const key of ['latencyMs', 'jitterMs', 'errorRate'] as const) {
          const raw = url.searchParams.get(key)
          if (raw === null) continue
          const value = Number(raw)
          const max = key === 'errorRate' ? 1 : 600000
          if (!Number.isFinite(value) || value < 0 || value > max) {
            problems.push(`${key} must be a number in 0..${max}, got "${raw}"`)
          } else {
            state[key] = value
          }
        }
        if (problems.length > 0) {
          res.writeHead(400, { 'content-type': 'application/json' })
          res.end(JSON.stringify({ problems }))
          return
        }
      }
      res.writeHead(200, { 'content-type': 'application/json' })
      res.end(JSON.stringify(state))
      return
    }
    const n = served++
    // Deterministic spread: the golden-ratio sequence gives evenly mixed errors and jitter.
    const u = (n * 0.6180339887) % 1
    const delay = state.latencyMs + state.jitterMs * (2 * ((n * 0.7548776662) % 1) - 1)
    const failed = u < state.errorRate
    // Drain the request body so keep-alive connections stay usable.
    req.resume()
    setTimeout(() => {
      res.writeHead(failed ? 500 : 200, { 'content-type': 'application/json' })
      res.end(JSON.stringify({ ok: !failed, method: req.method, path: url.pathname, n }))
    }, Math.max(0, delay))
  })
  return new Promise((resolve, reject) => {
    server.once('error', reject)
    server.listen(port, '127.0.0.1', () => {
      const address = server.address() as AddressInfo
      resolve({
        server,
        url: `http://127.0.0.1:${address.port}`,
        knobs: state,
        close: () => new Promise((done) => server.close(() => done())),
      })
    })
  })
}

if (import.meta.main) {
  const i = process.argv.indexOf('--port')
  const port = Number(i >= 0 ? process.argv[i + 1] : process.env.PORT ?? 9000)
  const origin = await startDemoOrigin(port)
  console.log(`demo origin on ${origin.url} (knobs: ${origin.url}/__origin/knobs)`)
}
