/**
 * The client address on Deno: `Deno.serve` hands the connection info to the handler, and the
 * proxy app receives it as Hono's `c.env`.
 *
 * @module
 */

import type { Context } from 'hono'

/** The Hono environment of an app served by `Deno.serve(app.fetch)`. */
export type DenoEnv = { Bindings: Deno.ServeHandlerInfo | undefined }

/**
 * Reads the peer's IP address from the connection info Deno passed as `c.env`. Undefined for a
 * Unix socket or when the app runs without it (`app.request`), so X-Forwarded-For is then left as
 * it came.
 *
 * @param c The request context.
 * @returns The remote IP address, or undefined.
 *
 * @example Usage
 * ```ts
 * import { Hono } from 'hono'
 * import { denoClientIp, type DenoEnv } from './conninfo.ts'
 * const app = new Hono<DenoEnv>().get('/', (c) => c.text(denoClientIp(c) ?? 'none'))
 * const info = { remoteAddr: { transport: 'tcp', hostname: '203.0.113.7', port: 4711 } }
 * const res = await app.request('/', {}, info as Deno.ServeHandlerInfo)
 * if (await res.text() !== '203.0.113.7') throw new Error('ip')
 * ```
 */
export function denoClientIp(c: Context<DenoEnv>): string | undefined {
  const addr = (c.env as Deno.ServeHandlerInfo | undefined)?.remoteAddr
  if (addr === undefined || addr === null) return undefined
  return addr.transport === 'tcp' || addr.transport === 'udp' ? addr.hostname : undefined
}
