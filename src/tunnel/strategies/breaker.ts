/**
 * The `breaker` baseline: a consecutive-failure circuit breaker with a timed half-open probe, per
 * isolate, as cockatiel's `circuitBreaker(handleAll, { halfOpenAfter, breaker: new
 * ConsecutiveBreaker(n) })` behaves. Cockatiel has no defaults for either option (both are
 * required); the values are the ones its README uses, `ConsecutiveBreaker(5)` and
 * `halfOpenAfter: 10 * 1000`. It sees failures only: slow successes never trip it.
 *
 * @module
 */

import type { Scenario } from '../scenario.ts'
import type { Strategy, StrategyDecision, StrategyInstance, StrategyProbe } from '../strategy.ts'

/** cockatiel README: `new ConsecutiveBreaker(5)`, "break if more than 5 requests in a row fail". */
export const BREAKER_THRESHOLD = 5
/** cockatiel README: `halfOpenAfter: 10 * 1000`. */
export const BREAKER_HALF_OPEN_AFTER_MS = 10_000

/** Breaker states, named as cockatiel's `CircuitState` members. */
export type BreakerMode = 'CLOSED' | 'OPEN' | 'HALF_OPEN'

interface Circuit {
  mode: BreakerMode
  /** ConsecutiveBreaker's counter: failures since the last success. */
  failures: number
  openedAtMs: number
  transitions: number
}

/** What `admit` hands back: whether the request was the half-open test call. */
const CLOSED_CALL: StrategyDecision = { allow: true, handle: 'closed' }
const TEST_CALL: StrategyDecision = { allow: true, handle: 'test' }
const DENY: StrategyDecision = { allow: false, handle: undefined }

function setMode(c: Circuit, mode: BreakerMode): void {
  if (c.mode === mode) return
  c.mode = mode
  c.transitions++
}

/**
 * One cockatiel-style breaker per isolate. Closed: every request passes; each failure (not ok:
 * 5xx, refused or timed out) adds one to the counter, each success resets it, and the counter
 * reaching the threshold opens the circuit. Open: requests are refused until `halfOpenAfter` has
 * passed; the first request after that is the test call and the circuit is half-open. Half-open:
 * cockatiel makes other callers await the test, which a synchronous admission cannot do, so they
 * are refused; the test's success closes the circuit, its failure reopens it (the timer restarts).
 * A failure of a request admitted while closed can also open a half-open circuit, as in cockatiel.
 */
export const breaker: Strategy = {
  name: 'breaker',
  source: 'cockatiel circuitBreaker(handleAll, { breaker: new ConsecutiveBreaker(5), ' +
    'halfOpenAfter: 10_000 }) as in its README (cockatiel has no defaults for either), per isolate',
  create(scenario: Scenario): StrategyInstance {
    const circuits: Circuit[] = Array.from({ length: scenario.isolates }, () => ({
      mode: 'CLOSED' as BreakerMode,
      failures: 0,
      openedAtMs: 0,
      transitions: 0,
    }))
    const open = (c: Circuit, nowMs: number) => {
      if (c.mode === 'OPEN') return
      c.openedAtMs = nowMs
      setMode(c, 'OPEN')
    }
    return {
      admit(isolate, _cls, nowMs) {
        const c = circuits[isolate] as Circuit
        if (c.mode === 'CLOSED') return CLOSED_CALL
        if (c.mode === 'HALF_OPEN') return DENY
        if (nowMs - c.openedAtMs < BREAKER_HALF_OPEN_AFTER_MS) return DENY
        setMode(c, 'HALF_OPEN')
        return TEST_CALL
      },
      complete(isolate, handle, outcome, nowMs) {
        const c = circuits[isolate] as Circuit
        if (outcome.ok) {
          c.failures = 0
          if (handle === 'test' && c.mode === 'HALF_OPEN') setMode(c, 'CLOSED')
          return
        }
        c.failures++
        if (handle === 'test' || c.failures >= BREAKER_THRESHOLD) open(c, nowMs)
      },
      probe(): StrategyProbe {
        const c = circuits[0] as Circuit
        return { mode: c.mode, modeTransitions: c.transitions }
      },
    }
  },
}
