/**
 * `configSection()`: the admin API's config routes, relative to the admin prefix.
 *
 * | route | does |
 * | --- | --- |
 * | `GET /api/config` | `{ version, config, updatedAt, running }`: the newest version; `ETag: "N"` |
 * | `PUT /api/config` | replaces the config with a whole one (the `RHEOSTAT_CONFIG` format) |
 * | `PATCH /api/config` | merges a partial one into the current config (JSON Merge Patch, RFC 7396) |
 * | `GET /api/config/history?limit=N` | the newest N versions, newest first |
 * | `POST /api/config/rollback` | `{ "version": N }`: uploads version N's config again, as a new version |
 *
 * `PUT`, `PATCH` and rollback accept `If-Match: "N"` (or `N`) and answer 409 when the store holds
 * another version. An invalid config answers 422 with every problem's path and reason, and the
 * running config is untouched. The isolate that took an upload runs it before answering; the
 * others within two sync intervals. docs/operations.md.
 *
 * @module
 */

import type { Context, Hono } from 'hono'
import type { ConfigProblem } from '../config/schema.ts'
import type { Clock } from '../governor/governor.ts'
import type { LiveConfig } from '../governor/live-config.ts'
import { CONFIG_HISTORY_LIMIT, type ConfigRecord } from '../contract/config-store.ts'
import { DEFAULT_PROBLEM_TYPE_BASE, problemResponse } from '../http/responses.ts'
import type { AdminSection } from './admin.ts'
import { readJsonBody } from './body.ts'

/** What the config routes need. */
export interface ConfigSectionDeps {
  /** The isolate's live config (its store holds the versions). */
  live: LiveConfig
  /**
   * Largest body accepted, bytes (the running config's `admin.maxBodyBytes`).
   * @default () => live.config().admin.maxBodyBytes
   */
  maxBodyBytes?: (() => number) | undefined
  /** @default Date.now */
  clock?: Clock | undefined
  /** @default "urn:rheostat:problem:" */
  problemTypeBase?: string | undefined
}

/** The problem type of a config the API refuses. */
export const INVALID_UPLOAD_TYPE = `${DEFAULT_PROBLEM_TYPE_BASE}invalid-config`

/**
 * The config routes, as an admin section.
 *
 * @param deps The live config and the body limit.
 * @returns The section for `createAdminApp({ sections })`.
 *
 * @example Usage
 * ```ts
 * import { createAdminApp } from './admin.ts'
 * import { configSection } from './config-api.ts'
 * import { createGovernor } from '../governor/governor.ts'
 * import { createLiveConfig } from '../governor/live-config.ts'
 * import { MemoryConfigStore } from '../store/memory/config.ts'
 * const deployed = { routes: [{ id: 'api', match: { path: '/*' }, origin: 'https://o.example' }] }
 * const governor = createGovernor({ engine: 'ts', config: deployed })
 * const live = createLiveConfig({ governor, deployed, store: new MemoryConfigStore() })
 * const token = 'an-admin-token-of-32-characters-'
 * const admin = createAdminApp({ token, sections: [configSection({ live })] })
 * const res = await admin.request('http://edge/__rheostat/api/config', {
 *   headers: { authorization: `Bearer ${token}` },
 * })
 * if ((await res.json()).version !== 0) throw new Error('version 0 is the deployed config')
 * ```
 */
