// Edits are never lost: unsaved changes survive a reload (a draft per
// workflow in the browser), closing the page or a project tab with unsaved
// changes asks first, and a restored draft can be saved or discarded.

import { expect, test, type WorkflowDoc } from './fixtures';
import { node, openKnown, projectView, tab } from './ui';
import type { Workflow } from '../src/api/types';

const twoNodes: WorkflowDoc = {
  name: 'Build',
  nodes: [
    { id: 'first', tool: 'delay', params: { ms: 10 }, position: { x: 0, y: 0 } },
    { id: 'second', tool: 'shell', params: { command: 'echo hi' }, position: { x: 300, y: 0 } },
  ],
  edges: [{ source: 'first', target: 'second' }],
};

test('an unsaved edit survives a reload, and leaving with it asks first', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'build', twoNodes);
  await fw.openUI(page);
  await openKnown(page, a);
  let view = projectView(page, a.id);
  const dialogs: string[] = [];
  page.on('dialog', (d) => {
    dialogs.push(d.type());
    void d.accept();
  });

  // A clean workflow: a reload asks nothing.
  await expect(node(view, 'second')).toBeVisible();
  await page.reload();
  view = projectView(page, a.id);
  await expect(node(view, 'second')).toBeVisible();
  expect(dialogs).toEqual([]);

  // Delete a node and rename the workflow, without saving.
  await node(view, 'second').click();
  await page.keyboard.press('Delete');
  await expect(node(view, 'second')).toHaveCount(0);
  await view.getByTestId('workflow-name').fill('Build, edited');
  await expect(view.getByTestId('save-state')).toHaveText('Unsaved changes');

  await page.reload();
  expect(dialogs).toEqual(['beforeunload']);
  view = projectView(page, a.id);
  await expect(view.getByTestId('draft-restored')).toBeVisible();
  await expect(node(view, 'first')).toBeVisible();
  await expect(node(view, 'second')).toHaveCount(0);
  await expect(view.getByTestId('workflow-name')).toHaveValue('Build, edited');
  await expect(view.getByTestId('save-state')).toHaveText('Unsaved changes');

  // Saving keeps them on the server and drops the draft.
  await view.getByTestId('save').click();
  await expect(view.getByTestId('save-state')).toHaveText('Saved · v2');
  await expect(view.getByTestId('draft-restored')).toHaveCount(0);
  const saved = await fw.api<Workflow>('GET', `/api/projects/${a.id}/workflows/build`);
  expect(saved.name).toBe('Build, edited');
  expect(saved.nodes.map((n: { id: string }) => n.id)).toEqual(['first']);
  await page.reload();
  expect(dialogs).toEqual(['beforeunload']);
  view = projectView(page, a.id);
  await expect(view.getByTestId('save-state')).toHaveText('Saved · v2');
  await expect(view.getByTestId('draft-restored')).toHaveCount(0);

  // A restored draft can be discarded: the saved workflow comes back.
  await node(view, 'first').click();
  await page.keyboard.press('Delete');
  await expect(node(view, 'first')).toHaveCount(0);
  await page.reload();
  view = projectView(page, a.id);
  await expect(view.getByTestId('draft-restored')).toBeVisible();
  await expect(node(view, 'first')).toHaveCount(0);
  await view.getByTestId('draft-discard').click();
  await expect(node(view, 'first')).toBeVisible();
  await expect(view.getByTestId('save-state')).toHaveText('Saved · v2');
  await page.reload();
  view = projectView(page, a.id);
  await expect(node(view, 'first')).toBeVisible();
  await expect(view.getByTestId('draft-restored')).toHaveCount(0);
});

test('closing a project tab with unsaved changes asks first', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'build', twoNodes);
  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  await node(view, 'second').click();
  await page.keyboard.press('Delete');
  await expect(view.getByTestId('save-state')).toHaveText('Unsaved changes');

  let answer = false;
  const asked: string[] = [];
  page.on('dialog', (d) => {
    asked.push(d.message());
    void (answer ? d.accept() : d.dismiss());
  });
  await page.getByTestId(`tab-close-${a.id}`).click();
  await expect.poll(() => asked.length).toBe(1);
  expect(asked[0]).toContain('unsaved changes in “Build”');
  await expect(tab(page, a.id)).toBeVisible();
  await expect(node(view, 'second')).toHaveCount(0);

  answer = true;
  await page.getByTestId(`tab-close-${a.id}`).click();
  await expect(tab(page, a.id)).toHaveCount(0);
  // The edit is still kept as a draft: reopening the project shows it.
  await openKnown(page, a);
  await expect(projectView(page, a.id).getByTestId('draft-restored')).toBeVisible();
  await expect(node(projectView(page, a.id), 'second')).toHaveCount(0);
});
