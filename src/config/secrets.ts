import {readFileSync} from 'node:fs'
import dotenv from 'dotenv'

export interface EnvSettings {
  apiKey?: string
  /** From MODEL_URL (seed 003's .env): a base URL such as http://host:8000/v1, turned into the chat endpoint. */
  endpoint?: string
  model?: string
}

/**
 * Settings from the environment: the key from OPENAI_API_KEY, else ./.env (OPENAI_API_KEY, or MODEL_KEY as
 * the seed tools name it), and MODEL_URL / MODEL_NAME from ./.env. The .env file is parsed without touching
 * process.env, so nothing else in the process sees the key.
 */
export function loadEnv(env: NodeJS.ProcessEnv = process.env, dotenvPath = '.env'): EnvSettings {
  let parsed: Record<string, string> = {}
  try {
    parsed = dotenv.parse(readFileSync(dotenvPath))
  } catch {
    // no .env: environment only
  }
  const apiKey = env.OPENAI_API_KEY || parsed.OPENAI_API_KEY || parsed.MODEL_KEY || undefined
  const base = parsed.MODEL_URL?.trim()
  const endpoint = base ? (/\/completions\/?$/.test(base) ? base : `${base.replace(/\/+$/, '')}${/\/v1$/.test(base.replace(/\/+$/, '')) ? '' : '/v1'}/chat/completions`) : undefined
  return {apiKey, endpoint, model: parsed.MODEL_NAME?.trim() || undefined}
}
