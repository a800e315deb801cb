// `--plot`: the SVG of a short run through the library and through the command. Well formed, one
// group per plotted series, fault windows shaded, and the same bytes on every run.
import { spawnSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { renderPlot } from '../../src/tunnel/plot.ts'
import { runScenario } from '../../src/tunnel/report.ts'
import { parseScenario } from '../../src/tunnel/scenario.ts'
import { strategyByName } from '../../src/tunnel/strategies/index.ts'
import type { Strategy } from '../../src/tunnel/strategy.ts'

const CLI = new URL('../../src/cli/tunnel.ts', import.meta.url).pathname
const dir = mkdtempSync(join(tmpdir(), 'rheostat-plot-'))
afterAll(() => rmSync(dir, { recursive: true, force: true }))

const SCENARIO = {
  name: 'plot-overload',
  seed: 3,
  durationS: 12,
  origin: { concurrency: 16, queueLimit: 64, serviceMs: { p50: 40, p99: 160 }, timeoutMs: 2000 },
  classes: [
    { name: 'checkout', priority: 'critical', share: 0.2, sloMs: 800 },
    { name: 'search', priority: 'low', share: 0.8, sloMs: 400 },
  ],
  load: [{ atS: 0, rps: 200 }, { atS: 3, rps: 900, rampS: 2 }],
  faults: [{ kind: 'latency', atS: 5, untilS: 9, factor: 3 }, {
    kind: 'errors',
    atS: 10,
    untilS: 0,
    rate: 0.2,
  }],
}

/** Every element opened is closed, in order (self-closing elements aside). */
function balanced(svg: string): boolean {
  const stack: string[] = []
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z]+)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m
    if (selfClosing === '/') continue
    if (closing === '/') {
      if (stack.pop() !== name) return false
    } else stack.push(name as string)
  }
  return stack.length === 0
}

describe('renderPlot()', () => {
  it('renderPlot() draws every series and shades the faults, the same bytes each time', async () => {
    const scenario = parseScenario(SCENARIO)
    const strategies = ['rheostat', 'none'].map((n) => strategyByName(n) as Strategy)
    const render = async () => renderPlot(scenario, await runScenario(scenario, strategies))
    const svg = await render()
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true)
    expect(svg.trimEnd().endsWith('</svg>')).toBe(true)
    expect(balanced(svg)).toBe(true)
    expect(svg).not.toMatch(/NaN|Infinity|undefined/)
    const series = [...svg.matchAll(/<g class="series" data-series="([^"]*)">/g)].map((m) => m[1])
    expect(series).toEqual([
      // offered, capacity bound, good per strategy
      'offered',
      'bound',
      'good rheostat',
      'good none',
      'good ideal',
      // admitted per strategy
      'rheostat',
      'none',
      'ideal',
      // rheostat per class
      'checkout offered',
      'checkout good',
      'search offered',
      'search good',
      'resistance',
      // p99 per strategy
      'rheostat',
      'none',
      'ideal',
    ])
    const groups = svg.split('<g class="series"').slice(1).map((g) => g.slice(0, g.indexOf('</g>')))
    for (const g of groups) expect(g).toContain('<polyline points="')
    // Two faults, shaded on each of the five panels.
    expect(svg.match(/<rect class="fault"/g)).toHaveLength(10)
    expect(await render()).toBe(svg)
  })
})

// Spawns the command twice (every strategy, the ideal included): a ceiling for a shared machine.
describe('tunnel --plot', { timeout: 120_000 }, () => {
  it('tunnel --plot writes DIR/<scenario>.svg, prints its path and repeats byte for byte', () => {
    const file = join(dir, 'scenario.json')
    writeFileSync(file, JSON.stringify(SCENARIO))
    const run = (out: string) => {
      const r = spawnSync(
        process.execPath,
        [CLI, file, '--strategies', 'rheostat,token-bucket', '--plot', out],
        { encoding: 'utf8' },
      )
      expect(r.status).toBe(0)
      const path = join(out, 'plot-overload.svg')
      expect(r.stderr).toBe(`${path}\n`)
      return readFileSync(path, 'utf8')
    }
    const a = run(join(dir, 'a', 'nested'))
    const b = run(join(dir, 'b'))
    expect(a.startsWith('<svg')).toBe(true)
    expect(balanced(a)).toBe(true)
    expect(a).toBe(b)
  })
})
