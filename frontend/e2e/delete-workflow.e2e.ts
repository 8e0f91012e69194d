// Deleting a workflow: its file goes, another workflow takes the canvas,
// and the toast's Undo brings it back with its nodes.

import { existsSync } from 'node:fs';
import path from 'node:path';
import { ApiFailure, expect, test, type WorkflowDoc } from './fixtures';
import { node, openKnown, projectView } from './ui';
import type { Workflow } from '../src/api/types';

const wf = (name: string, nodeId: string): WorkflowDoc => ({
  name,
  nodes: [{ id: nodeId, tool: 'delay', params: { ms: 10 }, position: { x: 0, y: 0 } }],
  edges: [],
});

test('delete a workflow, then undo', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'aaa', wf('Alpha flow', 'in_alpha'));
  await fw.putWorkflow(a.id, 'bbb', wf('Beta flow', 'in_beta'));
  const file = path.join(a.path, '.flowweaver', 'workflows', 'aaa.json');
  expect(existsSync(file)).toBe(true);
  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  await view.getByTestId('workflow-select').selectOption('aaa');
  await expect(node(view, 'in_alpha')).toBeVisible();

  await view.getByTestId('workflow-delete').click();
  const toast = page.getByTestId('toast').filter({ hasText: 'Deleted “Alpha flow”' });
  await expect(toast).toBeVisible();
  await expect(node(view, 'in_beta')).toBeVisible();
  await expect(view.getByTestId('workflow-select').locator('option', { hasText: 'Alpha flow' })).toHaveCount(0);
  expect(existsSync(file)).toBe(false);
  await expect(fw.api('GET', `/api/projects/${a.id}/workflows/aaa`)).rejects.toBeInstanceOf(ApiFailure);

  await toast.getByTestId('toast-action').click();
  await expect(page.getByTestId('toast').filter({ hasText: 'Restored “Alpha flow”' })).toBeVisible();
  await expect(node(view, 'in_alpha')).toBeVisible();
  await expect(view.getByTestId('workflow-select')).toHaveValue('aaa');
  expect(existsSync(file)).toBe(true);
  const back = await fw.api<Workflow>('GET', `/api/projects/${a.id}/workflows/aaa`);
  expect(back.name).toBe('Alpha flow');
  expect(back.nodes.map((n: { id: string }) => n.id)).toEqual(['in_alpha']);
});
