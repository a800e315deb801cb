// `rheostat config …` as an operator runs it: the CLI in its own process (Node 24, the bin in
// package.json) against the Worker's handler served over HTTP in front of a real origin.
import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { type EdgeServer, startEdgeServer } from '../support/edge-server.ts'

const CLI = fileURLToPath(new URL('../../src/cli/rheostat.ts', import.meta.url))
const TOKEN = 'cli-test-token-0123456789abcdefghijk'
const dir = mkdtempSync(join(tmpdir(), 'rheostat-cli-'))

interface Run {
  code: number | null
  stdout: string
  stderr: string
}

function rheostat(args: string[], env: Record<string, string | undefined> = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI, ...args], {
      env: { ...process.env, RHEOSTAT_ADMIN_TOKEN: TOKEN, RHEOSTAT_URL: undefined, ...env },
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

function file(name: string, content: unknown): string {
  const path = join(dir, name)
  writeFileSync(path, typeof content === 'string' ? content : JSON.stringify(content, null, 2))
  return path
}

let edge: EdgeServer
const deployed = (origin: string) => ({
  routes: [{ id: 'api', match: { path: '/api/*' }, origin }],
  unmatched: 'reject',
})
const withReports = (origin: string, extra: Record<string, unknown> = {}) => ({
  ...deployed(origin),
  routes: [
    ...deployed(origin).routes,
    { id: 'reports', match: { path: '/reports/*' }, origin, ...extra },
  ],
})

beforeAll(async () => {
  edge = await startEdgeServer({ token: TOKEN, config: deployed })
})
afterAll(() => edge.close())

describe('rheostat config', () => {
  it('config validate exits 0 for a valid file and 1 naming each problem otherwise', async () => {
    const ok = await rheostat(['config', 'validate', file('ok.json', withReports(edge.origin))])
    expect(ok.code).toBe(0)
    expect(ok.stdout).toMatch(/valid \(2 routes, store "memory"\)/)
    const bad = await rheostat([
      'config',
      'validate',
      file('bad.json', withReports(edge.origin, { priority: 'urgent' })),
    ])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/routes\.1\.priority: Unknown priority "urgent"/)
    const junk = await rheostat(['config', 'validate', file('junk.json', '{ nope')])
    expect(junk.code).toBe(1)
    expect(junk.stderr).toMatch(/not valid JSON/)
    const missing = await rheostat(['config', 'validate', join(dir, 'absent.json')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/Cannot read/)
  })

  it('config push uploads a config that takes effect at once; pull and history show it', async () => {
    expect((await fetch(`${edge.url}/reports/q1`)).status).toBe(404)
    const pushed = await rheostat([
      'config',
      'push',
      file('push.json', withReports(edge.origin)),
      '--url',
      edge.url,
    ])
    expect(pushed.stderr).toBe('')
    expect(pushed.code).toBe(0)
    expect(pushed.stdout).toMatch(/version 1 is live/)
    const routed = await fetch(`${edge.url}/reports/q1`)
    expect(routed.status).toBe(200)
    expect(await routed.text()).toBe('origin /reports/q1')

    const out = join(dir, 'pulled.json')
    const pulled = await rheostat(['config', 'pull', '--url', edge.url, '--out', out])
    expect(pulled.code).toBe(0)
    expect(JSON.parse(readFileSync(out, 'utf8'))).toEqual(withReports(edge.origin))
    const history = await rheostat(['config', 'history', '--url', edge.url], {
      RHEOSTAT_URL: undefined,
    })
    expect(history.code).toBe(0)
    expect(history.stdout).toMatch(/^\s+1\s+\d{4}-.*2 routes\s+← this isolate runs it$/m)
    expect(history.stdout).toMatch(/^\s+0\s+deployed\s+1 routes$/m)
  })

  it("config push exits 1 with the deployment's reasons when it refuses the upload", async () => {
    const live = await rheostat([
      'config',
      'push',
      file('store.json', { ...deployed(edge.origin), sync: { store: 'upstash' } }),
      '--url',
      edge.url,
    ])
    expect(live.code).toBe(1)
    expect(live.stderr).toMatch(/answered 422 Invalid config/)
    expect(live.stderr).toMatch(/sync\.store: Store cannot change live/)
    // Refused before sending: the file fails the schema.
    const bad = await rheostat([
      'config',
      'push',
      file('bad-push.json', withReports(edge.origin, { priority: 'urgent' })),
      '--url',
      edge.url,
    ])
    expect(bad.code).toBe(1)
    expect(bad.stderr).toMatch(/routes\.1\.priority/)
    const stale = await rheostat([
      'config',
      'push',
      file('stale.json', deployed(edge.origin)),
      '--url',
      edge.url,
      '--if-match',
      '0',
    ])
    expect(stale.code).toBe(1)
    expect(stale.stderr).toMatch(/answered 409 Version conflict/)
  })

  it('config rollback uploads an old version again and reports a missing one', async () => {
    const back = await rheostat(['config', 'rollback', '0', '--url', edge.url])
    expect(back.code).toBe(0)
    expect(back.stdout).toMatch(/Rolled back to version 0's config: version \d+ is live/)
    expect((await fetch(`${edge.url}/reports/q1`)).status).toBe(404)
    const missing = await rheostat(['config', 'rollback', '999', '--url', edge.url])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toMatch(/404 Version not found/)
  })

  it('the CLI exits 2 on usage errors and 1 when the deployment is unreachable or says 401', async () => {
    const noToken = await rheostat(['config', 'pull', '--url', edge.url], {
      RHEOSTAT_ADMIN_TOKEN: '',
    })
    expect(noToken.code).toBe(2)
    expect(noToken.stderr).toMatch(/Set RHEOSTAT_ADMIN_TOKEN/)
    const wrong = await rheostat(['config', 'pull', '--url', edge.url], {
      RHEOSTAT_ADMIN_TOKEN: 'wrong',
    })
    expect(wrong.code).toBe(1)
    expect(wrong.stderr).toMatch(/401[\s\S]*Check RHEOSTAT_ADMIN_TOKEN/)
    expect(wrong.stderr).not.toContain(TOKEN)
    const noUrl = await rheostat(['config', 'pull'])
    expect(noUrl.code).toBe(2)
    const unknown = await rheostat(['config', 'frobnicate'])
    expect(unknown.code).toBe(2)
    expect(unknown.stderr).toMatch(/Unknown config command "frobnicate"/)
    const closed = await rheostat(['config', 'pull', '--url', 'http://127.0.0.1:9'])
    expect(closed.code).toBe(1)
    expect(closed.stderr).toMatch(/Cannot reach http:\/\/127\.0\.0\.1:9/)
  })

  it('package.json names the compiled CLI as the rheostat bin, runnable by node', () => {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'))
    // The bin is this file compiled into dist/ by `prepare` (scripts/build-dist.ts); the packed
    // package's bin is run in tests/e2e/package.test.ts.
    const compiled = CLI.replace(/\/src\/cli\/rheostat\.ts$/, '/dist/cli/rheostat.js')
    expect(fileURLToPath(new URL(`../../${pkg.bin.rheostat}`, import.meta.url))).toBe(compiled)
    expect(readFileSync(CLI, 'utf8').startsWith('#!/usr/bin/env node\n')).toBe(true)
  })

  it('rheostat tunnel runs the wind tunnel command', async () => {
    const help = await rheostat(['tunnel', '--help'])
    expect(help.code).toBe(0)
    expect(help.stdout).toMatch(/wind-tunnel scenario files/)
  })
})
