/**
 * Public API of the dataset module (called by `run`, `convert-longbench` and `synth`).
 */
export type {ChatMessage, Sample} from './sample.js'
export {loadDataset, DEFAULT_SEED, type LoadOptions, type LoadResult} from './load.js'
export type {DatasetFormat} from './read-records.js'
export {truncateSamples, truncateMiddle, type CutResult} from './truncate.js'
export {loadTokenizer, countTokens, DEFAULT_TOKENIZER, TIKTOKEN_ENCODINGS, type Tokenizer} from './tokenizer.js'
export {sha256File} from './sha256.js'
export {convertLongBench, parseDatasetList, type ConvertOptions} from './longbench-read.js'
export type {LongBenchLine} from './longbench.js'
export {synthesize, MIN_QUESTION_TOKENS, type SynthLine, type SynthOptions} from './synth.js'
export {writeJsonl} from './jsonl-write.js'
