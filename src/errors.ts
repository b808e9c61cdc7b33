/**
 * The one user-facing error type. Domain code throws it; BaseCommand renders it (message + "Try:" lines)
 * and exits with `exit`. Messages name the file/flag/line and say what to do; they never contain secrets.
 */
export class DualBenchError extends Error {
  readonly code: string
  readonly suggestions: string[]
  readonly exit: number

  constructor(code: string, message: string, opts: {suggestions?: string[]; exit?: number} = {}) {
    super(message)
    this.name = 'DualBenchError'
    this.code = code
    this.suggestions = opts.suggestions ?? []
    this.exit = opts.exit ?? 2
  }
}

/** Bad input detected before anything is sent: exit code 2. */
export function inputError(message: string, ...suggestions: string[]): DualBenchError {
  return new DualBenchError('BAD_INPUT', message, {suggestions, exit: 2})
}
