import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {loadTokenizer, MIN_QUESTION_TOKENS, synthesize, writeJsonl} from '../dataset/index.js'

/** What `synth --json` returns. */
export interface SynthSummary {
  output: string
  samples: number
  tokenizer: string
}

/** `dual-bench synth`: parse → synthesize → writeJsonl. */
export default class Synth extends BaseCommand {
  static override summary = 'Generate a reproducible shared-prefix dataset (system prompt + document + question).'

  static override description = `Writes --docs × --questions-per-doc samples. Every sample is a system prompt (shared by all samples), then a user message with a document (shared by that document's questions) and one question. With a prefix cache, the shared system prompt and documents are reused across requests already in round 1, so you can measure cross-request prefix reuse, not only the round-2 repeat.

Samples are ordered doc by doc — all questions of document 1, then of document 2, … — so requests sharing a document are sent one after another and the shared prefix is still cached when the next one arrives (consecutive sharing). The same flags and --seed give the same file.

Token counts are measured with the default tokenizer (o200k_base) or --tokenizer: the system prompt, each document and each question have exactly the requested lengths; each line records the measured counts under "synth".`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --docs 8 --questions-per-doc 4 --doc-tokens 4000 --question-tokens 32 --system-prompt-tokens 200 --seed 1 --output data/synth.jsonl',
    '<%= config.bin %> <%= command.id %> --docs 2 --questions-per-doc 16 --doc-tokens 16000 --output data/long-shared.jsonl',
  ]

  static override enableJsonFlag = true

  static override flags = {
    docs: Flags.integer({summary: 'Number of distinct documents.', default: 4, min: 1}),
    'questions-per-doc': Flags.integer({summary: 'Questions (samples) per document.', default: 4, min: 1}),
    'doc-tokens': Flags.integer({summary: 'Tokens per document.', default: 2000, min: 1}),
    'question-tokens': Flags.integer({summary: 'Tokens per question.', default: 32, min: MIN_QUESTION_TOKENS}),
    'system-prompt-tokens': Flags.integer({summary: 'Tokens of the shared system prompt (0 = none).', default: 100, min: 0}),
    seed: Flags.integer({summary: 'Random seed; the same seed gives the same dataset.', default: 0, min: 0}),
    'max-tokens': Flags.integer({summary: 'max_tokens written into every sample (optional).', min: 1}),
    tokenizer: Flags.string({summary: 'Tokenizer to measure lengths: o200k_base (default), cl100k_base, or a path to a Hugging Face tokenizer.json.'}),
    output: Flags.string({summary: 'Output JSONL path.', required: true}),
  }

  async run(): Promise<SynthSummary> {
    const {flags} = await this.parse(Synth)
    const tokenizer = await loadTokenizer(flags.tokenizer)
    const lines = synthesize(
      {
        docs: flags.docs,
        questionsPerDoc: flags['questions-per-doc'],
        docTokens: flags['doc-tokens'],
        questionTokens: flags['question-tokens'],
        systemPromptTokens: flags['system-prompt-tokens'],
        seed: flags.seed,
        maxTokens: flags['max-tokens'],
      },
      tokenizer,
    )
    const samples = await writeJsonl(flags.output, lines)
    this.log(`Wrote ${samples} samples to ${flags.output} (${flags.docs} documents × ${flags['questions-per-doc']} questions, tokenizer ${tokenizer.name})`)
    return {output: flags.output, samples, tokenizer: tokenizer.name}
  }
}
