/**
 * Reading admin request bodies: size-limited (the declared length and the bytes actually sent),
 * JSON only, and every refusal a problem+json response.
 *
 * @module
 */

import type { Context } from 'hono'
import { DEFAULT_PROBLEM_TYPE_BASE, problemResponse } from '../http/responses.ts'

/** A body read: its parsed JSON, or the response refusing it. */
export type BodyRead = { ok: true; value: unknown } | { ok: false; response: Response }

/**
 * Reads a JSON body of at most `maxBytes` bytes. Refusals: 415 (not JSON), 413 (too large,
 * whether declared by Content-Length or found while reading), 400 (not valid JSON).
 *
 * @param c The request context.
 * @param maxBytes Largest body accepted, bytes (the config's `admin.maxBodyBytes`).
 * @param problemTypeBase Prefix of problem types.
 * @returns The parsed value, or the refusal to answer with.
 *
 * @example Usage
 * ```ts
 * import { Hono } from 'hono'
 * import { readJsonBody } from './body.ts'
 * const app = new Hono().post('/', async (c) => {
 *   const body = await readJsonBody(c, 16)
 *   return body.ok ? c.json(body.value) : body.response
 * })
 * const res = await app.request('/', {
 *   method: 'POST',
 *   headers: { 'content-type': 'application/json' },
 *   body: JSON.stringify({ far: 'too long for sixteen bytes' }),
 * })
 * if (res.status !== 413) throw new Error('too large')
 * ```
 */
export async function readJsonBody(
  c: Context,
  maxBytes: number,
  problemTypeBase: string = DEFAULT_PROBLEM_TYPE_BASE,
): Promise<BodyRead> {
  const refuse = (status: number, title: string, detail: string): BodyRead => ({
    ok: false,
    response: problemResponse({
      type: `${problemTypeBase}${title.toLowerCase().replaceAll(' ', '-')}`,
      title,
      status,
      detail,
    }),
  })
  const type = c.req.header('content-type') ?? ''
  if (!/^application\/([a-z0-9.+-]*\+)?json\b/i.test(type)) {
    return refuse(
      415,
      'Unsupported media type',
      'Send the body as "Content-Type: application/json"',
    )
  }
  const tooLarge = () =>
    refuse(413, 'Content too large', `The body exceeds the admin API's limit of ${maxBytes} bytes`)
  const declared = Number(c.req.header('content-length'))
  if (Number.isFinite(declared) && declared > maxBytes) return tooLarge()

  const body = c.req.raw.body
  if (body === null) return refuse(400, 'Invalid JSON', 'The body is empty: send a JSON document')
  const reader = body.getReader()
  const chunks: Uint8Array[] = []
  let size = 0
  for (;;) {
    const { done, value } = await reader.read()
    if (done) break
    size += value.byteLength
    if (size > maxBytes) {
      await reader.cancel()
      return tooLarge()
    }
    chunks.push(value)
  }
  const bytes = new Uint8Array(size)
  let at = 0
  for (const chunk of chunks) {
    bytes.set(chunk, at)
    at += chunk.byteLength
  }
  try {
    return { ok: true, value: JSON.parse(new TextDecoder().decode(bytes)) }
  } catch (error) {
    return refuse(
      400,
      'Invalid JSON',
      `The body is not valid JSON: ${error instanceof Error ? error.message : String(error)}`,
    )
  }
}
