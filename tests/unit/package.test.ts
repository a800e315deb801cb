// The two export maps (package.json for npm: compiled dist/; deno.json for JSR and Deno: the .ts
// sources) must name the same modules, and every source entry must exist. The packed package
// itself is tested in tests/e2e/package.test.ts.
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const read = (name: string) =>
  JSON.parse(readFileSync(new URL(`../../${name}`, import.meta.url), 'utf8'))

type Entry = { types: string; default: string }

describe('export maps', () => {
  it("each deno.json entry is package.json's entry, compiled: src/X.ts ↔ dist/X.js and .d.ts", () => {
    const npm = read('package.json').exports as Record<string, Entry | string>
    const deno = read('deno.json').exports as Record<string, string>
    for (const [key, source] of Object.entries(deno)) {
      expect(existsSync(new URL(`../../${source}`, import.meta.url)), source).toBe(true)
      const compiled = source.replace(/^\.\/src\//, './dist/').replace(/\.ts$/, '.js')
      expect(npm[key], key).toEqual({
        types: compiled.replace(/\.js$/, '.d.ts'),
        default: compiled,
      })
    }
  })

  it('package.json has the Workers entry, whose source exports the Worker and its objects', () => {
    const npm = read('package.json').exports as Record<string, Entry>
    expect(npm['./cloudflare-workers']?.default).toBe(
      './dist/adapter/cloudflare-workers/worker.js',
    )
    const source = readFileSync(
      new URL('../../src/adapter/cloudflare-workers/worker.ts', import.meta.url),
      'utf8',
    )
    for (const name of ['RouteStateDO', 'ConfigDO', 'createEdgeHandler', 'export default']) {
      expect(source, name).toContain(name)
    }
  })

  it('deno.json pins the versions installed by npm, and both name one version', () => {
    const imports = read('deno.json').imports as Record<string, string>
    for (const [name, spec] of Object.entries(imports)) {
      const version = read(`node_modules/${name}/package.json`).version as string
      expect(spec).toBe(`npm:${name}@${version}`)
    }
    expect(read('deno.json').version).toBe(read('package.json').version)
  })
})
