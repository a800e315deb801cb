/**
 * An outcome as the engine counts it (docs/physics.md §3): overload, application error, lost or
 * ok, from the status, `ok` and the origin's Retry-After.
 *
 * @module
 */

import * as L from '../engine/reference/layout.ts'
import type { Outcome } from './types.ts'

/** The engine's outcome kind for an outcome (docs/physics.md §3). */
export function outcomeKind(outcome: Outcome | undefined): number {
  const status = outcome?.status
  const ok = outcome?.ok
  if (typeof status !== 'number' || !Number.isFinite(status)) {
    return ok === false ? L.OUTCOME_LOST : L.OUTCOME_OK
  }
  if (status === 429 || status === 503 || status === 504) return L.OUTCOME_OVERLOAD
  const retry = outcome?.retryAfterS
  if (status >= 400 && typeof retry === 'number' && retry > 0) return L.OUTCOME_OVERLOAD
  if (status >= 500) return L.OUTCOME_ERROR
  return ok === false ? L.OUTCOME_ERROR : L.OUTCOME_OK
}
