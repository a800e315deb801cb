// `npm start`: Rheostat as it runs on Cloudflare, on this machine, with no account. Two children:
// the demo origin (scripts/demo-origin.ts) on 127.0.0.1:9000 and the Worker under `wrangler dev`
// (local mode, the root wrangler.toml) on 127.0.0.1:8787. Ctrl-C or a termination signal goes to
// both; if either dies, the other is stopped. The physics demo in virtual time is `npm run demo`.
import { type ChildProcess, spawn } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { createServer } from 'node:net'
import { delimiter, join, resolve } from 'node:path'
import process from 'node:process'
import { ConfigError, type GovernorConfig, parseEdgeConfigText } from '../src/config/schema.ts'
import { defaultPriority } from '../src/http/routes.ts'
import { tokenProblem } from '../src/admin/admin.ts'

const HOST = '127.0.0.1'
const ORIGIN_PORT = 9000
const EDGE_PORT = 8787
/** How long wrangler may take to build and start workerd. */
const READY_TIMEOUT_MS = 90_000
/** How long the children get to stop before they are killed. */
const STOP_TIMEOUT_MS = 10_000

const root = resolve(import.meta.dirname, '..')
const edge = `http://${HOST}:${EDGE_PORT}`
const origin = `http://${HOST}:${ORIGIN_PORT}`

function fail(message: string): never {
  console.error(`\nnpm start: ${message}`)
  process.exit(1)
}

/** Whether nothing listens on HOST:port (binding it is the only reliable test). */
function portFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const server = createServer()
    server.once('error', () => done(false))
    server.listen({ port, host: HOST, exclusive: true }, () => server.close(() => done(true)))
  })
}

/** The config wrangler.toml ships, validated here so that a broken one is reported up front. */
async function shippedConfig(): Promise<GovernorConfig> {
  const { unstable_readConfig } = await import('wrangler')
  const vars = unstable_readConfig({ config: join(root, 'wrangler.toml') }).vars as Record<
    string,
    unknown
  >
  const text = vars.RHEOSTAT_CONFIG
  if (typeof text !== 'string') fail('wrangler.toml has no [vars] RHEOSTAT_CONFIG')
  try {
    return parseEdgeConfigText(text)
  } catch (error) {
    if (error instanceof ConfigError) fail(`RHEOSTAT_CONFIG in wrangler.toml: ${error.message}`)
    throw error
  }
}

/** A request that exercises a route: its first method, its pattern with sample segments. */
function sampleRequest(route: GovernorConfig['routes'][number]): string {
  const method = route.match?.methods?.[0] ?? 'GET'
  const path = (route.match?.path ?? '/')
    .replace(/\*$/, 'demo')
    .replace(/:[A-Za-z0-9_]+/g, '1')
  return `${method.padEnd(5)}${edge}${path}`
}

async function waitUntilServing(url: string, child: ChildProcess): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS
  while (Date.now() < deadline) {
    if (child.exitCode !== null || child.signalCode !== null) return
    try {
      await (await fetch(url, { signal: AbortSignal.timeout(2000) })).arrayBuffer()
      return
    } catch {
      await new Promise((r) => setTimeout(r, 250))
    }
  }
  throw new Error(`Nothing answered on ${url} within ${READY_TIMEOUT_MS / 1000} s`)
}

const taken: string[] = []
for (
  const [port, what] of [[ORIGIN_PORT, 'the demo origin'], [EDGE_PORT, 'wrangler dev']] as const
) {
  if (!(await portFree(port))) taken.push(`${HOST}:${port} (for ${what})`)
}
if (taken.length > 0) {
  fail(
    `Port ${taken.join(' and ')} ${taken.length === 1 ? 'is' : 'are'} already in use. ` +
      'Stop whatever listens there (`lsof -i :PORT` shows it; an earlier `npm start`?) and retry.',
  )
}

