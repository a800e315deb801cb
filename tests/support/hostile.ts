// Hostile requests for the proxy fuzz suites (issue 12, item 8), shared by Node (a real loopback
// origin) and workerd (the proxy's `fetch` option as the origin): methods, path spellings,
// header sets and body sizes, and the invariants every answer must keep.
import fc from 'fast-check'
import type { Hono } from 'hono'
import type { GovernorConfigInput } from '../../src/config/schema.ts'
import { parseConfig } from '../../src/config/schema.ts'
import type { Governor } from '../../src/governor/governor.ts'
import { compileRoutes } from '../../src/http/routes.ts'

/** The config every fuzz suite governs: literal, prefix, URLPattern and method-filtered routes. */
export function fuzzConfig(origin: string): GovernorConfigInput {
  return {
    routes: [
      {
        id: 'checkout',
        match: { methods: ['POST'], path: '/api/checkout/*' },
        origin,
        priority: 'critical',
      },
      { id: 'search', match: { path: '/api/search/*' }, origin, priority: 'low' },
      { id: 'user', match: { methods: ['GET'], path: '/users/:id' }, origin },
      { id: 'files', match: { path: '/files/*', allowEncodedSlashes: true }, origin },
      { id: 'asset', match: { path: '/static/app.js' }, origin, priority: 'low' },
      { id: 'api', match: { path: '/api/*' }, origin, priority: 'normal' },
    ],
    unmatched: 'reject',
  }
}

// What the origin saw of one request.
export interface Seen {
  method: string
  /** Path and query as the origin received them. */
  target: string
  headers: Record<string, string>
  bodyBytes: number
}

const UNRESERVED = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-._~'

/** A segment of a canonical path: unreserved characters, never a dot segment. */
const segmentArb = fc.string({
  unit: fc.constantFrom(...UNRESERVED.split('')),
  minLength: 1,
  maxLength: 8,
}).filter((s) => s !== '.' && s !== '..')

/** Canonical paths, mostly under the configured prefixes. */
export const canonicalPathArb: fc.Arbitrary<string> = fc.tuple(
  fc.constantFrom('/api/search', '/api/checkout', '/api', '/users', '/static', '/files', ''),
  fc.array(segmentArb, { minLength: 0, maxLength: 4 }),
  fc.boolean(),
).map(([head, segments, trailing]) => {
  const path = [head, ...segments].join('/') || ''
  const joined = path.startsWith('/') ? path : '/' + path
  return trailing && !joined.endsWith('/') ? joined + '/' : joined
}).map((p) => (p === '' ? '/' : p))

function hex(code: number, upper: boolean): string {
  const h = code.toString(16).padStart(2, '0')
  return '%' + (upper ? h.toUpperCase() : h)
}

/**
 * Another spelling of a canonical path: unreserved characters percent-encoded (either hex case),
 * slashes doubled, `./` and `x/../` inserted. Every spelling means the same path.
 */
export function spellingArb(path: string): fc.Arbitrary<string> {
  const segments = path.split('/').slice(1)
  return fc.array(
    fc.record({
      encode: fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
      upper: fc.boolean(),
      slashes: fc.integer({ min: 1, max: 3 }),
      detour: fc.constantFrom('', '', './', 'zz/../', '%2e/', 'q/%2E%2e/'),
    }),
    { minLength: segments.length, maxLength: segments.length },
  ).map((choices) => {
    let out = ''
    segments.forEach((segment, i) => {
      const c = choices[i]!
      out += '/'.repeat(c.slashes) + c.detour
      out += segment.split('').map((ch, j) =>
        c.encode[j % 16] ? hex(ch.charCodeAt(0), c.upper) : ch
      ).join('')
    })
    return out === '' ? '/' : out
  })
}

/** Methods a client can send through fetch (TRACE, TRACK, CONNECT cannot even be built). */
export const methodArb = fc.constantFrom(
  'GET',
  'HEAD',
  'POST',
  'PUT',
  'DELETE',
  'PATCH',
  'OPTIONS',
  'PROPFIND',
  'PURGE',
)

/** Header sets clients send, hostile ones included. */
export const headersArb: fc.Arbitrary<Record<string, string>> = fc.record({
  'expect': fc.constant('100-continue'),
  'connection': fc.constantFrom(
    'close',
    'keep-alive',
    'x-forwarded-for, x-forwarded-host',
    'content-length',
    'host, authorization, x-extra',
    'upgrade',
    // Not field names at all: Headers.delete would throw on them.
    'x y, (comment), @@, é',
  ),
  'keep-alive': fc.constant('timeout=5'),
  'te': fc.constantFrom('trailers', 'gzip'),
  'upgrade': fc.constant('websocket'),
  'proxy-authorization': fc.constant('Basic Zm9vOmJhcg=='),
  'x-forwarded-for': fc.constantFrom('198.51.100.1', '127.0.0.1, 10.0.0.1', 'garbage'),
  'forwarded': fc.constant('for=198.51.100.1;proto=http'),
  'x-real-ip': fc.constant('10.0.0.1'),
  'cf-connecting-ip': fc.constant('198.51.100.7'),
  'x-priority': fc.constant('critical'),
  'x-extra': fc.string({ unit: fc.constantFrom('a', 'b', ' ', '1', ';'), maxLength: 20 }),
  'authorization': fc.constant('Bearer not-the-admin-token'),
  'host': fc.constantFrom(
    'edge.example',
    'edge.example:8443',
    'edge.example',
    'evil.example/x?',
    'a@b',
  ),
}, { requiredKeys: [] })

