/**
 * Proxy benchmark: throughput and p99 of the governed edge proxy against an ungoverned Hono
 * forwarder, both served by raw `workerd serve` in front of the same local origin. Run it with
 * `npm run bench:proxy` (Node 24, which wrangler needs).
 *
 * 1. Builds both workers from `bench/proxy/` with `wrangler deploy --dry-run --outdir TMP`:
 *    (a) governed: createProxyApp + the WebAssembly engine (`.wasm` import) + memory store and
 *    syncer; (b) ungoverned: a minimal Hono forwarder doing the same forwarding work.
 * 2. Starts a minimal node:http origin on 127.0.0.1 (answers at once: the proxy is measured, not
 *    the origin) and one `workerd serve` per worker, from a capnp config written here. The worker
 *    reaches the origin through a network service that allows local addresses.
 * 3. Warms each worker up (3 s), then loads them in turn, round after round: each measurement is
 *    `wrk -t2 -c64 -d3s --latency` after 1 s of the same load (wrk is found, or installed with
 *    apt-get where the machine can, by scripts/tools.ts; where it cannot, autocannon from npm loads
 *    both workers instead, `-c64 -d3`, and the report says so). wrk has no request count limit (a
 *    script that stops its threads still waits out the duration), so each measurement is a fixed
 *    time, the same for both. The order alternates (AB BA AB …)
 *    so a drift in machine load hits both alike. Each round gives one ratio, governed ÷ ungoverned
 *    req/s, of two measurements seconds apart; the figure reported is the median of the rounds'
 *    ratios (a burst of other work spoils a round, not the result). Also reads the CPU time each
 *    workerd process spent per request (/proc), which moves far less than req/s when other work
 *    shares the machine, and reports the median of the rounds' CPU ratios the same way.
 *
 * Everything listens on 127.0.0.1 and every child process is killed at the end, also on error or
 * Ctrl-C. Options (environment): PROXY_BENCH_ROUNDS (default 12), PROXY_BENCH_DURATION_S (3),
 * PROXY_BENCH_CONNECTIONS (64), PROXY_BENCH_GENERATOR=autocannon (autocannon even where wrk is
 * there), PROXY_BENCH_VARIANTS=1 adds profiling variants of the governed worker (VARIANTS below),
 * PROXY_BENCH_PROFILE=1 measures nothing but samples both workers' JavaScript under the same load
 * through workerd's inspector (./proxy/cpu-profile.ts), prints each one's heaviest functions by
 * self time and writes the .cpuprofile files into the current directory.
 * The last line is one JSON object: the median req/s of both, the median of the rounds' req/s
 * ratios and each round's, the same for 2xx per second (a shed is a cheap 503 that req/s counts
 * too) and for CPU per request (ungoverned ÷ governed µs per request), the governed worker's
 * non-2xx count, the load average before and after, and the generator that produced the figures.
 *
 * @module
 */

