// The connection state is visible: with the server stopped the tab says it
// is disconnected (countdown, Retry now), running timers stop and are marked
// stale, Run and Cancel are refused at once with a message; when the server
// is back, the tab says what it brought up to date.

import { expect, screen, test } from './fixtures';
import { expectNodeStatus, openKnown, projectView, tab } from './ui';

test('server stopped: banner, stale timers, Run refused at once; back: resynchronised', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'build', {
    name: 'Build',
    nodes: [{ id: 'wait', tool: 'delay', params: { ms: 120_000 }, position: { x: 0, y: 0 } }],
    edges: [],
  });
  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  await expect(view.getByTestId('connection-banner')).toHaveCount(0);
  await view.getByTestId('run').click();
  await expectNodeStatus(view, 'wait', 'running');
  const [run] = await fw.runs(a.id);

  await fw.stop();
  const banner = view.getByTestId('connection-banner');
  await expect(banner).toBeVisible();
  await expect(banner).toContainText(/Disconnected from the server, reconnecting/);
  await expect(view.getByTestId('connection-banner-text')).toContainText(/reconnecting in \d+ s…/);
  await expect(view.getByTestId('connection-retry')).toBeVisible();

  // Timers stop where the connection was lost, marked stale.
  const elapsed = view.getByTestId('node-elapsed-wait');
  await expect(elapsed).toHaveAttribute('data-stale', 'true');
  await expect(view.getByTestId('run-elapsed')).toHaveAttribute('data-stale', 'true');
  const frozen = await elapsed.textContent();
  await page.waitForTimeout(2_500);
  expect(await elapsed.textContent()).toBe(frozen);
  await screen(page, '20-disconnected');

  // Run (Ctrl+Enter) and Cancel are refused at once, with a message; nothing hangs in "Starting…".
  await view.getByTestId('canvas').click({ position: { x: 5, y: 5 } });
  await page.keyboard.press('Control+Enter');
  const refused = page.getByTestId('toast').filter({ hasText: 'Run not started' });
  await expect(refused).toBeVisible();
  await expect(refused).toContainText('Not connected to the server');
  await view.getByTestId('cancel').click();
  await expect(page.getByTestId('toast').filter({ hasText: 'Cancel not sent' })).toBeVisible();
  await expect(view.getByTestId('run')).toHaveCount(0);
  await expect(view.getByText('Starting…')).toHaveCount(0);

  // Back: Retry now skips the rest of the backoff.
  await fw.start();
  const retry = view.getByTestId('connection-retry');
  await expect(async () => {
    if (await retry.isEnabled()) await retry.click();
    await expect(tab(page, a.id)).toHaveAttribute('data-conn', 'open', { timeout: 2_000 });
  }).toPass({ timeout: 60_000 });
  await expect(banner).toHaveCount(0);
  const resynced = view.getByTestId('connection-resynced');
  await expect(resynced).toBeVisible();
  await expect(resynced).toContainText('Back online after');
  await expect(resynced).toContainText('active runs');
  await expect(resynced).toContainText(`run ${run.id.slice(0, 8)}`);
  await expect(resynced).toContainText('workflow “Build”');
  await screen(page, '21-back-online');
  await expect(elapsed).not.toHaveAttribute('data-stale', 'true');

  // Live again: Cancel goes through.
  await view.getByTestId('cancel').click();
  await fw.waitRun(run.id, ['canceled']);
  await expect(view.getByTestId('run-status')).toHaveText('canceled');
  await view.getByTestId('connection-resynced-close').click();
  await expect(resynced).toHaveCount(0);
});
