/**
 * A plain fetch handler that knows nothing about Rheostat, and the governor config for it. The
 * Workers entry (`worker.ts`) and the Deno entry (`main.ts`) wrap it with `withGovernor`.
 *
 * @module
 */

// In your project: `from 'rheostat'`.
import type { GovernorConfigInput } from '../../src/mod.ts'

/**
 * Routes come from the config's `match` (URLPattern pathnames): `withGovernor` is given no
 * `route` option. Reservations are worth more than stock look-ups, so they are shed last.
 */
export const config = {
  routes: [
    { id: 'stock', match: { methods: ['GET'], path: '/stock/:sku' }, profile: 'LIGHT' },
    { id: 'reserve', match: { methods: ['POST'], path: '/reserve/:sku' }, priority: 'critical' },
  ],
} satisfies GovernorConfigInput

/** What the handler calls: a warehouse service in a real app. */
export interface Inventory {
  stock(sku: string): Promise<number>
  reserve(sku: string): Promise<boolean>
}

const shelves = new Map([['anvil', 3], ['rocket-skates', 1]])

/** An in-memory inventory, so the example runs on its own. */
export const demoInventory: Inventory = {
  stock: (sku) => Promise.resolve(shelves.get(sku) ?? 0),
  reserve: (sku) => {
    const left = shelves.get(sku) ?? 0
    if (left > 0) shelves.set(sku, left - 1)
    return Promise.resolve(left > 0)
  },
}

/**
 * Builds the handler.
 *
 * @param inventory Where stock lives.
 * @returns `(request) => Response`: GET /stock/:sku, POST /reserve/:sku, 404 otherwise.
 */
export function createHandler(
  inventory: Inventory = demoInventory,
): (request: Request) => Promise<Response> {
  return async function handle(request) {
    const [, action, sku] = new URL(request.url).pathname.split('/')
    try {
      if (request.method === 'GET' && action === 'stock' && sku) {
        return Response.json({ sku, stock: await inventory.stock(sku) })
      }
      if (request.method === 'POST' && action === 'reserve' && sku) {
        const reserved = await inventory.reserve(sku)
        return Response.json({ sku, reserved }, { status: reserved ? 200 : 409 })
      }
    } catch {
      // A 5xx is what tells the governor the inventory is failing.
      return new Response('Inventory unavailable', { status: 502 })
    }
    return new Response('Not found', { status: 404 })
  }
}
