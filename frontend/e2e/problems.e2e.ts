// Problems before Run: params are checked against the tool's schema when
// the workflow is saved; a missing required param is saved as a draft,
// marked on the node and in the Problems tab, and Run says what to fix
// instead of starting a run that would fail. Fixing the param clears it.

import { expect, test } from './fixtures';
import { node, openKnown, projectView } from './ui';
import type { Workflow } from '../src/api/types';

test('a missing required param is flagged before Run', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'build', {
    name: 'Build',
    nodes: [{ id: 'wait', tool: 'delay', params: { ms: 10 }, position: { x: 0, y: 0 } }],
    edges: [],
  });
  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  await expect(node(view, 'wait')).toBeVisible();

  // A shell node without its command.
  await view.getByTestId('palette-item-shell').dblclick();
  await expect(node(view, 'shell')).toBeVisible();
  await view.getByTestId('run').click();

  const refused = page.getByTestId('toast').filter({ hasText: 'Run not started' });
  await expect(refused).toBeVisible();
  await expect(refused).toContainText('1 problem to fix first');
  await expect(refused).toContainText('shell: command is required');
  await expect(page.getByTestId('toast').filter({ hasText: 'Saved “Build” as a draft' })).toBeVisible();
  await expect(view.getByTestId('node-problem-shell')).toContainText('command is required');
  await expect(view.getByTestId('save-state')).toHaveText('Saved · v2');
  await view.getByTestId('panel-problems').click();
  await expect(view.getByTestId('problems-list')).toContainText('command is required');
  expect(await fw.runs(a.id)).toEqual([]);
  // The draft is on the server, problems and all.
  const saved = await fw.api<Workflow>('GET', `/api/projects/${a.id}/workflows/build`);
  expect(saved.nodes.map((n: { id: string }) => n.id)).toEqual(['wait', 'shell']);

  // Fixing the param clears the mark; the run starts and succeeds.
  await node(view, 'shell').locator('.fw-node-title').click();
  await view.getByTestId('param-command').fill('echo fixed');
  await expect(view.getByTestId('node-problem-shell')).toHaveCount(0);
  await view.getByTestId('run').click();
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  expect((await fw.runs(a.id)).length).toBe(1);
});
