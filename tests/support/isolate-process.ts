// The parent's side of tests/support/upstash-isolate.ts: forks one governor process and calls it
// over IPC. Node only (child_process.fork).
import { type ChildProcess, fork } from 'node:child_process'
import { once } from 'node:events'
import { fileURLToPath } from 'node:url'
import type { IsolateInit, IsolateRequest, IsolateRunResult } from './upstash-isolate.ts'

const SCRIPT = fileURLToPath(new URL('./upstash-isolate.ts', import.meta.url))

/** A governor in its own process. */
export interface IsolateProcess {
  readonly pid: number
  /** Runs requests in order, each followed by its due exchange (awaited in the child). */
  run(route: string, requests: IsolateRequest[]): Promise<IsolateRunResult>
  /** startTask with a fresh AbortController; the lease stays held until the process ends. */
  task(
    route: string,
    profile: string,
    nowMs: number,
  ): Promise<{ granted: boolean; reason?: string }>
  status(): Promise<{ degraded: boolean; exchanges: number; failures: number }>
  /** SIGKILL: the process dies mid-whatever, as an evicted isolate does. */
  kill(): Promise<void>
  /** Ends the process by closing its IPC channel. */
  close(): Promise<void>
}

/**
 * Forks an isolate and initialises it. The child runs on this process's Node (`execPath`), which
 * strips the TypeScript types itself (Node >= 22.18 / 24).
 */
export async function spawnIsolate(init: IsolateInit): Promise<IsolateProcess> {
  const child: ChildProcess = fork(SCRIPT, [], {
    execArgv: [],
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  const exited = once(child, 'exit').catch(() => {})
  let nextId = 0
  const waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>()
  child.on('message', (message: { id: number; ok: boolean; result?: unknown; error?: string }) => {
    const entry = waiting.get(message.id)
    if (entry === undefined) return
    waiting.delete(message.id)
    if (message.ok) entry.resolve(message.result)
    else entry.reject(new Error(`isolate ${init.isolateId}: ${message.error}`))
  })
  child.once('exit', (code, signal) => {
    for (const entry of waiting.values()) {
      entry.reject(new Error(`isolate ${init.isolateId} exited (${code ?? signal})`))
    }
    waiting.clear()
  })
  const call = <T>(op: string, args: object = {}): Promise<T> =>
    new Promise<T>((resolve, reject) => {
      const id = ++nextId
      waiting.set(id, { resolve: resolve as (v: unknown) => void, reject })
      child.send({ id, op, ...args }, (error) => {
        if (error) {
          waiting.delete(id)
          reject(error)
        }
      })
    })

  await call('init', init)
  const done = async () => {
    if (child.exitCode === null && child.signalCode === null) await exited
  }
  return {
    pid: child.pid ?? -1,
    run: (route, requests) => call<IsolateRunResult>('run', { route, requests }),
    task: (route, profile, nowMs) => call('task', { route, profile, nowMs }),
    status: () => call('status'),
    async kill() {
      child.kill('SIGKILL')
      await done()
    },
    async close() {
      if (child.connected) child.disconnect()
      await done()
    },
  }
}
