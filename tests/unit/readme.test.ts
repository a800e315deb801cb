// README.md's first screen (issue 14, "Done when"): the two repository commands, installing the
// package, and the five-line Worker, all within the first FIRST_SCREEN_LINES lines. That the
// install works and the five lines run from it is tests/e2e/package.test.ts.
import { readFileSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { describe, expect, it } from 'vitest'
import { FIRST_SCREEN_LINES, FIVE_LINE_WORKER, REPOSITORY_COMMANDS } from '../support/readme.ts'

const root = resolve(import.meta.dirname, '../..')
const readme = readFileSync(join(root, 'README.md'), 'utf8').split('\n')
const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
  version: string
}).version

/** The first line at or after `from` that starts with `text`'s first non-blank part, or -1. */
function lineOf(text: string, from = 0): number {
  return readme.findIndex((line, i) => i >= from && line.trimStart().startsWith(text.trimStart()))
}

describe("README's first screen", () => {
  it('shows the two repository commands first', () => {
    for (const command of REPOSITORY_COMMANDS) {
      const at = lineOf(command)
      expect(at, command).toBeGreaterThanOrEqual(0)
      expect(at, command).toBeLessThan(10)
    }
  })

  it("shows installing the package as commands: npm pack, then npm install of this version's tarball", () => {
    const pack = lineOf('npm pack')
    expect(pack).toBeGreaterThan(0)
    const install = lineOf('npm install ', pack)
    expect(install).toBe(pack + 1)
    expect(readme[install]).toContain(`rheostat-${version}.tgz`)
    expect(readme[pack]).toContain(`rheostat-${version}.tgz`)
    expect(install).toBeLessThan(FIRST_SCREEN_LINES)
  })

  it('shows the five-line Worker whole, after the install and within the first screen', () => {
    const first = lineOf(FIVE_LINE_WORKER[0], lineOf('npm pack'))
    expect(first).toBeGreaterThan(0)
    expect(readme.slice(first, first + FIVE_LINE_WORKER.length)).toEqual([...FIVE_LINE_WORKER])
    expect(readme[first - 1]).toBe('```ts')
    expect(readme[first + FIVE_LINE_WORKER.length]).toBe('```')
    expect(first + FIVE_LINE_WORKER.length).toBeLessThan(FIRST_SCREEN_LINES)
  })
})
