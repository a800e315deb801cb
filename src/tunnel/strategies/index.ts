/**
 * The strategies the wind tunnel can run, by command-line name, in report order.
 *
 * @module
 */

import type { Strategy } from '../strategy.ts'
import { atrion } from './atrion.ts'
import { bbr } from './bbr.ts'
import { breaker } from './breaker.ts'
import { envoyGradient } from './envoy-gradient.ts'
import { gradient2 } from './gradient2.ts'
import { ideal } from './ideal.ts'
import { none } from './none.ts'
import { rheostat } from './rheostat.ts'
import { sreThrottle } from './sre-throttle.ts'
import { tokenBucket } from './token-bucket.ts'
import { vegas } from './vegas.ts'

/**
 * Every strategy: rheostat, none, token-bucket, breaker, gradient2, atrion, vegas, envoy-gradient,
 * sre-throttle, bbr, and the `ideal` reference last (every report runs it: `idealShare` is
 * measured against it).
 */
export const STRATEGIES: readonly Strategy[] = [
  rheostat,
  none,
  tokenBucket,
  breaker,
  gradient2,
  atrion,
  vegas,
  envoyGradient,
  sreThrottle,
  bbr,
  ideal,
]

/** The reference every report includes. */
export const IDEAL: Strategy = ideal

/**
 * The strategy of a command-line name.
 *
 * @param name As on the command line, e.g. "token-bucket".
 * @returns The strategy, or undefined for an unknown name.
 */
export function strategyByName(name: string): Strategy | undefined {
  return STRATEGIES.find((s) => s.name === name)
}
