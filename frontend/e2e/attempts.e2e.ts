// Attempts are visible: a node re-run because its server was killed mid-node
// shows its attempt number, and the log separates the attempts with a line
// of the app's own instead of silently repeating the node's output.

import { expect, test } from './fixtures';
import { expectNodeStatus, logLines, openGate, openKnown, tab } from './ui';

test('kill -9 mid-node: attempt 2 is shown on the node and a separator splits its log', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  // `work` prints a line, then waits for the gate: killed while waiting, it
  // runs again from the start after the restart and finds the gate open.
  await fw.putWorkflow(a.id, 'build', {
    name: 'Build',
    nodes: [{
      id: 'work',
      tool: 'shell',
      params: { command: `echo step-one; until [ -e '${a.path}/.e2e-gate' ]; do sleep 0.1; done; echo step-two` },
      position: { x: 0, y: 0 },
    }],
    edges: [],
  });

  await fw.openUI(page);
  await openKnown(page, a);
  const view = page.getByTestId(`project-view-${a.id}`);
  await view.getByTestId('run').click();
  await expectNodeStatus(view, 'work', 'running');
  await expect(logLines(view).filter({ hasText: 'step-one' })).toHaveCount(1);
  const [run] = await fw.runs(a.id);

  await fw.kill();
  openGate(a);
  await fw.start(); // same port, same data dir: the run is recovered, not failed

  await expect(tab(page, a.id)).toHaveAttribute('data-conn', 'open', { timeout: 60_000 });
  const done = await fw.waitRun(run.id, ['succeeded', 'failed', 'canceled'], 120_000);
  expect(done.status).toBe('succeeded');
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expectNodeStatus(view, 'work', 'succeeded');
  await expect(view.getByTestId('node-attempt-work')).toContainText('attempt 2');
  await expect(view.getByTestId('node-attempt-work')).toContainText('server restarted');

  // The log: the first attempt's line, the separator, the second attempt's lines.
  const separator = logLines(view).filter({ hasText: 'attempt 2 — server restarted' });
  await expect(separator).toHaveCount(1);
  await expect(separator).toHaveClass(/marker/);
  await expect(logLines(view).filter({ hasText: 'step-one' })).toHaveCount(2);
  await expect(logLines(view).filter({ hasText: 'step-two' })).toHaveCount(1);
  const texts = await logLines(view).locator('.fw-log-text').allTextContents();
  const order = texts.filter((t) => /step-one|step-two|attempt 2/.test(t));
  expect(order).toEqual(['step-one', 'attempt 2 — server restarted', 'step-one', 'step-two']);
});
