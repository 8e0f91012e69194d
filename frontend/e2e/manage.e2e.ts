// Managing projects: remove a tab (the project and folder stay), forget a
// project (Flow Weaver's records go, the folder stays, trust is asked
// again), the folder browser of "Open folder" in a browser (confined to the
// home folder and known projects, keyboard only), and the tool palette
// without a mouse.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ApiFailure, expect, screen, test, type Project } from './fixtures';
import { node, openKnown, projectView, tab } from './ui';

const workflowFile = (dir: string, id: string) => path.join(dir, '.flowweaver', 'workflows', `${id}.json`);

test('remove a project from the tabs: its connection closes, the project and folder stay', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  const b = await fw.project('beta');
  await fw.putWorkflow(a.id, 'build', { name: 'Build', nodes: [{ id: 'say', tool: 'shell', params: { command: 'echo hi' } }], edges: [] });
  await fw.openUI(page);
  await openKnown(page, b);
  await openKnown(page, a);
  await expect(node(projectView(page, a.id), 'say')).toBeVisible();
  await expect.poll(() => fw.connectionsOf(a.id), { timeout: 30_000 }).toBe(1);

  await projectView(page, a.id).getByTestId('project-menu').click();
  await page.getByTestId('project-menu-remove').click();
  await expect(tab(page, a.id)).toHaveCount(0);
  await expect(tab(page, b.id)).toHaveAttribute('aria-selected', 'true');
  await expect.poll(() => fw.connectionsOf(a.id), { timeout: 30_000 }).toBe(0);
  // Still a known project, its folder and workflow untouched.
  const known = await fw.api<{ projects: Project[] }>('GET', '/api/projects');
  expect(known.projects.map((p) => p.id).sort()).toEqual([a.id, b.id].sort());
  expect(existsSync(workflowFile(a.path, 'build'))).toBe(true);

  // A reload does not bring the tab back; the open dialog offers the project.
  await page.reload();
  await expect(tab(page, b.id)).toBeVisible();
  await expect(tab(page, a.id)).toHaveCount(0);
  await openKnown(page, a);
  await expect(node(projectView(page, a.id), 'say')).toBeVisible();
});

test('forget a project: its runs, trust and tab go, the folder stays, reopening asks for trust again', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  const c = await fw.project('gamma');
  await fw.putWorkflow(a.id, 'build', { name: 'Build', nodes: [{ id: 'say', tool: 'shell', params: { command: 'echo hi' } }], edges: [] });
  await fw.waitRun(await fw.startRun(a.id, 'build'), ['succeeded']);
  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  await expect(node(view, 'say')).toBeVisible();

  // Cancel changes nothing.
  await view.getByTestId('project-menu').click();
  await page.getByTestId('project-menu-forget').click();
  const dialog = page.getByTestId('forget-dialog');
  await expect(dialog).toContainText(a.path);
  await expect(dialog).toContainText('not touched');
  await screen(page, '50-forget-project');
  await page.keyboard.press('Escape');
  await expect(dialog).toBeHidden();
  expect((await fw.runs(a.id)).length).toBe(1);

  await view.getByTestId('project-menu').click();
  await page.getByTestId('project-menu-forget').click();
  await page.getByTestId('forget-confirm').click();
  await expect(dialog).toBeHidden();
  await expect(tab(page, a.id)).toHaveCount(0);
  await expect(page.getByTestId('toast').filter({ hasText: 'Forgot “alpha”' })).toBeVisible();
  const gone = await fw.api('GET', `/api/projects/${a.id}`).catch((e: unknown) => e);
  expect(gone instanceof ApiFailure && gone.status).toBe(404);
  expect(existsSync(workflowFile(a.path, 'build'))).toBe(true);

  // Forget from the known projects list (a project not open in a tab).
  await page.getByTestId('empty-open').click();
  await expect(page.getByTestId(`known-project-${a.id}`)).toHaveCount(0);
  await page.getByTestId(`known-forget-${c.id}`).click();
  await page.getByTestId('forget-confirm').click();
  await expect(page.getByTestId(`known-project-${c.id}`)).toHaveCount(0);
  expect((await fw.api<{ projects: Project[] }>('GET', '/api/projects')).projects).toEqual([]);

  // The same folder opened again is a new project that must be trusted again.
  await page.getByTestId('open-path').fill(a.path);
  await page.getByTestId('open-submit').click();
  const trust = page.getByTestId('trust-dialog');
  await expect(trust).toBeVisible();
  await expect(trust.getByTestId('trust-workflow-build')).toBeVisible();
  await trust.getByTestId('trust-browse').click();
  const [again] = (await fw.api<{ projects: Project[] }>('GET', '/api/projects')).projects;
  expect(again.id).not.toBe(a.id);
  await expect(page.getByTestId(`tab-restricted-${again.id}`)).toBeVisible();
  expect(await fw.runs(again.id)).toEqual([]);
});

