import {poolSizeOption, RELAUNCHED_ENV, v8PoolSize} from '../../src/perf/v8-pool.js'

describe('v8PoolSize: one core for the measuring thread, the rest for V8 helpers (at least one, at most Node’s 4)', () => {
  test.each([
    [1, 1],
    [2, 1],
    [3, 2],
    [4, 3],
    [5, 4],
    [64, 4],
  ])('%i cores → %i helpers', (cores, size) => expect(v8PoolSize(cores)).toBe(size))
})

describe('poolSizeOption: the option a measuring process is relaunched with, or none', () => {
  test('on 2 cores, Linux or macOS: one helper', () => {
    expect(poolSizeOption([], {}, 'linux', 2)).toBe('--v8-pool-size=1')
    expect(poolSizeOption(['--enable-source-maps'], {}, 'darwin', 3)).toBe('--v8-pool-size=2')
  })

  test('none where Node’s default is already right (5+ cores)', () => {
    expect(poolSizeOption([], {}, 'linux', 8)).toBeUndefined()
  })

  test('none when the user chose a pool size, on the command line or in NODE_OPTIONS', () => {
    expect(poolSizeOption(['--v8-pool-size=3'], {}, 'linux', 2)).toBeUndefined()
    expect(poolSizeOption([], {NODE_OPTIONS: '--max-old-space-size=4096 --v8-pool-size=2'}, 'linux', 2)).toBeUndefined()
    expect(poolSizeOption([], {NODE_OPTIONS: '--v8-pool-size 2'}, 'linux', 2)).toBeUndefined()
    // Another option whose name only starts alike is not a choice of pool size.
    expect(poolSizeOption([], {NODE_OPTIONS: '--v8-pool-sizes=2'}, 'linux', 2)).toBe('--v8-pool-size=1')
  })

  test('none under a debugger (--inspect, --inspect-brk=…): it would attach to the parent', () => {
    expect(poolSizeOption(['--inspect'], {}, 'linux', 2)).toBeUndefined()
    expect(poolSizeOption(['--inspect-brk=9230'], {}, 'linux', 2)).toBeUndefined()
  })

  test('none in the relaunched process itself, and none on Windows', () => {
    expect(poolSizeOption([], {[RELAUNCHED_ENV]: '--v8-pool-size=1'}, 'linux', 2)).toBeUndefined()
    expect(poolSizeOption([], {}, 'win32', 2)).toBeUndefined()
  })
})
