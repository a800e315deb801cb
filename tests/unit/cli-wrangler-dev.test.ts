// End to end, as an operator does it on `npm start`'s deployment: the Worker from the root
// wrangler.toml under `wrangler dev` (local mode, Durable Object stores, the admin token passed
// with --var as scripts/start.ts does), a real origin, and the CLI pushing a config that then
// governs requests.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { delimiter, join } from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { freePort } from '../support/ports.ts'

const root = fileURLToPath(new URL('../..', import.meta.url))
const CLI = join(root, 'src/cli/rheostat.ts')
const TOKEN = 'e2e-admin-token-0123456789abcdefghij'
const dir = mkdtempSync(join(tmpdir(), 'rheostat-e2e-'))
const STARTUP_MS = 120_000

function run(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, RHEOSTAT_ADMIN_TOKEN: TOKEN },
      stdio: ['ignore', 'pipe', 'pipe'],
    })
    let stdout = ''
    let stderr = ''
    child.stdout.on('data', (d) => (stdout += d))
    child.stderr.on('data', (d) => (stderr += d))
    child.once('error', reject)
    child.once('close', (code) => resolve({ code, stdout, stderr }))
  })
}

let origin: Server
let originUrl = ''
let wrangler: ChildProcess | undefined
let edge = ''
let log = ''

const deployed = () => ({
  sync: { store: 'durable-object' },
  routes: [{ id: 'api', match: { path: '/api/*' }, origin: originUrl, priority: 'normal' }],
  unmatched: 'reject',
})

beforeAll(async () => {
  origin = createServer((req, res) => res.end(`origin ${req.url}`))
  await new Promise<void>((resolve) => origin.listen(0, '127.0.0.1', resolve))
  originUrl = `http://127.0.0.1:${(origin.address() as AddressInfo).port}`
  const port = await freePort()
  const inspector = await freePort()
  edge = `http://127.0.0.1:${port}`
  wrangler = spawn(process.execPath, [
    join(root, 'node_modules/wrangler/bin/wrangler.js'),
    'dev',
    '--local',
    '--config',
    join(root, 'wrangler.toml'),
    '--ip',
    '127.0.0.1',
    '--port',
    String(port),
    '--inspector-port',
    String(inspector),
    '--persist-to',
    join(dir, 'state'),
    '--show-interactive-dev-session=false',
    '--var',
    `RHEOSTAT_ADMIN_TOKEN:${TOKEN}`,
    '--var',
    `RHEOSTAT_CONFIG:${JSON.stringify(deployed())}`,
  ], {
    cwd: root,
    env: {
      ...process.env,
      PATH: [join(root, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter),
      CLOUDFLARE_CF_FETCH_ENABLED: 'false',
      WRANGLER_SEND_METRICS: 'false',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true,
  })
  wrangler.stdout?.on('data', (d) => (log += d))
  wrangler.stderr?.on('data', (d) => (log += d))
  const deadline = Date.now() + STARTUP_MS
  for (;;) {
    if (wrangler.exitCode !== null) throw new Error(`wrangler dev exited:\n${log}`)
    try {
      const res = await fetch(`${edge}/__rheostat/health`, { signal: AbortSignal.timeout(2000) })
      if (res.status === 200) break
    } catch {
      // Not up yet.
    }
    if (Date.now() > deadline) throw new Error(`wrangler dev did not start:\n${log}`)
    await new Promise((r) => setTimeout(r, 250))
  }
}, STARTUP_MS + 10_000)

afterAll(async () => {
  if (wrangler?.pid !== undefined && wrangler.exitCode === null) {
    const exited = new Promise((r) => wrangler!.once('exit', r))
    process.kill(-wrangler.pid, 'SIGTERM')
    await exited
  }
  await new Promise<void>((resolve) => origin.close(() => resolve()))
  rmSync(dir, { recursive: true, force: true })
}, 30_000)

describe('rheostat config against wrangler dev', () => {
  it('config push takes effect on the Worker and the stats show the version', async () => {
    expect((await fetch(`${edge}/reports/q1`)).status).toBe(404)
    const next = {
      ...deployed(),
      routes: [
        ...deployed().routes,
        { id: 'reports', match: { path: '/reports/*' }, origin: originUrl, priority: 'low' },
      ],
    }
    const path = join(dir, 'next.json')
    writeFileSync(path, JSON.stringify(next))
    const pushed = await run(['config', 'push', path, '--url', edge, '--if-match', '0'])
    expect(pushed.stderr).toBe('')
    expect(pushed.code).toBe(0)
    expect(pushed.stdout).toMatch(/version 1 is live/)

    const routed = await fetch(`${edge}/reports/q1`)
    expect(routed.status).toBe(200)
    expect(await routed.text()).toBe('origin /reports/q1')
    expect(routed.headers.get('ratelimit')).toMatch(/"reports:low"/)

    const history = await run(['config', 'history', '--url', edge])
    expect(history.code).toBe(0)
    expect(history.stdout).toMatch(/^\s+1\s+\d{4}-/m)
    const stats = await fetch(`${edge}/__rheostat/api/stats`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    })
    const body = await stats.json() as { configVersion: number; isolates: unknown[] }
    expect(body.configVersion).toBe(1)

    const refused = await run([
      'config',
      'push',
      path,
      '--url',
      edge,
      '--if-match',
      '0',
    ])
    expect(refused.code).toBe(1)
    expect(refused.stderr).toMatch(/409 Version conflict/)
  }, 60_000)
})
