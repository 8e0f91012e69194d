import { defineConfig } from '@playwright/test';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

// Browser end-to-end tests against the real `flowweaver serve` binary
// (built by `make build` into build/bin/flowweaver). Each test starts its own
// server on a free loopback port with a fresh data dir (see e2e/fixtures.ts),
// so tests share nothing and can be read one at a time.
//
// The browser is Debian's /usr/bin/chromium: no Playwright browser download.
// One worker: the machine has two cores shared with the server under test and
// other jobs; the timeouts below are hang guards, not performance goals.

const here = path.dirname(fileURLToPath(import.meta.url));
const repo = path.resolve(here, '..');

export default defineConfig({
  testDir: './e2e',
  // FW_BENCH=1 (make bench-ui) runs the benchmarks (*.bench.ts) instead of the tests.
  testMatch: process.env.FW_BENCH ? /.*\.bench\.ts$/ : /.*\.e2e\.ts$/,
  fullyParallel: false,
  workers: 1,
  retries: 0,
  forbidOnly: !!process.env.CI,
  timeout: 180_000,
  expect: { timeout: 30_000 },
  outputDir: path.join(repo, 'artifacts', 'e2e-results'),
  reporter: [['list'], ['html', { outputFolder: path.join(repo, 'artifacts', 'e2e-report'), open: 'never' }]],
  use: {
    browserName: 'chromium',
    viewport: { width: 1600, height: 1000 },
    actionTimeout: 30_000,
    navigationTimeout: 30_000,
    screenshot: 'only-on-failure',
    trace: 'retain-on-failure',
    launchOptions: {
      executablePath: process.env.FLOWWEAVER_CHROMIUM ?? '/usr/bin/chromium',
      args: [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    },
  },
});
