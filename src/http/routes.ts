/**
 * Route matching and priority resolution for the HTTP layer. The config's route table is compiled
 * once into matchers (URLPattern pathname plus optional methods; the first match wins), and a
 * request's priority class is resolved from the route and the config's `priorityRules`.
 *
 * @module
 */

import type { GovernorConfig } from '../config/schema.ts'

/** Longest wait for an origin's response headers when a route sets no `timeoutMs`, ms. */
export const DEFAULT_TIMEOUT_MS = 10000

/** One config route, ready to match requests. */
export interface CompiledRoute {
  /** The route id: the governor's key. */
  readonly id: string
  /** Upper-case methods this route governs; null means all. */
  readonly methods: ReadonlySet<string> | null
  /** The `match.path` pattern as written. */
  readonly path: string
  /** The route's origin URL, when it has one. */
  readonly origin: string | undefined
  /** Longest wait for the origin's response headers, ms. */
  readonly timeoutMs: number
  /** Priority class of requests no rule overrides. */
  readonly priority: string
  /** Whether paths with an encoded `/` or `\` (`%2F`, `%5C`) may pass on this route. */
  readonly allowEncodedSlashes: boolean
}

/** The compiled route table and priority rules of one config. */
export interface RouteTable {
  /** Routes that have a `match`, in config order. */
  readonly routes: readonly CompiledRoute[]
  /** What the config says about requests no route matches. */
  readonly unmatched: 'pass' | 'reject'
  /**
   * The first route whose methods and path pattern match.
   *
   * @param method The request method, upper case; HEAD matches a route that lists GET.
   * @param pathname The normalised pathname (`normalizePath`).
   */
  match(method: string, pathname: string): CompiledRoute | undefined
  /**
   * The priority class of a request on `routeId`: the first `priorityRules` entry that matches the
   * request's headers, else the route's own priority, else the config default.
   */
  priorityOf(routeId: string, headers: Headers): string
  /** Whether `name` is one of the config's priority classes. */
  isPriority(name: string): boolean
}

interface CompiledRule {
  header: string
  equals: string | undefined
  priority: string
}

// Characters that make a URLPattern pathname more than a literal path. A literal pattern is
// compared as a string, which skips URLPattern on the hot path for the most common routes.
const PATTERN_SYNTAX = /[^A-Za-z0-9\-._~/]/

/**
 * The priority of requests on `routeId` that no rule overrides: the route's own, else
 * `defaults.priority`, else the middle class (the governor's rule for unconfigured routes).
 *
 * @param config A validated config.
 * @param routeId Any route id, configured or not.
 * @returns A priority class name from `config.priorities`.
 *
 * @example Usage
 * ```ts
 * import { parseConfig } from '../config/schema.ts'
 * import { defaultPriority } from './routes.ts'
 * const config = parseConfig({ routes: [{ id: 'checkout', priority: 'critical' }] })
 * if (defaultPriority(config, 'checkout') !== 'critical') throw new Error('route priority')
 * if (defaultPriority(config, 'other') !== 'normal') throw new Error('middle class')
 * ```
 */
export function defaultPriority(config: GovernorConfig, routeId: string): string {
  const own = config.routes.find((route) => route.id === routeId)?.priority
  return own ?? config.defaults.priority ??
    config.priorities[Math.floor(config.priorities.length / 2)] as string
}

