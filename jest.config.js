/** ESM-aware jest: ky and several deps are ESM-only, so the project is ESM and jest runs under --experimental-vm-modules. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform: {
    // tsconfig.test.json sets isolatedModules: ts-jest only transpiles; `npm test` type-checks everything with tsc first.
    '^.+\\.ts$': ['ts-jest', {useESM: true, tsconfig: '<rootDir>/tsconfig.test.json'}],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60000,
  setupFilesAfterEnv: ['<rootDir>/test/helpers/restore-exit-code.ts'],
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.cjs'],
}
