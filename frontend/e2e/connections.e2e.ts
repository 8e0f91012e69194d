// One WebSocket per project tab, and the lazy policy (issue 5): a project
// holds a connection only while it is the foreground tab or has an active
// run. Checked from the server's side with GET /api/connections.

import { expect, screen, test } from './fixtures';
import { activate, openKnown, slowWorkflow, tab } from './ui';

/** Long enough never to finish during a test; every test cancels it. */
const LONG_MS = 600_000;

test('two project tabs with runs hold two connections, one per project', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  const b = await fw.project('beta');
  await fw.putWorkflow(a.id, 'long', slowWorkflow('Long', LONG_MS, 'never'));

  await fw.openUI(page);
  await expect(page.getByTestId('empty-state')).toBeVisible();
  await screen(page, '01-empty-workspace');

  await openKnown(page, a);
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 1, byProject: { [a.id]: 1 } });
  await expect(tab(page, a.id)).toHaveAttribute('data-conn', 'open');

  // A runs something, then B comes to the foreground: both hold one connection.
  const viewA = page.getByTestId(`project-view-${a.id}`);
  await viewA.getByTestId('run').click();
  await expect(viewA.getByTestId('run-status')).toHaveText(/queued|running/);
  await openKnown(page, b);
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 2, byProject: { [a.id]: 1, [b.id]: 1 } });
  await expect(tab(page, a.id)).toHaveAttribute('data-conn', 'open');
  await expect(page.getByTestId(`tab-runs-${a.id}`)).toBeVisible();
  await screen(page, '02-two-tabs-background-run');

  // Past the 5 s grace period A still holds its connection: it has an active run.
  // (A wait, not an assertion on timing: the check after it can only fail if A dropped.)
  await page.waitForTimeout(6_500);
  expect(await fw.connectionMap()).toEqual({ total: 2, byProject: { [a.id]: 1, [b.id]: 1 } });

  // When A's run ends, background A lets its connection go after the grace period.
  const [run] = await fw.runs(a.id);
  await fw.cancelRun(run.id);
  await fw.waitRun(run.id, ['canceled']);
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 1, byProject: { [b.id]: 1 } });
  await expect(tab(page, a.id)).toHaveAttribute('data-conn', 'idle');
  await expect(page.getByTestId(`tab-runs-${a.id}`)).toHaveCount(0);
});

test("closing a project's tab frees its connection at once, even with a run going", async ({ fw, page }) => {
  const a = await fw.project('alpha');
  const b = await fw.project('beta');
  await fw.putWorkflow(a.id, 'long', slowWorkflow('Long', LONG_MS, 'never'));

  await fw.openUI(page);
  await openKnown(page, b);
  await openKnown(page, a);
  const viewA = page.getByTestId(`project-view-${a.id}`);
  await viewA.getByTestId('run').click();
  await expect(viewA.getByTestId('run-status')).toHaveText(/queued|running/);
  await expect.poll(() => fw.connectionsOf(a.id)).toBe(1);

  // Closing a tab with a run going asks first (the run goes on without it).
  const asked: string[] = [];
  page.once('dialog', (d) => {
    asked.push(d.message());
    void d.accept();
  });
  await page.getByTestId(`tab-close-${a.id}`).click();
  await expect(tab(page, a.id)).toHaveCount(0);
  expect(asked).toHaveLength(1);
  expect(asked[0]).toContain('1 run in progress');
  // B is the foreground tab now; A's socket is gone although its run goes on.
  await expect(tab(page, b.id)).toHaveAttribute('aria-selected', 'true');
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 1, byProject: { [b.id]: 1 } });
  const [run] = await fw.runs(a.id);
  expect(run.status).toMatch(/queued|running/);
  await fw.cancelRun(run.id);

  // The closed tab stays closed after a reload (workspace persistence).
  await page.reload();
  await expect(tab(page, b.id)).toBeVisible();
  await expect(tab(page, a.id)).toHaveCount(0);
});

test('ten tabs with three active runs hold exactly three connections', async ({ fw, page }) => {
  const projects = [];
  for (let i = 0; i < 10; i++) projects.push(await fw.project(`proj-${i}`));
  const running = [projects[0], projects[4], projects[9]];
  for (const p of projects) await fw.putWorkflow(p.id, 'long', slowWorkflow(`Long ${p.name}`, LONG_MS, 'never'));
  // Restore ten open tabs, the first one in the foreground.
  await fw.api('PUT', '/api/workspace', { tabs: projects.map((p) => p.id), active: projects[0].id });

  await fw.openUI(page);
  await expect(page.getByRole('tab')).toHaveCount(10);
  await expect(tab(page, projects[0].id)).toHaveAttribute('aria-selected', 'true');
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 1, byProject: { [projects[0].id]: 1 } });

  // Start a run in three tabs through the UI, ending on the first (foreground) one.
  for (const p of [running[1], running[2], running[0]]) {
    const view = await activate(page, p.id);
    await view.getByTestId('run').click();
    await expect(view.getByTestId('run-status')).toHaveText(/queued|running/);
  }
  const three = Object.fromEntries(running.map((p) => [p.id, 1]));
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 3, byProject: three });
  for (const p of running) await expect(tab(page, p.id)).toHaveAttribute('data-conn', 'open');
  // The foreground tab's queued node shows its status and nothing else (no stray "0").
  await expect(page.getByTestId('node-status-say')).toHaveText('Queued');
  await expect(page.getByTestId('node-say')).not.toContainText('0');
  await screen(page, '03-ten-tabs-three-runs');

  // A run started elsewhere (REST) in a background tab: the tab learns it by
  // the cheap REST poll and connects, then lets go when the run ends.
  const other = projects[6];
  const runId = await fw.startRun(other.id, 'long');
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 4, byProject: { ...three, [other.id]: 1 } });
  await expect(page.getByTestId(`tab-runs-${other.id}`)).toBeVisible();
  await fw.cancelRun(runId);
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 3, byProject: three });

  for (const p of running) {
    const [r] = await fw.runs(p.id);
    await fw.cancelRun(r.id);
  }
  await expect.poll(() => fw.connectionMap()).toEqual({ total: 1, byProject: { [projects[0].id]: 1 } });
});
