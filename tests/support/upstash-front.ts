// An Upstash-REST-compatible front for a real Redis, for tests only: enough of the protocol for
// @upstash/redis 1.39 (what its HttpClient sends, read from node_modules/@upstash/redis):
//
// - `POST /` with a JSON command array answers `{"result": R}`, or `{"error": "..."}` with 400.
// - `POST /pipeline` takes an array of commands and answers an array of `{"result"}`/`{"error"}`
//   (200 even when some commands fail); the client auto-pipelines, so even one command comes here.
// - `POST /multi-exec` does the same inside MULTI/EXEC; a transaction Redis aborts is one 400.
// - `Authorization: Bearer TOKEN` or 401. With `Upstash-Encoding: base64` (the client's default)
//   every string in a result, at any depth, is base64 of its bytes; numbers and null stay as
//   they are.
// - Error texts are Redis' own, so EVALSHA's "NOSCRIPT No matching script" reaches the client,
//   which then falls back to EVAL.
// - Read-your-writes: every answer carries an `upstash-sync-token` header (here a counter of the
//   answers sent), which the client sends back with its next request; the front records what it
//   received. One Redis has no replicas to wait for, so the token orders nothing here.
//
// Commands go to Redis as upper-case names through ioredis' `callBuffer` over RESP2: ioredis
// keys its reply transformers (HGETALL → object, …) on lower-case names, RESP3 (its default)
// would turn maps and doubles into other shapes, and Buffers keep binary values intact for base64.
// Runtime-neutral (node:http, ioredis): Deno imports it too (tests/deno/store-upstash.test.ts),
// and so does the workerd project's globalSetup, whose module runner leaves ioredis' named
// `Redis` export undefined: hence `module.exports` (the Redis class in every loader).
//
// Fault injection (`front.setFault(...)`) makes the store slow or failing on demand, in front of
// the real Redis: a delay before each request is served, or an error answer instead of it.
import { Buffer } from 'node:buffer'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import * as ioredis from 'ioredis'

const IORedis = (ioredis as unknown as { default: typeof ioredis.Redis }).default

/** Options of the front. */
export interface UpstashFrontOptions {
  /** Where Redis is, e.g. `redis://127.0.0.1:6379`. */
  redisUrl: string
  /** The bearer token clients must send. */
  token: string
  /** Port to listen on (127.0.0.1). @default 0 (any free port) */
  port?: number
}

/**
 * A fault the front injects into every request that arrives while it is set.
 *
 * - `delay`: wait `ms`, then serve the request as usual (it still reaches Redis: a slow store).
 * - `error`: answer `status` (default 500) with `{"error": message}` and never reach Redis; with
 *   status 200 a `/pipeline` gets one `{"error": message}` per command, as Upstash answers a
 *   command that failed.
 */
export type FrontFault =
  | { kind: 'delay'; ms: number }
  | { kind: 'error'; status?: number; message?: string }

/** One HTTP request the front answered. */
export interface FrontRequest {
  path: string
  status: number
  /** Upper-case names of the commands in the request. */
  commands: string[]
  /** The `upstash-sync-token` header the client sent (absent: undefined). */
  syncToken: string | undefined
}

/** A running front. */
export interface UpstashFront {
  /** `http://127.0.0.1:PORT`, the `url` for `new Redis({ url, token })`. */
  readonly url: string
  readonly token: string
  /** Every request so far, oldest first (auth failures and bad bodies too). */
  readonly requests: readonly FrontRequest[]
  /** Sets the fault for requests from now on; null serves normally again. */
  setFault(fault: FrontFault | null): void
  close(): Promise<void>
}

/** Most bytes of one request body. */
const MAX_BODY_BYTES = 16 * 1024 * 1024

// Commands that would take over or close the one shared connection.
const REFUSED = new Set(['SUBSCRIBE', 'PSUBSCRIBE', 'SSUBSCRIBE', 'MONITOR', 'QUIT', 'SELECT'])

type Command = [string, ...(string | number)[]]
type Reply = { result: unknown } | { error: string }

