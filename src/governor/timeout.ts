/**
 * One timeout for every store call the governor makes (exchanges, lease calls): a store that
 * hangs must never hold anything up.
 *
 * @module
 */

/** Timers, injectable so tests can drive them. */
export interface Timers {
  setTimeout(callback: () => void, ms: number): unknown
  clearTimeout(handle: unknown): void
}

/** The runtime's own timers. */
export const GLOBAL_TIMERS: Timers = {
  setTimeout: (callback: () => void, ms: number) => setTimeout(callback, ms),
  clearTimeout: (handle: unknown) => clearTimeout(handle as ReturnType<typeof setTimeout>),
}

/** A store call that took longer than allowed: its outcome is unknown. */
export class TimeoutError extends Error {
  constructor(what: string, ms: number) {
    super(`${what} timed out after ${ms} ms`)
    this.name = 'TimeoutError'
  }
}

/**
 * `promise`, or a rejection with a TimeoutError after `ms`; the timer is cleared either way.
 *
 * @param what Names the call in the error message ("Store exchange").
 */
export function withTimeout<T>(
  promise: Promise<T>,
  ms: number,
  what: string,
  timers: Timers = GLOBAL_TIMERS,
): Promise<T> {
  let handle: unknown
  const timeout = new Promise<never>((_, reject) => {
    handle = timers.setTimeout(() => reject(new TimeoutError(what, ms)), ms)
  })
  return Promise.race([promise, timeout]).finally(() => timers.clearTimeout(handle))
}
