/**
 * Bearer token comparison that takes the same time whatever the token sent: both sides are hashed
 * to 32 bytes first, so neither their contents nor their lengths change the comparison's work.
 *
 * @module
 */

const encoder = new TextEncoder()

async function digest(text: string): Promise<Uint8Array> {
  return new Uint8Array(await crypto.subtle.digest('SHA-256', encoder.encode(text)))
}

/**
 * Whether `presented` equals `expected`, compared in constant time.
 *
 * @param presented The token a client sent; undefined when it sent none.
 * @param expected The configured token.
 * @returns True only for an exact match.
 *
 * @example Usage
 * ```ts
 * import { tokenMatches } from './auth.ts'
 * if (!(await tokenMatches('s3cret', 's3cret'))) throw new Error('equal tokens match')
 * if (await tokenMatches('s3cre', 's3cret')) throw new Error('a prefix does not')
 * ```
 */
export async function tokenMatches(
  presented: string | undefined,
  expected: string,
): Promise<boolean> {
  // A missing token is hashed like any other, so "absent" costs what "wrong" costs.
  const [a, b] = await Promise.all([digest(presented ?? ''), digest(expected)])
  let diff = presented === undefined ? 1 : 0
  for (let i = 0; i < a.length; i++) diff |= (a[i] as number) ^ (b[i] as number)
  return diff === 0
}