const config = await shippedConfig()
// The admin API (config uploads, stats, metrics, dashboard) needs a token: the one in the
// environment, else a fresh one per run, handed to wrangler dev as a variable. It is printed
// below because it is this machine's own; a deployment's is a secret and never printed.
const adminToken = process.env.RHEOSTAT_ADMIN_TOKEN || randomBytes(32).toString('base64url')
const tokenRefused = tokenProblem('RHEOSTAT_ADMIN_TOKEN', adminToken)
if (tokenRefused !== null) {
  fail(`${tokenRefused}. Unset it and npm start makes one, or set a longer one.`)
}
const env: NodeJS.ProcessEnv = {
  ...process.env,
  // Tools started from here run on the Node in node_modules/.bin, as under `npm run`.
  PATH: [join(root, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter),
  // Local mode needs no account; keep wrangler from reaching Cloudflare for the `cf` object and
  // metrics, so it starts the same offline.
  CLOUDFLARE_CF_FETCH_ENABLED: 'false',
  WRANGLER_SEND_METRICS: 'false',
}
// The package's own bin: it starts its CLI on the Node it runs on, the one first on PATH above.
const wranglerBin = join(root, 'node_modules', 'wrangler', 'bin', 'wrangler.js')

// Own process groups: a terminal's Ctrl-C reaches this process only, which forwards it once.
const children = new Map<string, ChildProcess>([
  [
    'demo origin',
    spawn(process.execPath, [join(root, 'scripts/demo-origin.ts'), '--port', `${ORIGIN_PORT}`], {
      cwd: root,
      env,
      stdio: ['ignore', 'inherit', 'inherit'],
      detached: true,
    }),
  ],
  [
    'wrangler dev',
    spawn(process.execPath, [
      wranglerBin,
      'dev',
      '--local',
      '--config',
      join(root, 'wrangler.toml'),
      '--ip',
      HOST,
      '--port',
      `${EDGE_PORT}`,
      '--show-interactive-dev-session=false',
      '--var',
      `RHEOSTAT_ADMIN_TOKEN:${adminToken}`,
    ], { cwd: root, env, stdio: ['ignore', 'inherit', 'inherit'], detached: true }),
  ],
])

let stopping = false
let exitCode = 0
const exited = [...children].map(([name, child]) =>
  new Promise<void>((done) => {
    child.once('error', (error) => {
      console.error(`npm start: cannot start ${name}: ${error.message}`)
      done()
      stop(1)
    })
    child.once('exit', (code, signal) => {
      done()
      if (!stopping) {
        console.error(
          `\nnpm start: ${name} exited (${signal ?? `code ${code}`}); stopping the other process`,
        )
        stop(1)
      }
    })
  })
)

function stop(code: number, signal: NodeJS.Signals = 'SIGTERM'): void {
  if (stopping) return
  stopping = true
  exitCode = code
  for (const child of children.values()) {
    if (child.exitCode === null && child.signalCode === null) child.kill(signal)
  }
  const timer = setTimeout(() => {
    for (const child of children.values()) {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL')
    }
  }, STOP_TIMEOUT_MS)
  timer.unref()
  void Promise.all(exited).then(() => process.exit(exitCode))
}

for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(signal, () => {
    if (!stopping) console.log(`\nnpm start: ${signal}, stopping the demo origin and wrangler dev`)
    stop(0, signal)
  })
}

try {
  await waitUntilServing(`${origin}/__origin/knobs`, children.get('demo origin')!)
  await waitUntilServing(`${edge}/`, children.get('wrangler dev')!)
} catch (error) {
  console.error(`npm start: ${error instanceof Error ? error.message : String(error)}`)
  stop(1)
}

if (!stopping) {
  const routes = config.routes.map((route) =>
    `    ${sampleRequest(route).padEnd(48)} route "${route.id}", ${
      defaultPriority(config, route.id)
    } → ${route.origin}`
  )
  console.log(
    [
      '',
      `Rheostat is running locally (wrangler dev, store "${config.sync.store}", no account needed)`,
      '',
      `  Governed API   ${edge}   (routes from RHEOSTAT_CONFIG in wrangler.toml)`,
      ...routes,
      `  Demo origin    ${origin}   (direct, ungoverned)`,
      `  Origin knobs   ${origin}/__origin/knobs   (latencyMs, jitterMs, errorRate)`,
      `    curl -X POST '${origin}/__origin/knobs?errorRate=1'               every request fails`,
      `    curl -X POST '${origin}/__origin/knobs?latencyMs=800'             a gray failure`,
      `    curl -X POST '${origin}/__origin/knobs?errorRate=0&latencyMs=40'  healthy again`,
      '',
      `  Admin API      ${edge}${config.admin.prefix}/   (dashboard; token below)`,
      `    export RHEOSTAT_ADMIN_TOKEN=${adminToken}`,
      `    npx rheostat config pull --url ${edge} > rheostat.json     the running config`,
      `    npx rheostat config push rheostat.json --url ${edge}       upload an edited one`,
      `    npx rheostat config history --url ${edge}                  versions; rollback N`,
      '',
      'Watch the governor shed (503 problem+json, Retry-After) and recover. Ctrl-C stops both.',
      '',
    ].join('\n'),
  )
}
