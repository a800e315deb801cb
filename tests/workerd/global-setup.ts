// Vitest globalSetup of the workerd project (runs in Node): real demo origins for the Worker
// entry's end-to-end tests, which workerd reaches over loopback, and the two deployable
// wrangler.toml files read by wrangler itself, so the tests check the configs that ship.
import { fileURLToPath } from 'node:url'
import type { TestProject } from 'vitest/node'
import { unstable_readConfig } from 'wrangler'
import { type DemoOrigin, startDemoOrigin } from '../../scripts/demo-origin.ts'

/** One demo origin per test that turns knobs, so that test files running at once cannot meet. */
export const ORIGIN_NAMES = ['entry', 'shed', 'flaky', 'example', 'config', 'obs'] as const
export type OriginName = (typeof ORIGIN_NAMES)[number]

/** What a test needs of a wrangler.toml. */
export interface ShippedConfig {
  /** `main`, relative to the repository root. */
  main: string
  rheostatConfig: string
  durableObjects: { name: string; className: string }[]
  sqliteClasses: string[]
  compatibilityDate: string | undefined
  minify: boolean | undefined
}

declare module 'vitest' {
  export interface ProvidedContext {
    demoOrigins: Record<OriginName, string>
    shippedConfigs: { root: ShippedConfig; example: ShippedConfig }
  }
}

const root = fileURLToPath(new URL('../../', import.meta.url).href)

function shipped(path: string): ShippedConfig {
  const config = unstable_readConfig({ config: root + path })
  const text = config.vars.RHEOSTAT_CONFIG
  if (typeof text !== 'string') throw new Error(`Cannot find RHEOSTAT_CONFIG in "${path}"`)
  return {
    main: (config.main ?? '').replace(root, ''),
    rheostatConfig: text,
    durableObjects: config.durable_objects.bindings.map((
      b: { name: string; class_name: string },
    ) => ({
      name: b.name,
      className: b.class_name,
    })),
    sqliteClasses: config.migrations.flatMap((m: { new_sqlite_classes?: string[] }) =>
      m.new_sqlite_classes ?? []
    ),
    compatibilityDate: config.compatibility_date,
    minify: config.minify,
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const started: DemoOrigin[] = []
  try {
    for (const _ of ORIGIN_NAMES) started.push(await startDemoOrigin(0, { jitterMs: 0 }))
  } catch (error) {
    await Promise.all(started.map((o) => o.close()))
    throw error
  }
  project.provide(
    'demoOrigins',
    Object.fromEntries(ORIGIN_NAMES.map((name, i) => [name, started[i]!.url])) as Record<
      OriginName,
      string
    >,
  )
  project.provide('shippedConfigs', {
    root: shipped('wrangler.toml'),
    example: shipped('examples/cloudflare-proxy/wrangler.toml'),
  })
  return async () => {
    await Promise.all(started.map((o) => o.close()))
  }
}
