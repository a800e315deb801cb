/**
 * Response helpers shared by the middleware, the fetch-handler wrapper and the origin proxy:
 * RFC 9457 problem details, and the `RateLimit-Policy` / `RateLimit` fields of
 * draft-ietf-httpapi-ratelimit-headers-11 mapped from the governor's state (docs/http.md).
 *
 * @module
 */

import type { Decision, Governor } from '../governor/governor.ts'

/** The media type of RFC 9457 problem details in JSON. */
export const PROBLEM_JSON = 'application/problem+json'

/**
 * The problem type of a shed: "temporary-reduced-capacity", which
 * draft-ietf-httpapi-ratelimit-headers-11 §5.2 asks IANA to register for exactly this (503).
 */
export const SHED_PROBLEM_TYPE =
  'https://iana.org/assignments/http-problem-types#temporary-reduced-capacity'

/**
 * Prefix of the problem types Rheostat defines itself (`origin-unreachable`, `origin-timeout`,
 * `no-route`). A URN: an identifier that promises no page to fetch; pass your own docs URL as
 * `problemTypeBase` to make them resolvable.
 */
export const DEFAULT_PROBLEM_TYPE_BASE = 'urn:rheostat:problem:'

/**
 * Length of the RateLimit window, s: the admission share is the current one, and the draft's
 * windows are whole seconds, so the shortest window it can express.
 */
export const RATELIMIT_WINDOW_S = 1

/** An RFC 9457 problem details object. */
export interface ProblemDetails {
  /** A URI reference that identifies the problem type. */
  type: string
  /** A short summary of the problem type. */
  title: string
  /** The HTTP status code. */
  status: number
  /** An explanation of this occurrence. */
  detail?: string | undefined
  /** A URI reference that identifies this occurrence. */
  instance?: string | undefined
  /** Extension members. */
  [member: string]: unknown
}

/**
 * A problem details response: the JSON body, `Content-Type: application/problem+json` and the
 * problem's status.
 *
 * @param problem The problem details; `status` becomes the response status.
 * @param headers More response headers (e.g. `Retry-After`).
 * @returns The response.
 *
 * @example Usage
 * ```ts
 * import { problemResponse } from './responses.ts'
 * const res = problemResponse({ type: 'urn:example:gone', title: 'Gone', status: 410 })
 * if (res.headers.get('content-type') !== 'application/problem+json') throw new Error('type')
 * ```
 */
export function problemResponse(problem: ProblemDetails, headers?: HeadersInit): Response {
  const out = new Headers(headers)
  out.set('Content-Type', PROBLEM_JSON)
  return new Response(JSON.stringify(problem), { status: problem.status, headers: out })
}

/**
 * Serialises a string as a Structured Field String (RFC 9651 §4.1.6). Characters outside
 * printable ASCII, which sf-string cannot carry, are percent-encoded as UTF-8.
 *
 * @example Usage
 * ```ts
 * import { sfString } from './responses.ts'
 * if (sfString('a"b') !== '"a\\"b"') throw new Error('escapes quotes')
 * ```
 */
export function sfString(value: string): string {
  let out = '"'
  for (const ch of value) {
    const code = ch.codePointAt(0) as number
    if (ch === '"' || ch === '\\') out += '\\' + ch
    else if (code >= 0x20 && code <= 0x7e) out += ch
    else out += encodeURIComponent(ch)
  }
  return out + '"'
}

/**
 * The RateLimit policy name of a route and priority class: `route:priority`.
 *
 * @example Usage
 * ```ts
 * import { policyName } from './responses.ts'
 * if (policyName('checkout', 'low') !== 'checkout:low') throw new Error('name')
 * ```
 */
export function policyName(route: string, priority: string): string {
  return `${route}:${priority}`
}

/** What the RateLimit fields say about one response. */
export interface RateLimitState {
  /** Policy name (`policyName(route, priority)`). */
  policy: string
  /** Available share of the class's traffic now, 0..100 (the `r` parameter). */
  remainingPercent: number
  /** Effective window, s (the `t` parameter). */
  windowS: number
}

/**
 * Maps the governor's state to RateLimit values (docs/http.md, "RateLimit headers"): the policy
 * is the route and its priority class with a quota of 100 units per second, a unit being 1% of
 * that class's requests. On an admitted response `r` is the share of the class the route admits
 * now, rounded down, and `t` the one-second window; on a shed `r=0` and `t` is the Retry-After.
 *
 * @param governor The governor that decided.
 * @param route The route id.
 * @param priority The priority class the request was decided in.
 * @param decision The decision.
 * @returns The values for `rateLimitHeaders`.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { rateLimitFor } from './responses.ts'
 * const gov = createGovernor({ engine: 'ts', clock: () => 0 })
 * const d = gov.admit('search', { priority: 'low' })
 * const state = rateLimitFor(gov, 'search', 'low', d)
 * if (state.remainingPercent !== 100) throw new Error('a fresh route admits every request')
 * ```
 */
