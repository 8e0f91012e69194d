// Runs seen from project tabs: isolation between projects, coming back to a
// tab after its run moved on, and a server restart in the middle of a run.

import { expect, screen, test } from './fixtures';
import { activate, expectNodeStatus, gatedWorkflow, logLines, openGate, openKnown, slowWorkflow, tab } from './ui';

test('a run in project A shows in A and nothing of it in B', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  const b = await fw.project('beta');
  // Same workflow id and node ids in both projects: anything routed by those
  // instead of by project would leak into B.
  await fw.putWorkflow(a.id, 'build', gatedWorkflow('Build', a, 'hello-from-alpha'));
  await fw.putWorkflow(b.id, 'build', gatedWorkflow('Build', b, 'hello-from-beta'));

  await fw.openUI(page);
  await openKnown(page, b);
  await openKnown(page, a);
  const viewA = page.getByTestId(`project-view-${a.id}`);
  await viewA.getByTestId('run').click();
  await expectNodeStatus(viewA, 'wait', 'running');
  await expect(viewA.getByTestId('run-status')).toHaveText('running');

  // B while A is running: no run, no statuses, no logs, no badge.
  const viewB = await activate(page, b.id);
  await expect(page.getByTestId(`tab-runs-${a.id}`)).toBeVisible();
  await expect(viewB.getByTestId('node-wait')).toBeVisible();
  await expect(viewB.getByTestId('run-summary')).toHaveCount(0);
  await expectNodeStatus(viewB, 'wait', 'idle');
  await expectNodeStatus(viewB, 'say', 'idle');
  await expect(page.getByTestId(`tab-runs-${b.id}`)).toHaveCount(0);
  await expect(logLines(viewB)).toHaveCount(0);
  await screen(page, '04-project-b-while-a-runs');

  // Back in A: the run finishes there, with its log.
  await activate(page, a.id);
  openGate(a);
  await expect(viewA.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expectNodeStatus(viewA, 'wait', 'succeeded');
  await expectNodeStatus(viewA, 'say', 'succeeded');
  await expect(logLines(viewA).filter({ hasText: 'hello-from-alpha' })).toHaveCount(1);
  await screen(page, '05-project-a-run-succeeded');

  // And B still knows nothing of it, in the UI and on the server.
  await activate(page, b.id);
  await expect(viewB.getByTestId('run-summary')).toHaveCount(0);
  await expectNodeStatus(viewB, 'say', 'idle');
  await expect(logLines(viewB)).toHaveCount(0);
  await viewB.getByTestId('panel-history').click();
  await expect(viewB.getByTestId('run-history')).toBeVisible();
  await expect(viewB.getByTestId('history-row')).toHaveCount(0);
  expect(await fw.runs(b.id)).toEqual([]);
  const toasts = page.getByTestId('toast');
  await expect(toasts.filter({ hasText: 'beta' })).toHaveCount(0);
});

test('switching away and back shows the run in progress, then its result', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  const b = await fw.project('beta');
  // The run stays in progress until the gate opens, however slow the machine.
  await fw.putWorkflow(a.id, 'build', gatedWorkflow('Build', a, 'hello-again'));

  await fw.openUI(page);
  await openKnown(page, b);
  await openKnown(page, a);
  const viewA = page.getByTestId(`project-view-${a.id}`);
  await viewA.getByTestId('run').click();
  await expectNodeStatus(viewA, 'wait', 'running');

  await activate(page, b.id);
  await activate(page, a.id);
  const [run] = await fw.runs(a.id);
  expect(run.status).toBe('running');
  await expectNodeStatus(viewA, 'wait', 'running');
  await expect(viewA.getByTestId('node-elapsed-wait')).toBeVisible();
  await expect(viewA.getByTestId('run-status')).toHaveText('running');
  await screen(page, '06-run-in-progress');

  // Away until the run is over and A has dropped its connection (background,
  // nothing active): coming back must resynchronise from the server.
  await activate(page, b.id);
  openGate(a);
  await fw.waitRun(run.id, ['succeeded']);
  await expect.poll(() => fw.connectionsOf(a.id)).toBe(0);
  await expect(tab(page, a.id)).toHaveAttribute('data-conn', 'idle');
  await activate(page, a.id);
  await expect(tab(page, a.id)).toHaveAttribute('data-conn', 'open');
  await expect(viewA.getByTestId('run-status')).toHaveText('succeeded');
  await expectNodeStatus(viewA, 'wait', 'succeeded');
  await expectNodeStatus(viewA, 'say', 'succeeded');
  await expect(logLines(viewA).filter({ hasText: 'hello-again' })).toHaveCount(1);
  await viewA.getByTestId('panel-history').click();
  await expect(viewA.getByTestId('history-row')).toHaveCount(1);
  await expect(viewA.getByTestId('history-row')).toHaveAttribute('data-status', 'succeeded');
  await screen(page, '07-run-history');
});

test('a server restart mid-run: the tab reconnects and shows the right final state', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'build', slowWorkflow('Build', 5_000, 'after-restart'));

  await fw.openUI(page);
  await openKnown(page, a);
  const viewA = page.getByTestId(`project-view-${a.id}`);
  await viewA.getByTestId('run').click();
  await expectNodeStatus(viewA, 'wait', 'running');
  const [run] = await fw.runs(a.id);

  // SIGTERM: the server closes the socket (1001) and hands the run back to the queue.
  await fw.stop();
  await expect(tab(page, a.id)).toHaveAttribute('data-conn', /waiting|connecting/);
  await screen(page, '08-reconnecting');

  await fw.start(); // same port, same data dir
  await expect(tab(page, a.id)).toHaveAttribute('data-conn', 'open', { timeout: 60_000 });
  const done = await fw.waitRun(run.id, ['succeeded', 'failed', 'canceled'], 120_000);
  expect(done.status).toBe('succeeded');
  await expect(viewA.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expectNodeStatus(viewA, 'wait', 'succeeded');
  await expectNodeStatus(viewA, 'say', 'succeeded');
  await expect(logLines(viewA).filter({ hasText: 'after-restart' })).not.toHaveCount(0);
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 1, byProject: { [a.id]: 1 } });
  await screen(page, '09-after-restart');
});
