// The two export maps (package.json for npm and Node, deno.json for Deno) must stay in lock-step,
// and every entry must exist.
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8'))

describe('export maps', () => {
  it('package.json and deno.json export the same entries, and each file exists', () => {
    const npm = read('package.json').exports as Record<string, string>
    const deno = read('deno.json').exports as Record<string, string>
    expect(deno).toEqual(npm)
    for (const path of Object.values(npm)) {
      expect(existsSync(new URL(`../../${path}`, import.meta.url)), path).toBe(true)
    }
  })

  it('deno.json pins the versions installed by npm', () => {
    const imports = read('deno.json').imports as Record<string, string>
    for (const [name, spec] of Object.entries(imports)) {
      const version = read(`node_modules/${name}/package.json`).version as string
      expect(spec).toBe(`npm:${name}@${version}`)
    }
  })
})
