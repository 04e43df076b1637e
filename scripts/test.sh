#!/usr/bin/env bash
# Every test: installs and starts what the tests need (Docker engine, Chromium, the local busybox
# image), then typecheck, lint, unit and integration tests against the real engine and a real git
# server. Ends with one line "N passed, N failed" (CI reads that line; it does not read Vitest's).
set -uo pipefail
cd "$(dirname "$0")/.."

bash scripts/setup-test-env.sh || { echo "0 passed, 1 failed"; exit 1; }
mkdir -p test-results
passed=0
failed=0

check() {
  local name=$1
  shift
  echo "== $name"
  if "$@"; then passed=$((passed + 1)); else failed=$((failed + 1)); echo "FAILED: $name"; fi
}

check typecheck npx tsc --noEmit -p tsconfig.json
check lint npx eslint --max-warnings 0 .
check imports node scripts/check-imports.mjs
check format npx prettier --check . --log-level warn

echo "== build (electron-vite: main, preload, renderer; the CLI bundle)"
# Before the tests: the packing test (test/integration/dist.test.ts) packs the built app.
built=0
if npm run build >test-results/build.log 2>&1; then
  passed=$((passed + 1))
  built=1
else
  cat test-results/build.log
  echo "FAILED: build"
  failed=$((failed + 1))
fi

echo "== vitest (unit + integration)"
rm -f test-results/vitest.json
npx vitest run --reporter=default --reporter=json --outputFile.json=test-results/vitest.json
if [ -f test-results/vitest.json ]; then
  read -r vp vf vs < <(node -e '
    const r = require("./test-results/vitest.json");
    const pending = (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
    // A file that fails to load counts as a failure even though it ran no test.
    const broken = r.testResults.filter((f) => f.status === "failed" && f.assertionResults.length === 0).length;
    console.log(r.numPassedTests, r.numFailedTests + broken, pending);
  ')
  passed=$((passed + vp))
  failed=$((failed + vf))
  [ "$vs" != 0 ] && echo "($vs skipped: see the reasons printed above)"
else
  echo "vitest wrote no report"
  failed=$((failed + 1))
fi

if [ "$built" = 1 ]; then
  echo "== playwright (browser mode in Chromium)"
  rm -f test-results/playwright.json
  npx playwright test
  if [ -f test-results/playwright.json ]; then
    read -r pp pf ps < <(node -e '
      const s = require("./test-results/playwright.json").stats;
      console.log(s.expected + s.flaky, s.unexpected, s.skipped);
    ')
    passed=$((passed + pp))
    failed=$((failed + pf))
    [ "$ps" != 0 ] && echo "($ps skipped: see the reasons printed above)"
  else
    echo "playwright wrote no report"
    failed=$((failed + 1))
  fi
fi

echo
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