import { type ChildProcess, spawn, spawnSync } from 'node:child_process'
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import { type AddressInfo, createServer as createNetServer } from 'node:net'
import { availableParallelism, cpus, loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { gzipSync } from 'node:zlib'
import { unstable_readConfig } from 'wrangler'
import { ensureTools, WRK as WRK_TOOL } from '../scripts/tools.ts'
import { profileWhile, selfTimes } from './proxy/cpu-profile.ts'
import { positiveInt } from './options.ts'

const ROOT = resolve(import.meta.dirname, '..')
const WRANGLER = join(ROOT, 'node_modules', 'wrangler', 'bin', 'wrangler.js')
const WORKERD = join(ROOT, 'node_modules', 'workerd', 'bin', 'workerd')
// Both workers run with the shipped Worker's compatibility date and flags (wrangler.toml): with
// `enable_request_signal` workerd gives every request a live abort signal, and the proxy arms its
// keep-alive from that signal's abort instead of at admission (docs/http.md "Client disconnects").
const SHIPPED = unstable_readConfig({ config: join(ROOT, 'wrangler.toml') })
const COMPATIBILITY_DATE = SHIPPED.compatibility_date as string
const COMPATIBILITY_FLAGS: readonly string[] = SHIPPED.compatibility_flags

const ROUNDS = positiveInt('PROXY_BENCH_ROUNDS', 12)
const DURATION_S = positiveInt('PROXY_BENCH_DURATION_S', 3)
const CONNECTIONS = positiveInt('PROXY_BENCH_CONNECTIONS', 64)
const THREADS = 2
// Each worker's first load, before any round; then this much of the same load before each
// measurement, so the worker measured is past the other one's turn (caches, JIT, CPU frequency).
const FIRST_WARMUP_S = 3
const WARMUP_S = 1
const WITH_VARIANTS = process.env.PROXY_BENCH_VARIANTS === '1'
const PROFILE = process.env.PROXY_BENCH_PROFILE === '1'
// Issue 14's goal for governed / ungoverned req/s in one run.
const GOAL_RATIO = 0.96
// Profiling variants of the governed worker (see bench/proxy/governed.ts), from the baseline up.
const VARIANTS: readonly [label: string, variant: string][] = [
  ['hand: admit+complete', 'hand'],
  ['hand: + RateLimit', 'hand-headers'],
  ['proxy, plain path', 'plain-path'],
  ['proxy, no sync', 'no-sync'],
  ['proxy, ts engine', 'ts'],
  ['proxy, no keep-alive', 'no-keepalive'],
  ['proxy, eager keep-alive', 'eager-keepalive'],
]
const AUTOCANNON = join(ROOT, 'node_modules', 'autocannon', 'autocannon.js')
const ORIGIN_BODY = JSON.stringify({ ok: true, service: 'bench-origin' })

/** A worker to build, and the configurations it is served in. */
interface Bundle {
  name: 'governed' | 'ungoverned'
  dir: string
  modules: { name: string; kind: 'esModule' | 'wasm'; bytes: number; gzipBytes: number }[]
}

/** One served configuration: a bundle plus its VARIANT binding. */
interface Target {
  label: string
  bundle: Bundle['name']
  variant?: string
  port: number
  /** The inspector's address (PROXY_BENCH_PROFILE=1). */
  inspector?: string
}

interface Load {
  rps: number
  p50Ms: number
  p99Ms: number
  requests: number
  non2xx: number
  socketErrors: number
  /** CPU time of the workerd process (all threads) per request, µs; NaN where unknown. */
  cpuUsPerRequest: number
}

/** A port free on 127.0.0.1 now (the OS picks it), so no fixed port can collide. */
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

// ---- child processes -----------------------------------------------------------------------------

const children = new Set<ChildProcess>()

function track(child: ChildProcess): ChildProcess {
  children.add(child)
  child.once('exit', () => children.delete(child))
  return child
}

/** Ends every child this script started, by its own handle: SIGTERM, then SIGKILL after 2 s. */
async function killChildren(): Promise<void> {
  const waiting = [...children].map((child) =>
    new Promise<void>((done) => {
      if (child.exitCode !== null || child.signalCode !== null) return done()
      const force = setTimeout(() => child.kill('SIGKILL'), 2000)
      child.once('exit', () => {
        clearTimeout(force)
        done()
      })
      child.kill('SIGTERM')
    })
  )
  await Promise.all(waiting)
}

// Last resort when the process exits without the cleanup in main() (an uncaught throw).
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL')
})
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    void killChildren().finally(() => process.exit(130))
  })
}

// ---- build ---------------------------------------------------------------------------------------

