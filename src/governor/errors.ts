/**
 * The errors the governor throws or aborts with.
 *
 * @module
 */

import type { Decision } from './types.ts'

/** startTask refused: the route is shedding this priority. */
export class TaskRefusedError extends Error {
  readonly decision: Decision
  constructor(route: string, decision: Decision) {
    super(
      `Task refused on route "${route}": ${decision.reason} (mode ${decision.mode}), retry after ${decision.retryAfterS} s`,
    )
    this.name = 'TaskRefusedError'
    this.decision = decision
  }
}

/** The reason a lease's AbortController is aborted with when heartbeats stop. */
export class LeaseExpiredError extends Error {
  constructor(route: string, heartbeatMs: number) {
    super(`Lease on route "${route}" expired: no heartbeat within ${1.5 * heartbeatMs} ms`)
    this.name = 'LeaseExpiredError'
  }
}