test('the folder browser opens a project with the keyboard and stays inside home and known projects', async ({ fw, page }) => {
  const home = path.join(fw.root, 'home');
  const demo = path.join(home, 'code', 'demo');
  mkdirSync(path.join(demo, '.flowweaver', 'workflows'), { recursive: true });
  mkdirSync(path.join(home, 'code', 'other'), { recursive: true });
  writeFileSync(path.join(home, 'code', 'notes.txt'), 'not a folder');
  writeFileSync(workflowFile(demo, 'hello'), JSON.stringify({ name: 'Hello', nodes: [{ id: 'say', tool: 'shell', params: { command: 'echo hello' } }], edges: [] }));
  fw.env.HOME = home;
  await fw.restart();
  await fw.openUI(page);

  await page.getByTestId('empty-open').click();
  // A folder outside the roots is refused: the browser shows the roots and says why.
  await page.getByTestId('open-path').fill('/etc');
  await page.getByTestId('open-browse').click();
  const fb = page.getByTestId('folder-browser');
  await expect(fb).toBeVisible();
  await expect(fb.getByTestId('folder-browser-error')).toContainText('outside the folders');
  const list = fb.getByTestId('folder-browser-list');
  await expect(list).toBeFocused();
  await expect(list.getByRole('option')).toHaveCount(1);
  await expect(list.getByRole('option').first()).toContainText(home);

  // Keyboard only: into home, into code, highlight demo, choose.
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(fb.getByTestId('folder-code')).toBeVisible();
  await page.keyboard.press('ArrowDown');
  await page.keyboard.press('Enter');
  await expect(fb.getByTestId('folder-demo')).toBeVisible();
  // Only folders: the file is not listed.
  await expect(list.getByRole('option')).toHaveText([/demo.*workflows/, /other/]);
  await page.keyboard.press('d');
  await expect(fb.getByTestId('folder-demo')).toHaveAttribute('aria-selected', 'true');
  await screen(page, '51-folder-browser');
  // Backspace goes up with "code" highlighted; Enter goes back in.
  await page.keyboard.press('Backspace');
  await expect(fb.getByTestId('folder-code')).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Enter');
  await expect(fb.getByTestId('folder-demo')).toHaveAttribute('aria-selected', 'false');
  await page.keyboard.press('ArrowDown');
  await expect(fb.getByTestId('folder-demo')).toHaveAttribute('aria-selected', 'true');
  await page.keyboard.press('Control+Enter');
  await expect(fb).toBeHidden();
  await expect(page.getByTestId('open-path')).toHaveValue(demo);
  await expect(page.getByTestId('open-name')).toHaveValue('demo');
  await expect(page.getByTestId('open-submit')).toBeFocused();
  await page.keyboard.press('Enter');

  // It has a workflow, so it asks for trust first.
  await page.getByTestId('trust-dialog').getByTestId('trust-accept').click();
  const [p] = (await fw.api<{ projects: Project[] }>('GET', '/api/projects')).projects;
  expect(p.path).toBe(demo);
  await expect(tab(page, p.id)).toHaveAttribute('aria-selected', 'true');
  await expect(node(projectView(page, p.id), 'say')).toBeVisible();

  // The REST listing refuses hostile paths with clear errors.
  for (const [bad, status] of [
    ['/etc', 403],
    [`${home}/../data`, 400],
    ['relative', 400],
    [fw.dataDir, 403],
  ] as const) {
    const e = await fw.api('GET', `/api/fs/dirs?path=${encodeURIComponent(bad)}`).catch((x: unknown) => x);
    expect(e instanceof ApiFailure && e.status, bad).toBe(status);
  }
});

test('the palette works from the keyboard: / or Ctrl+K searches, arrows move, Enter adds at a free spot', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  await expect(view.getByTestId('palette-item-shell')).toBeVisible();
  const search = view.getByTestId('palette-search');

  await view.getByTestId('canvas').click({ position: { x: 300, y: 300 } });
  await page.keyboard.press('/');
  await expect(search).toBeFocused();
  await page.keyboard.type('shell');
  await page.keyboard.press('ArrowDown');
  await expect(view.getByTestId('palette-item-shell')).toBeFocused();
  await page.keyboard.press('Enter');
  await page.keyboard.press('Enter');
  await expect(node(view, 'shell')).toBeVisible();
  await expect(node(view, 'shell_2')).toBeVisible();
  await expect(view.getByTestId('palette-announce')).toHaveText(/^Added .+ to the canvas as shell_2\.$/);

  // Ctrl+K from anywhere (even a text field), then Enter adds the best match.
  await page.keyboard.press('Control+k');
  await expect(search).toBeFocused();
  await page.keyboard.type('delay');
  await page.keyboard.press('Enter');
  await expect(node(view, 'delay')).toBeVisible();

  // Escape clears the search; the arrows walk the whole list; ↑ at the top returns to the search.
  await page.keyboard.press('Escape');
  await expect(search).toHaveValue('');
  await page.keyboard.press('ArrowDown');
  const focused = () => view.locator('[data-pkey]:focus').getAttribute('data-pkey');
  const first = await focused();
  await page.keyboard.press('ArrowDown');
  const second = await focused();
  expect(second).not.toBe(first);
  await page.keyboard.press('ArrowUp');
  expect(await focused()).toBe(first);
  // One tab stop: Tab from the search lands on the item focused last.
  await search.focus();
  await page.keyboard.press('Tab');
  expect(await focused()).toBe(first);

  // The nodes added from the keyboard do not overlap.
  const boxes = await Promise.all(['shell', 'shell_2', 'delay'].map(async (id) => (await node(view, id).boundingBox())!));
  for (let i = 0; i < boxes.length; i++)
    for (let j = i + 1; j < boxes.length; j++) {
      const [p, q] = [boxes[i], boxes[j]];
      const overlap = p.x < q.x + q.width && q.x < p.x + p.width && p.y < q.y + q.height && q.y < p.y + p.height;
      expect(overlap, `${i} and ${j} overlap`).toBe(false);
    }
});
