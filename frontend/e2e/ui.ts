// Small helpers over the UI's data-testid attributes (docs/frontend.md).
// Everything waits through Playwright's auto-retrying assertions.

import fs from 'node:fs';
import path from 'node:path';
import type { Locator, Page } from '@playwright/test';
import { expect, type Project, type WorkflowDoc } from './fixtures';

/** Opens a folder through the "Open project folder" dialog (the browser flow) and returns its project id. */
export async function openFolder(page: Page, folder: string, name: string): Promise<string> {
  const empty = page.getByTestId('empty-open');
  if (await empty.isVisible()) await empty.click();
  else await page.getByTestId('open-project').click();
  const dialog = page.getByTestId('open-dialog');
  await expect(dialog).toBeVisible();
  await page.getByTestId('open-path').fill(folder);
  await page.getByTestId('open-name').fill(name);
  await page.getByTestId('open-submit').click();
  await expect(dialog).toBeHidden();
  const tab = page.getByRole('tab', { name });
  await expect(tab).toBeVisible();
  await expect(tab).toHaveAttribute('aria-selected', 'true');
  const id = (await tab.getAttribute('data-testid'))!.replace(/^tab-/, '');
  await expect(projectView(page, id)).toBeVisible();
  return id;
}

/** Opens a project that already exists on the server through the dialog's "known projects" list. */
export async function openKnown(page: Page, p: Project): Promise<void> {
  const empty = page.getByTestId('empty-open');
  if (await empty.isVisible()) await empty.click();
  else await page.getByTestId('open-project').click();
  await page.getByTestId(`known-project-${p.id}`).click();
  await expect(page.getByTestId('open-dialog')).toBeHidden();
  await expect(tab(page, p.id)).toHaveAttribute('aria-selected', 'true');
  await expect(projectView(page, p.id)).toBeVisible();
}

export const tab = (page: Page, id: string): Locator => page.getByTestId(`tab-${id}`);
export const projectView = (page: Page, id: string): Locator => page.getByTestId(`project-view-${id}`);

/** Switches to a project tab and waits for its view. */
export async function activate(page: Page, id: string): Promise<Locator> {
  await tab(page, id).click();
  await expect(tab(page, id)).toHaveAttribute('aria-selected', 'true');
  const view = projectView(page, id);
  await expect(view).toBeVisible();
  return view;
}

/** The canvas node of a workflow node id, inside a project view. */
export const node = (view: Locator, id: string): Locator => view.getByTestId(`node-${id}`);

/** Waits for a node's run status (the data-status attribute of the canvas node). */
export async function expectNodeStatus(view: Locator, id: string, status: string, timeout?: number): Promise<void> {
  await expect(node(view, id)).toHaveAttribute('data-status', status, { timeout });
}

/** All log lines rendered by the (virtualized) log viewer of a view. */
export const logLines = (view: Locator): Locator => view.getByTestId('log-line');

/**
 * A workflow whose `wait` node runs until the test opens its gate (see
 * openGate), then `say` echoes. Tests that assert what a tab shows while a
 * run is in progress use it instead of a fixed delay: on a loaded machine a
 * fixed delay can end before the tab was even looked at.
 */
export function gatedWorkflow(name: string, project: Project, echo: string): WorkflowDoc {
  return {
    name,
    nodes: [
      { id: 'wait', tool: 'shell', params: { command: `until [ -e '${gatePath(project)}' ]; do sleep 0.1; done` }, position: { x: 0, y: 0 } },
      { id: 'say', tool: 'shell', params: { command: `echo ${echo}` }, position: { x: 300, y: 0 } },
    ],
    edges: [{ source: 'wait', target: 'say' }],
  };
}

const gatePath = (project: Project): string => path.join(project.path, '.e2e-gate');

/** Lets the `wait` node of a gatedWorkflow in project finish. */
export function openGate(project: Project): void {
  fs.writeFileSync(gatePath(project), '');
}

/** A workflow that takes a while: `wait` (delay) then `say` (shell echo). */
export function slowWorkflow(name: string, ms: number, echo: string): WorkflowDoc {
  return {
    name,
    nodes: [
      { id: 'wait', tool: 'delay', params: { ms }, position: { x: 0, y: 0 } },
      { id: 'say', tool: 'shell', params: { command: `echo ${echo}` }, position: { x: 300, y: 0 } },
    ],
    edges: [{ source: 'wait', target: 'say' }],
  };
}
