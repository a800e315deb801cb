/**
 * `createProxyApp()`: the edge app. A Hono app that matches each request to a config route,
 * asks the governor, and forwards admitted requests to the route's origin, streaming both bodies.
 *
 * @module
 */

import { type Context, type Env, Hono } from 'hono'
import { type GovernorConfig, type GovernorConfigInput, parseEdgeConfig } from '../config/schema.ts'
import type { Clock, Governor } from '../governor/governor.ts'
import type { SyncHook } from '../governor/sync-types.ts'
import {
  answerOutcome,
  type Background,
  contextBackground,
  handOffSync,
  Pass,
  runAdmitted,
  signalAbortsOnDisconnect,
} from './gate.ts'
import {
  appendHeaders,
  DEFAULT_PROBLEM_TYPE_BASE,
  encodedSlashResponse,
  noRouteResponse,
  problemResponse,
  unforwardableResponse,
} from './responses.ts'
import { FORWARDING_FIELDS, trustedPeer } from './forwarding.ts'
import { hasEncodedSeparator, normalizePath } from './path.ts'
import { type CompiledRoute, compileRoutes, DEFAULT_TIMEOUT_MS } from './routes.ts'

/** How the proxy reaches origins: the global `fetch` fits. */
export type FetchLike = (request: Request) => Promise<Response>

/** Reads the client's IP address from the request; runtime-specific, so injected. */
export type GetClientIp<E extends Env = Env> = (c: Context<E>) => string | null | undefined

/** Where unmatched requests go when the config says `unmatched: "pass"`. */
export type Fallback = string | ((request: Request) => Response | Promise<Response>)

/** Options of `createProxyApp()`. */
export interface ProxyAppOptions<E extends Env = Env> {
  /** The governor that decides. */
  governor: Governor
  /**
   * The edge config (validated with `parseEdgeConfig`: every route needs `match` and `origin`).
   * Give the config the governor was made with.
   * @default governor.config
   */
  config?: GovernorConfigInput | GovernorConfig | undefined
  /**
   * Called after every request; a due exchange goes to `c.executionCtx.waitUntil`.
   * @default the governor's own sync (`createGovernor({ store })`), none without a store
   */
  sync?: SyncHook | undefined
  /**
   * How origins are fetched.
   * @default the global fetch
   */
  fetch?: FetchLike | undefined
  /**
   * Clock for origin latency (fetch start to response headers), ms.
   * @default Date.now
   */
  clock?: Clock | undefined
  /**
   * The client IP appended to X-Forwarded-For (`cloudflareClientIp` on Workers).
   * @default none: X-Forwarded-For is passed on unchanged
   */
  getClientIp?: GetClientIp<E> | undefined
  /**
   * For `unmatched: "pass"`: an origin URL to forward unmatched requests to, ungoverned, or a
   * handler for them.
   * @default none: unmatched requests get a 404 problem
   */
  fallback?: Fallback | undefined
  /**
   * Prefix of the proxy's own problem types.
   * @default "urn:rheostat:problem:"
   */
  problemTypeBase?: string | undefined
  /**
   * Set where the runtime's fetch decodes compressed bodies but keeps `Content-Encoding` (Node's
   * undici, Deno): the proxy then drops `Content-Encoding` and `Content-Length` from such
   * responses, and pipes bodies so that a collected origin Response cannot cancel them. Workers
   * re-encode the body themselves and need it off.
   * @default false
   */
  decodedBodies?: boolean | undefined
  /**
   * The admin app (`createAdminApp()`), answering every path under its prefix ahead of the
   * routes: an admin path never reaches an origin.
   * @default none
   */
  admin?: Hono | undefined
  /**
   * Told why an origin could not be reached (the client's 502 says only that it could not: the
   * error may name the origin's internal address).
   * @default none
   */
  onOriginError?: ((error: unknown) => void) | undefined
}

/**
 * Reads the client IP the Cloudflare edge puts in `cf-connecting-ip`. Only trust it on Workers,
 * where the edge sets it; anywhere else a client can send it.
 *
 * @example Usage
 * ```ts
 * import { Hono } from 'hono'
 * import { cloudflareClientIp } from './proxy.ts'
 * const app = new Hono().get('/', (c) => c.text(cloudflareClientIp(c) ?? 'none'))
 * const res = await app.request('/', { headers: { 'cf-connecting-ip': '203.0.113.7' } })
 * if (await res.text() !== '203.0.113.7') throw new Error('ip')
 * ```
 */
