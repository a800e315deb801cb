#!/usr/bin/env node
/**
 * `npx rheostat …`: the operator's command line. Config files are checked offline with the same
 * schema the edge uses; everything else talks to a running deployment's admin API with the
 * bearer token from `RHEOSTAT_ADMIN_TOKEN`. docs/operations.md ("CLI").
 *
 * Exit codes: 0 done, 1 refused or failed (invalid config, the API said no, the deployment could
 * not be reached), 2 a usage error (unknown command or option, missing token or URL).
 *
 * @module
 */

import { readFileSync, writeFileSync } from 'node:fs'
import process from 'node:process'
import { parseArgs } from 'node:util'
import { CliError } from './error.ts'
import { ConfigError, parseEdgeConfig } from '../config/schema.ts'
import { storeKindProblems } from '../store/backends.ts'

const USAGE = `Usage: rheostat <command> [options]

Commands:
  config validate FILE            checks a config file offline (the schema the edge runs)
  config push FILE --url URL      uploads FILE as the new config (PUT); --patch merges it
                                  into the current one instead (PATCH, RFC 7396)
  config pull --url URL           prints the current config (--out FILE writes it)
  config history --url URL        lists the newest versions (--limit N, default 20)
  config rollback VERSION --url URL
                                  uploads VERSION's config again, as a new version
  tunnel FILES… [options]         runs wind-tunnel scenarios (rheostat tunnel --help)

Options of the commands that reach a deployment:
  --url URL          the deployment, e.g. http://127.0.0.1:8787 (or RHEOSTAT_URL)
  --prefix PATH      its admin prefix (default /__rheostat)
  --if-match N       push/rollback: refused (409) unless the deployment holds version N
  --json             print the API's JSON answer instead of a summary

The token is read from RHEOSTAT_ADMIN_TOKEN; it is never printed.

Exit codes: 0 done, 1 refused or failed, 2 usage error.`

/** Where output goes (tests pass their own). */
export interface CliIo {
  out(text: string): void
  err(text: string): void
  env(name: string): string | undefined
  readFile(path: string): string
  writeFile(path: string, text: string): void
  fetch(request: Request): Promise<Response>
}

const LOOPBACK = /^(localhost|127(\.\d{1,3}){3}|\[::1\])$/

const nodeIo: CliIo = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  env: (name) => process.env[name],
  readFile: (path) => readFileSync(path, 'utf8'),
  writeFile: (path, text) => writeFileSync(path, text),
  fetch: (request) => fetch(request),
}

/**
 * Runs one `rheostat config …` command.
 *
 * @param args The arguments after `config`.
 * @param io Output, environment, files and fetch.
 * @returns The exit code.
 * @throws {CliError} With the exit code and a readable message.
 *
 * @example Usage
 * ```ts ignore
 * import { runConfig } from './rheostat.ts'
 * const code = await runConfig(['validate', 'rheostat.json'])
 * ```
 */
