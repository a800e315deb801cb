/**
 * The governor of live mode as the edge runs it: the Worker bundled by `wrangler deploy --dry-run`
 * (src/tunnel/live/wrangler.toml) and served by raw `workerd serve` from a capnp config written
 * here, as bench/proxy.bench.ts does (wrangler dev costs far more per request). The config gives
 * the Worker its `RHEOSTAT_CONFIG`, built from the scenario by `liveConfig`, and a network service
 * that may reach 127.0.0.1 (workerd's default outbound refuses private addresses).
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { existsSync, readdirSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { parseEdgeConfig } from '../../config/schema.ts'
import { governorConfig, type Scenario } from '../scenario.ts'

const ROOT = fileURLToPath(new URL('../../..', import.meta.url))
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js')
/** The workerd binary the `workerd` package installs (a dependency of wrangler). */
export const WORKERD = join(ROOT, 'node_modules', 'workerd', 'bin', 'workerd')
const COMPATIBILITY_DATE = '2026-10-01'

/** The route every class is governed on, as in the simulator's `rheostat` strategy. */
export const LIVE_ROUTE = 'origin'
/** The request header that carries the class name; one priority rule per class reads it. */
export const CLASS_HEADER = 'x-tunnel-class'
/** Path of the Worker's probe (src/tunnel/live/worker.ts). */
export const PROBE_PATH = '/__tunnel/probe'

/** A failure to build or start the live Worker, with what to do about it. */
export class LiveSetupError extends Error {}

/** The dry-run bundle: its directory and modules, entry first. */
export interface LiveBundle {
  dir: string
  modules: { name: string; kind: 'esModule' | 'wasm' }[]
}

/**
 * The Worker's config for a scenario: the scenario's `governor` overrides, with one route,
 * `origin`, that matches every path and forwards to the live origin, one priority rule per class
 * (`x-tunnel-class: <name>` → the class's priority), the memory store (one workerd process is one
 * isolate) and unmatched requests rejected. The route's `timeoutMs` is the scenario's client
 * timeout on the wall clock, so a request the origin holds too long fails as a 504 and completes
 * the ticket as a failure at the timeout, as the simulator's client timeout does. Options the
 * overrides set on a route `origin` are kept; their other routes are dropped (the simulator
 * governs only `origin`).
 *
 * @param scenario A scenario from `parseScenario`.
 * @param originUrl The live origin.
 * @param speed Scenario ms per wall ms.
 * @returns The config, validated as the Worker validates it.
 * @throws {ConfigError} When the overrides do not make a valid edge config.
 *
 * @example Usage
 * ```ts
 * import { parseScenario } from '../scenario.ts'
 * import { liveConfig } from './workerd.ts'
 * const scenario = parseScenario({
 *   name: 'tiny', durationS: 5,
 *   origin: { concurrency: 2, queueLimit: 4, serviceMs: { p50: 20, p99: 60 }, timeoutMs: 1000 },
 *   classes: [{ name: 'all', priority: 'normal', share: 1, sloMs: 200 }],
 *   load: [{ atS: 0, rps: 10 }],
 * })
 * const config = liveConfig(scenario, 'http://127.0.0.1:9', 2) as { routes: { timeoutMs: number }[] }
 * if (config.routes[0]?.timeoutMs !== 500) throw new Error('the timeout runs on the wall clock')
 * ```
 */
export function liveConfig(scenario: Scenario, originUrl: string, speed: number): unknown {
  // The governor field, with the route's SLO stated as the simulated `rheostat` strategy states it.
  const overrides = governorConfig(scenario)
  const routes = Array.isArray(overrides.routes)
    ? overrides.routes as Record<string, unknown>[]
    : []
  const own = routes.find((r) => r?.id === LIVE_ROUTE) ?? {}
  const sync = typeof overrides.sync === 'object' && overrides.sync !== null ? overrides.sync : {}
  const rules = Array.isArray(overrides.priorityRules) ? overrides.priorityRules : []
  const config = {
    ...overrides,
    sync: { ...sync, store: 'memory' },
    routes: [{
      ...own,
      id: LIVE_ROUTE,
      match: { path: '/*' },
      origin: originUrl,
      timeoutMs: Math.max(1, Math.round(scenario.origin.timeoutMs / speed)),
    }],
    priorityRules: [
      ...scenario.classes.map((c) => ({
        header: CLASS_HEADER,
        equals: c.name,
        priority: c.priority,
      })),
      ...rules,
    ],
    unmatched: 'reject',
  }
  parseEdgeConfig(config)
  return config
}