export function cloudflareClientIp(c: Context): string | undefined {
  return c.req.header('cf-connecting-ip')
}

// RFC 9110 §7.6.1 names Connection, and the fields it lists, as hop-by-hop; the rest are the
// hop-by-hop fields of RFC 2616 §13.5.1 that proxies still meet. Proxy-Connection is a
// non-standard relic some clients send. Expect (RFC 9110 §10.1.1) asks the next hop for a
// 100 (Continue) that this proxy never relays, and undici's fetch refuses to send it at all.
const HOP_BY_HOP = [
  'connection',
  'expect',
  'keep-alive',
  'proxy-authenticate',
  'proxy-authorization',
  'proxy-connection',
  'te',
  'trailer',
  'transfer-encoding',
  'upgrade',
]

// The encodings undici and Deno decode on their own.
const DECODED_ENCODINGS = new Set(['gzip', 'x-gzip', 'deflate', 'br', 'zstd'])

/**
 * Removes hop-by-hop fields: Connection, every field it names, and the fixed list.
 *
 * @example Usage
 * ```ts
 * import { stripHopByHop } from './proxy.ts'
 * const h = new Headers({ connection: 'close, x-trace', 'x-trace': '1', te: 'trailers', a: 'b' })
 * stripHopByHop(h)
 * if ([...h.keys()].join() !== 'a') throw new Error('stripped')
 * ```
 */
export function stripHopByHop(headers: Headers): void {
  const listed = headers.get('connection')
  if (listed !== null) {
    for (const token of listed.split(',')) {
      const name = token.trim().toLowerCase()
      // A client's Connection cannot remove what the edge or a proxy in front of it vouches for.
      if (name !== '' && !isProtected(name) && HEADER_TOKEN.test(name)) headers.delete(name)
    }
  }
  for (const name of HOP_BY_HOP) headers.delete(name)
}

const HEADER_TOKEN = /^[!#$%&'*+.^_`|~0-9a-z-]+$/

// Fields a Connection option may not remove: the framing of the message and the fields that say
// who the client is (set by the edge, the platform or a trusted proxy in front).
const PROTECTED = new Set([
  'host',
  'content-length',
  'content-type',
  'authorization',
  ...FORWARDING_FIELDS,
])

function isProtected(name: string): boolean {
  return PROTECTED.has(name) || name.startsWith('x-forwarded-') || name.startsWith('cf-')
}

// undici's codes for a request it refuses to send as given: the client's doing, not the origin's.
const REFUSED_CODES = new Set([
  'UND_ERR_NOT_SUPPORTED',
  'UND_ERR_INVALID_ARG',
  'UND_ERR_REQ_CONTENT_LENGTH_MISMATCH',
])

/**
 * Whether a fetch error says the runtime refused to send the request as the client gave it (a
 * field or method it does not support), rather than that the origin could not be reached (DNS,
 * connect, TLS, reset, timeout). Only the second is the origin's failure.
 *
 * @example Usage
 * ```ts
 * import { isRefusedRequest } from './proxy.ts'
 * const cause = Object.assign(new Error('expect header not supported'), {
 *   code: 'UND_ERR_NOT_SUPPORTED',
 * })
 * if (!isRefusedRequest(new TypeError('fetch failed', { cause }))) throw new Error('refused')
 * if (isRefusedRequest(new TypeError('fetch failed'))) throw new Error('unreachable')
 * ```
 */
export function isRefusedRequest(error: unknown): boolean {
  for (let e = error, depth = 0; e instanceof Error && depth < 4; depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && REFUSED_CODES.has(code)) return true
    if (e.name === 'NotSupportedError' || e.name === 'InvalidArgumentError') return true
    e = (e as { cause?: unknown }).cause
  }
  return false
}

