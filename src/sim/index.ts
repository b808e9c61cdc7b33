/**
 * The built-in OpenAI-compatible simulator: a deterministic stand-in for vLLM/SGLang/llama.cpp with a
 * prefix-cache model, Prometheus metrics and fault injection. Used by tests, by `dual-bench run` without
 * --endpoint, and by `dual-bench serve-sim`.
 */
export {startSimulator, type Simulator} from './server.js'
export type {SimStats} from './engine.js'
export {SIM_DEFAULTS, resolveSimOptions, type SimOptions, type UsageStyle} from './options.js'
