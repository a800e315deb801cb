/**
 * The Upstash client of the stores: an `@upstash/redis` `Redis`. `upstashClient()` builds one
 * with the settings the stores want; a client of your own works too (`UpstashClient` is the two
 * methods the stores call). Scripts run as `@upstash/redis`'s `Script.exec` runs them: `EVALSHA`
 * by the pinned hash, `EVAL` after a `NOSCRIPT` error.
 *
 * @module
 */

import { Redis } from '@upstash/redis/cloudflare'
import type { PinnedScript } from './scripts.ts'

/**
 * The calls the Upstash stores make: `EVAL` and `EVALSHA` of an `@upstash/redis` `Redis` (any
 * client with these two methods will do).
 */
export type UpstashClient = Pick<Redis, 'eval' | 'evalsha'>

/** Options of `upstashClient()`. */
export interface UpstashClientOptions {
  /** REST URL of the database (`UPSTASH_REDIS_REST_URL`). */
  url: string
  /** REST token of the database (`UPSTASH_REDIS_REST_TOKEN`). A secret: never in errors. */
  token: string
}

/**
 * The signal of the store call being sent, per client `upstashClient()` built. `@upstash/redis`
 * takes a signal per client, not per command, but reads a function-valued one synchronously
 * when a command is sent: `runPinned` puts the call's signal here for exactly that moment.
 */
const sending = new WeakMap<object, { signal: AbortSignal | undefined }>()

/**
 * Creates an `@upstash/redis` client set up for the stores.
 *
 * - No auto-pipelining: one command per request, so a store call can be cancelled on its own
 *   (the governor aborts an exchange at its sync timeout) and costs one request.
 * - No retries: the governor is the one place that re-sends (docs/sync.md, "Exchange delivery"):
 *   an exchange whose answer was lost must not be counted twice, and a retry's back-off would run
 *   past the sync timeout anyway.
 * - No base64 answers (the scripts answer numbers and JSON text) and no telemetry headers.
 *   Read-your-writes stays on: what one client wrote, it reads back, also from a replica of a
 *   global database.
 *
 * It is the fetch-only build of `@upstash/redis` (its `/cloudflare` entry, which needs neither
 * `process` nor `Buffer`), so it runs unchanged in Workers, Deno and Node.
 *
 * @param options Database URL and token.
 * @returns The client: a `Redis` you may use for other commands too.
 * @throws {TypeError} If `url` is not an http(s) URL.
 *
 * @example Usage
 * ```ts
 * import { upstashClient } from './client.ts'
 * const redis = upstashClient({ url: 'https://db.upstash.example', token: 'secret' })
 * if (typeof redis.evalsha !== 'function') throw new Error('an @upstash/redis client')
 * ```
 */
export function upstashClient({ url, token }: UpstashClientOptions): Redis {
  let parsed: URL
  try {
    parsed = new URL(url)
  } catch {
    throw new TypeError('Cannot use the Upstash URL: not a URL')
  }
  if (parsed.protocol !== 'https:' && parsed.protocol !== 'http:') {
    throw new TypeError(
      `Cannot use Upstash URL protocol "${parsed.protocol}": expected http or https`,
    )
  }
  const slot = { signal: undefined as AbortSignal | undefined }
  const redis = new Redis({
    url,
    token,
    retry: { retries: 0 },
    // The scripts answer numbers and JSON text: base64 would only add work on both ends.
    responseEncoding: false,
    enableAutoPipelining: false,
    enableTelemetry: false,
    // The type says a function must give a signal; @upstash/redis passes undefined on to fetch.
    signal: () => slot.signal as AbortSignal,
  })
  sending.set(redis, slot)
  return redis
}

/**
 * Runs a pinned script: `EVALSHA` by its hash, and `EVAL` (which also caches it) when Redis does
 * not know it yet (`NOSCRIPT`): one request in the common case, two the first time.
 *
 * @param client The client.
 * @param script The script and its SHA1.
 * @param keys The script's KEYS.
 * @param args The script's ARGV.
 * @param signal Cancels the request, on a client `upstashClient()` built (others finish it).
 * @returns The script's reply.
 * @throws {Error} Any other failure: "Upstash EVALSHA failed: …" with Redis' or the network's
 * reason (the command itself, which `@upstash/redis` appends, is left out).
 *
 * @example Usage
 * ```ts
 * import { runPinned, type UpstashClient } from './client.ts'
 * const calls: string[] = []
 * const client = {
 *   evalsha: () => { calls.push('EVALSHA'); return Promise.reject(new Error('NOSCRIPT')) },
 *   eval: () => { calls.push('EVAL'); return Promise.resolve(1) },
 * } as unknown as UpstashClient
 * const reply = await runPinned(client, { script: 'return 1', hash: 'e0e1f9fa' }, [], [])
 * if (reply !== 1 || calls.join() !== 'EVALSHA,EVAL') throw new Error('falls back to EVAL')
 * ```
 */
export async function runPinned(
  client: UpstashClient,
  script: PinnedScript,
  keys: string[],
  args: string[],
  signal?: AbortSignal,
): Promise<unknown> {
  try {
    return await send(client, signal, () => client.evalsha(script.hash, keys, args))
  } catch (error) {
    if (!(error instanceof Error) || !error.message.toLowerCase().includes('noscript')) {
      throw failure('EVALSHA', error)
    }
  }
  try {
    return await send(client, signal, () => client.eval(script.script, keys, args))
  } catch (error) {
    throw failure('EVAL', error)
  }
}

/** Sends one command with `signal` in the client's slot while the command is sent. */
function send(
  client: UpstashClient,
  signal: AbortSignal | undefined,
  command: () => Promise<unknown>,
): Promise<unknown> {
  const slot = sending.get(client)
  if (slot === undefined || signal === undefined) return command()
  if (signal.aborted) return Promise.reject(signal.reason)
  slot.signal = signal
  try {
    return command()
  } finally {
    slot.signal = undefined
  }
}

function failure(command: string, error: unknown): Error {
  const text = error instanceof Error ? error.message : String(error)
  // @upstash/redis appends the whole command (the script, a config being uploaded) to its errors.
  const reason = text.split(', command was: ')[0]!.slice(0, 300)
  return new Error(`Upstash ${command} failed: ${reason}`, { cause: error })
}
