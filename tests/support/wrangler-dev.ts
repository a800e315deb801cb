// The real Worker under `wrangler dev` (local mode, workerd) as a child process, for end-to-end
// tests: the root wrangler.toml's entry, compatibility settings and Durable Object binding, with
// the test's own vars, on a free loopback port, state in a throw-away folder.
import { type ChildProcess, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { freePort } from './ports.ts'
import { tmpdir } from 'node:os'
import { delimiter, join, resolve } from 'node:path'
import process from 'node:process'
import { unstable_readConfig } from 'wrangler'

const root = resolve(import.meta.dirname, '../..')

/** A running Worker. */
export interface DevWorker {
  /** Its base URL, e.g. http://127.0.0.1:PORT. */
  url: string
  /** What wrangler printed so far (for failure messages). */
  output(): string
  close(): Promise<void>
}

function toml(value: string): string {
  return JSON.stringify(value) // a TOML basic string has JSON's escapes
}

/**
 * Starts the Worker of the root wrangler.toml with `vars` and waits until `readyPath` answers.
 *
 * @param vars The Worker's vars (RHEOSTAT_CONFIG, RHEOSTAT_ADMIN_TOKEN …).
 * @param readyPath A path that answers once the Worker runs.
 * @param timeoutMs How long wrangler may take to build and start workerd.
 */
export async function startWranglerDev(
  vars: Record<string, string>,
  readyPath = '/',
  timeoutMs = 90_000,
): Promise<DevWorker> {
  const shipped = unstable_readConfig({ config: join(root, 'wrangler.toml') })
  const dir = mkdtempSync(join(tmpdir(), 'rheostat-e2e-'))
  const config = join(dir, 'wrangler.toml')
  writeFileSync(
    config,
    [
      `name = ${toml(shipped.name ?? 'rheostat')}`,
      `main = ${toml(join(root, 'src/adapter/cloudflare-workers/worker.ts'))}`,
      `compatibility_date = ${toml(shipped.compatibility_date ?? '2026-10-01')}`,
      `compatibility_flags = ${JSON.stringify(shipped.compatibility_flags)}`,
      '',
      '[vars]',
      ...Object.entries(vars).map(([k, v]) => `${k} = ${toml(v)}`),
      '',
      ...shipped.durable_objects.bindings.flatMap((b: { name: string; class_name: string }) => [
        '[[durable_objects.bindings]]',
        `name = ${toml(b.name)}`,
        `class_name = ${toml(b.class_name)}`,
      ]),
      ...shipped.migrations.flatMap((m: { tag: string; new_sqlite_classes?: string[] }) => [
        '[[migrations]]',
        `tag = ${toml(m.tag)}`,
        `new_sqlite_classes = ${JSON.stringify(m.new_sqlite_classes ?? [])}`,
      ]),
      '',
    ].join('\n'),
  )
  const port = await freePort()
  const inspector = await freePort()
  let output = ''
  const child: ChildProcess = spawn(
    'wrangler',
    [
      'dev',
      '--config',
      config,
      '--ip',
      '127.0.0.1',
      '--port',
      String(port),
      '--inspector-port',
      String(inspector),
      '--persist-to',
      join(dir, 'state'),
      '--show-interactive-dev-session=false',
      '--log-level',
      'warn',
    ],
    {
      cwd: root,
      // Own process group, so closing stops workerd too.
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        PATH: [join(root, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter),
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_SEND_METRICS: 'false',
        CI: 'true',
      },
    },
  )
  child.stdout?.on('data', (chunk: Buffer) => output += chunk.toString())
  child.stderr?.on('data', (chunk: Buffer) => output += chunk.toString())
  const exited = new Promise<void>((done) => child.once('exit', () => done()))

  const close = async () => {
    if (child.exitCode === null && child.signalCode === null && child.pid !== undefined) {
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch { /* already gone */ }
      const killer = setTimeout(() => {
        try {
          process.kill(-child.pid!, 'SIGKILL')
        } catch { /* already gone */ }
      }, 10_000)
      await exited
      clearTimeout(killer)
    }
    rmSync(dir, { recursive: true, force: true })
  }

  const url = `http://127.0.0.1:${port}`
  const deadline = Date.now() + timeoutMs
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) break
    try {
      const res = await fetch(url + readyPath, { signal: AbortSignal.timeout(5000) })
      await res.arrayBuffer()
      if (res.ok) return { url, output: () => output, close }
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 300))
  }
  await close()
  throw new Error(`wrangler dev did not serve ${url}${readyPath} in time:\n${output}`)
}
