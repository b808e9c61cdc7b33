import type {RunFlags} from '../../src/config/run-config.js'

/** `dual-bench run` flags with the command's defaults, as buildRunConfig receives them, plus overrides. */
export function runFlags(over: Partial<RunFlags>): RunFlags {
  return {
    dataset: 'examples/example_dataset.jsonl',
    timeout: 30,
    'cold-start': 'salt',
    stream: true,
    'skip-invalid': false,
    shuffle: false,
    insecure: false,
    force: false,
    ...over,
  }
}
