/**
 * The `none` strategy: no protection, every request goes to the origin. The floor every other
 * strategy is measured against.
 *
 * @module
 */

import type { Strategy, StrategyDecision, StrategyInstance } from '../strategy.ts'

const ADMIT: StrategyDecision = Object.freeze({ allow: true, handle: null })

/** Admits everything. */
export const none: Strategy = {
  name: 'none',
  source: 'No protection: every request goes to the origin.',
  create(): StrategyInstance {
    return {
      admit: () => ADMIT,
      complete: () => {},
    }
  },
}
