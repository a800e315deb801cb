// Starts a throw-away redis-server on a free 127.0.0.1 port for the Upstash store's tests, and
// stops it. Runtime-neutral (node:child_process, node:net): vitest's globalSetup uses it under
// Node, tests/deno/store-upstash.test.ts under Deno (--allow-run=redis-server --allow-net).
import { type ChildProcess, spawn } from 'node:child_process'
import { createConnection } from 'node:net'
import { freePort } from './ports.ts'
import process from 'node:process'

/** A running redis-server. */
export interface RedisServer {
  /** `redis://127.0.0.1:PORT` */
  readonly url: string
  readonly port: number
  /** Kills the server and waits for it to exit. */
  stop(): Promise<void>
}

/** The redis-server to run: `REDIS_SERVER` (set by `npm test`, scripts/tools.ts) or the PATH's. */
export function redisServerCommand(): string {
  return process.env.REDIS_SERVER || 'redis-server'
}

/** Starts redis-server without persistence on a free port; resolves once it answers PING. */
export async function startRedisServer(): Promise<RedisServer> {
  let lastError: unknown
  // Another process can take the free port between finding and binding it: try a few ports.
  for (let attempt = 0; attempt < 5; attempt++) {
    const port = await freePort()
    try {
      return await startOn(port)
    } catch (error) {
      lastError = error
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') break
    }
  }
  throw lastError
}

async function startOn(port: number): Promise<RedisServer> {
  const child = spawn(
    redisServerCommand(),
    ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no'],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  )
  let output = ''
  child.stdout?.on('data', (chunk: Uint8Array) => output += String(chunk))
  child.stderr?.on('data', (chunk: Uint8Array) => output += String(chunk))
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const failed = new Promise<never>((_, reject) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') {
        error.message =
          `Cannot start "${redisServerCommand()}": not found. \`npm test\` finds or ` +
          'installs it before any suite; alone: apt-get install -y redis-server, or set REDIS_SERVER'
      }
      reject(error)
    })
    void exited.then(() => reject(new Error(`redis-server exited early: ${output.trim()}`)))
  })
  failed.catch(() => {})
  const killOnExit = () => child.kill('SIGKILL')
  process.once('exit', killOnExit)

  const deadline = Date.now() + 10_000
  try {
    while (!(await Promise.race([ping(port), failed]))) {
      if (Date.now() > deadline) throw new Error(`redis-server did not answer PING on ${port}`)
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  } catch (error) {
    await kill(child, exited)
    process.off('exit', killOnExit)
    throw error
  }
  child.stdout?.removeAllListeners('data').resume()
  child.stderr?.removeAllListeners('data').resume()
  return {
    url: `redis://127.0.0.1:${port}`,
    port,
    async stop() {
      await kill(child, exited)
      process.off('exit', killOnExit)
    },
  }
}

async function kill(child: ChildProcess, exited: Promise<void>): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return
  child.kill('SIGTERM')
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000)
  await exited
  clearTimeout(timer)
}

/** True when a PING over a raw connection gets +PONG. */
function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port })
    let reply = ''
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(1000, () => done(false))
    socket.once('error', () => done(false))
    socket.once('connect', () => socket.write('PING\r\n'))
    socket.on('data', (chunk: Uint8Array) => {
      reply += String(chunk)
      if (reply.includes('\r\n')) done(reply.startsWith('+PONG'))
    })
  })
}
