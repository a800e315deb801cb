/**
 * `dashboardSection()`: serves the dashboard at `{prefix}/` with its style sheet and script. The
 * three are string constants compiled into the Worker (src/admin/dashboard/assets.ts), so nothing
 * is fetched from elsewhere, and the Content-Security-Policy lets the page run only its own
 * script and talk only to its own origin. The page holds no data: it asks for the admin token and
 * reads everything through the token-gated API, so it is mounted as a public section.
 *
 * @module
 */

import type { Hono } from 'hono'
import type { AdminSection } from '../admin.ts'
import { DASHBOARD_CSS, DASHBOARD_HTML, DASHBOARD_JS } from './assets.ts'

/**
 * The page's policy: its own script and style sheet only (no inline script or style), fetches to
 * its own origin only, no framing, no form posts.
 */
export const DASHBOARD_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self' data:",
  "base-uri 'none'",
  "form-action 'none'",
  "frame-ancestors 'none'",
].join('; ')

function headers(contentType: string): Record<string, string> {
  return {
    'content-type': contentType,
    'content-security-policy': DASHBOARD_CSP,
    'x-content-type-options': 'nosniff',
    'referrer-policy': 'no-referrer',
    // Revalidated on every load, so a new deployment's page and script arrive together.
    'cache-control': 'no-cache',
  }
}

/**
 * The dashboard's routes, for `createAdminApp({ publicSections })`: `GET {prefix}/` (the page;
 * `{prefix}` redirects there, as the page's asset URLs are relative), `{prefix}/dashboard.js`
 * and `{prefix}/dashboard.css`.
 *
 * @returns The section.
 *
 * @example Usage
 * ```ts
 * import { createAdminApp } from '../admin.ts'
 * import { dashboardSection } from './dashboard.ts'
 * const token = 'an-admin-token-of-32-characters-'
 * const admin = createAdminApp({ token, publicSections: [dashboardSection()] })
 * const page = await admin.request('http://edge/__rheostat/')
 * if (!(await page.text()).includes('<title>Rheostat</title>')) throw new Error('the page')
 * ```
 */
export function dashboardSection(): AdminSection {
  return function dashboard(app: Hono) {
    // On the admin app `'/'` is `{prefix}` and `''` is `{prefix}/`. Both are needed: the proxy
    // app the admin app is mounted on matches trailing slashes strictly.
    app.on('GET', ['', '/'], function dashboardPage(c) {
      const path = new URL(c.req.url).pathname
      if (!path.endsWith('/')) return c.redirect(`${path}/`, 308)
      return c.body(DASHBOARD_HTML, 200, headers('text/html; charset=utf-8'))
    })
    app.get('/dashboard.js', function dashboardScript(c) {
      return c.body(DASHBOARD_JS, 200, headers('text/javascript; charset=utf-8'))
    })
    app.get('/dashboard.css', function dashboardStyle(c) {
      return c.body(DASHBOARD_CSS, 200, headers('text/css; charset=utf-8'))
    })
  }
}