export async function runConfig(args: string[], io: CliIo = nodeIo): Promise<number> {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        url: { type: 'string' },
        prefix: { type: 'string', default: '/__rheostat' },
        'if-match': { type: 'string' },
        patch: { type: 'boolean', default: false },
        out: { type: 'string' },
        limit: { type: 'string' },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    })
  } catch (error) {
    throw new CliError(2, `${describe(error)}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  if (values.help) {
    io.out(`${USAGE}\n`)
    return 0
  }
  const [command, operand, ...extra] = positionals
  if (extra.length > 0) throw new CliError(2, `Unexpected argument "${extra[0]}"\n\n${USAGE}`)
  switch (command) {
    case 'validate': {
      const file = need(operand, 'config validate needs a FILE')
      const checked = validateFile(file, io)
      io.out(
        `${file}: valid (${checked.routes.length} route${
          checked.routes.length === 1 ? '' : 's'
        }, store "${checked.sync.store}")\n`,
      )
      return 0
    }
    case 'push': {
      const file = need(operand, 'config push needs a FILE')
      const api = apiOf(values, io)
      // Checked here first: a file the edge would refuse is not sent at all.
      validateFile(file, io, values.patch)
      const body = io.readFile(file)
      const answer = await api.call(values.patch ? 'PATCH' : 'PUT', '/api/config', {
        body,
        ifMatch: values['if-match'],
      })
      if (values.json) io.out(`${JSON.stringify(answer, null, 2)}\n`)
      else io.out(`Pushed ${file}: version ${(answer as { version: number }).version} is live\n`)
      return 0
    }
    case 'pull': {
      if (operand !== undefined) throw new CliError(2, `Unexpected argument "${operand}"`)
      const api = apiOf(values, io)
      const answer = await api.call('GET', '/api/config') as {
        version: number
        running: number
        config: unknown
      }
      const text = `${JSON.stringify(values.json ? answer : answer.config, null, 2)}\n`
      if (values.out !== undefined) {
        try {
          io.writeFile(values.out, text)
        } catch (error) {
          throw new CliError(1, `Cannot write "${values.out}": ${describe(error)}`)
        }
        io.err(`Version ${answer.version} written to ${values.out}\n`)
      } else {
        io.out(text)
        io.err(`Version ${answer.version} (this isolate runs ${answer.running})\n`)
      }
      return 0
    }
    case 'history': {
      if (operand !== undefined) throw new CliError(2, `Unexpected argument "${operand}"`)
      const api = apiOf(values, io)
      const limit = values.limit ?? '20'
      if (!/^[1-9]\d*$/.test(limit)) {
        throw new CliError(2, `--limit must be a whole number ≥ 1, got "${limit}"`)
      }
      const answer = await api.call('GET', `/api/config/history?limit=${limit}`) as {
        running: number
        versions: { version: number; updatedAt: number | null; config: unknown }[]
      }
      if (values.json) {
        io.out(`${JSON.stringify(answer, null, 2)}\n`)
        return 0
      }
      const rows = answer.versions.map((v) => {
        const routes = routeCount(v.config)
        const when = v.updatedAt === null ? 'deployed' : new Date(v.updatedAt).toISOString()
        const mark = v.version === answer.running ? '  ← this isolate runs it' : ''
        return `${String(v.version).padStart(7)}  ${when.padEnd(24)}  ${routes} routes${mark}`
      })
      io.out(`version  uploaded                  config\n${rows.join('\n')}\n`)
      return 0
    }
    case 'rollback': {
      const raw = need(operand, 'config rollback needs a VERSION')
      if (!/^\d+$/.test(raw)) throw new CliError(2, `VERSION must be a whole number, got "${raw}"`)
      const api = apiOf(values, io)
      const answer = await api.call('POST', '/api/config/rollback', {
        body: JSON.stringify({ version: Number(raw) }),
        ifMatch: values['if-match'],
      }) as { version: number }
      if (values.json) io.out(`${JSON.stringify(answer, null, 2)}\n`)
      else io.out(`Rolled back to version ${raw}'s config: version ${answer.version} is live\n`)
      return 0
    }
    case undefined:
      throw new CliError(2, `config needs a command\n\n${USAGE}`)
    default:
      throw new CliError(2, `Unknown config command "${command}"\n\n${USAGE}`)
  }
}

function need(value: string | undefined, message: string): string {
  if (value === undefined) throw new CliError(2, `${message}\n\n${USAGE}`)
  return value
}

/** Reads and checks a config file; a patch is only checked to be a JSON object. */
function validateFile(file: string, io: CliIo, patch = false) {
  let text: string
  try {
    text = io.readFile(file)
  } catch (error) {
    throw new CliError(1, `Cannot read "${file}": ${describe(error)}`)
  }
  let input: unknown
  try {
    input = JSON.parse(text)
  } catch (error) {
    throw new CliError(1, `${file}: not valid JSON: ${describe(error)}`)
  }
  if (patch) {
    if (typeof input !== 'object' || input === null || Array.isArray(input)) {
      throw new CliError(1, `${file}: a config patch is a JSON object`)
    }
    return parseEdgeConfig({})
  }
  try {
    const config = parseEdgeConfig(input)
    // The backend's name is checked where the edge starts; offline, against the same table.
    const unknown = storeKindProblems(config.sync.store)
    if (unknown.length > 0) throw new ConfigError(unknown)
    return config
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    throw new CliError(1, `${file}: ${listProblems(error.problems)}`)
  }
}

function listProblems(problems: { path: string; message: string }[]): string {
  const n = problems.length
  return `${n} problem${n === 1 ? '' : 's'}\n` +
    problems.map((p) => `  - ${p.path || '(root)'}: ${p.message}`).join('\n')
}

interface Api {
  call(
    method: string,
    path: string,
    options?: { body?: string; ifMatch?: string | undefined },
  ): Promise<unknown>
}

