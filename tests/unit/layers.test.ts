import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, normalize, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('../../', import.meta.url))

/** The layer of a path under src/ (`adapter/<runtime>` for adapters, `mod` for src/mod.ts). */
function layerOf(path: string): string {
  const parts = path.split('/')
  if (parts[0] !== 'src') return parts[0] as string
  if (parts.length === 2) return 'mod'
  return parts[1] === 'adapter' ? `adapter/${parts[2]}` : parts[1] as string
}

function files(dir: string): string[] {
  return readdirSync(join(root, dir), { withFileTypes: true }).flatMap((entry) => {
    const path = `${dir}/${entry.name}`
    if (entry.isDirectory()) return files(path)
    return entry.name.endsWith('.ts') ? [path] : []
  })
}

/** Layer → the layers its files import (JSDoc examples aside). */
function importGraph(): Map<string, Set<string>> {
  const graph = new Map<string, Set<string>>()
  for (const file of files('src')) {
    const from = layerOf(file)
    const code = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
    const edges = graph.get(from) ?? new Set()
    graph.set(from, edges)
    for (const m of code.matchAll(/from '(\.[^']+)'/g)) {
      const target = relative(root, normalize(join(root, dirname(file), m[1] as string)))
      const to = layerOf(target)
      if (to !== from) edges.add(to)
    }
  }
  return graph
}

/** The table of docs/architecture.md: layer → the layers its "imports" column lists. */
function documented(): Map<string, Set<string>> {
  const doc = readFileSync(join(root, 'docs/architecture.md'), 'utf8')
  const table = new Map<string, Set<string>>()
  for (const line of doc.split('\n')) {
    const cells = line.split('|').map((c) => c.trim())
    const name = /^`([a-z/-]+?)\/?`$/.exec(cells[1] ?? '')
    if (name === null || cells.length < 5) continue
    const imports = [...(cells[3] as string).matchAll(/`([a-z/-]+)`/g)].map((m) => m[1] as string)
    table.set(name[1] as string, new Set(imports))
  }
  return table
}

/** Files outside src/engine/ that import the engine's layout or its reference twin, with the import. */
function engineInternalsImporters(): string[] {
  const found: string[] = []
  for (const file of files('src')) {
    if (file.startsWith('src/engine/')) continue
    const code = readFileSync(join(root, file), 'utf8').replace(/\/\*[\s\S]*?\*\//g, '')
    for (const m of code.matchAll(/(?:from|import)\s*\(?\s*'(\.[^']+)'/g)) {
      const target = relative(root, normalize(join(root, dirname(file), m[1] as string)))
      if (target.startsWith('src/engine/reference/')) found.push(`${file} imports ${target}`)
    }
  }
  return found
}

describe('docs/architecture.md lists what each layer of src/ imports', () => {
  const graph = importGraph()
  const table = documented()

  it('has a row for every layer', () => {
    expect([...table.keys()].sort()).toEqual([...graph.keys()].sort())
  })

  it.each([...graph.keys()].sort())('%s imports exactly what the table says', (layer) => {
    expect([...(graph.get(layer) ?? [])].sort()).toEqual([...(table.get(layer) ?? [])].sort())
  })

  it('store/ imports nothing from governor/, and the contracts and the engine nothing of ours', () => {
    expect(graph.get('store')?.has('governor')).toBe(false)
    expect([...(graph.get('contract') ?? [])]).toEqual([])
    expect([...(graph.get('engine') ?? [])]).toEqual([])
  })

  it('only engine/ reads the state layout: the rest goes through src/engine/view.ts', () => {
    expect(engineInternalsImporters()).toEqual([])
  })
})