// A Host field with a path, query, fragment or userinfo character: runtimes that build
// request.url from Host (Deno.serve, node-server) would take part of it as the path (L11).
const BAD_HOST = /[/?#@\\\s]/

/** An origin URL split for joining: `origin + pathPrefix + incoming path + query`. */
function originPrefix(origin: string): string {
  const url = new URL(origin)
  const path = url.pathname.endsWith('/') ? url.pathname.slice(0, -1) : url.pathname
  return url.origin + path
}

// The forwarding fields dropped from an untrusted peer's request; X-Forwarded-Proto and
// X-Forwarded-Host are not among them because the proxy sets both anyway (one call each less).
const DROPPED_FORWARDING_FIELDS = FORWARDING_FIELDS.filter((name) =>
  name !== 'x-forwarded-proto' && name !== 'x-forwarded-host'
)

/** No fields to add: an unmatched request passed on ungoverned has no RateLimit policy. */
const NO_FIELDS: Readonly<Record<string, string>> = Object.freeze({})

type Forwarded =
  | { kind: 'response'; response: Response }
  | { kind: 'timeout' }
  | { kind: 'unreachable'; error: unknown }
  | { kind: 'refused' }
  | { kind: 'client-closed' }

// What `forward` found when it has no result of its own; shared, as it carries nothing.
const CLIENT_CLOSED: Forwarded = Object.freeze({ kind: 'client-closed' })
const TIMEOUT: Forwarded = Object.freeze({ kind: 'timeout' })
const REFUSED: Forwarded = Object.freeze({ kind: 'refused' })

/**
 * Creates the origin proxy: a Hono app that governs and forwards every request.
 *
 * - The path is normalised (`normalizePath`) before matching and forwarded normalised; a path
 *   with an encoded `/` or `\` answers 400 problem unless its route allows it.
 * - A matched, admitted request goes to `route.origin` + path + query with its method, headers
 *   (hop-by-hop and Expect removed; client forwarding fields dropped unless the peer is one of
 *   `trustedProxies`; X-Forwarded-For/-Proto/-Host set) and streamed body. The origin's response
 *   comes back as it was sent (hop-by-hop removed, RateLimit fields added), 5xx too.
 * - Latency is the time from the origin fetch to its response headers. A 5xx, a 429, an
 *   unreachable origin or a timeout completes the ticket as a failure; a client that hung up and
 *   a request the runtime refused to send cancel it (no sample).
 * - No response headers within the route's `timeoutMs` (10 s by default): 504 problem. Origin not
 *   reached: 502 problem (`origin-unreachable`, no internal address in it). Refused by the
 *   runtime: 400 problem (`request-not-forwardable`). Shed: 503 problem with Retry-After.
 * - Unmatched requests: `unmatched: "reject"` answers 404 problem; `"pass"` goes to `fallback`,
 *   ungoverned, or answers 404 problem when there is none.
 *
 * @param options Governor, config, sync hook, fetch, clock, client IP, fallback.
 * @returns The Hono app.
 * @throws {ConfigError} When a route lacks `match` or `origin`, or a pattern is invalid.
 * @throws {RangeError} When the config names a priority class the governor does not know.
 *
 * @example Usage
 * ```ts
 * import { createGovernor, createProxyApp } from '../mod.ts'
 * const config = {
 *   routes: [{ id: 'api', match: { path: '/api/*' }, origin: 'https://origin.example' }],
 * }
 * const gov = createGovernor({ engine: 'ts', config })
 * const app = createProxyApp({
 *   governor: gov,
 *   fetch: async (request) => new Response(new URL(request.url).pathname),
 * })
 * const res = await app.request('http://edge.example/api/items?page=2')
 * if (await res.text() !== '/api/items') throw new Error('forwarded')
 * ```
 */
export function createProxyApp<E extends Env = Env>(options: ProxyAppOptions<E>): Hono<E> {
  const {
    governor: gov,
    sync = gov.sync,
    clock = Date.now,
    getClientIp,
    fallback,
    problemTypeBase = DEFAULT_PROBLEM_TYPE_BASE,
    decodedBodies = false,
    onOriginError,
  } = options
  const fetchOrigin: FetchLike = options.fetch ?? ((request) => fetch(request))
  const config = parseEdgeConfig(options.config ?? gov.config)
  const known = new Set(gov.config.priorities)
  for (const name of config.priorities) {
    if (!known.has(name)) {
      throw new RangeError(
        `Config priority "${name}" is not one of the governor's classes: create the governor ` +
          'with the same config',
      )
    }
  }
  const table = compileRoutes(config)
  const prefixes = new Map<CompiledRoute, string>()
  for (const route of table.routes) prefixes.set(route, originPrefix(route.origin as string))
  const fallbackPrefix = typeof fallback === 'string' ? originPrefix(fallback) : undefined
  const trusted = trustedPeer(config.trustedProxies)

  /**
   * Sends the request on to the origin; never throws. `host`: the request's Host field. When the
   * client hangs up, the origin fetch is aborted and, with `pass` and `background`, the request's
   * context kept alive until the ticket completes (`Pass.keepAlive`).
   */
  async function forward(
    c: Context<E>,
    url: URL,
    path: string,
    prefix: string,
    timeoutMs: number,
    host: string | null,
    pass?: Pass,
    background?: Background,
  ): Promise<Forwarded> {
    const incoming = c.req.raw
    const headers = new Headers(incoming.headers)
    stripHopByHop(headers)
    headers.delete('host')
    const clientIp = getClientIp?.(c)
    // What a client says about who it is counts only when it came through a proxy the config
    // trusts; otherwise the origin hears the peer's address alone.
    const viaTrusted = trusted(clientIp)
    const prior = viaTrusted ? incoming.headers.get('x-forwarded-for') : null
    if (!viaTrusted) { for (const name of DROPPED_FORWARDING_FIELDS) headers.delete(name) }
    if (clientIp) headers.set('X-Forwarded-For', prior ? `${prior}, ${clientIp}` : clientIp)
    // Set, so whatever the client sent under these two names is replaced.
    headers.set('X-Forwarded-Proto', url.protocol.slice(0, -1))
    headers.set('X-Forwarded-Host', host ?? url.host)

    const controller = new AbortController()
    let timedOut = false
    const timer = setTimeout(() => {
      timedOut = true
      controller.abort(new DOMException(`No response within ${timeoutMs} ms`, 'TimeoutError'))
    }, timeoutMs)
    const clientSignal = incoming.signal as AbortSignal | undefined
    const onClientAbort = () => {
      if (background !== undefined) pass?.keepAlive(background)
      controller.abort(clientSignal?.reason)
    }
    if (clientSignal?.aborted) onClientAbort()
    else clientSignal?.addEventListener('abort', onClientAbort, { once: true })

    const method = incoming.method
    const init: RequestInit & { duplex?: 'half' } = {
      method,
      headers,
      // Streams the client's body on as it arrives; `duplex: 'half'` is what fetch requires
      // for a stream body (ignored where not needed).
      body: method === 'GET' || method === 'HEAD' ? null : incoming.body,
      redirect: 'manual',
      signal: controller.signal,
      duplex: 'half',
    }
    let request: Request
    try {
      request = new Request(prefix + path + url.search, init)
    } catch {
      // The runtime will not build this request (a method fetch forbids, a used body): nothing
      // left the edge, so the origin is not to blame.
      clearTimeout(timer)
      clientSignal?.removeEventListener('abort', onClientAbort)
      return REFUSED
    }
    try {
      const response = await fetchOrigin(request)
      return { kind: 'response', response }
    } catch (error) {
      if (timedOut) return TIMEOUT
      if (clientSignal?.aborted) return CLIENT_CLOSED
      if (isRefusedRequest(error)) return REFUSED
      return { kind: 'unreachable', error }
    } finally {
      clearTimeout(timer)
      clientSignal?.removeEventListener('abort', onClientAbort)
    }
  }

  /**
   * The client's response for what `forward` got, with `fields` (the RateLimit fields) appended
   * to the origin's copied fields before the Response is made: in workerd about 0.5 µs less than
   * appending to the Response's headers afterwards (`npm run bench:workerd-calls`).
   */
  function reply(
    result: Forwarded,
    timeoutMs: number,
    fields: Readonly<Record<string, string>>,
  ): Response {
    switch (result.kind) {
      case 'response': {
        const origin = result.response
        const headers = new Headers(origin.headers)
        stripHopByHop(headers)
        // Appended, not set: the origin's own RateLimit items stay (docs/http.md).
        for (const name in fields) headers.append(name, fields[name] as string)
        const encoding = decodedBodies ? headers.get('content-encoding') : null
        if (encoding !== null && DECODED_ENCODINGS.has(encoding.toLowerCase())) {
          headers.delete('content-encoding')
          headers.delete('content-length')
        }
        // Node's fetch (undici) cancels the body of a Response that is garbage-collected while
        // unread, and nothing keeps `origin` alive once it is returned: a pipe holds the source.
        // Workers and Deno pass the stream through as it is.
        const body = decodedBodies && origin.body !== null
          ? origin.body.pipeThrough(new TransformStream())
          : origin.body
        return new Response(body, {
          status: origin.status,
          statusText: origin.statusText,
          headers,
        })
      }
      case 'timeout':
        return problemResponse({
          type: `${problemTypeBase}origin-timeout`,
          title: 'Origin timeout',
          status: 504,
          detail: `The origin sent no response headers within ${timeoutMs} ms`,
        }, fields)
      case 'unreachable':
        // The error's message may name the origin's internal address (Deno: "error sending
        // request for url (…)"): it goes to the operator's hook, never to the client.
        onOriginError?.(result.error)
        return problemResponse({
          type: `${problemTypeBase}origin-unreachable`,
          title: 'Origin unreachable',
          status: 502,
          detail: 'The origin could not be reached',
        }, fields)
      case 'refused':
        return appendHeaders(unforwardableResponse(problemTypeBase), fields)
      case 'client-closed':
        // Nobody reads this: the client is gone. 499 is the status proxies log for it.
        return new Response(null, { status: 499, headers: fields })
    }
  }

  const app = new Hono<E>()
  if (options.admin !== undefined) app.route('/', options.admin as unknown as Hono<E>)
  app.all('*', async function proxy(c) {
    const background = contextBackground(c)
    try {
      const request = c.req.raw
      const url = new URL(request.url)
      const host = request.headers.get('host')
      if (host !== null && BAD_HOST.test(host)) return unforwardableResponse(problemTypeBase)
      // Matched and forwarded as one spelling, so the origin serves what the route governed.
      const path = normalizePath(url.pathname)
      const route = table.match(request.method, path)
      if (hasEncodedSeparator(path) && route?.allowEncodedSlashes !== true) {
        return encodedSlashResponse(problemTypeBase)
      }
      if (route === undefined) {
        if (table.unmatched === 'pass' && fallback !== undefined) {
          if (fallbackPrefix === undefined) {
            return await (fallback as Exclude<Fallback, string>)(request)
          }
          return reply(
            await forward(c, url, path, fallbackPrefix, DEFAULT_TIMEOUT_MS, host),
            DEFAULT_TIMEOUT_MS,
            NO_FIELDS,
          )
        }
        return noRouteResponse(
          request,
          table.unmatched === 'reject'
            ? 'No route matches this request and the config rejects unmatched requests'
            : 'No route matches this request and the proxy has no fallback for unmatched requests',
          problemTypeBase,
        )
      }
      const pass = new Pass(gov, route.id, table.priorityOf(route.id, request.headers))
      if (!pass.allowed) return pass.shed()
      // The keep-alive (docs/http.md "Client disconnects"): where the runtime aborts the request's
      // signal as its client hangs up, forward's abort listener arms it then, and a request whose
      // client stays costs no waitUntil; elsewhere it is armed now.
      if (background !== undefined && !signalAbortsOnDisconnect()) pass.keepAlive(background)
      let result: Forwarded = CLIENT_CLOSED
      await runAdmitted(pass, clock, async () => {
        result = await forward(
          c,
          url,
          path,
          prefixes.get(route) as string,
          route.timeoutMs,
          host,
          pass,
          background,
        )
        // A client that hung up, or a request the runtime would not send, says nothing about the
        // origin: capacity back, no sample.
        if (result.kind === 'client-closed' || result.kind === 'refused') return 'cancel'
        // The origin's status and Retry-After; a timeout or network error has none.
        return result.kind === 'response' ? answerOutcome(result.response) : false
      })
      return reply(result, route.timeoutMs, pass.headers())
    } finally {
      handOffSync(sync, background)
    }
  })
  return app
}
