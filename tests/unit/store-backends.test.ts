import { describe, expect, it } from 'vitest'
import { selectStores, STORE_BACKENDS, storeKindProblems } from '../../src/store/backends.ts'

const quiet = () => {
  const warnings: string[] = []
  return { warnings, logger: { warn: (m: string) => warnings.push(m) } }
}
const env = (values: Record<string, unknown>) => (name: string) => values[name]
const upstash = {
  UPSTASH_REDIS_REST_URL: 'https://db.upstash.io',
  UPSTASH_REDIS_REST_TOKEN: 'token',
}
// A namespace as the Durable Object store checks it: idFromName and get.
const namespace = { idFromName: () => ({}), get: () => ({}) }

describe('selectStores() picks the store sync.store names, by one rule on every runtime', () => {
  it.each(['deno', 'cloudflare-workers'])(
    'memory on %s, whatever the environment holds',
    (runtime) => {
      const { warnings, logger } = quiet()
      const stores = selectStores('memory', env(upstash), { runtime, logger })
      expect(Array.isArray(stores) ? stores : [stores.telemetry.kind, stores.config.kind]).toEqual([
        'memory',
        'memory',
      ])
      // Credentials set while memory runs: state is not shared, and the log says so.
      expect(warnings).toEqual([expect.stringContaining('could run here')])
    },
  )

  it('upstash with both secrets, on Deno and on Workers', () => {
    for (const runtime of ['deno', 'cloudflare-workers']) {
      const stores = selectStores('upstash', env(upstash), { runtime, logger: quiet().logger })
      expect(Array.isArray(stores) ? stores : stores.telemetry.kind).toBe('upstash')
    }
  })

  it('refuses upstash without its secrets, naming each', () => {
    const problems = selectStores('upstash', env({}), { runtime: 'deno', logger: quiet().logger })
    expect(problems).toEqual([
      { path: 'sync.store', message: expect.stringContaining('"UPSTASH_REDIS_REST_URL"') },
      { path: 'sync.store', message: expect.stringContaining('"UPSTASH_REDIS_REST_TOKEN"') },
    ])
  })

  it('refuses an Upstash URL that is not http(s), without echoing it', () => {
    const problems = selectStores(
      'upstash',
      env({ ...upstash, UPSTASH_REDIS_REST_URL: 'secret-token-pasted-here' }),
      { runtime: 'deno', logger: quiet().logger },
    )
    expect(problems).toEqual([
      { path: 'UPSTASH_REDIS_REST_URL', message: 'Upstash REST URL must be an http(s) URL' },
    ])
  })

  it('durable-object only on Workers, and only with its binding', () => {
    const { logger } = quiet()
    expect(selectStores('durable-object', env({ ROUTE_STATE: namespace }), {
      runtime: 'deno',
      logger,
    })).toEqual([{
      path: 'sync.store',
      message: 'Store "durable-object" needs Cloudflare Workers: on Deno use "memory" or "upstash"',
    }])
    const missing = selectStores('durable-object', env({}), {
      runtime: 'cloudflare-workers',
      logger,
    })
    expect(missing).toEqual([
      { path: 'sync.store', message: expect.stringContaining('binding "ROUTE_STATE"') },
    ])
    const stores = selectStores(
      'durable-object',
      env({ ROUTE_STATE: namespace, CONFIG_STORE: namespace }),
      { runtime: 'cloudflare-workers', logger },
    )
    expect(Array.isArray(stores) ? stores : [stores.telemetry.kind, stores.config.kind]).toEqual([
      'durable-object',
      'durable-object',
    ])
  })

  it('refuses a name the table does not hold, listing the ones it does', () => {
    const expected = [{
      path: 'sync.store',
      message: `Unknown store "upstahs": expected one of ${
        Object.keys(STORE_BACKENDS).map((k) => `"${k}"`).join(', ')
      }`,
    }]
    expect(storeKindProblems('upstahs')).toEqual(expected)
    expect(selectStores('upstahs', env({}), { runtime: 'deno', logger: quiet().logger }))
      .toEqual(expected)
    expect(storeKindProblems('toString')).toHaveLength(1)
  })
})
