// Canvas ergonomics: edges have arrowheads, nodes dropped on the same spot
// never land on top of each other, and an edge dropped on empty canvas
// opens a node picker that adds a node connected to it (like n8n).

import type { Locator } from '@playwright/test';
import { expect, test } from './fixtures';
import { node, openKnown, projectView } from './ui';
import type { Workflow } from '../src/api/types';

function intersects(a: { x: number; y: number; width: number; height: number }, b: typeof a): boolean {
  return a.x < b.x + b.width && b.x < a.x + a.width && a.y < b.y + b.height && b.y < a.y + a.height;
}

async function dropAt(view: Locator, tool: string, x: number, y: number): Promise<void> {
  const canvas = view.getByTestId('canvas');
  const c = (await canvas.boundingBox())!;
  await view.getByTestId(`palette-item-${tool}`).dragTo(canvas, { targetPosition: { x: x - c.x, y: y - c.y } });
}

test('arrowheads, no overlapping drops, and an edge dropped on the pane adds a connected node', async ({ fw, page }) => {
  const a = await fw.project('alpha');
  await fw.putWorkflow(a.id, 'build', {
    name: 'Build',
    nodes: [
      { id: 'first', tool: 'delay', params: { ms: 10 }, position: { x: 0, y: 0 } },
      { id: 'second', tool: 'delay', params: { ms: 10 }, position: { x: 320, y: 0 } },
    ],
    edges: [{ source: 'first', target: 'second' }],
  });
  await fw.openUI(page);
  await openKnown(page, a);
  const view = projectView(page, a.id);
  await expect(node(view, 'second')).toBeVisible();

  // The edge ends in an arrowhead.
  const path = view.locator('.react-flow__edge-path').first();
  await expect(path).toHaveAttribute('marker-end', /url\(/);

  // Three shell nodes dropped on exactly the same point: none covers another.
  const c = (await view.getByTestId('canvas').boundingBox())!;
  const spot = { x: c.x + c.width * 0.3, y: c.y + c.height * 0.7 };
  for (let i = 0; i < 3; i++) await dropAt(view, 'shell', spot.x, spot.y);
  const ids = ['shell', 'shell_2', 'shell_3'];
  for (const id of ids) await expect(node(view, id)).toBeVisible();
  const boxes = await Promise.all(ids.map(async (id) => (await node(view, id).boundingBox())!));
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) expect(intersects(boxes[i], boxes[j]), `${ids[i]} over ${ids[j]}`).toBe(false);

  // Drag an edge out of `second` and let go on empty canvas: the picker opens there.
  const handle = (await node(view, 'second').locator('.react-flow__handle.source').boundingBox())!;
  const hx = handle.x + handle.width / 2;
  const hy = handle.y + handle.height / 2;
  await page.mouse.move(hx, hy);
  await page.mouse.down();
  await page.mouse.move(hx + 120, hy + 10, { steps: 6 });
  await page.mouse.move(hx + 220, hy + 20, { steps: 6 });
  await page.mouse.up();
  const picker = view.getByTestId('node-picker');
  await expect(picker).toBeVisible();
  await view.getByTestId('node-picker-search').fill('log');
  await expect(view.getByTestId('node-picker-item-log')).toBeVisible();
  await page.keyboard.press('Enter');
  await expect(picker).toHaveCount(0);
  await expect(node(view, 'log')).toBeVisible();
  await expect(view.getByTestId('rf__edge-second->log')).toHaveCount(1);

  // Escape closes the picker without adding anything.
  const h2 = (await node(view, 'second').locator('.react-flow__handle.source').boundingBox())!;
  const [x2, y2] = [h2.x + h2.width / 2, h2.y + h2.height / 2];
  await page.mouse.move(x2, y2);
  await page.mouse.down();
  await page.mouse.move(x2 - 60, y2 + 60, { steps: 6 });
  await page.mouse.move(x2 - 150, y2 + 120, { steps: 6 });
  await page.mouse.up();
  await expect(picker).toBeVisible();
  await page.keyboard.press('Escape');
  await expect(picker).toHaveCount(0);

  await view.getByTestId('save').click();
  await expect(view.getByTestId('save-state')).toHaveText('Saved · v2');
  const wf = await fw.api<Workflow>('GET', `/api/projects/${a.id}/workflows/build`);
  expect(wf.nodes.map((n: { id: string }) => n.id).sort()).toEqual(['first', 'log', 'second', 'shell', 'shell_2', 'shell_3']);
  expect(wf.edges.map((e: { source: string; target: string }) => `${e.source}>${e.target}`).sort()).toEqual(['first>second', 'second>log']);
});
