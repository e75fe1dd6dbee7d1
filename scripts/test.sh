#!/usr/bin/env bash
# The whole test suite: Debian packages the e2e tests use, dependencies, build,
# type-check, lint, then every jest suite. Ends with "N passed, N failed"; exits
# non-zero on any failure.
set -uo pipefail
cd "$(dirname "$0")/.."
export TURBO_TELEMETRY_DISABLED=1

bash scripts/ensure-system-deps.sh || { echo "0 passed, 1 failed"; exit 1; }
pnpm install --frozen-lockfile --reporter=append-only >/dev/null || { echo "0 passed, 1 failed"; exit 1; }

steps_failed=0
rm -f packages/*/.test-results.json apps/*/.test-results.json infra/.test-results.json
pnpm exec turbo run check-types lint --output-logs=errors-only || steps_failed=$((steps_failed + 1))
pnpm exec turbo run test --concurrency=1 --continue || steps_failed=$((steps_failed + 1))

node scripts/sum-results.mjs "$steps_failed"