function build(name: Bundle['name'], outRoot: string): Bundle {
  const dir = join(outRoot, name)
  const config = join(ROOT, 'bench', 'proxy', `${name}.wrangler.toml`)
  const flags = unstable_readConfig({ config }).compatibility_flags
  if (flags.join() !== COMPATIBILITY_FLAGS.join()) {
    throw new Error(`${config} must have the shipped wrangler.toml's compatibility_flags`)
  }
  const result = spawnSync(
    process.execPath,
    [
      WRANGLER,
      'deploy',
      '--dry-run',
      '--outdir',
      dir,
      '--config',
      config,
    ],
    {
      cwd: ROOT,
      encoding: 'utf8',
      timeout: 120_000,
      env: { ...process.env, CLOUDFLARE_CF_FETCH_ENABLED: 'false', WRANGLER_SEND_METRICS: 'false' },
    },
  )
  if (result.status !== 0) {
    throw new Error(
      `wrangler deploy --dry-run failed for "${name}" (status ${result.status}):\n` +
        `${result.stdout}\n${result.stderr}`,
    )
  }
  const modules: Bundle['modules'] = []
  for (const file of readdirSync(dir).sort()) {
    const kind = file.endsWith('.js') || file.endsWith('.mjs')
      ? 'esModule'
      : file.endsWith('.wasm')
      ? 'wasm'
      : undefined
    if (kind === undefined) continue // source maps, README.md
    const bytes = readFileSync(join(dir, file))
    modules.push({ name: file, kind, bytes: bytes.length, gzipBytes: gzipSync(bytes).length })
  }
  // The entry module must come first in the capnp list.
  modules.sort((a, b) => (a.kind === b.kind ? 0 : a.kind === 'esModule' ? -1 : 1))
  if (modules[0]?.kind !== 'esModule') throw new Error(`No JavaScript module in "${dir}"`)
  return { name, dir, modules }
}

// ---- serve ---------------------------------------------------------------------------------------

function capnpString(value: string): string {
  return JSON.stringify(value)
}

/** A workerd config: the bundle's modules, a socket on 127.0.0.1, local fetches allowed. */
function writeConfig(bundle: Bundle, target: Target, originUrl: string): string {
  const bindings = [
    `(name = "ORIGIN", text = ${capnpString(originUrl)})`,
    `(name = "MIN_CONCURRENCY", text = "${CONNECTIONS}")`,
  ]
  if (target.variant !== undefined) {
    bindings.push(`(name = "VARIANT", text = ${capnpString(target.variant)})`)
  }
  const modules = bundle.modules.map((m) =>
    `    (name = ${capnpString(m.name)}, ${m.kind} = embed ${capnpString(m.name)}),`
  )
  const text = `using Workerd = import "/workerd/workerd.capnp";

const config :Workerd.Config = (
  services = [
    (name = "main", worker = .worker),
    # The default outbound refuses private addresses; the origin is on 127.0.0.1.
    (name = "loopback", network = (allow = ["local"])),
  ],
  sockets = [(name = "http", address = "127.0.0.1:${target.port}", http = (), service = "main")],
);

const worker :Workerd.Worker = (
  modules = [
${modules.join('\n')}
  ],
  compatibilityDate = "${COMPATIBILITY_DATE}",
  compatibilityFlags = ${JSON.stringify(COMPATIBILITY_FLAGS)},
  bindings = [${bindings.join(', ')}],
  globalOutbound = "loopback",
);
`
  const path = join(bundle.dir, `${target.label}.capnp`)
  writeFileSync(path, text)
  return path
}

async function waitForHttp(
  url: string,
  child: ChildProcess,
  output: () => string,
): Promise<Response> {
  const deadline = Date.now() + 20_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) {
      throw new Error(`workerd exited with status ${child.exitCode}:\n${output()}`)
    }
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(1000) })
      const body = await res.text()
      if (res.status !== 200 || body !== ORIGIN_BODY) {
        throw new Error(`${url} answered ${res.status}: ${body}`)
      }
      return res
    } catch (error) {
      if (error instanceof Error && error.message.includes('answered')) throw error
      await new Promise((done) => setTimeout(done, 100))
    }
  }
  throw new Error(`${url} did not answer within 20 s:\n${output()}`)
}

async function serve(config: string, target: Target): Promise<ChildProcess> {
  const args = ['serve', config]
  if (target.inspector !== undefined) args.push('-i', target.inspector)
  const child = track(spawn(WORKERD, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
  let output = ''
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()))
  const res = await waitForHttp(`http://127.0.0.1:${target.port}/bench`, child, () => output)
  // Proves the port is this worker's: only the governed ones add RateLimit fields.
  const governed = target.bundle === 'governed' && target.variant !== 'hand'
  if (res.headers.has('ratelimit') !== governed) {
    throw new Error(`The worker on port ${target.port} is not the ${target.bundle} one`)
  }
  return child
}

/** The origin: answers every request at once with a small JSON body. */
function startOrigin(): Promise<{ server: Server; url: string }> {
  const body = ORIGIN_BODY
  const server = createServer((req, res) => {
    req.resume()
    res.writeHead(200, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(body),
    })
    res.end(body)
  })
  return new Promise((done, fail) => {
    server.once('error', fail)
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as AddressInfo
      done({ server, url: `http://127.0.0.1:${port}` })
    })
  })
}

