// One governor "isolate" as a real process, for tests/unit/upstash-sync.test.ts: a governor, a
// syncer and an Upstash store client (the same modules an edge isolate runs) on a virtual clock
// that only the parent moves. The parent drives it over Node's IPC channel (`fork`); every call
// answers once all its work, store exchanges included, has finished, so a test steps the
// processes in a fixed order and gets the same run every time.
//
// Calls (`{ id, op, ... }` in, `{ id, ok, result | error }` out):
//   init     { url, token, prefix, isolateId, config, engine, nowMs }  → { engine }
//   run      { requests: [{ t, priority, latencyMs, ok }] }  → { allowed: '1'/'0' per request,
//            snapshot }; each request: clock = t, admit, complete, then any due exchange, awaited
//   task     { route, profile, nowMs }  → { granted, reason? }: startTask; the lease is kept (never
//            heartbeated nor released), as a task that is still running holds it
//   status   {}  → syncer status
import process from 'node:process'
import {
  createGovernor,
  type Governor,
  type GovernorConfigInput,
  type Profile,
  TaskRefusedError,
} from '../../src/adapter/node/mod.ts'
import { createSyncer, type Syncer } from '../../src/governor/sync.ts'
import { upstashStore } from '../../src/store/upstash/index.ts'
import type { EngineChoice } from '../../src/engine/types.ts'

export interface IsolateInit {
  url: string
  token: string
  prefix: string
  isolateId: string
  config?: GovernorConfigInput
  engine?: EngineChoice
  nowMs: number
}

export interface IsolateRequest {
  t: number
  priority: string
  latencyMs: number
  ok: boolean
}

export interface IsolateRunResult {
  /** '1' for admitted, '0' for shed, one character per request. */
  allowed: string
  snapshot: { mode: string; errorRate: number; combined: number } | null
}

type Call =
  | ({ op: 'init' } & IsolateInit)
  | { op: 'run'; route: string; requests: IsolateRequest[] }
  | { op: 'task'; route: string; profile: Profile; nowMs: number }
  | { op: 'status' }

let now = 0
let gov: Governor | undefined
let sync: Syncer | undefined
const held: unknown[] = []

async function handle(call: Call): Promise<unknown> {
  switch (call.op) {
    case 'init': {
      now = call.nowMs
      gov = createGovernor({
        config: call.config ?? {},
        engine: call.engine ?? 'wasm',
        clock: () => now,
        logger: { warn() {} },
      })
      const store = upstashStore({ url: call.url, token: call.token, prefix: call.prefix })
      sync = createSyncer({ governor: gov, store, clock: () => now, isolateId: call.isolateId })
      return { engine: gov.engineKind }
    }
    case 'run': {
      const g = ready(gov)
      let allowed = ''
      for (const r of call.requests) {
        now = r.t
        const d = g.admit(call.route, { priority: r.priority })
        allowed += d.allow ? '1' : '0'
        if (d.ticket) g.complete(d.ticket, { latencyMs: r.latencyMs, ok: r.ok })
        const pending = ready(sync).maybeSync()
        if (pending) await pending
      }
      const s = g.snapshot(call.route)
      return {
        allowed,
        snapshot: s
          ? { mode: s.mode, errorRate: s.signals.errorRate, combined: s.pressure.combined }
          : null,
      } satisfies IsolateRunResult
    }
    case 'task': {
      now = call.nowMs
      try {
        const lease = await ready(gov).startTask(call.route, {
          profile: call.profile,
          abortController: new AbortController(),
        })
        held.push(lease)
        return { granted: true }
      } catch (error) {
        if (error instanceof TaskRefusedError) {
          return { granted: false, reason: error.decision.reason }
        }
        throw error
      }
    }
    case 'status':
      return ready(sync).status()
  }
}

function ready<T>(value: T | undefined): T {
  if (value === undefined) throw new Error('Isolate not initialised: send "init" first')
  return value
}

// Calls run one after another, in arrival order, as the parent expects.
let queue: Promise<void> = Promise.resolve()
process.on('message', (message: { id: number } & Call) => {
  queue = queue.then(async () => {
    try {
      process.send?.({ id: message.id, ok: true, result: await handle(message) })
    } catch (error) {
      process.send?.({ id: message.id, ok: false, error: String((error as Error)?.stack ?? error) })
    }
  })
})
// The parent going away ends the isolate.
process.on('disconnect', () => process.exit(0))