/** Starts the front on 127.0.0.1 and connects it to Redis. */
export async function startUpstashFront(options: UpstashFrontOptions): Promise<UpstashFront> {
  const redis = new IORedis(options.redisUrl, { protocol: 2, lazyConnect: true })
  await redis.connect()
  const requests: FrontRequest[] = []
  const expected = `Bearer ${options.token}`
  let fault: FrontFault | null = null
  const delays = new Set<ReturnType<typeof setTimeout>>()

  const server = createServer((req, res) => {
    const token = req.headers['upstash-sync-token']
    const entry: FrontRequest = {
      path: req.url ?? '',
      status: 0,
      commands: [],
      syncToken: Array.isArray(token) ? token.join() : token,
    }
    requests.push(entry)
    const serve = () =>
      handle(req, res, entry).catch((error: unknown) => {
        send(res, entry, 500, { error: `ERR front: ${(error as Error).message}` })
      })
    const now = fault
    if (now === null) return void serve()
    if (now.kind === 'delay') {
      const timer = setTimeout(() => {
        delays.delete(timer)
        void serve()
      }, now.ms)
      delays.add(timer)
      return
    }
    injectError(req, res, entry, now).catch((error: unknown) => {
      send(res, entry, 500, { error: `ERR front: ${(error as Error).message}` })
    })
  })

  async function injectError(
    req: IncomingMessage,
    res: ServerResponse,
    entry: FrontRequest,
    injected: Extract<FrontFault, { kind: 'error' }>,
  ) {
    const status = injected.status ?? 500
    const error = injected.message ?? 'ERR injected fault'
    const path = new URL(req.url ?? '/', 'http://front').pathname
    if (status !== 200 || path !== '/pipeline') {
      req.resume()
      return send(res, entry, status, { error })
    }
    let count = 1
    try {
      const body = JSON.parse(await readBody(req))
      if (Array.isArray(body) && body.length > 0) count = body.length
    } catch {
      // an unreadable body still gets one error
    }
    return send(res, entry, 200, Array.from({ length: count }, () => ({ error })))
  }

  async function handle(req: IncomingMessage, res: ServerResponse, entry: FrontRequest) {
    if (req.headers.authorization !== expected) {
      req.resume()
      return send(res, entry, 401, { error: 'Unauthorized' })
    }
    if (req.method !== 'POST') {
      req.resume()
      return send(res, entry, 405, { error: 'ERR front: only POST is supported' })
    }
    const base64 = String(req.headers['upstash-encoding'] ?? '').toLowerCase() === 'base64'
    const path = new URL(req.url ?? '/', 'http://front').pathname
    let body: unknown
    try {
      body = JSON.parse(await readBody(req))
    } catch (error) {
      return send(res, entry, 400, {
        error: `ERR failed to parse body: ${(error as Error).message}`,
      })
    }

    if (path === '/') {
      const command = toCommand(body)
      if (command === null) return send(res, entry, 400, { error: 'ERR invalid command' })
      entry.commands.push(command[0])
      const reply = await run(command, base64)
      return send(res, entry, 'error' in reply ? 400 : 200, reply)
    }
    if (path === '/pipeline' || path === '/multi-exec') {
      const commands = Array.isArray(body) && body.length > 0 ? body.map(toCommand) : null
      if (commands === null || commands.some((c) => c === null)) {
        return send(res, entry, 400, { error: 'ERR invalid command array' })
      }
      const valid = commands as Command[]
      entry.commands.push(...valid.map((c) => c[0]))
      if (path === '/pipeline') {
        // One connection keeps the order; ioredis writes them back to back.
        return send(res, entry, 200, await Promise.all(valid.map((c) => run(c, base64))))
      }
      return multiExec(valid, base64, res, entry)
    }
    return send(res, entry, 404, { error: `ERR front: unknown path "${path}"` })
  }

  async function run(command: Command, base64: boolean): Promise<Reply> {
    const [name, ...args] = command
    if (REFUSED.has(name)) return { error: `ERR front: "${name}" is not supported` }
    try {
      return { result: encode(await redis.callBuffer(name, ...args), base64) }
    } catch (error) {
      return { error: (error as Error).message }
    }
  }

  async function multiExec(
    commands: Command[],
    base64: boolean,
    res: ServerResponse,
    entry: FrontRequest,
  ) {
    const refused = commands.find((c) => REFUSED.has(c[0]))
    if (refused) {
      return send(res, entry, 400, { error: `ERR front: "${refused[0]}" is not supported` })
    }
    const multi = redis.multi()
    for (const [name, ...args] of commands) multi.callBuffer(name, ...args)
    let results: [Error | null, unknown][] | null
    try {
      results = await multi.exec()
    } catch (error) {
      return send(res, entry, 400, { error: (error as Error).message })
    }
    if (results === null) return send(res, entry, 400, { error: 'ERR transaction aborted' })
    const replies: Reply[] = results.map(([error, result]) =>
      error ? { error: error.message } : { result: encode(result, base64) }
    )
    return send(res, entry, 200, replies)
  }

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(options.port ?? 0, '127.0.0.1', () => resolve())
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    token: options.token,
    requests,
    setFault(next) {
      fault = next
    },
    async close() {
      for (const timer of delays) clearTimeout(timer)
      delays.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await redis.quit().catch(() => redis.disconnect())
    },
  }
}

let answers = 0

function send(res: ServerResponse, entry: FrontRequest, status: number, body: unknown): void {
  entry.status = status
  if (res.headersSent) return void res.end()
  const text = JSON.stringify(body)
  res.writeHead(status, {
    'content-type': 'application/json',
    'content-length': Buffer.byteLength(text),
    'upstash-sync-token': String(++answers),
  })
  res.end(text)
}

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = []
    let size = 0
    req.on('data', (chunk: Buffer) => {
      size += chunk.length
      if (size > MAX_BODY_BYTES) {
        reject(new Error(`body over ${MAX_BODY_BYTES} bytes`))
        req.destroy()
        return
      }
      chunks.push(chunk)
    })
    req.once('end', () => resolve(Buffer.concat(chunks).toString('utf8')))
    req.once('error', reject)
  })
}

/** A JSON command array as Redis arguments; null when it is not one. */
function toCommand(value: unknown): Command | null {
  if (!Array.isArray(value) || value.length === 0) return null
  const [name, ...args] = value as unknown[]
  if (typeof name !== 'string' || name.length === 0) return null
  const out: Command = [name.toUpperCase()]
  for (const arg of args) {
    if (typeof arg === 'string' || typeof arg === 'number') out.push(arg)
    else if (typeof arg === 'boolean') out.push(String(arg))
    else out.push(JSON.stringify(arg))
  }
  return out
}

/** A RESP2 reply as Upstash answers it: strings as UTF-8 or base64, numbers and null as is. */
function encode(value: unknown, base64: boolean): unknown {
  if (value === null || value === undefined) return null
  if (typeof value === 'number') return value
  if (Buffer.isBuffer(value)) return base64 ? value.toString('base64') : value.toString('utf8')
  if (typeof value === 'string') return base64 ? Buffer.from(value).toString('base64') : value
  if (Array.isArray(value)) return value.map((v) => encode(v, base64))
  if (value instanceof Error) return encode(value.message, base64)
  return encode(String(value), base64)
}
