/**
 * The Worker live mode serves under workerd: the Worker's own request handler (config from
 * `RHEOSTAT_CONFIG`, governor, memory store and syncer, origin proxy) with one difference, its
 * clock. Scenario time runs `RHEOSTAT_TUNNEL_SPEED` times faster than wall time, so the governor
 * sees the scenario's latencies and time constants as the simulator does. `GET /__tunnel/probe`
 * answers the route's snapshot (resistance, mode, mode transitions) for the report.
 *
 * Built with `wrangler deploy --dry-run` from `src/tunnel/live/wrangler.toml` by
 * src/tunnel/live/workerd.ts; never deployed.
 *
 * @module
 */

import wasm from '../../../wasm/build/rheostat.wasm'
import { createEdgeHandler, type WorkerEnv } from '../../adapter/cloudflare-workers/handler.ts'

/** The bindings src/tunnel/live/workerd.ts writes into the capnp config. */
interface TunnelEnv extends WorkerEnv {
  /** Scenario ms per wall ms, as text. */
  RHEOSTAT_TUNNEL_SPEED?: string
  /** The route the probe reports. */
  RHEOSTAT_TUNNEL_ROUTE?: string
}

// Answered before the proxy sees the request; the same path as workerd.ts's PROBE_PATH (not
// imported: that module is Node's, this one is bundled for workerd).
const PROBE_PATH = '/__tunnel/probe'

let speed = 1
// Scenario ms. Workers advance Date.now() only across I/O, which is all a latency spans.
const clock = () => Date.now() * speed
const handler = createEdgeHandler({ wasm, clock })

export default {
  fetch(
    request: Request,
    env: TunnelEnv,
    ctx: { waitUntil(promise: Promise<unknown>): void; passThroughOnException(): void },
  ): Response | Promise<Response> {
    // Set before the first request builds the governor, so its clock never jumps.
    speed = Number(env.RHEOSTAT_TUNNEL_SPEED ?? '1') || 1
    if (new URL(request.url).pathname === PROBE_PATH) {
      const build = handler.current()
      const snapshot = build?.ok ? build.governor.snapshot(env.RHEOSTAT_TUNNEL_ROUTE ?? '') : null
      return Response.json({ nowMs: clock(), snapshot: snapshot ?? null })
    }
    return handler.fetch(request, env, ctx)
  },
}
