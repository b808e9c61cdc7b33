/** ESM-aware jest: ky and several deps are ESM-only, so the project is ESM and jest runs under --experimental-vm-modules. */
export default {
  testEnvironment: 'node',
  extensionsToTreatAsEsm: ['.ts'],
  moduleNameMapper: {'^(\\.{1,2}/.*)\\.js$': '$1'},
  transform: {
    // isolatedModules: transpile only; `npm test` type-checks the whole tree with tsc first.
    '^.+\\.ts$': ['ts-jest', {useESM: true, isolatedModules: true, tsconfig: {module: 'Node16', moduleResolution: 'Node16', target: 'ES2022', esModuleInterop: true, isolatedModules: true}}],
  },
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  testTimeout: 60000,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.cjs'],
}
