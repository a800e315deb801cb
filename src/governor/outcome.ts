/**
 * An outcome as the engine counts it (docs/physics.md §3): overload, application error, lost or
 * ok, from the status, `ok` and the origin's Retry-After.
 *
 * @module
 */

import { OUTCOME } from '../engine/view.ts'
import type { Outcome } from './types.ts'

/** The engine's outcome kind for an outcome (docs/physics.md §3). */
export function outcomeKind(outcome: Outcome | undefined): number {
  const status = outcome?.status
  const ok = outcome?.ok
  if (typeof status !== 'number' || !Number.isFinite(status)) {
    return ok === false ? OUTCOME.lost : OUTCOME.ok
  }
  if (status === 429 || status === 503 || status === 504) return OUTCOME.overload
  const retry = outcome?.retryAfterS
  if (status >= 400 && typeof retry === 'number' && retry > 0) return OUTCOME.overload
  if (status >= 500) return OUTCOME.error
  return ok === false ? OUTCOME.error : OUTCOME.ok
}
