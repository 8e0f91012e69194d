// Triggers on the canvas: a schedule added in the UI explains itself, shows
// its next fire times from the server, and then starts runs by itself that
// the tab follows and lists in its history; a background tab learns of them.

import { expect, screen, test } from './fixtures';
import { activate, openKnown } from './ui';

/** The part of a saved workflow these tests read. */
interface SavedWorkflow {
  triggers?: { cron?: string; enabled?: boolean }[];
}

test('a schedule trigger added on the canvas starts runs by itself', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'tick', {
    name: 'Tick',
    nodes: [{ id: 'say', tool: 'shell', params: { command: 'echo tick' }, position: { x: 0, y: 0 } }],
    edges: [],
  });
  await fw.openUI(page);
  await openKnown(page, a);
  const view = page.getByTestId(`project-view-${a.id}`);
  await expect(view.getByTestId('node-say')).toBeVisible();

  // Add a schedule from the palette: it stands at the canvas's left edge with its inspector open.
  await view.getByTestId('palette-trigger-schedule').dblclick();
  const trig = view.getByTestId('trigger-node-schedule');
  await expect(trig).toBeVisible();
  const tbox = (await trig.boundingBox())!;
  const nbox = (await view.getByTestId('node-say').boundingBox())!;
  expect(tbox.x + tbox.width).toBeLessThan(nbox.x);
  // A dashed edge leads from the trigger to the entry node.
  await expect(view.locator('.react-flow__edge.edge-trigger')).toHaveCount(1);
  const insp = view.getByTestId('trigger-inspector');
  await expect(insp).toBeVisible();

  // A cron with seconds: explained in words, five next fire times from the server.
  await insp.getByTestId('trigger-cron').fill('*/4 * * * * *');
  await insp.getByTestId('trigger-timezone').fill('UTC');
  await expect(insp.getByTestId('trigger-cron-words')).toContainText('4 seconds');
  const times = insp.getByTestId('trigger-next-times').locator('li');
  await expect(times).toHaveCount(5);
  // Every 4 seconds: the five times span 16 seconds, not days.
  const first = Date.parse((await times.first().getAttribute('data-time'))!);
  const last = Date.parse((await times.last().getAttribute('data-time'))!);
  expect(last - first).toBe(16_000);
  await expect(trig).toContainText('4 seconds');
  await screen(page, '30-schedule-trigger-inspector');

  // Saved: the trigger is in the workflow file, and runs start by themselves.
  await view.getByTestId('save').click();
  await expect.poll(async () => (await fw.api<SavedWorkflow>('GET', `/api/projects/${a.id}/workflows/tick`)).triggers?.[0]?.cron).toBe('*/4 * * * * *');
  await expect(view.getByTestId('run-trigger')).toContainText('started by schedule schedule', { timeout: 60_000 });
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await view.getByTestId('panel-history').click();
  const rows = view.getByTestId('history-trigger');
  await expect(rows.first()).toContainText('schedule schedule', { timeout: 60_000 });
  await expect.poll(async () => rows.count(), { timeout: 60_000 }).toBeGreaterThanOrEqual(2);
  await expect(view.getByTestId('history-trigger').filter({ hasText: 'by hand' })).toHaveCount(0);
  await screen(page, '31-schedule-runs-in-history');

  // Switched off (and saved): no more runs.
  await trig.click();
  await insp.getByTestId('trigger-enabled').uncheck();
  await expect(trig).toHaveAttribute('data-enabled', 'false');
  await view.getByTestId('save').click();
  await expect.poll(async () => (await fw.api<SavedWorkflow>('GET', `/api/projects/${a.id}/workflows/tick`)).triggers?.[0]?.enabled).toBe(false);
  await page.waitForTimeout(1500); // a tick in flight may still land
  const before = (await fw.runs(a.id)).length;
  await page.waitForTimeout(6000);
  expect((await fw.runs(a.id)).length).toBe(before);
});

