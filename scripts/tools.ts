// The programs from outside npm that the test suites and the proxy benchmark need, and how
// `npm test` / `npm run bench:proxy` get them on a machine that has only Node and npm.
//
// For each tool: an environment variable naming an existing binary wins; else the binary is looked
// for on PATH and at its Debian path; else, where the machine can install it (root, with apt-get),
// it is installed with apt-get, saying so first; else the run stops before any suite starts, with
// the exact command to run and the suites that need it. `decide` is the pure decision (unit tested
// in tests/unit/tools.test.ts); `ensureTools` carries it out.
import { spawnSync } from 'node:child_process'
import { accessSync, constants } from 'node:fs'
import { delimiter, isAbsolute, join } from 'node:path'
import process from 'node:process'

/** A program one or more suites need. */
export interface ToolSpec {
  /** The executable's name, looked up on PATH. */
  readonly name: string
  /** The environment variable that points at a binary of its own, e.g. `REDIS_SERVER`. */
  readonly envVar: string
  /** Where Debian's package installs it. */
  readonly debianPath: string
  /** The Debian package that brings it. */
  readonly aptPackage: string
}

export const REDIS_SERVER: ToolSpec = {
  name: 'redis-server',
  envVar: 'REDIS_SERVER',
  debianPath: '/usr/bin/redis-server',
  aptPackage: 'redis-server',
}

export const CHROMIUM: ToolSpec = {
  name: 'chromium',
  envVar: 'CHROMIUM_PATH',
  debianPath: '/usr/bin/chromium',
  aptPackage: 'chromium',
}

export const WRK: ToolSpec = {
  name: 'wrk',
  envVar: 'WRK',
  debianPath: '/usr/bin/wrk',
  aptPackage: 'wrk',
}

/** What the machine offers, as `decide` needs it (gathered by `probeMachine`). */
export interface Machine {
  readonly env: Readonly<Record<string, string | undefined>>
  /** The path of an executable named `name` on PATH, or undefined. */
  which(name: string): string | undefined
  /** True when `path` is an executable file. */
  isExecutable(path: string): boolean
  /** Running as root (apt-get can install). */
  readonly isRoot: boolean
  /** The path of apt-get, or undefined. */
  readonly aptGet: string | undefined
}

/** What to do about one tool. */
export type Decision =
  | { readonly action: 'use'; readonly path: string; readonly from: 'env' | 'path' | 'debian' }
  | { readonly action: 'install'; readonly aptPackage: string }
  | { readonly action: 'missing'; readonly reason: string }

/** Where a tool is, whether it can be installed here, or why not. Pure: `machine` says it all. */
export function decide(tool: ToolSpec, machine: Machine): Decision {
  const fromEnv = machine.env[tool.envVar]
  if (fromEnv !== undefined && fromEnv !== '') {
    if (machine.isExecutable(fromEnv)) return { action: 'use', path: fromEnv, from: 'env' }
    return {
      action: 'missing',
      reason: `${tool.envVar}="${fromEnv}" is not an executable file`,
    }
  }
  const onPath = machine.which(tool.name)
  if (onPath !== undefined) return { action: 'use', path: onPath, from: 'path' }
  if (machine.isExecutable(tool.debianPath)) {
    return { action: 'use', path: tool.debianPath, from: 'debian' }
  }
  if (machine.aptGet === undefined) {
    return { action: 'missing', reason: `${tool.name} is not installed and there is no apt-get` }
  }
  if (!machine.isRoot) {
    return {
      action: 'missing',
      reason: `${tool.name} is not installed and apt-get needs root (not root here)`,
    }
  }
  return { action: 'install', aptPackage: tool.aptPackage }
}

/** The command a person runs to install these packages. */
export function installCommand(aptPackages: readonly string[], isRoot: boolean): string {
  const sudo = isRoot ? '' : 'sudo '
  return `${sudo}apt-get update && ${sudo}apt-get install -y ${aptPackages.join(' ')}`
}

/**
 * The message that stops a run: what is missing, why, who needs it, and the exact command (or the
 * environment variable) that fixes it.
 */
