/**
 * Hot reload (docs/operations.md): which running configs a new one may replace in place, and
 * the plan for doing it — which slots keep their physics state under which parameter set, and
 * which are dropped. Pure: the governor applies the plan.
 *
 * @module
 */

import type { EngineCore } from '../engine/types.ts'
import { paramSetOf } from '../engine/view.ts'
import type { ConfigProblem, GovernorConfig, RouteOptions } from '../config/schema.ts'
import { type ResolvedProfile, resolveProfile } from './physics-params.ts'
import { NO_SLOT, type RouteInfo, type SlotTable } from './slot-table.ts'

/** The id of a parameter set: one per configured route and profile, one per profile else. */
export function paramSetId(configured: boolean, route: string, profile: string): string {
  return configured ? `route:${route}|${profile}` : `|${profile}`
}

/** A route's priority class when a request names none: its own, the default, or the middle. */
export function defaultClassOf(
  config: GovernorConfig,
  classes: ReadonlyMap<string, number>,
  options: RouteOptions | undefined,
): number {
  const priority = options?.priority ?? config.defaults.priority
  return priority !== undefined
    ? classes.get(priority) as number
    : Math.floor(config.priorities.length / 2)
}

/**
 * Why `config` cannot replace `running` in place: the engine and `maxRoutes` size the engine's
 * memory at creation, and the parameter sets reserved then cap the routes.
 */
export function reconfigureProblems(
  running: GovernorConfig,
  config: GovernorConfig,
  engine: EngineCore,
): ConfigProblem[] {
  const problems: ConfigProblem[] = []
  const redeploy = 'it sizes the engine when the isolate starts: redeploy to change it'
  if (config.engine !== running.engine) {
    problems.push({ path: 'engine', message: `Engine cannot change live (${redeploy})` })
  }
  if (config.maxRoutes !== running.maxRoutes) {
    problems.push({ path: 'maxRoutes', message: `maxRoutes cannot change live (${redeploy})` })
  }
  // One parameter set per configured route, plus the built-in profiles of unconfigured ones.
  const most = engine.maxParamSets - 8
  if (config.routes.length > most) {
    problems.push({
      path: 'routes',
      message: `${config.routes.length} routes exceed the ${most} this isolate reserved at ` +
        'start: redeploy with the larger config',
    })
  }
  return problems
}

/** What `reconfigure` does to the slots held. */
export interface ReconfigurePlan {
  /** The new config's routes by id. */
  configured: Map<string, RouteOptions>
  /** The new config's priority classes by name. */
  classes: Map<string, number>
  /** Slots that keep their state, with what they hold from now on (defaultClass still 0). */
  keep: { slot: number; info: RouteInfo }[]
  /** Slots to forget. */
  drop: number[]
  /** Parameter sets by id: the index each keeps, and the route and profile it is written for. */
  sets: Map<string, { index: number; route: string; profile: ResolvedProfile }>
}

/**
 * Plans the switch of the slots in `table` from the routes `was` configured to `config`.
 *
 * @param table The slots held, most recently used first.
 * @param was The running config's routes by id.
 * @param config The new config (parsed).
 * @param engine The engine whose slots name their parameter set (`S_PARAMS`).
 */
export function planReconfigure(
  table: SlotTable,
  was: ReadonlyMap<string, unknown>,
  config: GovernorConfig,
  engine: EngineCore,
): ReconfigurePlan {
  const now = new Map<string, RouteOptions>()
  for (const route of config.routes) now.set(route.id, route)
  const ownProfile = (route: string) =>
    resolveProfile(now.get(route)?.profile ?? config.defaults.profile)
  const classes = new Map<string, number>()
  config.priorities.forEach((name, i) => classes.set(name, i))
  // Each surviving slot keeps the parameter set index it runs on (the engine holds it in the
  // slot's state); the set is rewritten with the new parameters. A slot whose new identity
  // would need another slot's set is dropped instead.
  const sets = new Map<string, { index: number; route: string; profile: ResolvedProfile }>()
  const claimed = new Map<number, string>()
  const drop: number[] = []
  const keep: { slot: number; info: RouteInfo }[] = []
  for (let s = table.head; s !== NO_SLOT; s = table.next[s] as number) {
    const info = table.info[s] as RouteInfo
    const configured = now.has(info.route)
    if (configured !== was.has(info.route)) {
      drop.push(s)
      continue
    }
    const own = ownProfile(info.route)
    const profile = info.key === info.route ? own : info.profile
    if (info.key !== info.route && profile.name === own.name) {
      drop.push(s) // `route@P` and `route` now name the same state: the plain key keeps it
      continue
    }
    const id = paramSetId(configured, info.route, profile.name)
    const index = paramSetOf(engine, s)
    const holder = claimed.get(index)
    if ((holder !== undefined && holder !== id) || (sets.get(id)?.index ?? index) !== index) {
      drop.push(s)
      continue
    }
    claimed.set(index, id)
    sets.set(id, { index, route: info.route, profile })
    keep.push({ slot: s, info: { key: info.key, route: info.route, profile, defaultClass: 0 } })
  }
  return { configured: now, classes, keep, drop, sets }
}
