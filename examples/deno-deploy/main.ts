/**
 * A Deno Deploy entry for the Rheostat proxy. The config is the `RHEOSTAT_CONFIG` environment
 * variable, else the sample next to this file (whose origin is the local demo origin). To share
 * state between isolates and regions, say `"sync": { "store": "upstash" }` in the config and set
 * `UPSTASH_REDIS_REST_URL` and `UPSTASH_REDIS_REST_TOKEN`; otherwise each isolate governs alone.
 * See README.md here.
 *
 * ```sh
 * deno run --allow-net --allow-env examples/deno-deploy/main.ts   # locally, on 127.0.0.1:8000
 * ```
 *
 * @module
 */

import { createDenoHandler } from '../../src/adapter/deno/mod.ts'
import sample from './rheostat.json' with { type: 'json' }

/**
 * The handler, made once per isolate at start-up: an invalid config throws here, so a deployment
 * with a bad `RHEOSTAT_CONFIG` fails to start and lists every problem in its logs.
 */
export const handler = createDenoHandler({
  config: Deno.env.get('RHEOSTAT_CONFIG') ?? JSON.stringify(sample),
})

if (import.meta.main) {
  // Deno Deploy picks the address itself and ignores these; locally they keep it on loopback.
  Deno.serve({ hostname: '127.0.0.1', port: Number(Deno.env.get('PORT') ?? 8000) }, handler.fetch)
}
