// The package as a user gets it: `npm pack` (which runs `prepare`: the wasm and dist/ builds),
// the tarball installed in a new project outside this repository, every entry imported from
// node_modules with plain Node (no type stripping there), its declarations type-checked from a
// consumer's TypeScript, the Deno entry run by Deno, the `rheostat` bin, and a Worker that
// re-exports `rheostat/cloudflare-workers` bundled by `wrangler deploy --dry-run`.
import { execFileSync } from 'node:child_process'
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import process from 'node:process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { FIVE_LINE_WORKER, readmeBlock } from '../support/readme.ts'

const root = resolve(import.meta.dirname, '../..')
const bin = (name: string) => join(root, 'node_modules', '.bin', name)
let work: string
let project: string

function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = {}): string {
  try {
    return execFileSync(command, args, {
      cwd,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      env: {
        ...process.env,
        CLOUDFLARE_CF_FETCH_ENABLED: 'false',
        WRANGLER_SEND_METRICS: 'false',
        ...env,
      },
      maxBuffer: 32 * 1024 * 1024,
    })
  } catch (error) {
    const e = error as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${command} ${args.join(' ')} failed: ${e.message}\n${e.stdout}\n${e.stderr}`)
  }
}

/** A consumer's strict tsconfig that type-checks `file` against the installed declarations. */
function writeConsumerTsconfig(name: string, file: string): void {
  writeFileSync(
    join(project, name),
    JSON.stringify({
      compilerOptions: {
        target: 'ES2024',
        module: 'nodenext',
        moduleResolution: 'nodenext',
        lib: ['ES2024', 'DOM'],
        strict: true,
        noEmit: true,
        skipLibCheck: true,
        types: [],
      },
      files: [file],
    }),
  )
}

beforeAll(() => {
  work = mkdtempSync(join(tmpdir(), 'rheostat-package-'))
  run('npm', ['pack', '--pack-destination', work, '--silent'], root)
  const tarball = readdirSync(work).find((name) => name.endsWith('.tgz'))
  if (tarball === undefined) throw new Error(`npm pack wrote no tarball in ${work}`)
  project = join(work, 'app')
  run('mkdir', ['-p', project], work)
  writeFileSync(
    join(project, 'package.json'),
    JSON.stringify({ name: 'app', version: '1.0.0', type: 'module', private: true }),
  )
  run('npm', [
    'install',
    '--no-audit',
    '--no-fund',
    '--prefer-offline',
    '--ignore-scripts',
    join(work, tarball),
  ], project)
}, 600_000)

afterAll(() => {
  if (work !== undefined) rmSync(work, { recursive: true, force: true })
})

describe('the packed package, installed outside the repository', () => {
  it('ships compiled JavaScript, declarations and the engine, and no TypeScript sources', () => {
    const pkg = join(project, 'node_modules', 'rheostat')
    expect(existsSync(join(pkg, 'dist', 'mod.js'))).toBe(true)
    expect(existsSync(join(pkg, 'dist', 'mod.d.ts'))).toBe(true)
    expect(existsSync(join(pkg, 'wasm', 'build', 'rheostat.wasm'))).toBe(true)
    expect(existsSync(join(pkg, 'src'))).toBe(false)
  })

  // rheostat/cloudflare-workers is a Workers module (its Durable Objects extend
  // cloudflare:workers' class): wrangler bundles it below, and tests/workerd runs it.
  it('plain Node imports rheostat, rheostat/node, rheostat/upstash and rheostat/deno and governs a request', () => {
    const script = `
      const neutral = await import('rheostat')
      const node = await import('rheostat/node')
      const upstash = await import('rheostat/upstash')
      const deno = await import('rheostat/deno')
      for (const [name, mod, key] of [['rheostat', neutral, 'createGovernor'],
        ['rheostat/node', node, 'createGovernor'], ['rheostat/upstash', upstash, 'UpstashStore'],
        ['rheostat/upstash', upstash, 'upstashClient'], ['rheostat/deno', deno, 'createDenoHandler']]) {
        if (typeof mod[key] !== 'function') throw new Error(name + ' has no ' + key)
      }
      const gov = node.createGovernor({ engine: 'wasm' })
      const d = gov.admit('checkout', { priority: 'critical' })
      gov.complete(d.ticket, { latencyMs: 20, ok: true })
      console.log(JSON.stringify({ engine: gov.engineKind, allow: d.allow }))`
    const out = run(process.execPath, ['--input-type=module', '-e', script], project)
    expect(JSON.parse(out.trim().split('\n').at(-1) as string)).toEqual({
      engine: 'wasm',
      allow: true,
    })
  })

  it("the README's governor example runs from the package with plain Node", () => {
    // README.md "The governor API", as written; only `origin` (a local server here) is supplied.
    const example = readmeBlock(
      readFileSync(join(root, 'README.md'), 'utf8'),
      "import { createGovernor } from 'rheostat/node'",
    )
    writeFileSync(
      join(project, 'readme-governor.mjs'),
      [
        "import { createServer } from 'node:http'",
        "import { once } from 'node:events'",
        "const server = createServer((_req, res) => res.end('ok')).listen(0, '127.0.0.1')",
        "await once(server, 'listening')",
        'const origin = `http://127.0.0.1:${server.address().port}/`',
        example,
        "console.log(JSON.stringify({ allow: d.allow, mode: gov.snapshot('checkout').mode }))",
        'server.close()',
        '',
      ].join('\n'),
    )
    const out = run(process.execPath, ['readme-governor.mjs'], project)
    const answer = JSON.parse(out.trim().split('\n').at(-1) as string)
    expect(answer.allow).toBe(true)
    expect(typeof answer.mode).toBe('string')
  })

  it("a consumer's TypeScript type-checks against the declarations", () => {
    writeFileSync(
      join(project, 'use.ts'),
      [
        "import { createGovernor, type Decision } from 'rheostat/node'",
        "import { governor } from 'rheostat'",
        "import { UpstashStore } from 'rheostat/upstash'",
        // @upstash/redis comes with the package (a dependency); a client of the user's own fits.
        "import { Redis } from '@upstash/redis'",
        "const d: Decision = createGovernor().admit('r', { priority: 'low' })",
        "const redis = new Redis({ url: 'https://db.example', token: 't' })",
        'export const store = new UpstashStore({ redis, prefix: "app" })',
        'export const out = [d.allow, typeof governor, typeof UpstashStore]',
        '',
      ].join('\n'),
    )
    writeConsumerTsconfig('tsconfig.json', 'use.ts')
    run(process.execPath, [join(root, 'node_modules/typescript/bin/tsc'), '-p', '.'], project)
  })

  it('the rheostat bin validates a config', () => {
    writeFileSync(
      join(project, 'rheostat.json'),
      JSON.stringify({ routes: [{ id: 'api', match: { path: '/api/*' }, origin: 'https://a.b' }] }),
    )
    const out = run(process.execPath, [
      join(project, 'node_modules', '.bin', 'rheostat'),
      'config',
      'validate',
      'rheostat.json',
    ], project)
    expect(out).toContain('valid (1 route')
  })

  it('Deno runs rheostat/deno from node_modules', () => {
    writeFileSync(
      join(project, 'deno-check.ts'),
      [
        "import { createDenoHandler } from 'rheostat/deno'",
        'const h = createDenoHandler({ config: { routes: [{ id: "api", match: { path: "/api/*" }, origin: "http://127.0.0.1:9" }] } })',
        'console.log(typeof h)',
        '',
      ].join('\n'),
    )
    const out = run(
      bin('deno'),
      ['run', '--no-check', '--allow-read', '--allow-env', 'deno-check.ts'],
      project,
      {
        DENO_NO_UPDATE_CHECK: '1',
      },
    )
    expect(out.trim().split('\n').at(-1)).toMatch(/^(object|function)$/)
  })

  it("the README's five-line Worker (Hono + the middleware) type-checks, bundles and answers", () => {
    // The first screen of README.md shows these lines (tests/unit/readme.test.ts).
    const five = FIVE_LINE_WORKER
    writeFileSync(join(project, 'five.ts'), five.join('\n') + '\n')
    // The consumer's TypeScript types `c.get('rheostat')` through the chain, with no global
    // augmentation (JSR refuses one).
    writeConsumerTsconfig('tsconfig.five.json', 'five.ts')
    run(process.execPath, [
      join(root, 'node_modules/typescript/bin/tsc'),
      '-p',
      'tsconfig.five.json',
    ], project)
    writeFileSync(
      join(project, 'wrangler.five.toml'),
      ['name = "five"', 'main = "five.ts"', 'compatibility_date = "2026-10-01"', ''].join('\n'),
    )
    const out = run(bin('wrangler'), [
      'deploy',
      '--dry-run',
      '--config',
      'wrangler.five.toml',
      '--outdir',
      'out-five',
    ], project)
    expect(out).toContain('--dry-run: exiting now.')
    // The same module in plain Node (type stripping works outside node_modules): it answers, the
    // decision on the context, the RateLimit field set. The middleware in workerd itself is
    // examples/hono-middleware in tests/workerd/examples.test.ts.
    const script = `
      const app = (await import(${JSON.stringify(join(project, 'five.ts'))})).default
      const res = await app.request('http://localhost/api/hello')
      console.log(JSON.stringify({ status: res.status, text: await res.text(),
        rateLimit: res.headers.get('RateLimit') }))`
    const ran = run(process.execPath, ['--input-type=module', '-e', script], project)
    const answer = JSON.parse(ran.trim().split('\n').at(-1) as string)
    expect(answer.status).toBe(200)
    expect(answer.text).toBe('hello, critical')
    expect(answer.rateLimit).toMatch(/^"api:critical";r=\d+;t=\d+$/)
  })

  it('a Worker that re-exports rheostat/cloudflare-workers bundles with wrangler', () => {
    writeFileSync(
      join(project, 'worker.ts'),
      "export { ConfigDO, default, RouteStateDO } from 'rheostat/cloudflare-workers'\n",
    )
    writeFileSync(
      join(project, 'wrangler.toml'),
      [
        'name = "app"',
        'main = "worker.ts"',
        'compatibility_date = "2026-10-01"',
        'compatibility_flags = ["nodejs_compat"]',
        '[[durable_objects.bindings]]',
        'name = "ROUTE_STATE"',
        'class_name = "RouteStateDO"',
        '[[durable_objects.bindings]]',
        'name = "CONFIG_STORE"',
        'class_name = "ConfigDO"',
        '[[migrations]]',
        'tag = "v1"',
        'new_sqlite_classes = ["RouteStateDO", "ConfigDO"]',
        '',
      ].join('\n'),
    )
    const out = run(bin('wrangler'), ['deploy', '--dry-run', '--outdir', 'out'], project)
    expect(out).toContain('--dry-run: exiting now.')
    const files = readdirSync(join(project, 'out'))
    expect(files.some((name) => name.endsWith('.wasm'))).toBe(true)
    expect(files).toContain('worker.js')
  })
})
