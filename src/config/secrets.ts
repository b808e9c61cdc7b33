import {readFileSync} from 'node:fs'
import dotenv from 'dotenv'

/**
 * The API key from the environment: OPENAI_API_KEY, else ./.env (OPENAI_API_KEY, or MODEL_KEY as the seed
 * tools name it). The .env file is parsed without touching process.env, so nothing else sees the key.
 */
export function loadEnvKey(env: NodeJS.ProcessEnv = process.env, dotenvPath = '.env'): string | undefined {
  if (env.OPENAI_API_KEY) return env.OPENAI_API_KEY
  let parsed: Record<string, string> = {}
  try {
    parsed = dotenv.parse(readFileSync(dotenvPath))
  } catch {
    return undefined
  }
  return parsed.OPENAI_API_KEY || parsed.MODEL_KEY || undefined
}
