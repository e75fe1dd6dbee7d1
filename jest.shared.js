// One jest setup for every package: ESM TypeScript compiled by swc (no type-check here;
// `check-types` does that), tests only from src/ and test/ so dist/ copies never run.
export function jestConfig(overrides = {}) {
  return {
    testEnvironment: 'node',
    roots: ['<rootDir>/src', '<rootDir>/test'],
    testMatch: ['**/*.test.ts'],
    extensionsToTreatAsEsm: ['.ts'],
    moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
    transform: {
      '^.+\\.ts$': [
        '@swc/jest',
        {
          jsc: { parser: { syntax: 'typescript' }, target: 'es2022' },
          module: { type: 'es6' },
        },
      ],
    },
    ...overrides,
  };
}
