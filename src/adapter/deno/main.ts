/**
 * `deno task start`: the Rheostat proxy on Deno, served with `Deno.serve` on 127.0.0.1.
 *
 * ```sh
 * deno task start --config examples/deno-deploy/rheostat.json [--port 8000] [--hostname 127.0.0.1]
 * RHEOSTAT_CONFIG="$(cat rheostat.json)" PORT=8000 deno task start
 * ```
 *
 * The config comes from `--config FILE`, else the `RHEOSTAT_CONFIG` environment variable. It is
 * validated in full before anything listens: an invalid one prints every problem and exits with
 * status 1, never serving a half-applied config. The store is the one `sync.store` names
 * (absent: memory); `"upstash"` reads `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`.
 *
 * @module
 */

import { ConfigError } from '../../config/schema.ts'
import { createDenoHandler, type EnvReader } from './handler.ts'

/** The command line, parsed. */
export interface CliArgs {
  config?: string | undefined
  port?: string | undefined
  hostname?: string | undefined
  help: boolean
}

export const USAGE = `Usage: deno task start [--config FILE] [--port N] [--hostname HOST]

  --config FILE    the edge config (JSON); default: the RHEOSTAT_CONFIG environment variable
  --port N         port to listen on; default: PORT, else 8000 (0 picks a free one)
  --hostname HOST  address to listen on; default: 127.0.0.1

Upstash (shared state between isolates) when UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN
are set, else state stays in this process.`

/**
 * Parses `--config FILE`, `--port N`, `--hostname HOST` (also as `--name=value`) and `--help`.
 *
 * @throws {Error} For an unknown argument or a missing value.
 *
 * @example Usage
 * ```ts
 * import { parseArgs } from './main.ts'
 * const args = parseArgs(['--config', 'rheostat.json', '--port=9001'])
 * if (args.config !== 'rheostat.json' || args.port !== '9001') throw new Error('parsed')
 * ```
 */
export function parseArgs(argv: readonly string[]): CliArgs {
  const out: CliArgs = { help: false }
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i] as string
    if (arg === '--help' || arg === '-h') {
      out.help = true
      continue
    }
    const eq = arg.indexOf('=')
    const name = eq === -1 ? arg : arg.slice(0, eq)
    if (name !== '--config' && name !== '--port' && name !== '--hostname') {
      throw new Error(`Unknown argument "${arg}"`)
    }
    let value: string | undefined
    if (eq !== -1) value = arg.slice(eq + 1)
    else value = argv[++i]
    if (value === undefined || value === '') throw new Error(`Argument "${name}" needs a value`)
    out[name.slice(2) as 'config' | 'port' | 'hostname'] = value
  }
  return out
}

/** What `main` needs from the outside world, injectable for tests. */
export interface MainIo {
  env: EnvReader
  readTextFile(path: string): Promise<string>
  log(line: string): void
  error(line: string): void
}

const denoIo: MainIo = {
  env: (name) => Deno.env.get(name),
  readTextFile: (path) => Deno.readTextFile(path),
  log: (line) => console.log(line),
  error: (line) => console.error(line),
}

/**
 * Runs the proxy until SIGINT or SIGTERM; resolves to the process exit status. Nothing listens
 * before the config, the port and the store have all been accepted.
 *
 * @param argv The command-line arguments.
 * @param io Environment, file reading and output.
 * @returns 0 after a clean shutdown, 1 for a config problem, 2 for a usage error.
 */
export async function main(argv: readonly string[], io: MainIo = denoIo): Promise<number> {
  let args: CliArgs
  try {
    args = parseArgs(argv)
  } catch (error) {
    io.error(`${(error as Error).message}\n\n${USAGE}`)
    return 2
  }
  if (args.help) {
    io.log(USAGE)
    return 0
  }

  let text: string | undefined
  let source: string
  if (args.config !== undefined) {
    source = args.config
    try {
      text = await io.readTextFile(args.config)
    } catch (error) {
      io.error(`Cannot read config file "${args.config}": ${(error as Error).message}`)
      return 1
    }
  } else {
    source = 'RHEOSTAT_CONFIG'
    text = io.env('RHEOSTAT_CONFIG')
    if (text === undefined || text.trim() === '') {
      io.error(`No config: pass --config FILE or set RHEOSTAT_CONFIG\n\n${USAGE}`)
      return 1
    }
  }

  const portText = args.port ?? io.env('PORT') ?? '8000'
  const port = Number(portText)
  if (!/^\d+$/.test(portText) || port > 65535) {
    io.error(`Cannot listen on port "${portText}": expected a whole number in 0..65535`)
    return 2
  }
  const hostname = args.hostname ?? '127.0.0.1'

  let handler
  try {
    handler = createDenoHandler({ config: text, env: io.env })
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error
    io.error(`${error.message}\n(from ${source}; not serving: fix the config and start again)`)
    return 1
  }

  const { governor, sync, config } = handler
  const server = Deno.serve({
    hostname,
    port,
    onListen: (addr) => {
      io.log(
        `Rheostat on Deno listening on http://${addr.hostname}:${addr.port}/ ` +
          `(engine ${governor.engineKind}, store ${sync.status().store}, ` +
          `${config.routes.length} route${config.routes.length === 1 ? '' : 's'})`,
      )
    },
  }, handler.fetch)

  const stop = () => void server.shutdown()
  for (const signal of ['SIGINT', 'SIGTERM'] as const) Deno.addSignalListener(signal, stop)
  await server.finished
  for (const signal of ['SIGINT', 'SIGTERM'] as const) Deno.removeSignalListener(signal, stop)
  // The deltas since the last exchange would otherwise be lost with the process.
  await sync.syncNow()
  return 0
}

if (import.meta.main) Deno.exit(await main(Deno.args))