/** Body sizes around the thresholds that change how clients send (curl's Expect at 1 KiB). */
export const bodySizeArb = fc.constantFrom(0, 1, 1024, 1025, 65_536, 300_000)

export interface FuzzRequest {
  method: string
  canonical: string
  spelled: string
  headers: Record<string, string>
  bodyBytes: number
}

export const requestArb: fc.Arbitrary<FuzzRequest> = canonicalPathArb.chain((canonical) =>
  fc.record({
    method: methodArb,
    canonical: fc.constant(canonical),
    spelled: spellingArb(canonical),
    headers: headersArb,
    bodyBytes: bodySizeArb,
  })
)

/** What the suites found: counts per answer, for the report. */
export interface FuzzTally {
  runs: number
  byStatus: Record<number, number>
}

/**
 * Sends one fuzz request through `app` and checks the invariants:
 * - no exception; no 5xx (the origin only ever answers 200);
 * - a forwarded request reaches the origin with the canonical path, governed by the route the
 *   canonical path matches (RateLimit policy), with the edge's own forwarding fields;
 * - a refused request (4xx from the edge) reaches no origin and changes no governor state;
 * - nothing stays in flight.
 */
export async function checkRequest(
  app: Hono,
  gov: Governor,
  config: GovernorConfigInput,
  seen: Seen[],
  req: FuzzRequest,
  tally: FuzzTally,
): Promise<void> {
  const table = compileRoutes(parseConfig(config))
  const expected = table.match(req.method, req.canonical)
  const before = snapshotState(gov)
  const seenBefore = seen.length
  const hasBody = req.bodyBytes > 0 && req.method !== 'GET' && req.method !== 'HEAD'
  const res = await app.request(`https://edge.example${req.spelled}`, {
    method: req.method,
    headers: req.headers,
    body: hasBody ? new Uint8Array(req.bodyBytes).fill(97) : null,
  })
  await res.arrayBuffer()
  tally.runs++
  tally.byStatus[res.status] = (tally.byStatus[res.status] ?? 0) + 1
  const where = `${req.method} ${req.spelled} (${req.canonical}) ${JSON.stringify(req.headers)}`
  if (res.status >= 500) throw new Error(`5xx the origin did not send: ${res.status} for ${where}`)
  const forwarded = seen.length > seenBefore
  if (res.status === 200) {
    if (!forwarded) throw new Error(`200 without reaching the origin: ${where}`)
    const got = seen[seen.length - 1]!
    if (got.target !== req.canonical) {
      throw new Error(`origin saw "${got.target}", canonical "${req.canonical}": ${where}`)
    }
    const policy = /^"([^":]+):/.exec(res.headers.get('ratelimit') ?? '')?.[1]
    if (policy !== expected?.id) {
      throw new Error(`governed by "${policy}", canonical route "${expected?.id}": ${where}`)
    }
    // (Connection and Keep-Alive on the wire are the origin client's own: undici sets them.)
    for (const name of ['expect', 'te', 'upgrade', 'proxy-authorization', 'x-real-ip']) {
      if (got.headers[name] !== undefined) throw new Error(`"${name}" reached the origin: ${where}`)
    }
    if (got.headers['forwarded'] !== undefined || got.headers['cf-connecting-ip'] !== undefined) {
      throw new Error(`a client forwarding field reached the origin: ${where}`)
    }
    if (got.headers['x-forwarded-host'] === undefined) {
      throw new Error(`X-Forwarded-Host removed by the client: ${where}`)
    }
    if (hasBody && got.bodyBytes !== req.bodyBytes && req.method !== 'HEAD') {
      throw new Error(`body of ${req.bodyBytes} bytes arrived as ${got.bodyBytes}: ${where}`)
    }
  } else {
    if (forwarded) throw new Error(`${res.status} yet the origin saw the request: ${where}`)
    if (res.status === 404 && expected !== undefined) {
      throw new Error(`404 but the canonical path matches "${expected.id}": ${where}`)
    }
    const after = snapshotState(gov)
    if (after !== before) throw new Error(`a refused request changed state: ${where}`)
  }
  for (const id of gov.routes()) {
    const inflight = gov.snapshot(id)?.inflight
    if (inflight !== 0) throw new Error(`route "${id}" holds ${inflight} in flight after ${where}`)
  }
}

/** The governor's per-route counters and route list, as text for comparison. */
export function snapshotState(gov: Governor): string {
  return JSON.stringify(gov.routes().map((id) => [id, gov.counters(id)]))
}
