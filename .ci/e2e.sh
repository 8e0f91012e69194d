#!/usr/bin/env bash
# Browser end-to-end tests: Playwright with Debian's Chromium against the
# real `flowweaver serve` binary (built by `make build`).
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f frontend/playwright.config.ts ]; then
  echo "e2e: no Playwright suite yet"
  exit 0
fi
cd frontend
npx playwright test
