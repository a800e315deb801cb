/**
 * The error the `rheostat` commands throw for a usage problem (exit code 2) or a refusal or
 * failure (exit code 1): its message is what the command prints.
 *
 * @example Usage
 * ```ts
 * import { CliError } from './error.ts'
 * const e = new CliError(2, 'No scenario files given')
 * if (e.code !== 2 || e.message !== 'No scenario files given') throw new Error()
 * ```
 *
 * @module
 */

/** A failure with its exit code and the lines to print. */
export class CliError extends Error {
  readonly code: number
  constructor(code: number, message: string) {
    super(message)
    this.code = code
  }
}

/** The message of a thrown value, for a command's output: an Error's message, else the value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