export function rateLimitFor(
  governor: Governor,
  route: string,
  priority: string,
  decision: Decision,
): RateLimitState {
  const policy = policyName(route, priority)
  if (!decision.allow) {
    return { policy, remainingPercent: 0, windowS: retryAfterSeconds(decision) }
  }
  const share = governor.admission(route, priority)
  const remainingPercent = share >= 0 ? Math.min(100, Math.floor(share * 100)) : 100
  return { policy, remainingPercent, windowS: RATELIMIT_WINDOW_S }
}

/**
 * The `RateLimit-Policy` and `RateLimit` fields of draft-ietf-httpapi-ratelimit-headers-11.
 *
 * @param state The values (`rateLimitFor`).
 * @returns Field name → value.
 *
 * @example Usage
 * ```ts
 * import { rateLimitHeaders } from './responses.ts'
 * const h = rateLimitHeaders({ policy: 'search:low', remainingPercent: 40, windowS: 1 })
 * if (h['RateLimit'] !== '"search:low";r=40;t=1') throw new Error('RateLimit')
 * ```
 */
export function rateLimitHeaders(state: RateLimitState): Record<string, string> {
  const name = sfString(state.policy)
  const r = Math.max(0, Math.min(100, Math.floor(state.remainingPercent)))
  const t = Math.max(0, Math.ceil(state.windowS))
  return { 'RateLimit-Policy': policyFieldValue(name), 'RateLimit': `${name};r=${r};t=${t}` }
}

/** The `RateLimit-Policy` value of a policy whose sf-string name is `name`. */
function policyFieldValue(name: string): string {
  // `rheostat-unit` is a vendor parameter (allowed by §3.1): q counts percent of the class's
  // requests, not requests, because the governor has no fixed quota to advertise.
  return `${name};q=100;w=${RATELIMIT_WINDOW_S};rheostat-unit="percent"`
}

/** One policy's field texts, and its field objects by (t, r), built once. */
interface PolicyFields {
  readonly name: string
  readonly policyValue: string
  readonly byWindowAndShare: Map<number, Readonly<Record<string, string>>>
}

// Field objects per (route, class, r, t): an admitted request at r=100 builds no string and no
// object (bench/proxy.bench.ts). Bounded: route ids are the config's, or whatever a middleware
// `route` function returns, so the cache starts over past these sizes instead of growing.
const POLICY_CACHE_LIMIT = 4096
const FIELDS_PER_POLICY_LIMIT = 256
const fieldsByRoute = new Map<string, Map<string, PolicyFields>>()
let cachedPolicies = 0

function policyFields(route: string, priority: string): PolicyFields {
  let byPriority = fieldsByRoute.get(route)
  if (byPriority === undefined) {
    if (cachedPolicies >= POLICY_CACHE_LIMIT) {
      fieldsByRoute.clear()
      cachedPolicies = 0
    }
    byPriority = new Map()
    fieldsByRoute.set(route, byPriority)
  }
  let fields = byPriority.get(priority)
  if (fields === undefined) {
    const name = sfString(policyName(route, priority))
    fields = {
      name,
      policyValue: policyFieldValue(name),
      byWindowAndShare: new Map(),
    }
    byPriority.set(priority, fields)
    cachedPolicies++
  }
  return fields
}

/**
 * The RateLimit fields of one decision: `rateLimitHeaders(rateLimitFor(…))`, from a cache, so the
 * common answers (admitted at a given share, shed with a given Retry-After) allocate nothing.
 * The returned object is shared and frozen: read it, do not change it.
 *
 * @param governor The governor that decided.
 * @param route The route id.
 * @param priority The priority class the request was decided in.
 * @param decision The decision.
 * @returns Field name → value.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { rateLimitFields } from './responses.ts'
 * const gov = createGovernor({ engine: 'ts', clock: () => 0 })
 * const d = gov.admit('search', { priority: 'low' })
 * const h = rateLimitFields(gov, 'search', 'low', d)
 * if (h['RateLimit'] !== '"search:low";r=100;t=1') throw new Error('RateLimit')
 * if (rateLimitFields(gov, 'search', 'low', d) !== h) throw new Error('cached')
 * ```
 */
export function rateLimitFields(
  governor: Governor,
  route: string,
  priority: string,
  decision: Decision,
): Readonly<Record<string, string>> {
  let r: number
  let t: number
  if (!decision.allow) {
    r = 0
    t = retryAfterSeconds(decision)
  } else {
    const share = governor.admission(route, priority)
    r = share >= 0 ? Math.min(100, Math.floor(share * 100)) : 100
    t = RATELIMIT_WINDOW_S
  }
  r = Math.max(0, Math.min(100, r))
  const fields = policyFields(route, priority)
  const key = t * 101 + r
  let headers = fields.byWindowAndShare.get(key)
  if (headers === undefined) {
    headers = Object.freeze({
      'RateLimit-Policy': fields.policyValue,
      'RateLimit': `${fields.name};r=${r};t=${t}`,
    })
    if (fields.byWindowAndShare.size < FIELDS_PER_POLICY_LIMIT) {
      fields.byWindowAndShare.set(key, headers)
    }
  }
  return headers
}

