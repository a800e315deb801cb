/**
 * What single runtime calls cost inside workerd, the calls the proxy's request path makes
 * (Headers, URL, Response, waitUntil, timers, abort listeners): `npm run bench:workerd-calls`.
 * It explains where the governed worker's CPU per request in `npm run bench:proxy` goes, since
 * the governor's own decision is a few hundred nanoseconds of it.
 *
 * A Worker (bench/workerd-calls/worker.js) served by raw `workerd serve` on 127.0.0.1 runs one call
 * N times per request; the process's CPU time (/proc, Linux) around the request divided by N is the
 * call's cost, minus an empty loop's. Three requests per call, the median is printed. The machine
 * is shared: the figures move with load (±30% seen), the order of magnitude does not.
 *
 * @module
 */

import { spawn } from 'node:child_process'
import { copyFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { type AddressInfo, createServer } from 'node:net'
import { loadavg, tmpdir } from 'node:os'
import { join, resolve } from 'node:path'

const ROOT = resolve(import.meta.dirname, '..')
const WORKERD = join(ROOT, 'node_modules', 'workerd', 'bin', 'workerd')
const N = 200_000
const REPEATS = 3

function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const probe = createServer()
    probe.once('error', fail)
    probe.listen(0, '127.0.0.1', () => {
      const { port } = probe.address() as AddressInfo
      probe.close(() => done(port))
    })
  })
}

/** User + system CPU seconds of a process (Linux /proc, 100 ticks per second). */
function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8')
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ')
  return (Number(fields[11]) + Number(fields[12])) / 100
}

const dir = mkdtempSync(join(tmpdir(), 'rheostat-workerd-calls-'))
const port = await freePort()
copyFileSync(join(ROOT, 'bench', 'workerd-calls', 'worker.js'), join(dir, 'worker.js'))
writeFileSync(
  join(dir, 'config.capnp'),
  `using Workerd = import "/workerd/workerd.capnp";
const config :Workerd.Config = (
  services = [(name = "main", worker = .worker)],
  sockets = [(name = "http", address = "127.0.0.1:${port}", http = (), service = "main")],
);
const worker :Workerd.Worker = (
  modules = [(name = "worker.js", esModule = embed "worker.js")],
  compatibilityDate = "2026-10-01",
  compatibilityFlags = ["enable_request_signal"],
);
`,
)
const child = spawn(WORKERD, ['serve', join(dir, 'config.capnp')], { stdio: 'ignore' })
const stop = () => child.kill('SIGKILL')
process.on('exit', stop)
try {
  const base = `http://127.0.0.1:${port}`
  const deadline = Date.now() + 20_000
  let names: string[] | undefined
  while (names === undefined) {
    try {
      names = await (await fetch(`${base}/names`)).json() as string[]
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((done) => setTimeout(done, 100))
    }
  }
  const pid = child.pid as number
  const costNs = async (path: string): Promise<number> => {
    const runs: number[] = []
    for (let i = 0; i < REPEATS; i++) {
      const before = cpuSeconds(pid)
      await (await fetch(`${base}/${encodeURIComponent(path)}?n=${N}`)).text()
      runs.push(((cpuSeconds(pid) - before) * 1e9) / N)
    }
    return runs.sort((a, b) => a - b)[1] as number
  }
  const empty = await costNs('none')
  console.log(
    `workerd runtime calls, ns per call (median of ${REPEATS} × ${N}, an empty loop's ` +
      `${empty.toFixed(0)} ns taken off), load average ${loadavg()[0]!.toFixed(2)}:`,
  )
  const result: Record<string, number> = {}
  for (const name of names) {
    const ns = Math.max(0, Math.round(await costNs(name) - empty))
    result[name] = ns
    console.log(`  ${name.padEnd(46)} ${String(ns).padStart(7)}`)
  }
  console.log(JSON.stringify(result))
} finally {
  stop()
  rmSync(dir, { recursive: true, force: true })
}
