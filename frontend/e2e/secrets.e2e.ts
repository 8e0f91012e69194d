// The Secrets panel: a referenced secret shows in Problems before Run, is
// added in the panel, picked into a param from the inspector, masked in the
// run's log, replaced and deleted; its value never reappears in the page,
// in any REST answer or in any WebSocket frame.

import type { Page } from '@playwright/test';
import { expect, screen, test } from './fixtures';
import { logLines, node, openKnown } from './ui';

const VALUE = 'ui-Secret-Value-3e8a61f2';
const REPLACED = 'ui-Second-Value-90b4c7d5';

/** Everything the page received from the server, to scan for values. */
function recordTraffic(page: Page): string[] {
  const seen: string[] = [];
  page.on('response', async (r) => {
    if (!r.url().includes('/api/')) return;
    try {
      seen.push(await r.text());
    } catch {
      /* redirects and aborted requests have no body */
    }
  });
  page.on('websocket', (ws) => ws.on('framereceived', (f) => seen.push(String(f.payload))));
  return seen;
}

/** The value must be nowhere in the DOM, including input values. */
async function expectNotInPage(page: Page, value: string): Promise<void> {
  const found = await page.evaluate((v) => {
    if (document.documentElement.outerHTML.includes(v)) return 'markup';
    for (const el of document.querySelectorAll('input, textarea')) {
      if ((el as HTMLInputElement).value.includes(v)) return `field ${el.getAttribute('data-testid') ?? el.tagName}`;
    }
    return '';
  }, value);
  expect(found, 'the secret value is shown in the page').toBe('');
}

test('add a secret, use it, and its value never reappears', async ({ fw, page }) => {
  const traffic = recordTraffic(page);
  const p = await fw.project('vault');
  await fw.putWorkflow(p.id, 'deploy', {
    name: 'Deploy',
    nodes: [
      { id: 'push', tool: 'shell', params: { command: 'echo "token={{ secrets.API_TOKEN }}"' }, position: { x: 0, y: 0 } },
      { id: 'other', tool: 'shell', params: { command: 'echo other' }, position: { x: 320, y: 0 } },
    ],
    edges: [],
  });
  await fw.openUI(page);
  await openKnown(page, p);
  const view = page.getByTestId(`project-view-${p.id}`);

  // Before Run: the missing secret is a problem of the node that uses it.
  await view.getByTestId('panel-problems').click();
  await expect(view.getByTestId('problem-missing-secret')).toHaveCount(1);
  await expect(view.getByTestId('problem-missing-secret')).toContainText('API_TOKEN');
  await view.getByTestId('problem-missing-secret').click(); // selects the node
  await expect(view.getByTestId('inspector-missing-secret')).toContainText('API_TOKEN');

  // The panel lists it as referenced but not set, with where it is used.
  await view.getByTestId('secrets-open').click();
  const panel = page.getByTestId('secrets-panel');
  await expect(panel).toBeVisible();
  await expect(panel.getByTestId('secret-missing-API_TOKEN')).toContainText('deploy › push');

  // Add it: the value field is a password field and is emptied after saving.
  await expect(panel.getByTestId('secret-value')).toHaveAttribute('type', 'password');
  await panel.getByTestId('secret-name').fill('api_token');
  await expect(panel.getByTestId('secret-name')).toHaveValue('API_TOKEN');
  await panel.getByTestId('secret-value').fill(VALUE);
  await panel.getByTestId('secret-save').click();
  const row = panel.getByTestId('secret-API_TOKEN');
  await expect(row).toBeVisible();
  await expect(row.getByTestId('secret-uses')).toContainText('deploy › push');
  await expect(panel.getByTestId('secret-value')).toHaveValue('');
  await expect(panel.getByTestId('secret-missing-API_TOKEN')).toHaveCount(0);
  await expectNotInPage(page, VALUE);
  await screen(page, 'secrets-panel');
  await panel.getByTestId('secrets-close').click();
  await expect(view.getByTestId('problem-missing-secret')).toHaveCount(0);

  // The picker inserts a reference into a param of the selected node.
  await node(view, 'other').click();
  const command = view.getByTestId('param-command');
  await expect(command).toHaveValue('echo other');
  await view.getByTestId('param-command-secret').click();
  await view.getByTestId('secret-pick-API_TOKEN').click();
  await expect(command).toHaveValue('echo other{{ secrets.API_TOKEN }}');

  // Run: the log shows *** where the value was printed.
  await view.getByTestId('save').click();
  await expect(view.getByTestId('dirty')).toHaveCount(0);
  await view.getByTestId('run').click();
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await view.getByTestId('panel-logs').click();
  await expect(logLines(view).filter({ hasText: 'other***' })).toHaveCount(1);
  await view.getByTestId('log-clear-filter').click(); // the log follows the selected node
  await expect(logLines(view).filter({ hasText: 'token=***' })).toHaveCount(1);
  await expectNotInPage(page, VALUE);

  // After a reload the panel still shows the name only; replace the value.
  await page.reload();
  await expect(page.getByTestId(`project-view-${p.id}`)).toBeVisible();
  await view.getByTestId('secrets-open').click();
  await expect(panel.getByTestId('secret-API_TOKEN')).toBeVisible();
  await panel.getByTestId('secret-replace-API_TOKEN').click();
  await panel.getByTestId('secret-new-value-API_TOKEN').fill(REPLACED);
  await panel.getByTestId('secret-new-save-API_TOKEN').click();
  await expect(panel.getByTestId('secret-new-value-API_TOKEN')).toHaveCount(0);
  await expectNotInPage(page, REPLACED);

  // Delete (with a confirmation): the reference is missing again.
  await panel.getByTestId('secret-delete-API_TOKEN').click();
  await panel.getByTestId('secret-delete-confirm-API_TOKEN').click();
  await expect(panel.getByTestId('secret-API_TOKEN')).toHaveCount(0);
  await expect(panel.getByTestId('secret-missing-API_TOKEN')).toBeVisible();
  await panel.getByTestId('secrets-close').click();
  await view.getByTestId('panel-problems').click();
  await expect(view.getByTestId('problem-missing-secret')).toHaveCount(2);

  // Nothing the server sent the page held either value.
  for (const body of traffic) {
    expect(body.includes(VALUE) || body.includes(REPLACED), 'a response or frame carried the value').toBe(false);
  }
  expect(traffic.length).toBeGreaterThan(10);
});