/**
 * Compiles a config's routes (those with `match`) and priority rules.
 *
 * A client cannot raise its own priority: only the config's `priorityRules` read request headers,
 * so a header such as `x-priority: critical` changes nothing unless a rule names it.
 *
 * @param config A validated config (`parseConfig` or `parseEdgeConfig`).
 * @returns The route table.
 * @throws {TypeError} When a `match.path` is not a valid URLPattern pathname.
 *
 * @example Usage
 * ```ts
 * import { parseConfig } from '../config/schema.ts'
 * import { compileRoutes } from './routes.ts'
 * const table = compileRoutes(parseConfig({
 *   routes: [
 *     { id: 'user', match: { methods: ['GET'], path: '/users/:id' }, priority: 'low' },
 *     { id: 'api', match: { path: '/*' } },
 *   ],
 *   priorityRules: [{ header: 'X-Internal-Token', equals: 's3cret', priority: 'critical' }],
 * }))
 * if (table.match('GET', '/users/42')?.id !== 'user') throw new Error('first match wins')
 * if (table.match('DELETE', '/users/42')?.id !== 'api') throw new Error('methods filter')
 * const spoofed = new Headers({ 'x-priority': 'critical' })
 * if (table.priorityOf('user', spoofed) !== 'low') throw new Error('no rule, no change')
 * const internal = new Headers({ 'x-internal-token': 's3cret' })
 * if (table.priorityOf('user', internal) !== 'critical') throw new Error('the rule applies')
 * ```
 */
export function compileRoutes(config: GovernorConfig): RouteTable {
  const routes: CompiledRoute[] = []
  const testers: ((pathname: string) => boolean)[] = []
  const priorityById = new Map<string, string>()
  // Linear in the routes: defaultPriority() would search the list once per route.
  const fallbackPriority = defaultPriority(config, '')
  for (const route of config.routes) {
    if (!priorityById.has(route.id)) priorityById.set(route.id, route.priority ?? fallbackPriority)
    const match = route.match
    if (match === undefined) continue
    // A HEAD is a GET without the body (RFC 9110 §9.3.2): it is governed like one.
    const methods = match.methods === undefined ? null : new Set(match.methods)
    if (methods !== null && methods.has('GET')) methods.add('HEAD')
    routes.push({
      id: route.id,
      methods,
      path: match.path,
      origin: route.origin,
      timeoutMs: route.timeoutMs ?? DEFAULT_TIMEOUT_MS,
      priority: priorityById.get(route.id) as string,
      allowEncodedSlashes: match.allowEncodedSlashes ?? false,
    })
    testers.push(pathTester(match.path))
  }
  const rules: CompiledRule[] = config.priorityRules.map((rule) => ({
    header: rule.header.toLowerCase(),
    equals: rule.equals,
    priority: rule.priority,
  }))
  const known = new Set(config.priorities)

  return {
    routes,
    unmatched: config.unmatched,
    match(method: string, pathname: string): CompiledRoute | undefined {
      for (let i = 0; i < routes.length; i++) {
        const route = routes[i] as CompiledRoute
        if (route.methods !== null && !route.methods.has(method)) continue
        if ((testers[i] as (pathname: string) => boolean)(pathname)) return route
      }
      return undefined
    },
    priorityOf(routeId: string, headers: Headers): string {
      for (const rule of rules) {
        const value = headers.get(rule.header)
        if (value === null) continue
        if (rule.equals === undefined || rule.equals === value) return rule.priority
      }
      return priorityById.get(routeId) ?? fallbackPriority
    },
    isPriority(name: string): boolean {
      return known.has(name)
    },
  }
}

/**
 * A matcher for one `match.path`. Two common shapes skip URLPattern (about 6 µs a request in
 * workerd, bench/proxy.bench.ts): a literal path is compared as a string, and a literal prefix
 * ending in one `*` (`/api/checkout/*`) is a `startsWith`, which is what URLPattern's trailing
 * wildcard matches (any characters, slashes included, or none). Everything else is URLPattern.
 */
export function pathTester(path: string): (pathname: string) => boolean {
  if (!PATTERN_SYNTAX.test(path)) return (pathname) => pathname === path
  const prefix = path.slice(0, -1)
  if (path.endsWith('*') && !PATTERN_SYNTAX.test(prefix)) {
    return (pathname) => pathname.startsWith(prefix)
  }
  const pattern = new URLPattern({ pathname: path })
  return (pathname) => pattern.test({ pathname })
}
