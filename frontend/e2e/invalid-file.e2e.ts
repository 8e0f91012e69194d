// Problems before Run, for files edited outside the app: a workflow file
// made invalid on disk stays listed with its problems, opens with the
// dangling edge drawn to a "missing node" placeholder so it can be
// deleted, and is valid again once repaired and saved. A file that is not
// even JSON is listed with its problem and can be deleted; nothing crashes.

import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, screen, test } from './fixtures';
import { node, openKnown, projectView } from './ui';
import type { Workflow } from '../src/api/types';

interface Listing {
  workflows: Workflow[];
  invalid?: { id: string; valid: boolean; problems: { message: string }[] }[];
}

test('an on-disk invalid file opens with its dangling edge deletable', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'good', { name: 'Good', nodes: [{ id: 'wait', tool: 'delay', params: { ms: 1 } }], edges: [] });
  const dir = path.join(a.path, '.flowweaver', 'workflows');
  mkdirSync(dir, { recursive: true });
  // Written by hand: an edge to a node that is not there, and a bad field.
  writeFileSync(
    path.join(dir, 'dangling.json'),
    JSON.stringify({
      name: 'Dangling',
      nodes: [
        { id: 'first', tool: 'delay', params: { ms: 1 }, position: { x: 0, y: 0 } },
        { id: 'second', tool: 'shell', params: { command: 'echo second' }, timeoutMs: -5, position: { x: 320, y: 0 } },
      ],
      edges: [
        { source: 'first', target: 'second' },
        { source: 'second', target: 'ghost' },
        { source: 'phantom', target: 'first' },
      ],
    }),
  );
  writeFileSync(path.join(dir, 'broken.json'), '{"name": "Broken", "nodes": [');
  const before = await fw.api<Listing>('GET', `/api/projects/${a.id}/workflows`);
  expect(before.workflows.map((w) => w.id)).toEqual(['good']);
  expect(before.invalid?.map((w) => [w.id, w.valid])).toEqual([
    ['broken', false],
    ['dangling', false],
  ]);

  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  await expect(node(view, 'wait')).toBeVisible();
  const select = view.getByTestId('workflow-select');
  await expect(select.locator('option[value="dangling"]')).toHaveText('⚠ Dangling (invalid)');
  await expect(select.locator('option[value="broken"]')).toHaveText('⚠ broken (invalid)');

  // Opened as written: both nodes, the placeholder, the dangling edge, the problems.
  await select.selectOption('dangling');
  await expect(node(view, 'second')).toBeVisible();
  await expect(node(view, 'ghost')).toHaveAttribute('data-missing', 'true');
  await expect(node(view, 'ghost')).toContainText('missing node');
  const dangling = view.getByTestId('rf__edge-second->ghost');
  await expect(dangling).toBeAttached();
  await expect(view.getByTestId('problem-banner')).toContainText('“Dangling” is invalid on disk');
  await expect(view.getByTestId('problem-banner')).toContainText('3 problems');
  await expect(view.getByTestId('node-problem-second')).toContainText('must be between 0');
  await view.getByTestId('panel-problems').click();
  await expect(view.getByTestId('problems-list')).toContainText('names node "ghost", which does not exist');
  await screen(page, '52-invalid-file');

  // Repair: clear the bad timeout in the inspector, delete the dangling edge, save.
  await node(view, 'second').locator('.fw-node-title').click();
  await view.getByTestId('inspector-timeout').fill('');
  await expect(view.getByTestId('node-problem-second')).toHaveCount(0);
  await dangling.click({ force: true });
  await expect(dangling).toHaveClass(/selected/);
  await page.keyboard.press('Delete');
  await expect(dangling).toHaveCount(0);
  await expect(view.getByTestId('rf__edge-first->second')).toBeAttached();
  // The other placeholder goes from its inspector, taking its edge with it.
  await node(view, 'phantom').click();
  await expect(view.getByTestId('inspector-missing')).toContainText('Missing node “phantom”');
  await view.getByTestId('missing-delete').click();
  await expect(node(view, 'phantom')).toHaveCount(0);
  await expect(view.getByTestId('rf__edge-phantom->first')).toHaveCount(0);
  await view.getByTestId('save').click();
  await expect(view.getByTestId('save-state')).toHaveText(/^Saved · v\d+$/);
  await expect(view.getByTestId('problem-banner')).toHaveCount(0);
  await expect(select.locator('option[value="dangling"]')).toHaveText('Dangling');
  const repaired = await fw.api<Workflow>('GET', `/api/projects/${a.id}/workflows/dangling`);
  expect(repaired.edges).toEqual([{ source: 'first', target: 'second' }]);
  expect(repaired.nodes.map((n) => n.id)).toEqual(['first', 'second']);
  const after = await fw.api<Listing>('GET', `/api/projects/${a.id}/workflows`);
  expect(after.invalid?.map((w) => w.id)).toEqual(['broken']);

  // Not JSON at all (so no name either): listed by its id, opened as an empty canvas with its problem, deletable.
  await select.selectOption('broken');
  await expect(view.getByTestId('problem-banner')).toContainText('It cannot be drawn');
  await expect(view.getByTestId('problems-list')).toContainText('file');
  await expect(view.locator('.react-flow__node')).toHaveCount(0);
  await view.getByTestId('workflow-delete').click();
  await expect(page.getByTestId('toast').filter({ hasText: 'Deleted “broken”' })).toBeVisible();
  expect(existsSync(path.join(dir, 'broken.json'))).toBe(false);
  await expect(select.locator('option[value="broken"]')).toHaveCount(0);
  await expect(page.getByTestId('tabs')).toBeVisible();
});