function apiOf(values: { url?: string | undefined; prefix?: string | undefined }, io: CliIo): Api {
  const url = values.url ?? io.env('RHEOSTAT_URL')
  if (url === undefined || url === '') {
    throw new CliError(2, 'Give the deployment with --url URL (or RHEOSTAT_URL)')
  }
  let base: URL
  try {
    base = new URL(url)
  } catch {
    throw new CliError(2, `--url must be an http(s) URL, got "${url}"`)
  }
  if (base.protocol !== 'http:' && base.protocol !== 'https:') {
    throw new CliError(2, `--url must be an http(s) URL, got "${url}"`)
  }
  const token = io.env('RHEOSTAT_ADMIN_TOKEN')
  if (token === undefined || token === '') {
    throw new CliError(
      2,
      "Set RHEOSTAT_ADMIN_TOKEN to the deployment's admin token (npm start prints the local one)",
    )
  }
  // The token goes in a header of every request: over plain http it crosses the network readable.
  if (base.protocol === 'http:' && !LOOPBACK.test(base.hostname)) {
    io.err(
      `rheostat: warning: ${base.host} is not a loopback address and --url is http: the admin ` +
        'token travels unencrypted; use https\n',
    )
  }
  const prefix = (values.prefix ?? '/__rheostat').replace(/\/+$/, '')
  const root = base.href.replace(/\/+$/, '')
  return {
    async call(method, path, options = {}) {
      const headers = new Headers({ authorization: `Bearer ${token}`, accept: 'application/json' })
      if (options.body !== undefined) headers.set('content-type', 'application/json')
      if (options.ifMatch !== undefined) {
        if (!/^\d+$/.test(options.ifMatch)) {
          throw new CliError(2, `--if-match must be a version number, got "${options.ifMatch}"`)
        }
        headers.set('if-match', `"${options.ifMatch}"`)
      }
      const target = `${root}${prefix}${path}`
      let response: Response
      try {
        response = await io.fetch(
          new Request(target, { method, headers, body: options.body ?? null }),
        )
      } catch (error) {
        throw new CliError(1, `Cannot reach ${root}: ${describe(error)}`)
      }
      const text = await response.text()
      let body: unknown = undefined
      try {
        body = JSON.parse(text)
      } catch {
        // Not JSON: reported below with the status.
      }
      if (response.ok && body !== undefined) return body
      throw new CliError(1, refusal(method, target, response.status, body, text))
    },
  }
}

/** A refusal in words: the problem's title and detail, then each problem's path and reason. */
function refusal(method: string, url: string, status: number, body: unknown, text: string): string {
  const p = (typeof body === 'object' && body !== null ? body : {}) as {
    title?: string
    detail?: string
    problems?: { path: string; message: string }[]
  }
  const head = `${method} ${url} answered ${status}${p.title ? ` ${p.title}` : ''}`
  const lines = [head]
  if (p.detail) lines.push(p.detail)
  else if (body === undefined && text !== '') lines.push(text.slice(0, 300))
  if (Array.isArray(p.problems) && p.problems.length > 0) lines.push(listProblems(p.problems))
  if (status === 401) lines.push('Check RHEOSTAT_ADMIN_TOKEN: the deployment did not accept it')
  if (status === 404 && p.detail?.includes('admin API is off')) {
    lines.push('The deployment has no RHEOSTAT_ADMIN_TOKEN secret set')
  }
  return lines.join('\n')
}

function routeCount(config: unknown): number {
  const routes = (config as { routes?: unknown })?.routes
  return Array.isArray(routes) ? routes.length : 0
}

function describe(error: unknown): string {
  if (error instanceof Error) {
    const cause = (error as { cause?: unknown }).cause
    return cause instanceof Error ? `${error.message} (${cause.message})` : error.message
  }
  return String(error)
}

/**
 * The command line: `rheostat config …` or `rheostat tunnel …`.
 *
 * @param argv The arguments after the program name.
 * @param io Output, environment, files and fetch.
 * @returns The exit code.
 */
export async function main(argv: string[], io: CliIo = nodeIo): Promise<number> {
  const [group, ...rest] = argv
  try {
    switch (group) {
      case 'config':
        return await runConfig(rest, io)
      case '-h':
      case '--help':
        io.out(`${USAGE}\n`)
        return 0
      case undefined:
        throw new CliError(2, USAGE)
      default:
        throw new CliError(2, `Unknown command "${group}"\n\n${USAGE}`)
    }
  } catch (error) {
    if (!(error instanceof CliError)) throw error
    io.err(`rheostat: ${error.message}\n`)
    return error.code
  }
}

if (import.meta.main) {
  if (process.argv[2] === 'tunnel') {
    // The tunnel command runs as its own module does: on import, from process.argv.
    process.argv.splice(2, 1)
    await import('./tunnel.ts')
  } else {
    process.exitCode = await main(process.argv.slice(2))
  }
}
