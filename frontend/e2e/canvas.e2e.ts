// The whole editing loop by hand, as a person would: open a folder, drag
// three tools from the palette onto the canvas, connect them, set their
// params in the inspector, save, run, watch node statuses and logs, history.

import type { Locator, Page } from '@playwright/test';
import type { Workflow } from '../src/api/types';
import { expect, screen, test } from './fixtures';
import { expectNodeStatus, logLines, node, openFolder } from './ui';

/** Drags a palette item onto the canvas, dropping it at a page point (x, y). */
async function dropTool(view: Locator, tool: string, x: number, y: number): Promise<void> {
  const item = view.getByTestId(`palette-item-${tool}`);
  await expect(item).toBeVisible();
  const canvas = view.getByTestId('canvas');
  const c = (await canvas.boundingBox())!;
  await item.dragTo(canvas, { targetPosition: { x: x - c.x, y: y - c.y } });
  await expect(node(view, tool)).toBeVisible();
}

/** The page rectangle of a canvas node. */
async function box(view: Locator, id: string) {
  return (await node(view, id).boundingBox())!;
}

/** Drags from the source handle (right) of one node to the target handle (left) of another. */
async function connect(page: Page, view: Locator, from: string, to: string): Promise<void> {
  const src = node(view, from).locator('.react-flow__handle.source');
  const dst = node(view, to).locator('.react-flow__handle.target');
  const a = (await src.boundingBox())!;
  const b = (await dst.boundingBox())!;
  await page.mouse.move(a.x + a.width / 2, a.y + a.height / 2);
  await page.mouse.down();
  await page.mouse.move((a.x + b.x) / 2, (a.y + b.y) / 2 + 20, { steps: 8 });
  await page.mouse.move(b.x + b.width / 2, b.y + b.height / 2, { steps: 8 });
  await page.mouse.up();
}

/** Selects a node by clicking its title and waits for the inspector to show it. */
async function select(view: Locator, id: string): Promise<Locator> {
  await node(view, id).locator('.fw-node-title').click();
  const insp = view.getByTestId('inspector');
  await expect(insp.getByTestId('inspector-node-id')).toHaveValue(id);
  return insp;
}