export function configSection(deps: ConfigSectionDeps): AdminSection {
  const { live } = deps
  const clock = deps.clock ?? Date.now
  const base = deps.problemTypeBase ?? DEFAULT_PROBLEM_TYPE_BASE
  const maxBodyBytes = deps.maxBodyBytes ?? (() => live.config().admin.maxBodyBytes)
  const store = live.store

  const problem = (status: number, slug: string, title: string, detail: string, extra = {}) =>
    problemResponse({ type: `${base}${slug}`, title, status, detail, ...extra })
  const invalid = (problems: ConfigProblem[], detail?: string) =>
    problem(
      422,
      'invalid-config',
      'Invalid config',
      detail ?? `The config has ${problems.length} problem${problems.length === 1 ? '' : 's'}; ` +
          'nothing was stored and the running config is unchanged',
      { problems: problems.map(({ path, message }) => ({ path, message })) },
    )
  const storeDown = (error: unknown) =>
    problem(
      503,
      'config-store-unavailable',
      'Config store unavailable',
      `The config store did not answer (${redacted(error)}); nothing was changed`,
    )
  const conflict = (expected: number, current: number) =>
    problem(
      409,
      'version-conflict',
      'Version conflict',
      `If-Match names version ${expected} but the store holds version ${current}: fetch it, ` +
        'reapply your change and send again',
      { currentVersion: current },
    )

  /** If-Match as a version: undefined when absent, a Response when malformed. */
  const ifMatch = (c: Context): number | undefined | Response => {
    const field = c.req.header('if-match')
    if (field === undefined) return undefined
    const match = /^\s*(?:W\/)?"?(\d{1,15})"?\s*$/.exec(field)
    if (match === null) {
      return problem(
        400,
        'invalid-if-match',
        'Invalid If-Match',
        `If-Match must be a config version like "3", got ${JSON.stringify(field.slice(0, 40))}`,
      )
    }
    return Number(match[1])
  }

  /** The store's newest version and its config (the deployed one while nothing is uploaded). */
  const latest = async (): Promise<
    { version: number; config: unknown; updatedAt: number | null }
  > => {
    const record = await store.current()
    return record === null
      ? { version: 0, config: live.deployed(), updatedAt: null }
      : { version: record.version, config: record.config, updatedAt: record.updatedAt }
  }

  /** Validates, stores with compare-and-set, applies here; the response. */
  const upload = async (c: Context, candidate: unknown, expected: number | undefined) => {
    const checked = live.validate(candidate)
    if (!checked.ok) return invalid(checked.problems)
    let result
    try {
      result = await store.put(candidate, clock(), expected)
    } catch (error) {
      return storeDown(error)
    }
    if (!result.ok) return conflict(expected as number, result.currentVersion)
    const problems = live.apply(result.record.version, result.record.config)
    if (problems.length > 0) {
      // Validated a moment ago, so only the route table can refuse here; the store keeps the
      // version (others may run it) and this isolate says why it does not.
      return invalid(problems, `Version ${result.record.version} was stored but not applied here`)
    }
    return c.json(view(result.record), 200, { etag: `"${result.record.version}"` })
  }

  return function config(app: Hono) {
    app.get('/api/config', async (c) => {
      // The store's newest version, so that its ETag is what If-Match must name; the isolate's
      // own when the store does not answer (`running` tells which this isolate runs).
      let current: { version: number; config: unknown; updatedAt: number | null }
      try {
        current = await latest()
      } catch {
        current = { version: live.version(), config: live.input(), updatedAt: null }
      }
      return c.json({ ...current, running: live.version() }, 200, {
        etag: `"${current.version}"`,
      })
    })

    app.put('/api/config', async (c) => {
      const expected = ifMatch(c)
      if (expected instanceof Response) return expected
      const body = await readJsonBody(c, maxBodyBytes(), base)
      if (!body.ok) return body.response
      return upload(c, body.value, expected)
    })

    app.patch('/api/config', async (c) => {
      const expected = ifMatch(c)
      if (expected instanceof Response) return expected
      const body = await readJsonBody(c, maxBodyBytes(), base)
      if (!body.ok) return body.response
      if (!isObject(body.value)) {
        return invalid([{ path: '', message: 'A config patch is a JSON object' }])
      }
      let current
      try {
        current = await latest()
      } catch (error) {
        return storeDown(error)
      }
      if (expected !== undefined && expected !== current.version) {
        return conflict(expected, current.version)
      }
      // The merge is against the store's newest version, and stored only if that is still the
      // newest: two patches at once cannot silently undo each other.
      let merged: unknown
      try {
        merged = mergePatch(current.config, body.value)
      } catch (error) {
        return invalid([{ path: '', message: (error as Error).message }])
      }
      return upload(c, merged, current.version)
    })

    app.get('/api/config/history', async (c) => {
      const raw = c.req.query('limit')
      const limit = raw === undefined ? CONFIG_HISTORY_LIMIT : Number(raw)
      if (!Number.isInteger(limit) || limit < 1) {
        return problem(
          400,
          'invalid-limit',
          'Invalid limit',
          `limit must be a whole number ≥ 1, got ${JSON.stringify(raw)}`,
        )
      }
      let records: ConfigRecord[]
      try {
        records = await store.history(limit)
      } catch (error) {
        return storeDown(error)
      }
      const versions: unknown[] = records.map(view)
      // Version 0 is kept by every isolate itself, so it is listed whenever the history reaches
      // back to version 1.
      const oldest = records[records.length - 1]?.version ?? 1
      if (oldest === 1 && versions.length < limit) {
        versions.push({ version: 0, config: live.deployed(), updatedAt: null })
      }
      return c.json({ running: live.version(), kept: CONFIG_HISTORY_LIMIT, versions })
    })

    app.post('/api/config/rollback', async (c) => {
      const expected = ifMatch(c)
      if (expected instanceof Response) return expected
      const body = await readJsonBody(c, maxBodyBytes(), base)
      if (!body.ok) return body.response
      const target = isObject(body.value) ? body.value.version : undefined
      if (!Number.isInteger(target) || (target as number) < 0) {
        return invalid([{
          path: 'version',
          message: 'Send { "version": N }, N a whole number ≥ 0',
        }])
      }
      let found: unknown
      if (target === 0) {
        found = live.deployed()
      } else {
        let records: ConfigRecord[]
        try {
          records = await store.history(CONFIG_HISTORY_LIMIT)
        } catch (error) {
          return storeDown(error)
        }
        const record = records.find((r) => r.version === target)
        if (record === undefined) {
          return problem(
            404,
            'version-not-found',
            'Version not found',
            `Version ${target} is not among the ${CONFIG_HISTORY_LIMIT} newest kept: see ` +
              'GET /api/config/history',
          )
        }
        found = record.config
      }
      return upload(c, found, expected)
    })
  }
}

