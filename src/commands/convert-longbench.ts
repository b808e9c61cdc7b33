import {Flags} from '@oclif/core'

import {BaseCommand} from '../base-command.js'
import {convertLongBench, loadTokenizer, parseDatasetList, writeJsonl} from '../dataset/index.js'

/** What `convert-longbench --json` returns. */
export interface ConvertLongBenchSummary {
  output: string
  samples: number
  perDataset: Record<string, number>
}

/** `dual-bench convert-longbench`: parse → convertLongBench (stream) → writeJsonl. */
export default class ConvertLongbench extends BaseCommand {
  static override summary = 'Convert LongBench (v1 or v2) files into a dual-bench dataset, using the official prompt templates.'

  static override description = `Reads local LongBench files — never downloads:
  • v1: one <dataset>.jsonl, or the directory of the unzipped data.zip (choose datasets with --dataset),
  • v2: data.json,
  • the Hugging Face parquet files of either.
Each record is filled into LongBench's official per-dataset prompt (config/dataset2prompt.json, v2 prompts/0shot.txt) with its official max output length (config/dataset2maxlen.json; 128 for v2), and written as one JSON line:
  {"id", "dataset", "messages": [{"role": "user", "content"}], "max_tokens", "answers", "length"}
which \`dual-bench run --dataset\` reads directly. --max-input-length cuts each prompt in the middle (head and tail kept, as LongBench's pred.py does) to exactly that many tokens of the default tokenizer (or --tokenizer).`

  static override examples = [
    '<%= config.bin %> <%= command.id %> --input LongBench/data --dataset narrativeqa --num-samples 50 --output data/narrativeqa.jsonl',
    '<%= config.bin %> <%= command.id %> --input LongBench/data --dataset qasper,hotpotqa --num-samples 20 --max-input-length 16000 --output data/mixed.jsonl',
    '<%= config.bin %> <%= command.id %> --input LongBench-v2/data.json --num-samples 30 --output data/longbench_v2.jsonl',
  ]

  static override enableJsonFlag = true

  static override flags = {
    input: Flags.string({summary: 'LongBench v1 .jsonl, v2 data.json, a .parquet file, or the unzipped v1 data directory.', required: true}),
    dataset: Flags.string({summary: 'v1 dataset names, comma-separated (e.g. narrativeqa,qasper), or "all". Required for a directory.'}),
    'num-samples': Flags.integer({summary: 'Samples to keep per dataset (first N in file order).', min: 1}),
    output: Flags.string({summary: 'Output JSONL path, e.g. data/narrativeqa.jsonl.', required: true}),
    'max-input-length': Flags.integer({summary: 'Cut each prompt in the middle to this many tokens.', min: 1}),
    tokenizer: Flags.string({summary: 'Tokenizer for --max-input-length: o200k_base (default), cl100k_base, or a path to a Hugging Face tokenizer.json.'}),
  }

  async run(): Promise<ConvertLongBenchSummary> {
    const {flags} = await this.parse(ConvertLongbench)
    const maxInputLength = flags['max-input-length']
    const tokenizer = maxInputLength === undefined ? undefined : await loadTokenizer(flags.tokenizer)
    const perDataset: Record<string, number> = {}
    const lines = convertLongBench({input: flags.input, datasets: parseDatasetList(flags.dataset), numSamples: flags['num-samples'], maxInputLength, tokenizer})
    async function* counted() {
      for await (const line of lines) {
        perDataset[line.dataset] = (perDataset[line.dataset] ?? 0) + 1
        yield line
      }
    }
    const samples = await writeJsonl(flags.output, counted())
    const parts = Object.entries(perDataset).map(([k, v]) => `${k}: ${v}`)
    this.log(`Wrote ${samples} samples to ${flags.output} (${parts.join(', ') || 'none'})`)
    return {output: flags.output, samples, perDataset}
  }
}