// ---- load ----------------------------------------------------------------------------------------

/** The load generator of this run: wrk where it can be had, else autocannon (npm). */
type Generator = { kind: 'wrk'; path: string } | { kind: 'autocannon' }

let generator: Generator = { kind: 'autocannon' }

/** Finds (or installs) wrk; falls back to autocannon unless `WRK` names a binary that is not there. */
function chooseGenerator(): Generator {
  if (process.env.PROXY_BENCH_GENERATOR === 'autocannon') return { kind: 'autocannon' }
  const found = ensureTools([{ tool: WRK_TOOL, neededBy: 'npm run bench:proxy' }])
  if (found.ok) return { kind: 'wrk', path: found.paths.get(WRK_TOOL) as string }
  if (process.env.WRK) throw new Error(found.message)
  console.log(
    `${found.message}\nLoad generator: autocannon (npm) instead of wrk, for both workers alike.`,
  )
  return { kind: 'autocannon' }
}

function describeGenerator(): string {
  return generator.kind === 'wrk'
    ? `wrk -t${THREADS} -c${CONNECTIONS} -d${DURATION_S}s`
    : `autocannon -c${CONNECTIONS} -d${DURATION_S}`
}

function runGenerator(url: string, seconds: number): Promise<string> {
  const [command, args] = generator.kind === 'wrk'
    ? [generator.path, [`-t${THREADS}`, `-c${CONNECTIONS}`, `-d${seconds}s`, '--latency', url]]
    : [process.execPath, [AUTOCANNON, `-c${CONNECTIONS}`, `-d${seconds}`, '-j', url]]
  return new Promise((done, fail) => {
    const child = track(spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] }))
    let out = ''
    child.stdout?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    // autocannon writes its progress to stderr and its JSON to stdout.
    if (generator.kind === 'wrk') {
      child.stderr?.on('data', (chunk: Buffer) => (out += chunk.toString()))
    } else child.stderr?.resume()
    child.once('error', fail)
    child.once('exit', (code) => {
      if (code === 0) done(out)
      else fail(new Error(`${generator.kind} exited with status ${code}:\n${out}`))
    })
  })
}

/** autocannon's `-j` report as a Load (latency in ms; errors and timeouts as socket errors). */
function parseAutocannon(out: string): Load {
  const report = JSON.parse(out.slice(out.indexOf('{'))) as {
    duration: number
    errors: number
    timeouts: number
    non2xx: number
    latency: { p50: number; p99: number }
    requests: { total: number }
  }
  return {
    rps: report.requests.total / report.duration,
    p50Ms: report.latency.p50,
    p99Ms: report.latency.p99,
    requests: report.requests.total,
    non2xx: report.non2xx,
    socketErrors: report.errors + report.timeouts,
    cpuUsPerRequest: NaN,
  }
}

function toMs(value: string, unit: string): number {
  const n = Number(value)
  if (unit === 'us') return n / 1000
  if (unit === 's') return n * 1000
  if (unit === 'm') return n * 60_000
  return n
}

function parseWrk(out: string): Load {
  const rps = /Requests\/sec:\s+([\d.]+)/.exec(out)
  const p50 = /^\s+50%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out)
  const p99 = /^\s+99%\s+([\d.]+)(us|ms|s|m)\s*$/m.exec(out)
  const requests = /(\d+) requests in/.exec(out)
  if (rps === null || p50 === null || p99 === null || requests === null) {
    throw new Error(`Cannot parse wrk output:\n${out}`)
  }
  const non2xx = /Non-2xx or 3xx responses:\s+(\d+)/.exec(out)
  const socket = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out)
  return {
    rps: Number(rps[1]),
    p50Ms: toMs(p50[1], p50[2]),
    p99Ms: toMs(p99[1], p99[2]),
    requests: Number(requests[1]),
    non2xx: non2xx === null ? 0 : Number(non2xx[1]),
    socketErrors: socket === null ? 0 : socket.slice(1).reduce((sum, n) => sum + Number(n), 0),
    cpuUsPerRequest: NaN,
  }
}