/** Seconds a shed client should wait: the decision's Retry-After, at least 1. */
export function retryAfterSeconds(decision: Decision): number {
  const s = Math.ceil(decision.retryAfterS)
  return s >= 1 ? s : 1
}

/**
 * The 503 problem response for a shed request, with `Retry-After` and the RateLimit fields.
 *
 * @param governor The governor that decided.
 * @param route The route id.
 * @param priority The priority class the request was decided in.
 * @param decision The (shed) decision.
 * @returns The response.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from '../mod.ts'
 * import { shedResponse } from './responses.ts'
 * const gov = createGovernor({ engine: 'ts', clock: () => 0 })
 * const d = { ...gov.admit('search'), allow: false, retryAfterS: 3, ticket: null }
 * const res = shedResponse(gov, 'search', 'low', d)
 * if (res.status !== 503 || res.headers.get('retry-after') !== '3') throw new Error('shed')
 * ```
 */
export function shedResponse(
  governor: Governor,
  route: string,
  priority: string,
  decision: Decision,
): Response {
  const retryAfter = retryAfterSeconds(decision)
  const policy = policyName(route, priority)
  const problem: ProblemDetails = {
    type: SHED_PROBLEM_TYPE,
    title: 'Temporary reduced capacity',
    status: 503,
    detail: `Route "${route}" is shedding priority "${priority}" (${decision.reason}, mode ` +
      `${decision.mode}): retry after ${retryAfter} s`,
    route,
    priority,
    mode: decision.mode,
    reason: decision.reason,
    retryAfter,
    'violated-policies': [policy],
  }
  return problemResponse(problem, {
    'Retry-After': String(retryAfter),
    ...rateLimitFields(governor, route, priority, decision),
  })
}

/**
 * The 404 problem response for a request no route matches.
 *
 * @param request The request.
 * @param detail Why it is not forwarded (which `unmatched` behaviour applied).
 * @param problemTypeBase Prefix of the problem type.
 * @returns The response.
 *
 * @example Usage
 * ```ts
 * import { noRouteResponse } from './responses.ts'
 * const res = noRouteResponse(new Request('http://edge.test/x'), 'No route', 'urn:x:')
 * if (res.status !== 404) throw new Error('404')
 * ```
 */
export function noRouteResponse(
  request: Request,
  detail: string,
  problemTypeBase: string = DEFAULT_PROBLEM_TYPE_BASE,
): Response {
  const url = new URL(request.url)
  return problemResponse({
    type: `${problemTypeBase}no-route`,
    title: 'No route',
    status: 404,
    detail,
    method: request.method,
    path: url.pathname,
  })
}

/**
 * Appends header fields to a response, copying it first when its headers are immutable (a
 * response straight from `fetch`). Appending keeps the origin's own RateLimit items: the draft
 * (§7.2) asks intermediaries not to remove them, and both fields are lists.
 *
 * @returns The response with the fields, `response` itself when it could be changed in place.
 *
 * @example Usage
 * ```ts
 * import { appendHeaders } from './responses.ts'
 * const origin = new Response('ok', { headers: { RateLimit: '"origin";r=5;t=10' } })
 * const res = appendHeaders(origin, { RateLimit: '"api:normal";r=100;t=1' })
 * if (res.headers.get('RateLimit') !== '"origin";r=5;t=10, "api:normal";r=100;t=1') {
 *   throw new Error('both items')
 * }
 * ```
 */
export function appendHeaders(
  response: Response,
  headers: Readonly<Record<string, string>>,
): Response {
  try {
    for (const name in headers) response.headers.append(name, headers[name] as string)
    return response
  } catch {
    const copy = new Response(response.body, response)
    for (const name in headers) copy.headers.append(name, headers[name] as string)
    return copy
  }
}

/**
 * The 400 problem response for a path holding an encoded `/` or `\` (`%2F`, `%5C`) that no route
 * lets through: an origin that decodes it would see other segments than the route table did.
 *
 * @example Usage
 * ```ts
 * import { encodedSlashResponse } from './responses.ts'
 * if (encodedSlashResponse().status !== 400) throw new Error('400')
 * ```
 */
export function encodedSlashResponse(
  problemTypeBase: string = DEFAULT_PROBLEM_TYPE_BASE,
): Response {
  return problemResponse({
    type: `${problemTypeBase}encoded-slash`,
    title: 'Encoded slash in path',
    status: 400,
    detail: 'The path holds an encoded "/" or "\\" (%2F or %5C), which this route does not accept',
  })
}

/**
 * The 400 problem response for a request the edge cannot forward as sent (a method or header its
 * runtime's fetch refuses, a malformed Host): the client's doing, so no origin sample is taken.
 *
 * @example Usage
 * ```ts
 * import { unforwardableResponse } from './responses.ts'
 * if (unforwardableResponse().status !== 400) throw new Error('400')
 * ```
 */
export function unforwardableResponse(
  problemTypeBase: string = DEFAULT_PROBLEM_TYPE_BASE,
): Response {
  return problemResponse({
    type: `${problemTypeBase}request-not-forwardable`,
    title: 'Request not forwardable',
    status: 400,
    detail: 'The edge cannot forward this request as sent (its method or header fields)',
  })
}
