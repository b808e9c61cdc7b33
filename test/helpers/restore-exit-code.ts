/**
 * oclif's error handling sets process.exitCode when a command run in-process exits non-zero (as several command
 * tests do on purpose). Jest would then exit with that code although every test passed, so each test's exit code
 * is put back afterwards. Jest's own verdict comes from the test results, not from this.
 */
let saved: typeof process.exitCode

beforeEach(() => {
  saved = process.exitCode
})

afterEach(() => {
  process.exitCode = saved
})
