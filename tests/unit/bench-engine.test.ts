// bench:engine prints, from one run, the governed decision beside a bare in-process token-bucket
// check at 1 and 10,000 keys, and the ratio to it (issue 14, point 6). Run here with tiny rounds:
// this checks what the bench prints and that both engines agree, never how fast anything is
// (speed is the bench's own business, README "Speed").
import { execFileSync } from 'node:child_process'
import { resolve } from 'node:path'
import { describe, expect, it } from 'vitest'

const root = resolve(import.meta.dirname, '../..')

describe('npm run bench:engine', () => {
  it('prints the token-bucket check at 10,000 keys and the ratio to it, from the same run', () => {
    const out = execFileSync(process.execPath, ['bench/engine.bench.ts'], {
      cwd: root,
      encoding: 'utf8',
      env: {
        ...process.env,
        ENGINE_BENCH_ROUNDS: '1',
        ENGINE_BENCH_DECISIONS: '20000',
        ENGINE_BENCH_WARMUP: '10000',
      },
      timeout: 120_000,
    })
    const lines = out.trim().split('\n')
    for (const routes of ['    1', '10000']) {
      expect(out).toMatch(
        new RegExp(`wasm/ts at ${routes} route\\(s\\): [\\d.]+x   \\(engines agree`),
      )
      expect(out).toMatch(
        new RegExp(
          `token bucket \\(Map, check only\\) at ${routes} route\\(s\\): [\\d.,]+ ns .*` +
            'governed decision / token-bucket check: wasm [\\d.,]+x, ts [\\d.,]+x',
        ),
      )
    }
    const result = JSON.parse(lines.at(-1) as string) as {
      tokenBucket: { nsPerCheck: number; nsPerCheck10k: number }
      wasm: { nsPerDecision10k: number }
      wasmOverTokenBucket10k: number
    }
    expect(result.tokenBucket.nsPerCheck10k).toBeGreaterThan(0)
    expect(result.wasm.nsPerDecision10k).toBeGreaterThan(0)
    expect(result.wasmOverTokenBucket10k).toBeGreaterThan(0)
    expect(Number.isFinite(result.wasmOverTokenBucket10k)).toBe(true)
  })
})
