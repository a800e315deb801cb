import { describe, expect, it } from 'vitest'
import { type Counts, zeroCounts } from '../../src/contract/telemetry-store.ts'
import { ExchangeState } from '../../src/governor/exchange.ts'

// The news test of docs/sync.md ("News"), on the exchange bookkeeping alone: a slot, a window
// heard from the store, the others' recent samples, and this isolate's pending samples.
const SLOT = 0
const keyOf = (slot: number) => (slot === SLOT ? 'api' : undefined)
const operational = () => 1

function windowOf(requests: number, count: number, latencyMs: number, errors = 0): Counts {
  const w = zeroCounts()
  w.requests = requests
  w.latencyCount = count
  w.latencySumMs = count * latencyMs
  w.errors = errors
  return w
}

/** A slot that heard a healthy window (60 ms, no errors) and then completed `n` samples. */
function withPending(
  recent: { count: number; latencySumMs: number; errors: number } | null,
  n: number,
  latencyMs: number,
  failures = 0,
): ExchangeState {
  const ex = new ExchangeState(4)
  ex.countDecision(SLOT, true, 0)
  ex.markSent(SLOT)
  ex.heard(SLOT, windowOf(60_000, 30_000, 60), recent, 120_000, 60_000)
  for (let i = 0; i < n; i++) {
    ex.countDecision(SLOT, true, 60_000 + i)
    ex.countOutcome(SLOT, latencyMs, i >= failures, 5)
  }
  return ex
}

describe('the news test judges against the window and the recent samples', () => {
  it('a slowdown the window does not show is news, and not yet told when nothing recent shows it', () => {
    const news = withPending(null, 10, 200).news(1, 8, keyOf, operational)
    expect(news).toMatchObject({ reason: 'latency', worse: true, told: false })
    const healthyRecent = { count: 50, latencySumMs: 50 * 60, errors: 0 }
    expect(withPending(healthyRecent, 10, 200).news(1, 8, keyOf, operational)).toMatchObject({
      reason: 'latency',
      told: false,
    })
  })

  it('a slowdown the others recently reported is told: the store has it', () => {
    const slowRecent = { count: 50, latencySumMs: 50 * 180, errors: 0 }
    expect(withPending(slowRecent, 10, 200).news(1, 8, keyOf, operational)).toMatchObject({
      reason: 'latency',
      worse: true,
      told: true,
    })
    // Fewer recent samples than the latency test needs are not evidence either way.
    const few = { count: 5, latencySumMs: 5 * 180, errors: 0 }
    expect(withPending(few, 10, 200).news(1, 8, keyOf, operational)).toMatchObject({
      told: false,
    })
  })

  it('errors the others recently reported are told; errors they did not are not', () => {
    const failing = { count: 40, latencySumMs: 40 * 60, errors: 20 }
    expect(withPending(failing, 10, 60, 5).news(1, 8, keyOf, operational)).toMatchObject({
      reason: 'errors',
      worse: true,
      told: true,
    })
    const healthy = { count: 40, latencySumMs: 40 * 60, errors: 0 }
    expect(withPending(healthy, 10, 60, 5).news(1, 8, keyOf, operational)).toMatchObject({
      reason: 'errors',
      told: false,
    })
  })

  it('no departure from the window is no news, whatever the recent samples say', () => {
    const slowRecent = { count: 50, latencySumMs: 50 * 180, errors: 0 }
    expect(withPending(slowRecent, 10, 60).news(1, 8, keyOf, operational)).toBeNull()
  })
})

describe("the heard rate is the window's over the seconds it spans", () => {
  const heardPerS = (totals: number, window: number, nowMs: number): number => {
    const ex = new ExchangeState(4)
    ex.countDecision(SLOT, true, 0)
    ex.heard(SLOT, windowOf(window, window, 60), null, totals, nowMs)
    for (let i = 0; i < 10; i++) ex.countOutcome(SLOT, 200, true, 5)
    return ex.news(1, 8, keyOf, operational)?.heardPerS ?? NaN
  }

  it('a full window: its requests over WINDOW_S', () => {
    expect(heardPerS(50_000, 12_000, 40_000)).toBe(400)
  })

  it("a window holding the route's whole history: over the time since this isolate's first request", () => {
    // 10,000 requests in the first 5 s of a fleet: 2,000 per second, not 333.
    expect(heardPerS(10_000, 10_000, 5_000)).toBe(2_000)
    // The spread of the tellers still reads them over the whole window.
    const ex = new ExchangeState(4)
    ex.countDecision(SLOT, true, 0)
    ex.heard(SLOT, windowOf(10_000, 10_000, 60), null, 10_000, 5_000)
    for (let i = 0; i < 10; i++) ex.countOutcome(SLOT, 200, true, 5)
    expect(ex.news(1, 8, keyOf, operational)?.windowPerS).toBeCloseTo(10_000 / 30, 9)
    // Never over less than 1 s, nor more than the window.
    expect(heardPerS(100, 100, 200)).toBe(100)
    expect(heardPerS(12_000, 12_000, 100_000)).toBe(400)
  })
})
