// Runs the tab did not start itself: after a reload mid-run, a run started
// over REST while the tab is open, and several active runs at once. The tab
// adopts them from the project snapshot and its run events: live node
// status, logs replayed from the event log, and Cancel.

import { expect, test, type WorkflowDoc } from './fixtures';
import { expectNodeStatus, logLines, openKnown, projectView } from './ui';

/** `say` prints a line at once, then `wait` keeps the run busy for `ms`. */
function talkThenWait(echo: string, ms: number): WorkflowDoc {
  return {
    name: 'Talk then wait',
    nodes: [
      { id: 'say', tool: 'shell', params: { command: `echo ${echo}` }, position: { x: 0, y: 0 } },
      { id: 'wait', tool: 'delay', params: { ms }, position: { x: 300, y: 0 } },
    ],
    edges: [{ source: 'say', target: 'wait' }],
  };
}

test('reload mid-run shows the run live, with its logs replayed and Cancel', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'build', talkThenWait('before-reload', 120_000));
  await fw.openUI(page);
  await openKnown(page, a);
  let view = projectView(page, a.id);
  await view.getByTestId('run').click();
  await expectNodeStatus(view, 'wait', 'running');
  const [run] = await fw.runs(a.id);

  await page.reload();
  view = projectView(page, a.id);
  await expect(view).toBeVisible();
  await expectNodeStatus(view, 'say', 'succeeded');
  await expectNodeStatus(view, 'wait', 'running');
  await expect(view.getByTestId('run-status')).toHaveText('running');
  await expect(logLines(view).filter({ hasText: 'before-reload' })).toHaveCount(1);
  await view.getByTestId('cancel').click();
  await fw.waitRun(run.id, ['canceled']);
  await expect(view.getByTestId('run-status')).toHaveText('canceled');
  await expect(view.getByTestId('run')).toBeVisible();
});

test('a run started over REST appears in the open tab', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'build', talkThenWait('from-rest', 120_000));
  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  // A finished run is on display (the usual case): a new run must still take the canvas.
  await view.getByTestId('run').click();
  await expectNodeStatus(view, 'wait', 'running');
  await view.getByTestId('cancel').click();
  await expect(view.getByTestId('run-status')).toHaveText('canceled');
  await expect(view.getByTestId('run')).toBeVisible();
  await expect(logLines(view).filter({ hasText: 'from-rest' })).toHaveCount(1);

  const runId = await fw.startRun(a.id, 'build');
  await expect(view.getByTestId('run-status')).toHaveText('running');
  await expectNodeStatus(view, 'wait', 'running');
  await expect(view.getByTestId('cancel')).toBeVisible();
  await expect(logLines(view).filter({ hasText: 'from-rest' })).toHaveCount(1);
  await view.getByTestId('cancel').click();
  await fw.waitRun(runId, ['canceled']);
  await expect(view.getByTestId('run-status')).toHaveText('canceled');
});

test('a run already active when the tab opens is shown, and a switcher picks among several', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'build', talkThenWait('first-run', 120_000));
  const first = await fw.startRun(a.id, 'build');
  await fw.waitRun(first, ['running']);
  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  await expectNodeStatus(view, 'wait', 'running');
  await expect(logLines(view).filter({ hasText: 'first-run' })).toHaveCount(1);
  await expect(view.getByTestId('run-switcher')).toHaveCount(0);

  // A second run of the same workflow: the canvas follows the newest.
  await fw.putWorkflow(a.id, 'build', talkThenWait('second-run', 120_000));
  const second = await fw.startRun(a.id, 'build');
  const switcher = view.getByTestId('run-switcher');
  await expect(switcher).toBeVisible();
  await expect(switcher.locator('option')).toHaveCount(2);
  await expect(switcher).toHaveValue(second);
  await expect(logLines(view).filter({ hasText: 'second-run' })).toHaveCount(1);

  await switcher.selectOption(first);
  await expect(logLines(view).filter({ hasText: 'first-run' })).toHaveCount(1);
  await expect(logLines(view).filter({ hasText: 'second-run' })).toHaveCount(0);
  await view.getByTestId('cancel').click();
  await fw.waitRun(first, ['canceled']);
  await expect(view.getByTestId('run-status')).toHaveText('canceled');
  // The ended run stays on display; the other active one is still offered.
  await expect(switcher.locator('option')).toHaveCount(2);
  await switcher.selectOption(second);
  await expect(view.getByTestId('run-status')).toHaveText('running');
  await view.getByTestId('cancel').click();
  await fw.waitRun(second, ['canceled']);
  await expect(switcher).toHaveCount(0);
});
