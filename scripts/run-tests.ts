// Runs every test suite (node, workerd, deno) even when one fails, keeps machine-readable
// reports in test-output/, and ends with a plain `N passed, N failed` line summing all suites.
// Usage: npm test [-- SUITE...]   where SUITE is node, workerd, deno or e2e (default: all four).
// Before any suite starts, the programs the selected suites need beyond npm are found or installed
// in one visible step (scripts/tools.ts): redis-server for node and deno (the Upstash store against
// a real Redis), Chromium for e2e (the dashboard). What cannot be had stops the run at once with
// the command that fixes it: no suite is silently skipped.
import { spawn } from 'node:child_process'
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { delimiter, join, resolve } from 'node:path'
import process from 'node:process'
import {
  addCounts,
  countDenoOutput,
  type Counts,
  countVitestReport,
  formatCounts,
} from './test-summary.ts'
import { CHROMIUM, ensureTools, type Need, REDIS_SERVER } from './tools.ts'

const root = resolve(import.meta.dirname, '..')
const outDir = join(root, 'test-output')
const suites = ['node', 'workerd', 'deno', 'e2e'] as const
type Suite = (typeof suites)[number]

const env: NodeJS.ProcessEnv = {
  ...process.env,
  // Tools started from here run on the Node 24 in node_modules/.bin, as under `npm run`.
  PATH: [join(root, 'node_modules', '.bin'), process.env.PATH ?? ''].join(delimiter),
  CLOUDFLARE_CF_FETCH_ENABLED: process.env.CLOUDFLARE_CF_FETCH_ENABLED ?? 'false',
  WRANGLER_SEND_METRICS: process.env.WRANGLER_SEND_METRICS ?? 'false',
}

type RunResult = { code: number; output: string }

function run(command: string, args: string[], capture: boolean): Promise<RunResult> {
  return new Promise((done) => {
    console.log(`\n> ${command} ${args.join(' ')}`)
    const child = spawn(command, args, {
      cwd: root,
      env,
      stdio: capture ? ['ignore', 'pipe', 'pipe'] : ['ignore', 'inherit', 'inherit'],
    })
    let output = ''
    child.stdout?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      process.stdout.write(chunk)
    })
    child.stderr?.on('data', (chunk: Buffer) => {
      output += chunk.toString()
      process.stderr.write(chunk)
    })
    child.on('error', (error) => {
      console.error(`could not start ${command}: ${error.message}`)
      done({ code: 127, output })
    })
    child.on('close', (code, signal) => done({ code: code ?? (signal ? 128 : 1), output }))
  })
}

async function runVitest(project: Suite): Promise<{ code: number; counts?: Counts }> {
  const report = join(outDir, `vitest-${project}.json`)
  rmSync(report, { force: true })
  const { code } = await run('vitest', [
    'run',
    '--project',
    project,
    '--reporter=default',
    '--reporter=json',
    `--outputFile.json=${report}`,
  ], false)
  if (!existsSync(report)) return { code }
  return { code, counts: countVitestReport(JSON.parse(readFileSync(report, 'utf8'))) }
}

async function runDeno(redisServer: string): Promise<{ code: number; counts?: Counts }> {
  const { code, output } = await run(
    'deno',
    // Same flags as package.json's test:deno (tests/deno/store-upstash.test.ts starts redis-server
    // and talks to it and its REST front on 127.0.0.1; ioredis' `debug` reads the environment;
    // tests/deno/adapter-deno.test.ts runs `deno task start`'s command with Deno.execPath()).
    [
      'test',
      '--allow-read',
      '--allow-env',
      '--allow-net=127.0.0.1',
      `--allow-run=redis-server,${redisServer},node_modules/deno/deno`,
      '--config',
      'deno.json',
      // The `@example` blocks of src/ run too: every one is an assertion, type-checked and run.
      '--doc',
      'tests/deno/',
      'src/',
    ],
    true,
  )
  writeFileSync(join(outDir, 'deno.txt'), output)
  return { code, counts: countDenoOutput(output) }
}

const requested = process.argv.slice(2)
const unknown = requested.filter((name) => !(suites as readonly string[]).includes(name))
if (unknown.length > 0) {
  console.error(`unknown suite(s): ${unknown.join(', ')} (known: ${suites.join(', ')})`)
  process.exit(2)
}
const selected = requested.length > 0 ? (requested as Suite[]) : [...suites]

const needs: Need[] = []
const redisSuites = selected.filter((s) => s === 'node' || s === 'deno')
if (redisSuites.length > 0) {
  needs.push({
    tool: REDIS_SERVER,
    neededBy: `the ${redisSuites.join(' and ')} suite${
      redisSuites.length > 1 ? 's' : ''
    } (Upstash store)`,
  })
}
if (selected.includes('e2e')) needs.push({ tool: CHROMIUM, neededBy: 'the e2e suite (dashboard)' })
console.log(
  `> setup: ${
    needs.length === 0 ? 'nothing beyond npm' : needs.map((n) => n.tool.name).join(', ')
  }`,
)
const tools = ensureTools(needs)
if (!tools.ok) {
  console.error(`\n${tools.message}`)
  process.exit(1)
}
for (const [tool, path] of tools.paths) {
  env[tool.envVar] = path
  console.log(`  ${tool.name}: ${path}`)
}

mkdirSync(outDir, { recursive: true })
const all: Counts[] = []
const failedSuites: string[] = []
// wasm/build is generated and not committed: build it from the sources under test, so a changed
// engine is never tested against the module of an older checkout.
const wasm = await run('npm', ['run', '--silent', 'wasm:build'], false)
if (wasm.code !== 0) {
  failedSuites.push('wasm:build')
  all.push({ passed: 0, failed: 1 })
}
for (const suite of selected) {
  const { code, counts } = suite === 'deno'
    ? await runDeno(env[REDIS_SERVER.envVar] as string)
    : await runVitest(suite)
  if (counts) all.push(counts)
  if (code !== 0) failedSuites.push(suite)
  // A suite that exits non-zero yet reports no failing test (crash, config or type error)
  // still counts as one failure.
  if (code !== 0 && (counts?.failed ?? 0) === 0) all.push({ passed: 0, failed: 1 })
}

const total = addCounts(all)
writeFileSync(join(outDir, 'summary.json'), JSON.stringify({ ...total, failedSuites }, null, 2))
if (failedSuites.length > 0) console.error(`\nfailed suites: ${failedSuites.join(', ')}`)
console.log(`\n${formatCounts(total)}`)
process.exitCode = failedSuites.length > 0 ? 1 : 0
