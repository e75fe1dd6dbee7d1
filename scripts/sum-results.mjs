// Sums every package's jest JSON into the one line CI reads: "N passed, N failed".
// A package whose results are missing (crashed, never ran) counts as a failure.
import { existsSync, readFileSync } from 'node:fs';

const packages = ['packages/proxy-core', 'apps/proxy', 'infra'];
let passed = 0;
let failed = Number(process.argv[2] ?? 0);
for (const dir of packages) {
  const file = `${dir}/.test-results.json`;
  if (!existsSync(file)) {
    console.log(`${dir}: no test results`);
    failed += 1;
    continue;
  }
  const result = JSON.parse(readFileSync(file, 'utf8'));
  passed += result.numPassedTests;
  failed += result.numFailedTests + result.numRuntimeErrorTestSuites;
  console.log(`${dir}: ${result.numPassedTests} passed, ${result.numFailedTests} failed`);
}
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 || passed === 0 ? 1 : 0);
