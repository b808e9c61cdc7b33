import type {EnvSettings} from '../config/secrets.js'
import {inputError} from '../errors.js'
import {mergeResumeFlags, type ResumeState} from './resume.js'

/**
 * Pure: the flags a run uses, from what was typed, the stored flags of a run being resumed, and `.env`.
 * - With --resume, the stored flags win and any flag typed again must agree with them (else exit 2, naming it);
 *   secrets are never stored, so --api-key and --header are taken from this command line again.
 * - Without an --endpoint / --model, `.env`'s MODEL_URL / MODEL_NAME are used (seed 003's convention).
 */
export function resolveRunFlags(
  given: Record<string, unknown>,
  explicitNames: string[],
  env: EnvSettings,
  resume?: ResumeState,
): {flags: Record<string, unknown>; notes: string[]} {
  const notes: string[] = []
  if (resume) {
    const explicit = Object.fromEntries(explicitNames.map((name) => [name, given[name]]))
    const {merged, differing} = mergeResumeFlags(resume.flags, explicit)
    if (differing.length > 0) {
      throw inputError(
        `--resume ${given.resume}: the configuration differs from the interrupted run in ${differing.map((k) => `--${k}`).join(', ')}`,
        `Run \`dual-bench run --resume ${given.resume}\` alone to continue with the stored configuration, or start a new run in another --output-dir.`,
      )
    }
    const fromNow = ['resume', 'progress', 'drain-timeout', 'workers', 'client-warmup', 'header', 'api-key']
    return {flags: {...merged, ...Object.fromEntries(fromNow.map((k) => [k, given[k]]))}, notes}
  }
  const flags = {...given}
  if (!flags.endpoint && env.endpoint) {
    flags.endpoint = env.endpoint
    notes.push(`Using --endpoint ${env.endpoint} from MODEL_URL in .env`)
  }
  if (!flags.model && env.model) flags.model = env.model
  return {flags, notes}
}
