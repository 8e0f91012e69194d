// Control flow by hand: an if node with two branches built on the canvas
// by dragging from its labelled branch handles, run, the untaken branch
// greyed; and "Run from here" on a failed node after fixing its cause.

import { writeFileSync } from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import type { Workflow } from '../src/api/types';
import { expect, screen, test } from './fixtures';
import { expectNodeStatus, node, openFolder, openKnown } from './ui';

async function dropTool(view: Locator, tool: string, x: number, y: number, id: string): Promise<void> {
  const item = view.getByTestId(`palette-item-${tool}`);
  await expect(item).toBeVisible();
  const canvas = view.getByTestId('canvas');
  const c = (await canvas.boundingBox())!;
  await item.dragTo(canvas, { targetPosition: { x: x - c.x, y: y - c.y } });
  await expect(node(view, id)).toBeVisible();
}

/** Drags with the mouse from one handle to another, as a person does. */
async function drag(page: Page, from: Locator, to: Locator): Promise<void> {
  const a = (await from.boundingBox())!;
  const b = (await to.boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2 + 20, { steps: 8 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
  await page.mouse.up();
}

async function select(view: Locator, id: string): Promise<Locator> {
  await node(view, id).locator('.fw-node-title').click();
  const insp = view.getByTestId('inspector');
  await expect(insp.getByTestId('inspector-node-id')).toHaveValue(id);
  return insp;
}

test('an if with two branches built from its labelled handles; the untaken branch is greyed', async ({ fw, page }) => {
  await fw.openUI(page);
  const id = await openFolder(page, fw.folder('branches'), 'branches');
  const view = page.getByTestId(`project-view-${id}`);
  const c = (await view.getByTestId('canvas').boundingBox())!;
  await dropTool(view, 'if', c.x + c.width * 0.2, c.y + c.height * 0.35, 'if');
  const ifBox = (await node(view, 'if').boundingBox())!;
  await dropTool(view, 'log', ifBox.x + ifBox.width * 1.8, ifBox.y - ifBox.height * 0.6, 'log');
  await dropTool(view, 'log', ifBox.x + ifBox.width * 1.8, ifBox.y + ifBox.height * 1.5, 'log_2');

  // Two labelled branch handles; drag "true" to log and "false" to log_2.
  await expect(view.getByTestId('branch-if-true')).toContainText('true');
  await expect(view.getByTestId('branch-if-false')).toContainText('false');
  await drag(page, view.getByTestId('handle-if-true'), node(view, 'log').locator('.react-flow__handle.target'));
  await expect(view.locator('.react-flow__edge')).toHaveCount(1);
  await drag(page, view.getByTestId('handle-if-false'), node(view, 'log_2').locator('.react-flow__handle.target'));
  await expect(view.locator('.react-flow__edge')).toHaveCount(2);

  let insp = await select(view, 'if');
  await insp.getByTestId('param-condition').fill('inputs.deploy == true');
  insp = await select(view, 'log');
  await insp.getByTestId('param-message').fill('deploying');
  insp = await select(view, 'log_2');
  await insp.getByTestId('param-message').fill('not deploying');
  await view.getByTestId('save').click();
  await expect(view.getByTestId('save-state')).toHaveText(/Saved/);

  // What the server stored carries the branches.
  const list = (await fw.api<{ workflows: Workflow[] }>('GET', `/api/projects/${id}/workflows`)).workflows;
  const wf = await fw.api<Workflow>('GET', `/api/projects/${id}/workflows/${list[0].id}`);
  expect(wf.edges.map((e) => `${e.source}>${e.target}:${e.on}`).sort()).toEqual(['if>log:true', 'if>log_2:false']);

  await view.getByTestId('run').click();
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expectNodeStatus(view, 'if', 'succeeded');
  await expectNodeStatus(view, 'log_2', 'succeeded');
  await expectNodeStatus(view, 'log', 'skipped');
  // Greyed: the skipped node, its branch label and the untaken edge.
  await expect(node(view, 'log')).toHaveCSS('opacity', '0.6');
  await expect(view.getByTestId('branch-if-true')).toHaveClass(/is-untaken/);
  await expect(view.getByTestId('branch-if-false')).toHaveClass(/is-taken/);
  await expect(view.locator('.react-flow__edge.edge-untaken')).toHaveCount(1);
  await expect(view.getByTestId('rf__edge-if->log:true')).toHaveClass(/edge-untaken/);
  await expect(view.getByTestId('rf__edge-if->log_2:false')).not.toHaveClass(/edge-untaken/);
  await screen(page, '40-if-untaken-branch');

  // The output viewer copies a reference to a value.
  insp = await select(view, 'if');
  await expect(insp.getByTestId('inspector-output')).toContainText('"false"');
  await insp.getByTestId('copy-ref-branch').click();
  await expect(insp.getByTestId('copied-reference')).toHaveText('Copied {{ nodes.if.output.branch }}');
});

test('re-run from a failed node reuses what ran before it', async ({ fw, page }) => {
  const p = await fw.project('rerun');
  await fw.putWorkflow(p.id, 'ci', {
    name: 'CI',
    nodes: [
      { id: 'build', tool: 'shell', params: { command: 'echo built >> build.log' }, position: { x: 0, y: 0 } },
      { id: 'test', tool: 'shell', params: { command: 'test -f fixed.txt' }, position: { x: 300, y: 0 } },
      { id: 'ship', tool: 'log', params: { message: 'shipped' }, position: { x: 600, y: 0 } },
    ],
    edges: [
      { source: 'build', target: 'test' },
      { source: 'test', target: 'ship' },
    ],
  });
  await fw.openUI(page);
  await openKnown(page, p);
  const view = page.getByTestId(`project-view-${p.id}`);
  await view.getByTestId('run').click();
  await expect(view.getByTestId('run-status')).toHaveText('failed', { timeout: 60_000 });
  await expectNodeStatus(view, 'test', 'failed');
  await expectNodeStatus(view, 'ship', 'skipped');

  writeFileSync(path.join(p.path, 'fixed.txt'), 'ok');
  await node(view, 'test').click({ button: 'right' });
  await view.getByTestId('menu-run-from-here').click();
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expectNodeStatus(view, 'test', 'succeeded');
  await expectNodeStatus(view, 'ship', 'succeeded');
  await expectNodeStatus(view, 'build', 'succeeded');
  await expect(view.getByTestId('run-rerun-of')).toHaveText('re-run from test');
  await screen(page, '41-rerun-from-failed-node');

  const runs = await fw.runs(p.id);
  expect(runs).toHaveLength(2);
  const rerun = runs.find((r) => r.rerunOf);
  expect(rerun?.rerunFrom).toBe('test');
  expect(rerun?.status).toBe('succeeded');
  // build ran once: the re-run reused its result.
  const { readFileSync } = await import('node:fs');
  expect(readFileSync(path.join(p.path, 'build.log'), 'utf8')).toBe('built\n');
});

test('a forEach shows its progress and links to its child runs', async ({ fw, page }) => {
  const p = await fw.project('loop');
  await fw.putWorkflow(p.id, 'item', {
    name: 'Item',
    // Each item waits until the test lets it go: progress is observed, not raced.
    nodes: [{ id: 'work', tool: 'shell', params: { command: 'while [ ! -f go.txt ]; do sleep 0.05; done; echo item {{ inputs.item }}' }, position: { x: 0, y: 0 } }],
    edges: [],
  });
  await fw.putWorkflow(p.id, 'loop', {
    name: 'Loop',
    nodes: [{ id: 'each', tool: 'forEach', params: { items: ['a', 'b', 'c', 'd', 'e'], workflowId: 'item', concurrency: 1 }, position: { x: 0, y: 0 } }],
    edges: [],
  });
  await fw.openUI(page);
  await openKnown(page, p);
  const view = page.getByTestId(`project-view-${p.id}`);
  await view.getByTestId('workflow-select').selectOption('loop');
  await expect(node(view, 'each')).toBeVisible();
  await view.getByTestId('run').click();
  // Progress while it runs (held at 0/5 until the items may go), then all five.
  await expect(view.getByTestId('node-progress-each')).toContainText('0/5', { timeout: 30_000 });
  await expect(view.getByTestId('run-status')).toHaveText('running');
  writeFileSync(path.join(p.path, 'go.txt'), 'go');
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expect(view.getByTestId('node-progress-each')).toContainText('5/5');
  await screen(page, '42-foreach-progress');
  // The child runs, in item order; one opens on its own workflow.
  await view.getByTestId('child-runs-each').click();
  await expect(view.getByTestId('child-run')).toHaveCount(5);
  await expect(view.getByTestId('child-run').first()).toContainText('#0');
  await view.getByTestId('child-run').nth(2).click();
  await expect(node(view, 'work')).toBeVisible();
  await expectNodeStatus(view, 'work', 'succeeded');
  await expect(view.getByTestId('run-status')).toHaveText('succeeded');
  // and leads back to its parent.
  await expect(view.getByTestId('run-parent')).toHaveText('child of each #2');
  await view.getByTestId('run-parent').click();
  await expect(node(view, 'each')).toBeVisible();
  await expect(view.getByTestId('node-progress-each')).toContainText('5/5');
});
