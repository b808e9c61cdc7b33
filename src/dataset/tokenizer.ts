/**
 * Token counting for `--max-input-length` and `synth`.
 *
 * Default: js-tiktoken's `o200k_base` (the GPT-4o encoding; loaded through `js-tiktoken/lite` so only
 * that one rank table, ~2 MB, is loaded). `--tokenizer cl100k_base` picks the older OpenAI encoding.
 * `--tokenizer PATH` loads a Hugging Face `tokenizer.json` (or a directory holding one) from disk with
 * `@huggingface/tokenizers`; a sibling `tokenizer_config.json` is used when present. Nothing is downloaded.
 */
import {readFile, stat} from 'node:fs/promises'
import {dirname, join} from 'node:path'
import {inputError} from '../errors.js'

/** What truncation and synth need from a tokenizer. */
export interface Tokenizer {
  /** e.g. "tiktoken:o200k_base" or "hf:/models/llama/tokenizer.json"; recorded in run.json. */
  readonly name: string
  /** Token ids of `text`, without special tokens (BOS etc.) and treating special-token text as plain text. */
  encode(text: string): number[]
  /** Text of `ids`, skipping special tokens. */
  decode(ids: number[]): string
}

/** Encodings accepted by name for `--tokenizer`. */
export const TIKTOKEN_ENCODINGS = ['o200k_base', 'cl100k_base'] as const
type TiktokenName = (typeof TIKTOKEN_ENCODINGS)[number]

/** The default tokenizer's name. */
export const DEFAULT_TOKENIZER: TiktokenName = 'o200k_base'

const cache = new Map<string, Promise<Tokenizer>>()

/**
 * Loads a tokenizer: undefined → o200k_base; "o200k_base" | "cl100k_base" → that tiktoken encoding;
 * anything else is a path to a Hugging Face tokenizer.json or a directory containing one. Cached per spec.
 */
export function loadTokenizer(spec?: string): Promise<Tokenizer> {
  const key = spec ?? DEFAULT_TOKENIZER
  let p = cache.get(key)
  if (!p) {
    p = (TIKTOKEN_ENCODINGS as readonly string[]).includes(key) ? loadTiktoken(key as TiktokenName) : loadHuggingFace(key)
    cache.set(key, p)
    p.catch(() => cache.delete(key))
  }
  return p
}

async function loadTiktoken(name: TiktokenName): Promise<Tokenizer> {
  const {Tiktoken} = await import('js-tiktoken/lite')
  const ranks = name === 'o200k_base' ? (await import('js-tiktoken/ranks/o200k_base')).default : (await import('js-tiktoken/ranks/cl100k_base')).default
  const enc = new Tiktoken(ranks)
  return {
    name: `tiktoken:${name}`,
    // disallowedSpecial [] → "<|endoftext|>" in a dataset is counted as text instead of throwing
    // (LongBench v2's pred.py does the same with disallowed_special=()).
    encode: (text) => enc.encode(text, [], []),
    decode: (ids) => enc.decode(ids),
  }
}

async function readJsonFile(path: string, what: string): Promise<unknown> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code
    if (code === 'ENOENT') throw inputError(`${path}: ${what} not found — pass --tokenizer o200k_base, cl100k_base, or the path of a Hugging Face tokenizer.json`)
    throw inputError(`${path}: cannot read ${what} (${code ?? String(err)})`)
  }
  try {
    return JSON.parse(text)
  } catch (err) {
    throw inputError(`${path}: ${what} is not valid JSON (${(err as Error).message.slice(0, 120)}) — download the model's tokenizer.json again`)
  }
}

async function loadHuggingFace(path: string): Promise<Tokenizer> {
  let file = path
  try {
    if ((await stat(path)).isDirectory()) file = join(path, 'tokenizer.json')
  } catch {
    // Missing path: readJsonFile reports it with the hint.
  }
  const json = await readJsonFile(file, 'tokenizer.json')
  let config: unknown = {}
  try {
    config = JSON.parse(await readFile(join(dirname(file), 'tokenizer_config.json'), 'utf8'))
  } catch {
    // tokenizer_config.json is optional: it only adds chat-template/cleanup settings we do not use.
  }
  const {Tokenizer: HfTokenizer} = await import('@huggingface/tokenizers')
  let tok: InstanceType<typeof HfTokenizer>
  try {
    tok = new HfTokenizer(json as object, config as object)
  } catch (err) {
    throw inputError(`${file}: not a usable Hugging Face tokenizer.json (${(err as Error).message}) — check that it is the model's tokenizer.json, not its config.json`)
  }
  return {
    name: `hf:${file}`,
    encode: (text) => tok.encode(text, {add_special_tokens: false}).ids,
    decode: (ids) => tok.decode(ids, {skip_special_tokens: true}),
  }
}

/** Token count of `text`. */
export function countTokens(tok: Tokenizer, text: string): number {
  return tok.encode(text).length
}