test('build a three-node workflow by drag and drop, save, run, watch it', async ({ fw, page }) => {
  await fw.openUI(page);
  const id = await openFolder(page, fw.folder('demo'), 'demo');
  const view = page.getByTestId(`project-view-${id}`);
  await expect(view.getByTestId('canvas-empty')).toBeVisible();
  await expect(view.getByTestId('palette-item-shell')).toBeVisible();
  await screen(page, '10-new-project');

  // Palette search narrows the list.
  await view.getByTestId('palette-search').fill('dela');
  await expect(view.getByTestId('palette-item-delay')).toBeVisible();
  await expect(view.getByTestId('palette-item-shell')).toHaveCount(0);
  await view.getByTestId('palette-search').fill('');

  // The first node lands where it is dropped, then the canvas fits the view
  // around it; pan so it sits at the left, then lay the others out to its right.
  const c = (await view.getByTestId('canvas').boundingBox())!;
  await dropTool(view, 'delay', c.x + c.width / 2, c.y + c.height / 3);
  await expect(view.getByTestId('canvas-empty')).toHaveCount(0);
  let d = await box(view, 'delay');
  const from = { x: c.x + c.width * 0.6, y: c.y + c.height * 0.85 };
  await page.mouse.move(from.x, from.y);
  await page.mouse.down();
  await page.mouse.move(from.x - (d.x - c.x - 40), from.y - (d.y - c.y - 60), { steps: 10 });
  await page.mouse.up();
  await expect.poll(async () => Math.round((await box(view, 'delay')).x - c.x)).toBeLessThan(80);
  d = await box(view, 'delay');
  await dropTool(view, 'shell', d.x + d.width * 1.75, d.y + d.height * 2.5);
  const sh = await box(view, 'shell');
  await dropTool(view, 'log', sh.x + sh.width * 1.75, d.y + d.height / 2);

  await connect(page, view, 'delay', 'shell');
  await expect(view.locator('.react-flow__edge')).toHaveCount(1);
  await connect(page, view, 'shell', 'log');
  await expect(view.locator('.react-flow__edge')).toHaveCount(2);

  let insp = await select(view, 'delay');
  await insp.getByTestId('param-ms').fill('3000');
  insp = await select(view, 'shell');
  await insp.getByTestId('param-command').fill('echo hello-e2e; echo second-line');
  insp = await select(view, 'log');
  await insp.getByTestId('param-message').fill('all done');
  await expect(node(view, 'shell')).toContainText('echo hello-e2e');
  await expect(view.getByTestId('save-state')).toHaveText('Unsaved changes');
  // Click the empty canvas: no selection, so the log viewer shows every node's lines
  // (it follows the selected node) and the inspector shows the workflow.
  await page.mouse.click(c.x + c.width * 0.5, c.y + c.height * 0.8);
  await expect(view.getByTestId('workflow-name')).toBeVisible();
  await view.getByTestId('workflow-name').fill('Demo pipeline');
  await screen(page, '11-canvas-built');

  await view.getByTestId('save').click();
  await expect(view.getByTestId('save-state')).toHaveText('Saved · v1');
  // What the server stored is what was drawn.
  const wfs = await fw.api<Workflow[] | { workflows: Workflow[] }>('GET', `/api/projects/${id}/workflows`);
  const list = Array.isArray(wfs) ? wfs : wfs.workflows;
  expect(list).toHaveLength(1);
  expect(list[0].name).toBe('Demo pipeline');
  const wf = await fw.api<Workflow>('GET', `/api/projects/${id}/workflows/${list[0].id}`);
  expect(wf.nodes.map((n) => [n.id, n.tool]).sort()).toEqual([['delay', 'delay'], ['log', 'log'], ['shell', 'shell']]);
  expect(wf.nodes.find((n) => n.id === 'delay')?.params?.ms).toBe(3000);
  expect(wf.nodes.find((n) => n.id === 'shell')?.params?.command).toBe('echo hello-e2e; echo second-line');
  expect(wf.edges.map((e) => `${e.source}>${e.target}`).sort()).toEqual(['delay>shell', 'shell>log']);

  await view.getByTestId('run').click();
  await expectNodeStatus(view, 'delay', 'running');
  await expect(view.getByTestId('node-status-delay')).toHaveText(/Running/);
  await screen(page, '12-run-live');
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  for (const n of ['delay', 'shell', 'log']) await expectNodeStatus(view, n, 'succeeded');
  // The delay node's duration is its 3000 ms, not 0.
  await expect(view.getByTestId('node-elapsed-delay')).toHaveText(/^\s*\d+(\.\d)? s\s*$/);
  await expect(logLines(view).filter({ hasText: 'hello-e2e' })).toHaveCount(1);
  await expect(logLines(view).filter({ hasText: 'second-line' })).toHaveCount(1);
  await screen(page, '13-run-succeeded-canvas');

  // The log viewer's search finds the line.
  await view.getByTestId('log-search').fill('second');
  await expect(view.getByTestId('log-matches')).toHaveText('1 / 1');

  // The inspector shows the last run of the selected node.
  insp = await select(view, 'shell');
  await expect(insp.getByTestId('inspector-run')).toContainText('succeeded');
  await page.mouse.click(c.x + c.width * 0.5, c.y + c.height * 0.8);

  await view.getByTestId('panel-history').click();
  await expect(view.getByTestId('history-row')).toHaveCount(1);
  await expect(view.getByTestId('history-row')).toHaveAttribute('data-status', 'succeeded');
  await screen(page, '14-history');

  // The other theme, for the record.
  const before = await page.locator('html').getAttribute('data-theme');
  await page.getByTestId('theme-toggle').click();
  const after = before === 'dark' ? 'light' : 'dark';
  await expect(page.locator('html')).toHaveAttribute('data-theme', after);
  await view.getByTestId('panel-logs').click();
  await screen(page, `15-${after}-theme`);
});

test('a failing node shows its error and its downstream node as skipped', async ({ fw, page }) => {
  const p = await fw.project('broken');
  await fw.putWorkflow(p.id, 'fails', {
    name: 'Fails',
    nodes: [
      { id: 'boom', tool: 'shell', params: { command: 'echo about-to-fail; exit 3' }, position: { x: 0, y: 0 } },
      { id: 'after', tool: 'log', params: { message: 'never' }, position: { x: 300, y: 0 } },
    ],
    edges: [{ source: 'boom', target: 'after' }],
  });
  await fw.openUI(page);
  await page.getByTestId('empty-open').click();
  await page.getByTestId(`known-project-${p.id}`).click();
  const view = page.getByTestId(`project-view-${p.id}`);
  await view.getByTestId('run').click();
  await expect(view.getByTestId('run-status')).toHaveText('failed', { timeout: 60_000 });
  await expectNodeStatus(view, 'boom', 'failed');
  await expect(view.getByTestId('node-error-boom')).toBeVisible();
  await expectNodeStatus(view, 'after', 'skipped');
  await expect(logLines(view).filter({ hasText: 'about-to-fail' })).toHaveCount(1);
  await screen(page, '16-run-failed');
});
