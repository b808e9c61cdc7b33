#!/usr/bin/env node
import {relaunchWithV8Pool} from '../dist/perf/relaunch.js'

// `run` measures, in a child Node whose V8 helper threads do not crowd its core (src/perf/v8-pool.ts). oclif is loaded
// only where a command runs: a relaying parent stays small.
if (process.argv[2] !== 'run' || !relaunchWithV8Pool()) {
  const {execute} = await import('@oclif/core')
  await execute({dir: import.meta.url})
}
