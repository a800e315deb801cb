/**
 * The smallest client of the Upstash REST API the store needs: one command per `POST /`, JSON in
 * and out, `{ "result": … }` or `{ "error": "…" }` back. It replaces `@upstash/redis` inside
 * the Worker bundle (about 23 KiB gzip of a 64 KiB budget) for the two calls the stores make;
 * any `@upstash/redis` client still fits `UpstashClient` where one is at hand.
 *
 * No retries (an exchange adds deltas: re-sending one whose answer was lost would count it twice;
 * the governor bounds each call and carries on without the store), no base64 encoding (the
 * scripts answer numbers and ASCII strings), and the token never appears in an error.
 *
 * @module
 */

import type { PinnedScript } from './scripts.ts'

/** The calls the Upstash stores make: `EVAL` and `EVALSHA`. */
export interface UpstashClient {
  /** `signal`: cancels the request where the client can (`upstashRest` does). */
  eval(script: string, keys: string[], args: string[], signal?: AbortSignal): Promise<unknown>
  evalsha(sha1: string, keys: string[], args: string[], signal?: AbortSignal): Promise<unknown>
}

/** Options of `upstashRest()`. */
export interface UpstashRestOptions {
  /** REST URL of the database (`UPSTASH_REDIS_REST_URL`). */
  url: string
  /** REST token of the database (`UPSTASH_REDIS_REST_TOKEN`). A secret: never in errors. */
  token: string
  /**
   * How requests are sent.
   * @default the global fetch
   */
  fetch?: ((request: Request) => Promise<Response>) | undefined
}

/**
 * Creates a REST client for `EVAL`/`EVALSHA`.
 *
 * @param options Database URL, token and fetch.
 * @returns The client.
 * @throws {TypeError} If `url` is not an http(s) URL.
 *
 * @example Usage
 * ```ts
 * import { upstashRest } from './rest.ts'
 * const client = upstashRest({
 *   url: 'https://db.upstash.example',
 *   token: 'secret',
 *   fetch: async (request) => Response.json({ result: (await request.json())[0] }),
 * })
 * if (await client.eval('return 1', [], []) !== 'EVAL') throw new Error('one command per POST')
 * ```
 */
export function upstashRest(options: UpstashRestOptions): UpstashClient {
  const url = new URL(options.url)
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new TypeError(`Cannot use Upstash URL protocol "${url.protocol}": expected http or https`)
  }
  const endpoint = url.href
  const authorization = `Bearer ${options.token}`
  const send = options.fetch ?? ((request: Request) => fetch(request))

  async function command(
    name: string,
    first: string,
    keys: string[],
    args: string[],
    signal: AbortSignal | undefined,
  ) {
    const response = await send(
      new Request(endpoint, {
        method: 'POST',
        headers: { authorization, 'content-type': 'application/json' },
        body: JSON.stringify([name, first, String(keys.length), ...keys, ...args]),
        signal,
      }),
    )
    let body: unknown
    try {
      body = await response.json()
    } catch {
      throw new Error(`Upstash answered ${response.status} without a JSON body`)
    }
    if (typeof body === 'object' && body !== null) {
      const { error, result } = body as { error?: unknown; result?: unknown }
      if (typeof error === 'string') throw new Error(`Upstash ${name} failed: ${error}`)
      if (response.ok && 'result' in body) return result
    }
    throw new Error(`Upstash answered ${response.status} with an unexpected body`)
  }

  return {
    eval: (script, keys, args, signal) => command('EVAL', script, keys, args, signal),
    evalsha: (sha1, keys, args, signal) => command('EVALSHA', sha1, keys, args, signal),
  }
}

/**
 * Runs a pinned script: `EVALSHA` by its hash, and `EVAL` (which also caches it) when Redis does
 * not know it yet (`NOSCRIPT`): one request in the common case, two the first time.
 *
 * @param client The client.
 * @param script The script and its SHA1.
 * @param keys The script's KEYS.
 * @param args The script's ARGV.
 * @returns The script's reply.
 * @throws {Error} Any other failure, as the client reported it.
 *
 * @example Usage
 * ```ts
 * import { runPinned } from './rest.ts'
 * const calls: string[] = []
 * const client = {
 *   evalsha: () => { calls.push('EVALSHA'); return Promise.reject(new Error('NOSCRIPT')) },
 *   eval: () => { calls.push('EVAL'); return Promise.resolve(1) },
 * }
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
  // Only passed on when there is one: @upstash/redis's eval takes no fourth argument.
  const tail: [AbortSignal?] = signal === undefined ? [] : [signal]
  try {
    return await client.evalsha(script.hash, keys, args, ...tail)
  } catch (error) {
    if (!(error instanceof Error) || !/NOSCRIPT/i.test(error.message)) throw error
    return await client.eval(script.script, keys, args, ...tail)
  }
}