function view(record: ConfigRecord) {
  return { version: record.version, config: record.config, updatedAt: record.updatedAt }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value)
}

/**
 * JSON Merge Patch (RFC 7396): objects merge key by key, `null` deletes a key, anything else
 * (arrays included) replaces.
 *
 * @example Usage
 * ```ts
 * import { mergePatch } from './config-api.ts'
 * const merged = mergePatch({ a: 1, b: { c: 2, d: 3 } }, { b: { c: null, e: 4 } })
 * if (JSON.stringify(merged) !== '{"a":1,"b":{"d":3,"e":4}}') throw new Error('merged')
 * ```
 */
export function mergePatch(target: unknown, patch: unknown, depth = 0): unknown {
  if (!isObject(patch)) return patch
  if (depth >= MAX_PATCH_DEPTH) {
    throw new RangeError(`A config patch nests deeper than ${MAX_PATCH_DEPTH} levels`)
  }
  const out: Record<string, unknown> = {}
  if (isObject(target)) { for (const key of Object.keys(target)) define(out, key, target[key]) }
  for (const [key, value] of Object.entries(patch)) {
    if (value === null) delete out[key]
    else define(out, key, mergePatch(out[key], value, depth + 1))
  }
  return out
}

// A store error's message without anything that looks like a credential, as the syncer reports it.
function redacted(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error)
  return message.replace(/(Bearer\s+|token=)[^\s&"']+/gi, '$1[redacted]').slice(0, 300)
}

/**
 * Deepest a config patch may nest: a config is at most 5 levels deep, and an unbounded merge of a
 * 1 MiB body of brackets would recurse past the stack.
 */
export const MAX_PATCH_DEPTH = 32

// An own data property even for "__proto__": assignment would set the object's prototype, and the
// object validated would differ from the JSON stored. As an own key, validation refuses it.
function define(out: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(out, key, { value, enumerable: true, writable: true, configurable: true })
}