/**
 * Bundles the live Worker into `outDir` with `wrangler deploy --dry-run` (offline).
 *
 * @throws {LiveSetupError} When wrangler or workerd is missing or the build fails.
 */
export function buildLiveWorker(outDir: string): LiveBundle {
  if (!existsSync(WRANGLER)) {
    throw new LiveSetupError(`wrangler not found at "${WRANGLER}": run \`npm install\``)
  }
  if (!existsSync(WORKERD)) {
    throw new LiveSetupError(
      `workerd not found at "${WORKERD}": run \`npm install\` (wrangler installs it)`,
    )
  }
  const result = spawnSync(
    process.execPath,
    [
      WRANGLER,
      'deploy',
      '--dry-run',
      '--outdir',
      outDir,
      '--config',
      join(ROOT, 'src', 'tunnel', 'live', 'wrangler.toml'),
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' },
    },
  )
  if (result.status !== 0) {
    throw new LiveSetupError(
      `wrangler deploy --dry-run failed (status ${result.status}${
        result.error ? `, ${result.error.message}` : ''
      }); wrangler needs Node ≥ 22, which \`npm run tunnel\` provides:\n${result.stdout}\n${result.stderr}`,
    )
  }
  const modules: LiveBundle['modules'] = []
  for (const file of readdirSync(outDir).sort()) {
    if (file.endsWith('.js')) modules.push({ name: file, kind: 'esModule' })
    else if (file.endsWith('.wasm')) modules.push({ name: file, kind: 'wasm' })
  }
  modules.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'esModule' ? -1 : 1))
  if (modules[0]?.kind !== 'esModule') {
    throw new LiveSetupError(`No JavaScript module in the bundle "${outDir}"`)
  }
  return { dir: outDir, modules }
}

/** A running workerd. */
export interface LiveWorker {
  url: string
  child: ChildProcess
}

/**
 * Serves the bundle with `workerd serve` on 127.0.0.1:`port` and waits until its probe answers.
 *
 * @param bundle From `buildLiveWorker`.
 * @param config From `liveConfig`.
 * @param speed Scenario ms per wall ms.
 * @param port A free port.
 * @param track Called with the child at once, so the caller can kill it whatever happens next.
 * @throws {LiveSetupError} When workerd exits or does not answer within 20 s.
 */
export async function serveLiveWorker(
  bundle: LiveBundle,
  config: unknown,
  speed: number,
  port: number,
  track: (child: ChildProcess) => void,
): Promise<LiveWorker> {
  const str = (value: string) => JSON.stringify(value)
  const modules = bundle.modules.map((m) =>
    `    (name = ${str(m.name)}, ${m.kind} = embed ${str(m.name)}),`
  )
  const bindings = [
    `(name = "RHEOSTAT_CONFIG", text = ${str(JSON.stringify(config))})`,
    `(name = "RHEOSTAT_TUNNEL_SPEED", text = ${str(String(speed))})`,
    `(name = "RHEOSTAT_TUNNEL_ROUTE", text = ${str(LIVE_ROUTE)})`,
  ]
  const text = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # The default outbound refuses private addresses; the live origin is on 127.0.0.1.
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
${modules.join('\n')}
  ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  compatibilityFlags = ["nodejs_compat"],
  bindings = [${bindings.join(', ')}],
  globalOutbound = "loopback",
);
`
  const path = join(bundle.dir, `live-${port}.capnp`)
  writeFileSync(path, text)
  const child = spawn(WORKERD, ['serve', path], { stdio: ['ignore', 'pipe', 'pipe'] })
  track(child)
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) {
      throw new LiveSetupError(`workerd exited with status ${child.exitCode}:\n${output}`)
    }
    try {
      const res = await fetch(url + PROBE_PATH, { signal: AbortSignal.timeout(1000) })
      if (res.status === 200) {
        await res.arrayBuffer()
        return { url, child }
      }
      throw new LiveSetupError(
        `workerd answered ${res.status} on ${PROBE_PATH}: ${await res.text()}`,
      )
    } catch (error) {
      if (error instanceof LiveSetupError) throw error
      await new Promise((done) => setTimeout(done, 100))
    }
  }
  throw new LiveSetupError(`workerd did not answer on ${url} within 20 s:\n${output}`)
}
