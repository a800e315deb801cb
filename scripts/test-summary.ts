// Turns test-runner output into pass/fail counts for the final `N passed, N failed` line.

export type Counts = { passed: number; failed: number }

type VitestFileResult = {
  status?: string
  assertionResults?: Array<{ status?: string }>
}

type VitestJsonReport = {
  numPassedTests?: number
  numFailedTests?: number
  testResults?: VitestFileResult[]
}

/**
 * Counts a vitest JSON report (`--reporter=json`). A test file that failed without any failing
 * test (it did not load, or a hook threw) counts as one failure, so a broken file never
 * reads as green.
 */
export function countVitestReport(report: VitestJsonReport): Counts {
  const passed = report.numPassedTests ?? 0
  let failed = report.numFailedTests ?? 0
  for (const file of report.testResults ?? []) {
    const failedTests = (file.assertionResults ?? []).filter((t) => t.status === 'failed')
    if (file.status === 'failed' && failedTests.length === 0) failed += 1
  }
  return { passed, failed }
}

const ansiPattern = new RegExp(String.raw`\u001b\[[0-9;]*m`, 'g')

/**
 * Reads Deno's summary line, e.g. `ok | 3 passed | 0 failed (12ms)` or
 * `FAILED | 2 passed (4 steps) | 1 failed (1 step) | 1 ignored (40ms)`; the last one wins.
 */
export function countDenoOutput(output: string): Counts | undefined {
  const summary = /^(?:ok|FAILED) \| (\d+) passed\b[^|]*\| (\d+) failed\b/
  let counts: Counts | undefined
  for (const line of output.replace(ansiPattern, '').split(/\r?\n/)) {
    const match = summary.exec(line.trim())
    if (match) counts = { passed: Number(match[1]), failed: Number(match[2]) }
  }
  return counts
}

export function addCounts(all: Counts[]): Counts {
  return all.reduce(
    (sum, c) => ({ passed: sum.passed + c.passed, failed: sum.failed + c.failed }),
    {
      passed: 0,
      failed: 0,
    },
  )
}

export function formatCounts({ passed, failed }: Counts): string {
  return `${passed} passed, ${failed} failed`
}
