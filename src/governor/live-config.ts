/**
 * `createLiveConfig()`: the config an isolate runs, its version, and how a new one arrives. An
 * upload is validated here (the edge schema, then what cannot change live), stored in the
 * `ConfigStore`, and applied at once in the isolate that took it; every other isolate finds the
 * new version with its next heartbeat (`poll`, run by the syncer beside the exchange) and applies
 * it then. docs/operations.md ("Config uploads") and docs/sync.md.
 *
 * @module
 */

import {
  ConfigError,
  type ConfigProblem,
  type GovernorConfig,
  parseEdgeConfig,
} from '../config/schema.ts'
import type { ConfigStore, IsolateInfo } from '../contract/config-store.ts'
import type { Governor } from './governor.ts'

/** Options of `createLiveConfig()`. */
export interface LiveConfigOptions {
  /** The governor to reconfigure; its config is the deployed one (version 0). */
  governor: Governor
  /** The deployed config as written (the parsed `RHEOSTAT_CONFIG`): what version 0 answers. */
  deployed: unknown
  /** Where versions live and isolates report. */
  store: ConfigStore
  /**
   * Called after the governor took a new config, to swap what else depends on it (the edge
   * handlers rebuild their route table here). A throw is reported as the apply's problem.
   */
  onApply?: ((config: GovernorConfig, version: number) => void) | undefined
  /**
   * Origins (scheme, host and port, e.g. "https://api.example.com") an uploaded config's routes
   * may point at: the deploy-time allowlist (`RHEOSTAT_ORIGINS`), so that an admin token cannot
   * repoint traffic at a host of its holder's choosing. Empty or undefined: the origins of the
   * deployed config.
   * @default the deployed config's origins
   */
  allowedOrigins?: readonly string[] | undefined
}

/** A validation result: the config with defaults, or every problem. */
export type Validation =
  | { ok: true; config: GovernorConfig }
  | { ok: false; problems: ConfigProblem[] }

/** The running config of one isolate. */
export interface LiveConfig {
  readonly store: ConfigStore
  /** The version this isolate runs; 0 is the deployed config. */
  version(): number
  /** The config this isolate runs, defaults filled in. */
  config(): GovernorConfig
  /** The config this isolate runs, as written. */
  input(): unknown
  /** The deployed config (version 0), as written. */
  deployed(): unknown
  /**
   * Checks a config for this deployment: the edge schema and its cross-field rules, then what
   * cannot change live (`sync.store`, `admin.prefix`, `decisionLog`, `engine`, `maxRoutes`).
   */
  validate(input: unknown): Validation
  /**
   * Runs `input` as `version` now. Returns the problems that stopped it (the running config is
   * then untouched); empty on success.
   */
  apply(version: number, input: unknown): ConfigProblem[]
  /**
   * One heartbeat: reports this isolate to the store and, when the store holds another version,
   * fetches and applies it. A version this isolate cannot run is not fetched again.
   * @throws When the store fails: the caller keeps the current config.
   */
  poll(isolate: { isolateId: string; syncDegraded: boolean }, nowMs: number): Promise<void>
  /** Why the last version from the store was not applied; null when it was. */
  lastError(): string | null
}

/**
 * Creates the live config of one isolate.
 *
 * @param options The governor, the deployed config, the store.
 * @returns The live config.
 * @throws {ConfigError} When the deployed config is not a valid edge config.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from './governor.ts'
 * import { createLiveConfig } from './live-config.ts'
 * import { MemoryConfigStore } from '../store/memory/config.ts'
 * const deployed = { routes: [{ id: 'api', match: { path: '/api/*' }, origin: 'https://o.example' }] }
 * const governor = createGovernor({ engine: 'ts', config: deployed })
 * const live = createLiveConfig({ governor, deployed, store: new MemoryConfigStore() })
 * const problems = live.apply(1, { ...deployed, priorities: ['gold', 'lead'] })
 * if (problems.length > 0 || governor.config.priorities[0] !== 'gold') throw new Error('applied')
 * ```
 */
