/**
 * One spelling per path: the request path is normalised before any route is matched, and the
 * proxy forwards the normalised path, so the origin serves exactly what the route table governed.
 * docs/http.md "Paths".
 *
 * - Percent-escapes of unreserved characters (RFC 3986 §2.3: `A-Z a-z 0-9 - . _ ~`) are decoded,
 *   every other escape's hex digits are upper-cased (RFC 3986 §6.2.2.1, §6.2.2.2).
 * - Repeated slashes are merged into one.
 * - Dot segments (`.`, `..`, in any spelling) are resolved (RFC 3986 §5.2.4); `..` never climbs
 *   above the root.
 *
 * Encoded separators (`%2F` for `/`, `%5C` for `\`) stay encoded: whether a path holding one is
 * refused is the route's choice (`match.encodedSlashes`), made after matching.
 *
 * @module
 */

const HEX = '0123456789ABCDEF'

function hexValue(code: number): number {
  if (code >= 48 && code <= 57) return code - 48
  const upper = code & ~32
  if (upper >= 65 && upper <= 70) return upper - 55
  return -1
}

function isUnreserved(code: number): boolean {
  return (code >= 65 && code <= 90) || (code >= 97 && code <= 122) || (code >= 48 && code <= 57) ||
    code === 45 || code === 46 || code === 95 || code === 126
}

/**
 * Normalises a URL pathname (as `new URL(request.url).pathname` gives it).
 *
 * @param pathname A pathname starting with `/`.
 * @returns The normalised pathname; the same string when it was already normal (no allocation).
 *
 * @example Usage
 * ```ts
 * import { normalizePath } from './path.ts'
 * if (normalizePath('/api/%73earch//q') !== '/api/search/q') throw new Error('one spelling')
 * if (normalizePath('/a/b/%2e%2E/c') !== '/a/c') throw new Error('dot segments')
 * if (normalizePath('/a/..%2fb') !== '/a/..%2Fb') throw new Error('encoded slash kept')
 * ```
 */
export function normalizePath(pathname: string): string {
  // The common case: nothing to decode, no empty segment. WHATWG URL parsing has already
  // resolved plain and %2e dot segments, so such a path is normal as it is.
  if (pathname.indexOf('%') === -1 && pathname.indexOf('//') === -1) return pathname
  const out: string[] = []
  const segments = pathname.split('/')
  const last = segments.length - 1
  for (let i = 1; i <= last; i++) {
    const segment = decodeUnreserved(segments[i] as string)
    if (segment === '' || segment === '.') {
      // An empty or `.` segment at the end keeps the trailing slash.
      if (i === last) out.push('')
      continue
    }
    if (segment === '..') {
      out.pop()
      if (i === last) out.push('')
      continue
    }
    out.push(segment)
  }
  return '/' + out.join('/')
}

/** Decodes unreserved escapes of one segment and upper-cases the hex of the others. */
function decodeUnreserved(segment: string): string {
  if (segment.indexOf('%') === -1) return segment
  let out = ''
  let from = 0
  for (let i = segment.indexOf('%'); i !== -1; i = segment.indexOf('%', i + 1)) {
    const hi = hexValue(segment.charCodeAt(i + 1))
    const lo = hexValue(segment.charCodeAt(i + 2))
    if (hi < 0 || lo < 0) continue
    const code = hi * 16 + lo
    out += segment.slice(from, i) +
      (isUnreserved(code) ? String.fromCharCode(code) : '%' + HEX[hi] + HEX[lo])
    from = i + 3
    i += 2
  }
  return out + segment.slice(from)
}

/**
 * Whether a normalised path holds an encoded separator: `%2F` (`/`) or `%5C` (`\`). An origin or
 * front server that decodes one sees different segments than the route table did.
 *
 * @example Usage
 * ```ts
 * import { hasEncodedSeparator, normalizePath } from './path.ts'
 * if (!hasEncodedSeparator(normalizePath('/a/..%2fadmin'))) throw new Error('%2F')
 * if (hasEncodedSeparator('/a/b%20c')) throw new Error('a space is no separator')
 * ```
 */
export function hasEncodedSeparator(normalized: string): boolean {
  return normalized.indexOf('%') !== -1 &&
    (normalized.indexOf('%2F') !== -1 || normalized.indexOf('%5C') !== -1)
}