export function missingMessage(
  missing: readonly { tool: ToolSpec; reason: string; neededBy: string }[],
  isRoot: boolean,
): string {
  const lines = missing.map(({ tool, reason, neededBy }) =>
    `  - ${tool.name}: ${reason}; needed by ${neededBy}`
  )
  const packages = [...new Set(missing.map(({ tool }) => tool.aptPackage))]
  const vars = missing.map(({ tool }) => `${tool.envVar}=/path/to/${tool.name}`).join(' ')
  return [
    'Missing programs (nothing was run):',
    ...lines,
    `Install them with:  ${installCommand(packages, isRoot)}`,
    `or point at binaries of your own:  ${vars}`,
  ].join('\n')
}

/** This machine, read from the environment and the file system. */
export function probeMachine(env: NodeJS.ProcessEnv = process.env): Machine {
  const isExecutable = (path: string) => {
    try {
      accessSync(path, constants.X_OK)
      return true
    } catch {
      return false
    }
  }
  const which = (name: string) => {
    for (const dir of (env.PATH ?? '').split(delimiter)) {
      if (dir === '' || !isAbsolute(dir)) continue
      const candidate = join(dir, name)
      if (isExecutable(candidate)) return candidate
    }
    return undefined
  }
  return {
    env,
    which,
    isExecutable,
    isRoot: typeof process.getuid === 'function' && process.getuid() === 0,
    aptGet: which('apt-get') ?? (isExecutable('/usr/bin/apt-get') ? '/usr/bin/apt-get' : undefined),
  }
}

/** A tool and the suites or commands that need it (for the messages). */
export interface Need {
  readonly tool: ToolSpec
  readonly neededBy: string
}

/** The outcome of `ensureTools`. */
export type Ensured =
  | { readonly ok: true; readonly paths: ReadonlyMap<ToolSpec, string> }
  | { readonly ok: false; readonly message: string; readonly missing: readonly ToolSpec[] }

/**
 * Finds every needed tool, installing with apt-get (visibly, in one step) what is missing and
 * installable. Returns the paths, or the message for what could not be had. `log` prints the
 * step; apt-get's own output goes to this process's stdout/stderr.
 */
export function ensureTools(
  needs: readonly Need[],
  log: (line: string) => void = console.log,
  machine: Machine = probeMachine(),
): Ensured {
  const paths = new Map<ToolSpec, string>()
  const toInstall: Need[] = []
  const missing: { tool: ToolSpec; reason: string; neededBy: string }[] = []
  for (const need of needs) {
    const decision = decide(need.tool, machine)
    if (decision.action === 'use') paths.set(need.tool, decision.path)
    else if (decision.action === 'install') toInstall.push(need)
    else missing.push({ tool: need.tool, reason: decision.reason, neededBy: need.neededBy })
  }
  if (missing.length > 0) {
    // Nothing is installed when something else cannot be had anyway: the run stops either way.
    const all = [
      ...missing,
      ...toInstall.map((n) => ({ ...n, reason: `${n.tool.name} is not installed` })),
    ]
    return {
      ok: false,
      message: missingMessage(all, machine.isRoot),
      missing: all.map((m) => m.tool),
    }
  }
  if (toInstall.length > 0) {
    const packages = [...new Set(toInstall.map((n) => n.tool.aptPackage))]
    log(
      `Installing ${packages.join(', ')} with apt-get (${
        toInstall.map((n) => `${n.tool.name} for ${n.neededBy}`).join('; ')
      }): ${installCommand(packages, true)}`,
    )
    const aptEnv = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }
    const apt = machine.aptGet as string
    const update = spawnSync(apt, ['update'], {
      stdio: ['ignore', 'inherit', 'inherit'],
      env: aptEnv,
    })
    const install = update.status === 0
      ? spawnSync(apt, ['install', '-y', ...packages], {
        stdio: ['ignore', 'inherit', 'inherit'],
        env: aptEnv,
      })
      : update
    for (const need of toInstall) {
      const after = decide(need.tool, machine)
      if (after.action === 'use') paths.set(need.tool, after.path)
      else {
        missing.push({
          tool: need.tool,
          reason: `apt-get could not install it (exit ${
            install.status ?? install.signal
          }; no network?)`,
          neededBy: need.neededBy,
        })
      }
    }
    if (missing.length > 0) {
      return {
        ok: false,
        message: missingMessage(missing, machine.isRoot),
        missing: missing.map((m) => m.tool),
      }
    }
  }
  return { ok: true, paths }
}