export function createLiveConfig(options: LiveConfigOptions): LiveConfig {
  const { governor, store, onApply } = options
  const deployedInput = clone(options.deployed)
  const deployedConfig = parseEdgeConfig(deployedInput)
  let version = 0
  let input: unknown = deployedInput
  let config = deployedConfig
  let rejected: number | undefined
  let error: string | null = null
  const listed = (options.allowedOrigins ?? []).map(originOf).filter((o) => o !== null)
  const allowed = new Set<string>(
    listed.length > 0
      ? listed
      : deployedConfig.routes.map((r) => originOf(r.origin ?? '')).filter((o) => o !== null),
  )

  const validate = (candidate: unknown): Validation => {
    let parsed: GovernorConfig
    try {
      parsed = parseEdgeConfig(candidate)
    } catch (e) {
      if (e instanceof ConfigError) return { ok: false, problems: e.problems }
      throw e
    }
    const problems: ConfigProblem[] = []
    if (parsed.sync.store !== deployedConfig.sync.store) {
      problems.push({
        path: 'sync.store',
        message: `Store cannot change live (deployed: "${deployedConfig.sync.store}"): the ` +
          'versions and the shared state live in it; change it in RHEOSTAT_CONFIG and redeploy',
      })
    }
    if (parsed.admin.prefix !== deployedConfig.admin.prefix) {
      problems.push({
        path: 'admin.prefix',
        message: `Admin prefix cannot change live (deployed: "${deployedConfig.admin.prefix}"): ` +
          'the CLI and dashboard would lose the API mid-rollout; change it in RHEOSTAT_CONFIG ' +
          'and redeploy',
      })
    }
    if (JSON.stringify(parsed.decisionLog) !== JSON.stringify(deployedConfig.decisionLog)) {
      problems.push({
        path: 'decisionLog',
        message: 'The decision log is set up when the isolate starts: change it in ' +
          'RHEOSTAT_CONFIG and redeploy',
      })
    }
    parsed.routes.forEach((route, i) => {
      const origin = originOf(route.origin ?? '')
      if (origin === null || !allowed.has(origin)) {
        problems.push({
          path: `routes.${i}.origin`,
          message: `Origin "${origin ?? route.origin}" is not one this deployment may forward ` +
            `to (${[...allowed].map((o) => `"${o}"`).join(', ') || 'none'}): list it in ` +
            'RHEOSTAT_ORIGINS and redeploy',
        })
      }
    })
    if (JSON.stringify(parsed.trustedProxies) !== JSON.stringify(deployedConfig.trustedProxies)) {
      problems.push({
        path: 'trustedProxies',
        message: 'Trusted proxies cannot change live: they decide whose forwarding fields an ' +
          'origin believes; change them in RHEOSTAT_CONFIG and redeploy',
      })
    }
    problems.push(...governor.reconfigureProblems(parsed))
    return problems.length > 0 ? { ok: false, problems } : { ok: true, config: parsed }
  }

  const apply = (next: number, candidate: unknown): ConfigProblem[] => {
    const checked = validate(candidate)
    if (!checked.ok) return checked.problems
    governor.reconfigure(checked.config)
    try {
      onApply?.(checked.config, next)
    } catch (e) {
      // The route table refused what the schema passed: put the governor back as it was.
      governor.reconfigure(config)
      return [{ path: '', message: e instanceof Error ? e.message : String(e) }]
    }
    version = next
    input = clone(candidate)
    config = checked.config
    error = null
    rejected = undefined
    return []
  }

  return {
    store,
    version: () => version,
    config: () => config,
    input: () => clone(input),
    deployed: () => clone(deployedInput),
    validate,
    apply,
    async poll(isolate, nowMs) {
      const info: IsolateInfo = {
        isolateId: isolate.isolateId,
        configVersion: version,
        lastSeenMs: nowMs,
        syncDegraded: isolate.syncDegraded,
      }
      const beat = await store.heartbeat(info, nowMs)
      // Unequal, not greater: a store that lost its data (version 0) brings everyone back to the
      // deployed config rather than leaving isolates on versions nobody can read any more.
      if (beat.version === version || beat.version === rejected) return
      const record = beat.version === 0 ? null : await store.current()
      const next = record?.version ?? 0
      if (next === version) return
      const problems = apply(next, record === null ? deployedInput : record.config)
      if (problems.length > 0) {
        rejected = next
        error = `Config version ${next} was not applied: ` +
          problems.map((p) => `${p.path || '(root)'}: ${p.message}`).join('; ')
        return
      }
      // Reported at once, so the registry shows the rollout as it happens; only on a change, so
      // it costs one more round trip per upload, not per interval. Its failure changes nothing.
      await store.heartbeat({ ...info, configVersion: version }, nowMs).catch(() => {})
    },
    lastError: () => error,
  }
}

function clone<T>(value: T): T {
  return value === undefined ? value : JSON.parse(JSON.stringify(value))
}

/**
 * The isolates the config store knows, for stats and metrics: the store's list, with this isolate
 * in it even before its first heartbeat or while the store fails (then it is alone).
 *
 * @param live The isolate's live config.
 * @param status This isolate's sync status (its id and health).
 * @param clock Clock of the TTL, ms.
 * @returns A function answering the list; it never rejects.
 *
 * @example Usage
 * ```ts
 * import { createGovernor } from './governor.ts'
 * import { createLiveConfig, isolateLister } from './live-config.ts'
 * import { createSyncer } from './sync.ts'
 * import { MemoryConfigStore } from '../store/memory/config.ts'
 * import { MemoryStore } from '../store/memory/store.ts'
 * const governor = createGovernor({ engine: 'ts' })
 * const live = createLiveConfig({ governor, deployed: {}, store: new MemoryConfigStore() })
 * const sync = createSyncer({ governor, store: new MemoryStore(), config: live })
 * const list = await isolateLister(live, () => sync.status())()
 * if (list.length !== 1) throw new Error('this isolate alone')
 * ```
 */
export function isolateLister(
  live: LiveConfig,
  status: () => { isolateId: string; degraded: boolean },
  clock: () => number = Date.now,
): () => Promise<IsolateInfo[]> {
  return async () => {
    const now = clock()
    const self = status()
    const me: IsolateInfo = {
      isolateId: self.isolateId,
      configVersion: live.version(),
      lastSeenMs: now,
      syncDegraded: self.degraded,
    }
    const listed = await live.store.isolates(now).catch(() => [])
    const others = listed.filter((i) => i.isolateId !== me.isolateId)
    return [...others, me].sort((a, b) =>
      a.isolateId < b.isolateId ? -1 : a.isolateId > b.isolateId ? 1 : 0
    )
  }
}

/** The origin (scheme://host:port) of a URL, or null when it is not one. */
function originOf(url: string): string | null {
  try {
    const parsed = new URL(url)
    return parsed.origin === 'null' ? null : parsed.origin
  } catch {
    return null
  }
}
