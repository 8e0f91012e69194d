// Co-editing: two windows on one workflow see each other (presence, with a
// readable name), a save from the other window is merged when the edits touch
// different nodes (three-way merge by id against the base version), and only
// an edit of the same node raises the conflict banner, for that node.

import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { expect, screen, test, type Flowweaver, type Project, type WorkflowDoc } from './fixtures';
import { node, openKnown, projectView, tab } from './ui';
import type { Workflow } from '../src/api/types';

const twoNodes: WorkflowDoc = {
  name: 'Build',
  nodes: [
    { id: 'first', tool: 'shell', params: { command: 'echo one' }, position: { x: 0, y: 0 } },
    { id: 'second', tool: 'shell', params: { command: 'echo two' }, position: { x: 320, y: 0 } },
  ],
  edges: [{ source: 'first', target: 'second' }],
};

/** Signs a window in and shows the project (already open in the workspace, or from the known list). */
async function show(fw: Flowweaver, page: Page, p: Project): Promise<Locator> {
  await fw.openUI(page);
  // The workspace is restored first: a second window shows the project's tab by itself.
  await expect(tab(page, p.id).or(page.getByTestId('empty-open')).first()).toBeVisible();
  if (await tab(page, p.id).isVisible()) await tab(page, p.id).click();
  else await openKnown(page, p);
  const view = projectView(page, p.id);
  await expect(node(view, 'second')).toBeVisible();
  return view;
}

async function editCommand(view: Locator, id: string, command: string): Promise<void> {
  await node(view, id).locator('.fw-node-title').click();
  const insp = view.getByTestId('inspector');
  await expect(insp.getByTestId('inspector-node-id')).toHaveValue(id);
  await insp.getByTestId('param-command').fill(command);
  await expect(view.getByTestId('save-state')).toHaveText('Unsaved changes');
}

const commands = (wf: WorkflowDoc | Workflow) => Object.fromEntries(wf.nodes.map((n) => [n.id, (n.params as { command?: string } | undefined)?.command]));

/** The workflow as saved: the file in the project folder, and what REST serves (the same). */
async function saved(fw: Flowweaver, p: Project): Promise<Record<string, string | undefined>> {
  const file = JSON.parse(readFileSync(path.join(p.path, '.flowweaver', 'workflows', 'build.json'), 'utf8')) as WorkflowDoc;
  const rest = await fw.api<Workflow>('GET', `/api/projects/${p.id}/workflows/build`);
  expect(commands(rest)).toEqual(commands(file));
  return commands(file);
}

test('two windows editing different nodes both keep their edits', async ({ fw, page, context }) => {
  const p = await fw.project('alpha');
  await fw.putWorkflow(p.id, 'build', twoNodes);
  const a = await show(fw, page, p);
  const other = await context.newPage();
  const b = await show(fw, other, p);

  // Each window knows the other is there.
  await expect(a.getByTestId('presence-editor')).toHaveCount(1);
  await expect(b.getByTestId('presence-editor')).toHaveCount(1);

  await editCommand(a, 'first', 'echo from A');
  await editCommand(b, 'second', 'echo from B');

  // A saves first; B, with unsaved edits of another node, merges A's save in.
  await a.getByTestId('save').click();
  await expect(a.getByTestId('save-state')).toHaveText('Saved · v2');
  const aName = (await b.getByTestId('presence-editor').getAttribute('data-name'))!;
  await expect(other.getByTestId('toast').filter({ hasText: `Merged changes from ${aName}` })).toBeVisible();
  await expect(b.getByTestId('conflict')).toHaveCount(0);
  await expect(node(b, 'first')).toContainText('echo from A');
  await expect(node(b, 'second')).toContainText('echo from B');
  await expect(b.getByTestId('save-state')).toHaveText('Unsaved changes');
  await screen(other, '40-coedit-merged');

  // B saves against the merged version: nothing of A's is overwritten.
  await b.getByTestId('save').click();
  await expect(b.getByTestId('save-state')).toHaveText('Saved · v3');
  // A had nothing unsaved: it shows the new version with both edits.
  await expect(a.getByTestId('save-state')).toHaveText('Saved · v3');
  await expect(node(a, 'second')).toContainText('echo from B');
  await expect(node(a, 'first')).toContainText('echo from A');
  expect(await saved(fw, p)).toEqual({ first: 'echo from A', second: 'echo from B' });

  // Both edit again and save one right after the other: whoever is second merges (event or 409) and saves again.
  await editCommand(a, 'first', 'echo A again');
  await editCommand(b, 'second', 'echo B again');
  await Promise.all([a.getByTestId('save').click(), b.getByTestId('save').click()]);
  await expect.poll(() => saved(fw, p), { timeout: 30_000 }).toEqual({ first: 'echo A again', second: 'echo B again' });
  for (const v of [a, b]) {
    await expect(v.getByTestId('save-state')).toHaveText('Saved · v5');
    await expect(v.getByTestId('conflict')).toHaveCount(0);
  }
});