test('a background tab learns of runs a trigger started', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  const b = await fw.project('beta');
  await fw.putWorkflow(b.id, 'idle', { name: 'Idle', nodes: [{ id: 'x', tool: 'log', params: { message: 'x' } }], edges: [] });
  await fw.openUI(page);
  await openKnown(page, a);
  await openKnown(page, b);
  // A is in the background with nothing active: its connection goes after the grace period.
  await expect.poll(() => fw.connectionsOf(a.id), { timeout: 30_000 }).toBe(0);
  // Now a schedule in A fires short runs (over in milliseconds, between two polls).
  await fw.api('PUT', `/api/projects/${a.id}/workflows/tick`, {
    name: 'Tick',
    triggers: [{ id: 'often', type: 'schedule', cron: '@every 3s' }],
    nodes: [{ id: 'say', tool: 'log', params: { message: 'tick' } }],
    edges: [],
  });
  // The poll notices the new run and the tab connects to replay it.
  await expect.poll(() => fw.connectionsOf(a.id), { timeout: 30_000 }).toBe(1);
  const view = await activate(page, a.id);
  await view.getByTestId('workflow-select').selectOption('tick');
  await view.getByTestId('panel-history').click();
  await expect(view.getByTestId('history-trigger').first()).toContainText('schedule often', { timeout: 30_000 });
});

test('webhook and files triggers: URL with curl and a new URL, glob with the files it matches', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'hook', {
    name: 'Hook',
    nodes: [{ id: 'say', tool: 'log', params: { message: 'hi' }, position: { x: 0, y: 0 } }],
    edges: [],
  });
  for (const f of ['src/a.go', 'src/deep/b.go', 'src/readme.md', '.git/x.go']) {
    const p = `${a.path}/${f}`;
    await import('node:fs').then((fs) => {
      fs.mkdirSync(p.slice(0, p.lastIndexOf('/')), { recursive: true });
      fs.writeFileSync(p, 'x');
    });
  }
  await fw.openUI(page);
  await openKnown(page, a);
  const view = page.getByTestId(`project-view-${a.id}`);
  await expect(view.getByTestId('node-say')).toBeVisible();

  // Webhook: the URL appears once saved, with a curl example; a new URL retires the old one.
  await view.getByTestId('palette-trigger-webhook').dblclick();
  const insp = view.getByTestId('trigger-inspector');
  await insp.getByTestId('trigger-respond').selectOption('onCompleted');
  await view.getByTestId('save').click();
  const url = insp.getByTestId('trigger-url');
  await expect(url).toContainText('/hooks/');
  const first = (await url.textContent())!.trim();
  await expect(insp.getByTestId('trigger-curl')).toContainText(`curl -X POST '${first}'`);
  const answer = await fetch(first, { method: 'POST', body: '{}', headers: { 'Content-Type': 'application/json' } });
  expect(answer.status).toBe(200);
  expect(await answer.json()).toEqual({ message: 'hi' });
  page.once('dialog', (d) => void d.accept());
  await insp.getByTestId('trigger-rotate').click();
  await expect(url).not.toHaveText(first);
  expect((await fetch(first, { method: 'POST', body: '{}' })).status).toBe(404);
  await screen(page, '32-webhook-trigger-inspector');

  // Files: the glob lists what it matches now (never .git/).
  await view.getByTestId('palette-trigger-files').dblclick();
  await insp.getByTestId('trigger-glob').fill('src/**/*.go');
  const files = insp.getByTestId('trigger-files').locator('li');
  await expect(files).toHaveText(['src/a.go', 'src/deep/b.go']);
  await insp.getByTestId('trigger-glob').fill('src/[a');
  await expect(insp.locator('.fw-field-error')).toContainText('not a valid glob');

  // Delete (on the canvas, not in a field) removes the selected trigger; Ctrl+Z brings it back.
  await view.getByTestId('trigger-node-files').click();
  await page.keyboard.press('Delete');
  await expect(view.getByTestId('trigger-node-files')).toHaveCount(0);
  await page.keyboard.press('Control+z');
  await expect(view.getByTestId('trigger-node-files')).toBeVisible();
});
