/**
 * The admin app as both edge entries (Workers, Deno) mount it: health, the dashboard, stats,
 * metrics, events and telemetry, and config uploads, for one isolate's governor, syncer and live
 * config.
 *
 * @module
 */

import type { Hono } from 'hono'
import type { GovernorConfig } from '../config/schema.ts'
import type { Clock, Governor } from '../governor/governor.ts'
import { isolateLister, type LiveConfig } from '../governor/live-config.ts'
import type { Syncer } from '../governor/sync.ts'
import { createAdminApp, tokenProblem } from './admin.ts'
import { configSection } from './config-api.ts'
import { dashboardSection } from './dashboard/index.ts'
import { observabilitySection } from './observability.ts'

/** What `createEdgeAdmin()` serves. */
export interface EdgeAdminOptions {
  /** `RHEOSTAT_ADMIN_TOKEN`; undefined or empty turns the admin API off. */
  token: string | undefined
  /** `RHEOSTAT_READ_TOKEN`: opens metrics, stats and events only. @default none */
  readToken?: string | undefined
  /** The deployed config: its `admin` fields. */
  config: GovernorConfig
  governor: Governor
  sync: Syncer
  live: LiveConfig
  /** @default Date.now */
  clock?: Clock | undefined
}

/**
 * Creates the edge entries' admin app.
 *
 * @param options Token, config, governor, syncer, live config and clock.
 * @returns The admin app, to pass as `createProxyApp({ admin })`.
 *
 * @example Usage
 * ```ts
 * import { createEdgeAdmin } from './edge.ts'
 * import { createGovernor } from '../governor/governor.ts'
 * import { createLiveConfig } from '../governor/live-config.ts'
 * import { createSyncer } from '../governor/sync.ts'
 * import { MemoryStore } from '../store/memory/store.ts'
 * import { MemoryConfigStore } from '../store/memory/config.ts'
 * const governor = createGovernor({ engine: 'ts' })
 * const live = createLiveConfig({ governor, deployed: {}, store: new MemoryConfigStore() })
 * const sync = createSyncer({ governor, store: new MemoryStore(), config: live })
 * const admin = createEdgeAdmin({ token: undefined, config: governor.config, governor, sync, live })
 * const res = await admin.request('http://edge/__rheostat/health')
 * if ((await res.json()).admin !== 'off') throw new Error('off without a token')
 * ```
 */
export function createEdgeAdmin(options: EdgeAdminOptions): Hono {
  const { config, governor, sync, live, clock } = options
  return createAdminApp({
    token: options.token,
    readToken: options.readToken,
    prefix: config.admin.prefix,
    publicSections: [dashboardSection()],
    health: () => ({ sync: sync.status().degraded ? 'degraded' : 'ok' }),
    sections: [
      observabilitySection({
        governor,
        sync,
        clock,
        maxBodyBytes: config.admin.maxBodyBytes,
        configVersion: live.version,
        isolates: isolateLister(live, sync.status, clock),
      }),
      configSection({ live, clock }),
    ],
  })
}

/**
 * The origins an upload may point at, from `RHEOSTAT_ORIGINS`: a comma- or space-separated list
 * of origins ("https://api.example.com, http://127.0.0.1:9000"). Undefined when unset: the
 * deployed config's origins then.
 *
 * @example Usage
 * ```ts
 * import { originsFromEnv } from './edge.ts'
 * const list = originsFromEnv('https://a.example, http://127.0.0.1:9000')
 * if (list?.length !== 2) throw new Error('two origins')
 * ```
 */
export function originsFromEnv(text: string | undefined): string[] | undefined {
  if (text === undefined || text.trim() === '') return undefined
  return text.split(/[\s,]+/).filter((item) => item !== '')
}

/**
 * What is wrong with the admin secrets, as config problems (path: the variable's name).
 *
 * @example Usage
 * ```ts
 * import { secretProblems } from './edge.ts'
 * if (secretProblems('short', undefined).length !== 1) throw new Error('refused')
 * ```
 */
export function secretProblems(
  token: string | undefined,
  readToken: string | undefined,
): { path: string; message: string }[] {
  const out: { path: string; message: string }[] = []
  for (
    const [name, value] of [['RHEOSTAT_ADMIN_TOKEN', token], ['RHEOSTAT_READ_TOKEN', readToken]]
  ) {
    const problem = tokenProblem(name as string, value)
    if (problem !== null) out.push({ path: name as string, message: problem })
  }
  if (readToken && token && readToken === token) {
    out.push({
      path: 'RHEOSTAT_READ_TOKEN',
      message: 'RHEOSTAT_READ_TOKEN equals RHEOSTAT_ADMIN_TOKEN: a read-only token must differ',
    })
  }
  return out
}
