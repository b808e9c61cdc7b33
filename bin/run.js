#!/usr/bin/env node
import {execute} from '@oclif/core'
import {relaunchWithV8Pool} from '../dist/perf/relaunch.js'

// `run` measures, in a child Node whose V8 helper threads do not crowd its core (src/perf/v8-pool.ts).
if (process.argv[2] !== 'run' || !relaunchWithV8Pool()) await execute({dir: import.meta.url})