// Clock ticks per second of /proc/PID/stat's utime and stime.
const CLOCK_TICKS_PER_S = Number(
  spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout?.trim() || 100,
)

/** User + system CPU seconds of a process so far (Linux /proc); NaN elsewhere. */
function cpuSeconds(pid: number | undefined): number {
  if (pid === undefined) return NaN
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
    // Fields after the command name, which is in parentheses and may hold spaces: state is the
    // first, utime the 12th and stime the 13th (fields 14 and 15 of proc(5)).
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
    return (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S
  } catch {
    return NaN
  }
}

/**
 * Loads `url` after a warm-up. Besides req/s, measures the server's CPU per request: on a shared
 * machine throughput moves with everyone else's load, CPU per request much less.
 */
async function measure(url: string, pid?: number): Promise<Load> {
  await runGenerator(url, WARMUP_S)
  const before = cpuSeconds(pid)
  const out = await runGenerator(url, DURATION_S)
  const load = generator.kind === 'wrk' ? parseWrk(out) : parseAutocannon(out)
  load.cpuUsPerRequest = ((cpuSeconds(pid) - before) * 1e6) / load.requests
  return load
}

// ---- report --------------------------------------------------------------------------------------

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b)
  const mid = sorted.length >> 1
  return sorted.length % 2 === 1 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2
}

function round2(value: number): number {
  return Math.round(value * 100) / 100
}

function fmt(value: number, digits = 0): string {
  return value.toLocaleString('en-US', {
    minimumFractionDigits: digits,
    maximumFractionDigits: digits,
  })
}

function kib(bytes: number): string {
  return `${fmt(bytes / 1024, 1)} KiB`
}

function printBundles(bundles: Bundle[]): void {
  console.log('Bundles (wrangler deploy --dry-run, unminified; gzip -6 per module):')
  for (const bundle of bundles) {
    const js = bundle.modules.filter((m) => m.kind === 'esModule')
    const sum = (list: Bundle['modules'], key: 'bytes' | 'gzipBytes') =>
      list.reduce((total, m) => total + m[key], 0)
    const wasm = bundle.modules.filter((m) => m.kind === 'wasm')
    const wasmPart = wasm.length === 0
      ? ''
      : `, wasm ${kib(sum(wasm, 'bytes'))} / gzip ${kib(sum(wasm, 'gzipBytes'))}`
    console.log(
      `  ${bundle.name.padEnd(11)} total ${kib(sum(bundle.modules, 'bytes'))} / gzip ` +
        `${kib(sum(bundle.modules, 'gzipBytes'))}  (js ${kib(sum(js, 'bytes'))} / gzip ` +
        `${kib(sum(js, 'gzipBytes'))}${wasmPart})`,
    )
  }
}

// ---- profile -------------------------------------------------------------------------------------

async function profileTargets(targets: Target[]): Promise<void> {
  console.log(
    `Profiling (${describeGenerator()}, sampled every 100 µs), load average ` +
      `${loadavg().map((n) => n.toFixed(2)).join(' ')}`,
  )
  for (const target of targets) {
    const url = `http://127.0.0.1:${target.port}/bench`
    await runGenerator(url, FIRST_WARMUP_S)
    let out = ''
    const profile = await profileWhile(target.inspector as string, async () => {
      out = await runGenerator(url, DURATION_S)
    }, 100)
    const load = generator.kind === 'wrk' ? parseWrk(out) : parseAutocannon(out)
    const file = `proxy-${target.label.replace(/[^a-z0-9]+/gi, '-')}.cpuprofile`
    writeFileSync(file, JSON.stringify(profile))
    const top = selfTimes(profile)
    const perRequest = (ms: number) => fmt((ms * 1000) / load.requests, 2)
    console.log(`\n${target.label}: ${fmt(load.requests)} requests, profile in ${file}`)
    console.log(`  ${'self µs/req'.padStart(11)} ${'share'.padStart(6)}  function`)
    for (const entry of top.slice(0, 30)) {
      console.log(
        `  ${perRequest(entry.ms).padStart(11)} ${fmt(entry.share * 100, 1).padStart(5)}%  ` +
          entry.name,
      )
    }
  }
}