test('edits of the same node show the conflict banner for that node only', async ({ fw, page, context }) => {
  const p = await fw.project('alpha');
  await fw.putWorkflow(p.id, 'build', twoNodes);
  const a = await show(fw, page, p);
  const other = await context.newPage();
  const b = await show(fw, other, p);
  await expect(b.getByTestId('presence-editor')).toHaveCount(1);

  await editCommand(a, 'first', 'echo A wins');
  await editCommand(b, 'first', 'echo B loses');
  await editCommand(b, 'second', 'echo B keeps this');
  await a.getByTestId('save').click();
  await expect(a.getByTestId('save-state')).toHaveText('Saved · v2');

  // B: one conflict, on "first"; its edit of "second" is not in question.
  const banner = b.getByTestId('conflict');
  await expect(banner).toBeVisible();
  await expect(banner.getByTestId('conflict-item-node-first')).toContainText('command');
  await expect(banner.locator('li')).toHaveCount(1);
  await expect(node(b, 'first')).toContainText('echo B loses'); // mine stays on the canvas until a choice
  await expect(node(b, 'first')).toHaveAttribute('data-conflict', 'true');
  await expect(node(b, 'second')).not.toHaveAttribute('data-conflict', 'true');
  await screen(other, '41-coedit-conflict');

  // Save waits for the choice.
  await b.getByTestId('save').click();
  await expect(other.getByTestId('toast').filter({ hasText: 'not saved yet' })).toBeVisible();
  expect(await saved(fw, p)).toEqual({ first: 'echo A wins', second: 'echo two' });

  await banner.getByTestId('conflict-theirs-node-first').click();
  await expect(banner).toHaveCount(0);
  await expect(node(b, 'first')).toContainText('echo A wins');
  await expect(node(b, 'first')).not.toHaveAttribute('data-conflict', 'true');
  await b.getByTestId('save').click();
  await expect(b.getByTestId('save-state')).toHaveText('Saved · v3');
  expect(await saved(fw, p)).toEqual({ first: 'echo A wins', second: 'echo B keeps this' });
  await expect(a.getByTestId('save-state')).toHaveText('Saved · v3');
});

test('presence shows the other window by a readable name, live, and forgets it when it closes', async ({ fw, page, context }) => {
  const p = await fw.project('alpha');
  await fw.putWorkflow(p.id, 'build', twoNodes);
  const a = await show(fw, page, p);
  await expect(a.getByTestId('presence-editor')).toHaveCount(0);
  const other = await context.newPage();
  const b = await show(fw, other, p);

  const chip = a.getByTestId('presence-editor');
  await expect(chip).toHaveCount(1);
  await expect(a.getByTestId('presence')).toContainText('Also open in:');
  const name = (await chip.getAttribute('data-name'))!;
  expect(name).toMatch(/^(Chromium|Chrome) · window \d+$/);
  expect(name).not.toMatch(/[0-9a-f]{12}/);
  await expect(b.getByTestId('presence-me')).toHaveText(name);
  await expect(chip).toHaveAttribute('title', /on this machine/);

  // A name set once in B is what A reads, at once.
  await b.getByTestId('presence-me').click();
  await b.getByTestId('presence-name-input').fill('Ana');
  await b.getByTestId('presence-name-save').click();
  await expect(chip).toHaveAttribute('data-name', /^Ana · window \d+$/);

  // B opens a new (unsaved) workflow: it no longer has this one open.
  await b.getByTestId('workflow-new').click();
  await expect(chip).toHaveCount(0);
  await b.getByTestId('workflow-select').selectOption('build');
  await expect(chip).toHaveCount(1);

  // B's window closes: gone from A.
  await other.close();
  await expect(chip).toHaveCount(0);
  await expect(a.getByTestId('presence')).not.toContainText('Also open in:');
});

test('two windows of one browser keep their own unsaved drafts of one workflow', async ({ fw, page, context }) => {
  const p = await fw.project('alpha');
  await fw.putWorkflow(p.id, 'build', twoNodes);
  const a = await show(fw, page, p);
  const other = await context.newPage();
  const b = await show(fw, other, p);
  for (const pg of [page, other]) pg.on('dialog', (d) => void d.accept()); // the leave-page question on reload
  await editCommand(a, 'first', 'echo unsaved in A');
  await expect.poll(() => page.evaluate(() => Object.keys(localStorage).some((k) => k.startsWith('flowweaver.drafts.')))).toBe(true);
  await editCommand(b, 'second', 'echo unsaved in B');
  // Both windows' drafts are written (B's last); a reload of A brings back A's edits, not B's.
  await expect
    .poll(() => page.evaluate(() => Object.values(localStorage).filter((v: string) => v.includes('unsaved in')).join(' ')))
    .toMatch(/(?=.*unsaved in A)(?=.*unsaved in B)/);
  await page.reload();
  const a2 = projectView(page, p.id);
  await expect(a2.getByTestId('draft-restored')).toBeVisible();
  await expect(node(a2, 'first')).toContainText('echo unsaved in A');
  await expect(node(a2, 'second')).toContainText('echo two');
  await other.reload();
  const b2 = projectView(other, p.id);
  await expect(b2.getByTestId('draft-restored')).toBeVisible();
  await expect(node(b2, 'second')).toContainText('echo unsaved in B');
  await expect(node(b2, 'first')).toContainText('echo one');
});
