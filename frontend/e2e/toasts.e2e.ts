// Toasts tell the truth without getting in the way: a run that ends in a
// background tab is named by its workflow's name, and toasts never cover
// Run or Follow.

import { expect, test } from './fixtures';
import { activate, openKnown, projectView } from './ui';

function intersects(a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

test('a background run is named by its workflow, and toasts never cover Run or Follow', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  const b = await fw.project('beta');
  await fw.putWorkflow(a.id, 'wf1', {
    name: 'Nightly build',
    nodes: [{ id: 'wait', tool: 'delay', params: { ms: 10_000 }, position: { x: 0, y: 0 } }],
    edges: [],
  });
  await fw.openUI(page);
  await openKnown(page, b);
  await openKnown(page, a);
  await projectView(page, a.id).getByTestId('run').click();
  await expect(projectView(page, a.id).getByTestId('run-status')).toHaveText(/queued|running/);
  const viewB = await activate(page, b.id);

  const done = page.getByTestId('toast').filter({ hasText: 'Run succeeded' });
  await expect(done).toBeVisible({ timeout: 60_000 });
  await expect(done).toContainText('Nightly build in alpha');
  await expect(done).not.toContainText('wf1');

  // A pile of toasts (Run on an empty canvas says there is nothing to run).
  for (let i = 0; i < 4; i++) await viewB.getByTestId('run').click();
  await expect(page.getByTestId('toast').filter({ hasText: 'Nothing to run' }).first()).toBeVisible();
  const run = (await viewB.getByTestId('run').boundingBox())!;
  const follow = (await viewB.getByTestId('log-follow').boundingBox())!;
  for (const t of await page.getByTestId('toast').all()) {
    const box = (await t.boundingBox())!;
    expect(intersects(box, run), 'a toast covers Run').toBe(false);
    expect(intersects(box, follow), 'a toast covers Follow').toBe(false);
  }
});