// ---- main ----------------------------------------------------------------------------------------

async function main(): Promise<void> {
  generator = chooseGenerator()
  const started = performance.now()
  const outRoot = mkdtempSync(join(tmpdir(), 'rheostat-proxy-bench-'))
  let origin: { server: Server; url: string } | undefined
  try {
    const bundles = [build('governed', outRoot), build('ungoverned', outRoot)]
    const byName = new Map(bundles.map((b) => [b.name, b]))
    origin = await startOrigin()

    const targets: Target[] = [
      { label: 'governed', bundle: 'governed', variant: 'full', port: await freePort() },
      { label: 'ungoverned', bundle: 'ungoverned', port: await freePort() },
    ]
    if (WITH_VARIANTS) {
      for (const [label, variant] of VARIANTS) {
        targets.push({ label, bundle: 'governed', variant, port: await freePort() })
      }
    }
    if (PROFILE) {
      for (const target of targets) target.inspector = `127.0.0.1:${await freePort()}`
    }
    const pids = new Map<string, number | undefined>()
    for (const target of targets) {
      const bundle = byName.get(target.bundle) as Bundle
      const child = await serve(
        writeConfig(bundle, { ...target, label: `t${target.port}` }, origin.url),
        target,
      )
      pids.set(target.label, child.pid)
    }

    if (PROFILE) return await profileTargets(targets)
    const loadBefore = loadavg()
    console.log(
      `Rheostat proxy benchmark: workerd ${COMPATIBILITY_DATE} compat, load generator ` +
        `${describeGenerator()} (+${WARMUP_S} s warm-up each), ${ROUNDS} alternating rounds, ` +
        `${availableParallelism()} CPUs (${cpus()[0]?.model ?? 'unknown CPU'}), load average ` +
        `${loadBefore.map((n) => n.toFixed(2)).join(' ')}`,
    )
    const urlOf = (target: Target) => `http://127.0.0.1:${target.port}/bench`
    for (const target of targets) await runGenerator(urlOf(target), FIRST_WARMUP_S)
    const direct = await measure(`${origin.url}/bench`)
    const loads = new Map<string, Load[]>(targets.map((t) => [t.label, []]))
    for (let round = 0; round < ROUNDS; round++) {
      const order = round % 2 === 0 ? targets : [...targets].reverse()
      for (const target of order) {
        const load = await measure(urlOf(target), pids.get(target.label))
        loads.get(target.label)?.push(load)
      }
    }
    const loadAfter = loadavg()

    console.log('')
    console.log(
      `${'worker'.padEnd(22)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}` +
        `${'non-2xx'.padStart(9)}${'errors'.padStart(8)}${'cpu µs/req'.padStart(13)}  ` +
        'req/s per round',
    )
    const cpu = (us: number) => (Number.isFinite(us) ? fmt(us, 1) : '-')
    const row = (label: string, list: Load[]) => {
      console.log(
        `${label.padEnd(22)}${fmt(median(list.map((l) => l.rps))).padStart(9)}` +
          `${fmt(median(list.map((l) => l.p50Ms)), 2).padStart(9)}` +
          `${fmt(median(list.map((l) => l.p99Ms)), 2).padStart(9)}` +
          `${fmt(list.reduce((s, l) => s + l.non2xx, 0)).padStart(9)}` +
          `${fmt(list.reduce((s, l) => s + l.socketErrors, 0)).padStart(8)}` +
          `${cpu(median(list.map((l) => l.cpuUsPerRequest))).padStart(13)}  ` +
          list.map((l) => fmt(l.rps)).join(' / '),
      )
    }
    for (const target of targets) row(target.label, loads.get(target.label) as Load[])
    row('origin direct (ref.)', [direct])

    console.log('')
    console.log('Governor state after the runs (route snapshot):')
    for (const target of targets.filter((t) => t.bundle === 'governed')) {
      const res = await fetch(`http://127.0.0.1:${target.port}/__bench/stats`)
      const s = await res.json() as {
        mode: string
        engine: string
        inflight: number
        concurrencyLimit: number
        modeTransitions: number
        resistanceOhm: number
        admission: Record<string, number>
        keepAliveOnAbort: boolean
      }
      console.log(
        `  ${target.label.padEnd(22)} ${s.engine} ${s.mode}, R ${fmt(s.resistanceOhm, 2)} Ω, ` +
          `concurrency limit ${fmt(s.concurrencyLimit)}, in flight ${s.inflight}, admission ` +
          `${JSON.stringify(s.admission)}, mode transitions ${s.modeTransitions}, keep-alive ` +
          `${s.keepAliveOnAbort ? 'on abort' : 'at admission'}`,
      )
    }

    const governed = loads.get('governed') as Load[]
    const ungoverned = loads.get('ungoverned') as Load[]
    const governedRps = Math.round(median(governed.map((l) => l.rps)))
    const ungovernedRps = Math.round(median(ungoverned.map((l) => l.rps)))
    // One ratio per round, of two measurements seconds apart; the median of those is the result.
    const perRound = (f: (g: Load, u: Load) => number) =>
      governed.map((g, i) => round2(f(g, ungoverned[i] as Load)))
    const ratios = perRound((g, u) => g.rps / u.rps)
    // A shed is a cheap 503 that req/s counts too: when the governor sheds under the generator's
    // load, req/s flatters it. 2xx per second and CPU per request do not.
    const okRps = (l: Load) => l.rps * (l.requests - l.non2xx) / Math.max(1, l.requests)
    const okRatios = perRound((g, u) => okRps(g) / okRps(u))
    const cpuRatios = perRound((g, u) => u.cpuUsPerRequest / g.cpuUsPerRequest)
    const ratio = round2(median(ratios))
    const okRatio = round2(median(okRatios))
    const cpuRatio = round2(median(cpuRatios))
    const governedNon2xx = governed.reduce((sum, l) => sum + l.non2xx, 0)
    const list = (values: number[]) => values.map((v) => v.toFixed(2)).join(' ')
    // The middle half of the rounds' ratios: how far one round's figure is to be trusted.
    const spread = (values: number[]) => {
      const sorted = [...values].sort((a, b) => a - b)
      const at = (q: number) => sorted[Math.round(q * (sorted.length - 1))] as number
      return `middle half ${at(0.25).toFixed(2)}–${at(0.75).toFixed(2)}`
    }
    const loads3 = (l: number[]) => l.map((n) => n.toFixed(2)).join(' ')
    console.log('')
    console.log(`Per round (governed ÷ ungoverned), in order:`)
    console.log(`  req/s  ${list(ratios)}  (${spread(ratios)})`)
    console.log(`  2xx/s  ${list(okRatios)}  (${spread(okRatios)})`)
    console.log(
      `  CPU    ${list(cpuRatios)}  (${spread(cpuRatios)}; ungoverned ÷ governed µs per request)`,
    )
    console.log('')
    printBundles(bundles)
    console.log('')
    console.log(
      `governed / ungoverned, median of ${ROUNDS} rounds: ${ratio.toFixed(2)} (goal >= ` +
        `${GOAL_RATIO}: ${ratio >= GOAL_RATIO ? 'MET' : 'NOT MET'}); 2xx/s ${okRatio.toFixed(2)} ` +
        `(governed shed or failed ${fmt(governedNon2xx)}); CPU per request ` +
        `${Number.isFinite(cpuRatio) ? cpuRatio.toFixed(2) : '-'} (ungoverned ÷ governed); load ` +
        `average ${loads3(loadBefore)} before, ${loads3(loadAfter)} after; total ` +
        `${fmt((performance.now() - started) / 1000, 1)} s`,
    )
    console.log(JSON.stringify({
      governedRps,
      ungovernedRps,
      ratio,
      ratios,
      okRatio,
      okRatios,
      cpuRatio: Number.isFinite(cpuRatio) ? cpuRatio : null,
      cpuRatios: cpuRatios.map((r) => (Number.isFinite(r) ? r : null)),
      governedNon2xx,
      loadAverage: { before: loadBefore.map(round2), after: loadAfter.map(round2) },
      generator: generator.kind,
    }))
  } finally {
    await killChildren()
    if (origin !== undefined) {
      origin.server.closeAllConnections()
      await new Promise<void>((done) => origin!.server.close(() => done()))
    }
    rmSync(outRoot, { recursive: true, force: true })
  }
}

await main()
