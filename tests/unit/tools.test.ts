// The setup decision of `npm test` and `npm run bench:proxy` (scripts/tools.ts): where a program
// is, whether it can be installed, and what a person is told when it cannot. Nothing is installed:
// the machine is described, not probed.
import { describe, expect, it } from 'vitest'
import {
  CHROMIUM,
  decide,
  ensureTools,
  type Machine,
  missingMessage,
  REDIS_SERVER,
  WRK,
} from '../../scripts/tools.ts'

function machine(options: {
  env?: Record<string, string>
  onPath?: Record<string, string>
  files?: string[]
  isRoot?: boolean
  aptGet?: string | undefined
}): Machine {
  const files = new Set([...(options.files ?? []), ...Object.values(options.onPath ?? {})])
  return {
    env: options.env ?? {},
    which: (name) => options.onPath?.[name],
    isExecutable: (path) => files.has(path),
    isRoot: options.isRoot ?? true,
    aptGet: 'aptGet' in options ? options.aptGet : '/usr/bin/apt-get',
  }
}

describe('decide', () => {
  it('uses the binary on PATH', () => {
    const m = machine({ onPath: { 'redis-server': '/opt/redis/bin/redis-server' } })
    expect(decide(REDIS_SERVER, m)).toEqual({
      action: 'use',
      path: '/opt/redis/bin/redis-server',
      from: 'path',
    })
  })

  it('uses the Debian path when PATH does not have it', () => {
    expect(decide(CHROMIUM, machine({ files: ['/usr/bin/chromium'] }))).toEqual({
      action: 'use',
      path: '/usr/bin/chromium',
      from: 'debian',
    })
  })

  it('lets an environment variable naming an existing binary win over PATH', () => {
    const m = machine({
      env: { REDIS_SERVER: '/home/me/redis-7/src/redis-server' },
      files: ['/home/me/redis-7/src/redis-server'],
      onPath: { 'redis-server': '/usr/bin/redis-server' },
    })
    expect(decide(REDIS_SERVER, m)).toEqual({
      action: 'use',
      path: '/home/me/redis-7/src/redis-server',
      from: 'env',
    })
  })

  it('refuses an environment variable that names nothing, rather than installing', () => {
    const decision = decide(CHROMIUM, machine({ env: { CHROMIUM_PATH: '/nowhere/chrome' } }))
    expect(decision.action).toBe('missing')
    expect(decision).toMatchObject({
      reason: expect.stringContaining('CHROMIUM_PATH="/nowhere/chrome"'),
    })
  })

  it('installs with apt-get when missing, root and apt-get is there', () => {
    expect(decide(WRK, machine({}))).toEqual({ action: 'install', aptPackage: 'wrk' })
  })

  it('cannot install without root', () => {
    const decision = decide(REDIS_SERVER, machine({ isRoot: false }))
    expect(decision).toMatchObject({ action: 'missing', reason: expect.stringContaining('root') })
  })

  it('cannot install without apt-get', () => {
    const decision = decide(REDIS_SERVER, machine({ aptGet: undefined }))
    expect(decision).toMatchObject({
      action: 'missing',
      reason: expect.stringContaining('apt-get'),
    })
  })
})

describe('the message when a program cannot be had', () => {
  it('names each program, who needs it, and the exact command (with sudo when not root)', () => {
    const message = missingMessage(
      [
        { tool: REDIS_SERVER, reason: 'not installed', neededBy: 'the node and deno suites' },
        { tool: CHROMIUM, reason: 'not installed', neededBy: 'the e2e suite' },
      ],
      false,
    )
    expect(message).toContain('redis-server: not installed; needed by the node and deno suites')
    expect(message).toContain('chromium: not installed; needed by the e2e suite')
    expect(message).toContain(
      'sudo apt-get update && sudo apt-get install -y redis-server chromium',
    )
    expect(message).toContain('REDIS_SERVER=/path/to/redis-server CHROMIUM_PATH=/path/to/chromium')
  })

  it('ensureTools stops before installing anything when one program cannot be had', () => {
    const lines: string[] = []
    // Not root: nothing is installable, so apt-get must not run (it would fail the test run).
    const result = ensureTools(
      [
        { tool: REDIS_SERVER, neededBy: 'the node suite' },
        { tool: CHROMIUM, neededBy: 'the e2e suite' },
      ],
      (line) => lines.push(line),
      machine({ isRoot: false, files: ['/usr/bin/chromium'] }),
    )
    expect(result.ok).toBe(false)
    expect(lines).toEqual([])
    if (!result.ok) {
      expect(result.missing).toEqual([REDIS_SERVER])
      expect(result.message).toContain('sudo apt-get install -y redis-server')
    }
  })

  it('ensureTools returns the paths when everything is there, installing nothing', () => {
    const lines: string[] = []
    const result = ensureTools(
      [{ tool: REDIS_SERVER, neededBy: 'the node suite' }, { tool: WRK, neededBy: 'bench' }],
      (line) => lines.push(line),
      machine({ onPath: { 'redis-server': '/usr/local/bin/redis-server', wrk: '/usr/bin/wrk' } }),
    )
    expect(lines).toEqual([])
    expect(result.ok && [...result.paths.values()]).toEqual([
      '/usr/local/bin/redis-server',
      '/usr/bin/wrk',
    ])
  })
})
