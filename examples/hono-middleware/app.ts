/**
 * An ordinary Hono API put behind Rheostat with the `governor()` middleware. Runtime-neutral: the
 * Workers entry (`worker.ts`) and the Deno entry (`main.ts`) only differ in how they load the
 * WebAssembly engine.
 *
 * @module
 */

import { Hono } from 'hono'
// In your project: `from 'rheostat'`.
import { type Clock, type Governor, governor, type GovernorConfigInput } from '../../src/mod.ts'

/** Two routes with their own baselines; `search` is shed first when it degrades. */
export const config = {
  routes: [
    { id: 'orders', profile: 'STANDARD', priority: 'normal' },
    { id: 'search', profile: 'LIGHT', priority: 'low' },
  ],
} satisfies GovernorConfigInput

/** What the handlers call: a database and a search index in a real app. */
export interface Backend {
  orders(customer: string): Promise<{ id: string; total: number }[]>
  search(query: string): Promise<string[]>
}

/** An in-memory backend, so the example runs on its own. */
export const demoBackend: Backend = {
  orders: (customer) => Promise.resolve([{ id: `${customer}-1`, total: 42 }]),
  search: (query) => Promise.resolve(['anvil', 'rocket skates'].filter((s) => s.includes(query))),
}

type AppEnv = { Variables: { plan: 'pro' | 'free' } }

/**
 * Builds the app.
 *
 * @param options The governor, the backend, and the clock the middleware times handlers with.
 * @returns The Hono app: `/api/orders` and `/api/search` governed, `/health` not.
 */
export function createApp(
  { governor: gov, backend = demoBackend, clock }: {
    governor: Governor
    backend?: Backend
    clock?: Clock
  },
): Hono<AppEnv> {
  const app = new Hono<AppEnv>()
  // A stand-in for real authentication. It runs before the governor, so priority can come from
  // who the caller is rather than from a header any client could send.
  app.use('/api/*', async (c, next) => {
    c.set('plan', c.req.header('authorization') === 'Bearer pro-token' ? 'pro' : 'free')
    await next()
  })
  app.use(
    '/api/*',
    governor<AppEnv>({
      governor: gov,
      route: (c) => (c.req.path.startsWith('/api/orders') ? 'orders' : 'search'),
      // Paying customers keep their searches while free ones are shed.
      priority: (c) => (c.get('plan') === 'pro' ? 'critical' : undefined),
      clock,
    }),
  )
  app.get('/api/orders', async (c) => c.json(await backend.orders(c.req.query('customer') ?? 'me')))
  app.get('/api/search', async (c) => c.json(await backend.search(c.req.query('q') ?? '')))
  app.get('/health', (c) => c.text('ok'))
  return app
}
