#!/usr/bin/env bash
# Browser end-to-end tests: Playwright with Debian's Chromium against the
# real `flowweaver serve` binary (built by `make build`; `make test-e2e` does
# both). Every test starts its own server (frontend/e2e/fixtures.ts).
# Results, traces and server logs of failed tests: artifacts/e2e-results/;
# HTML report: artifacts/e2e-report/; screenshots: artifacts/screens/.
# Extra arguments go to `playwright test` (e.g. a file or `-g "ten tabs"`).
set -euo pipefail
cd "$(dirname "$0")/.."

bin=${FLOWWEAVER_BIN:-build/bin/flowweaver}
chromium=${FLOWWEAVER_CHROMIUM:-/usr/bin/chromium}
if [ ! -x "$bin" ]; then
  echo "e2e: $bin is missing: run \`make build\` first" >&2
  exit 1
fi
if [ ! -x "$chromium" ]; then
  echo "e2e: $chromium is missing: run \`make system-deps\` (apt-get install chromium)" >&2
  exit 1
fi

mkdir -p artifacts/screens
cd frontend
if [ ! -x node_modules/.bin/playwright ]; then
  npm ci --no-audit --no-fund
fi
# Never download Playwright's own browsers: the config points at $chromium.
export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1
exec npx --no-install playwright test "$@"
