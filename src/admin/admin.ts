/**
 * `createAdminApp()`: the admin API under a prefix (default `/__rheostat`). `GET {prefix}/health`
 * and the sections marked public answer everyone; everything else needs
 * `Authorization: Bearer <RHEOSTAT_ADMIN_TOKEN>`. Without a token the admin API is off: only
 * health answers, every other admin path is 404, so an unset secret never opens anything.
 *
 * The app is mounted in front of the proxy (`createProxyApp({ admin })`): a path under the
 * prefix never reaches an origin, whether an admin route matches it or not.
 *
 * @module
 */

import { type Context, Hono } from 'hono'
import { DEFAULT_PROBLEM_TYPE_BASE, problemResponse } from '../http/responses.ts'
import { tokenMatches } from './auth.ts'

/** Registers routes on the admin app; paths are relative to the prefix (`/api/config`). */
export type AdminSection = (app: Hono) => void

/** Options of `createAdminApp()`. */
export interface AdminOptions {
  /**
   * The bearer token (`RHEOSTAT_ADMIN_TOKEN`). Undefined or empty: the admin API is off and only
   * health answers.
   */
  token: string | undefined
  /**
   * A read-only bearer token (`RHEOSTAT_READ_TOKEN`): it opens `GET {prefix}/metrics`,
   * `{prefix}/api/stats` and `{prefix}/api/events` only, for scrapers and dashboards that must
   * not be able to change anything. Undefined or empty: only the admin token opens them.
   */
  readToken?: string | undefined
  /**
   * Path prefix (the config's `admin.prefix`).
   * @default "/__rheostat"
   */
  prefix?: string | undefined
  /** Route groups behind the token: config, stats, metrics, events, telemetry. */
  sections?: readonly AdminSection[] | undefined
  /**
   * Route groups anyone may read while the admin API is on (the dashboard page, which holds no
   * data and asks for the token itself). Off with the admin API.
   */
  publicSections?: readonly AdminSection[] | undefined
  /**
   * What health adds to `{ "status": "ok" }`; keep it free of secrets and route data, anyone
   * can read it.
   * @default nothing
   */
  health?: (() => Record<string, unknown>) | undefined
  /**
   * Prefix of the admin API's problem types.
   * @default "urn:rheostat:problem:"
   */
  problemTypeBase?: string | undefined
}

/** The default admin prefix. */
export const DEFAULT_ADMIN_PREFIX = '/__rheostat'

/**
 * Shortest admin or read token accepted, characters: 32 characters of base64url (what
 * `npm start` generates) carry 192 bits, beyond any online guessing.
 */
export const MIN_TOKEN_LENGTH = 32

/** Paths under the prefix the read-only token opens, for GET (and HEAD). */
const READ_ONLY_PATHS = ['/metrics', '/api/stats', '/api/events']

/**
 * Why a token cannot be used, or null when it can (or is unset, which turns the API off).
 *
 * @example Usage
 * ```ts
 * import { tokenProblem } from './admin.ts'
 * if (tokenProblem('RHEOSTAT_ADMIN_TOKEN', 'short') === null) throw new Error('too short')
 * if (tokenProblem('RHEOSTAT_ADMIN_TOKEN', undefined) !== null) throw new Error('off is fine')
 * ```
 */
export function tokenProblem(name: string, token: string | undefined): string | null {
  if (token === undefined || token === '') return null
  if (token.length < MIN_TOKEN_LENGTH) {
    return `${name} is ${token.length} characters long; it needs at least ${MIN_TOKEN_LENGTH} ` +
      '(e.g. `openssl rand -base64 32`)'
  }
  if (/\s/.test(token)) return `${name} contains white space, which a bearer token cannot carry`
  return null
}

/**
 * Creates the admin app. Its routes carry the prefix, so it mounts at the root of the edge app.
 *
 * @param options Token, prefix, route sections, health details.
 * @returns The Hono app.
 *
 * @example Usage
 * ```ts
 * import { createAdminApp } from './admin.ts'
 * const admin = createAdminApp({
 *   token: 'an-admin-token-of-32-characters-',
 *   sections: [(app) => app.get('/api/ping', (c) => c.json({ pong: true }))],
 * })
 * const anonymous = await admin.request('http://edge/__rheostat/api/ping')
 * if (anonymous.status !== 401) throw new Error('needs the token')
 * const res = await admin.request('http://edge/__rheostat/api/ping', {
 *   headers: { authorization: 'Bearer an-admin-token-of-32-characters-' },
 * })
 * if (res.status !== 200) throw new Error('the token opens it')
 * ```
 */
export function createAdminApp(options: AdminOptions): Hono {
  const {
    token,
    readToken,
    prefix = DEFAULT_ADMIN_PREFIX,
    sections = [],
    publicSections = [],
    health,
    problemTypeBase = DEFAULT_PROBLEM_TYPE_BASE,
  } = options
  for (
    const [name, value] of [['RHEOSTAT_ADMIN_TOKEN', token], ['RHEOSTAT_READ_TOKEN', readToken]]
  ) {
    const problem = tokenProblem(name as string, value)
    if (problem !== null) throw new RangeError(problem)
  }
  const enabled = typeof token === 'string' && token !== ''
  const reader = typeof readToken === 'string' && readToken !== '' ? readToken : undefined
  const readOnly = new Set(READ_ONLY_PATHS.map((path) => prefix + path))
  // Not strict: `{prefix}/` and `{prefix}` are the same page.
  const app = new Hono({ strict: false }).basePath(prefix)

  app.get('/health', function health_(c) {
    return c.json({ status: 'ok', admin: enabled ? 'on' : 'off', ...health?.() }, 200, {
      'cache-control': 'no-store',
    })
  })

  if (enabled) {
    for (const section of publicSections) section(app)
    app.use('*', async function bearerAuth(c, next) {
      const presented = bearerOf(c)
      const reading = reader !== undefined &&
        (c.req.method === 'GET' || c.req.method === 'HEAD') && readOnly.has(c.req.path)
      // Both comparisons run whatever the first gives, so timing tells nothing about which failed.
      const [admin, read] = await Promise.all([
        tokenMatches(presented, token),
        reader === undefined ? false : tokenMatches(presented, reader),
      ])
      if (!admin && !(read && reading)) {
        if (read) {
          return problemResponse({
            type: `${problemTypeBase}forbidden`,
            title: 'Forbidden',
            status: 403,
            detail: 'The read-only token opens GET metrics, api/stats and api/events only',
          })
        }
        return problemResponse(
          {
            type: `${problemTypeBase}unauthorized`,
            title: 'Unauthorized',
            status: 401,
            detail: 'The admin API needs "Authorization: Bearer <RHEOSTAT_ADMIN_TOKEN>"',
          },
          { 'www-authenticate': 'Bearer realm="rheostat"' },
        )
      }
      await next()
      c.res.headers.set('cache-control', 'no-store')
    })
    for (const section of sections) section(app)
  }

  app.all('*', (c) =>
    problemResponse({
      type: `${problemTypeBase}not-found`,
      title: 'Not found',
      status: 404,
      detail: enabled
        ? `No admin resource at ${new URL(c.req.url).pathname}`
        : 'The admin API is off: set the RHEOSTAT_ADMIN_TOKEN secret to turn it on',
    }))
  return app
}

/** The token of an `Authorization: Bearer …` field, or undefined. */
function bearerOf(c: Context): string | undefined {
  const field = c.req.header('authorization')
  if (field === undefined) return undefined
  const match = /^Bearer[ ]+([^ ]+)[ ]*$/i.exec(field)
  return match?.[1]
}
