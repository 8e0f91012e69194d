// Problems before Run: the error an earlier run left on a node is stale
// once the node's params change, so the canvas stops showing it (the run
// history still has it).

import { expect, test } from './fixtures';
import { expectNodeStatus, node, openKnown, projectView } from './ui';

test('the error of an earlier run is cleared when the node’s params change', async ({ fw, page }) => {
  const p = await fw.project('alpha');
  await fw.putWorkflow(p.id, 'fails', {
    name: 'Fails',
    nodes: [
      { id: 'boom', tool: 'shell', params: { command: 'echo about-to-fail; exit 3' }, position: { x: 0, y: 0 } },
      { id: 'other', tool: 'shell', params: { command: 'exit 4' }, position: { x: 0, y: 200 } },
    ],
    edges: [],
  });
  await fw.openUI(page);
  await openKnown(page, p);
  const view = projectView(page, p.id);
  await view.getByTestId('run').click();
  await expect(view.getByTestId('run-status')).toHaveText('failed', { timeout: 60_000 });
  await expectNodeStatus(view, 'boom', 'failed');
  await expect(view.getByTestId('node-error-boom')).toBeVisible();
  await expect(view.getByTestId('node-error-other')).toBeVisible();

  // Selecting the node changes nothing; editing its params clears its error only.
  await node(view, 'boom').locator('.fw-node-title').click();
  await expect(view.getByTestId('node-error-boom')).toBeVisible();
  await view.getByTestId('param-command').fill('echo fixed');
  await expect(view.getByTestId('node-error-boom')).toHaveCount(0);
  await expect(view.getByTestId('node-error-other')).toBeVisible();
  // The run history keeps what happened.
  await view.getByTestId('panel-history').click();
  await expect(view.getByTestId('history-row').first()).toHaveAttribute('data-status', 'failed');
});
