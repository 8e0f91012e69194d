// Sessions are revocable: the sessions list in the account menu shows each
// signed-in browser; signing another one out closes its socket and sends
// its tab to the sign-in page at once (and a reload does not bring it
// back); "Sign out" ends this browser's own session on the server.

import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { binary, expect, screen, test } from './fixtures';

const run = promisify(execFile);

async function freshLoginURL(dataDir: string): Promise<string> {
  const { stdout } = await run(binary, ['open', '--no-browser', '--data-dir', dataDir]);
  const m = /^open (http:\/\/\S+#code=\S+)$/m.exec(stdout);
  if (!m) throw new Error(`flowweaver open printed ${JSON.stringify(stdout)}`);
  return m[1];
}

test('signing another browser out sends its tab to the sign-in page; Sign out ends this one', async ({ fw, browser }) => {
  const p = await fw.project('signout');
  await fw.api('PUT', '/api/workspace', { tabs: [p.id], active: p.id });

  const mine = await browser.newContext();
  const other = await browser.newContext();
  try {
    const a = await mine.newPage();
    await a.goto(fw.loginUrl);
    await expect(a.getByTestId('tabs')).toBeVisible();
    const b = await other.newPage();
    await b.goto(await freshLoginURL(fw.dataDir));
    await expect(b.getByTestId('tabs')).toBeVisible();
    // Both tabs hold the project's socket.
    await expect.poll(() => fw.connectionsOf(p.id), { timeout: 30_000 }).toBe(2);

    await a.getByTestId('account-menu').click();
    await a.getByTestId('account-sessions').click();
    const rows = a.getByTestId('session-row');
    await expect(rows).toHaveCount(2);
    await expect(a.locator('[data-testid="session-row"][data-current="true"]')).toContainText('This browser');
    await expect(rows.first()).toContainText(/Chrome|Chromium/);
    await screen(a, 'sessions-dialog');

    // Sign the other browser out.
    await a.locator('[data-testid="session-row"]:not([data-current])').getByTestId('session-revoke').click();
    await expect(rows).toHaveCount(1);
    await expect(b.getByTestId('session-expired')).toContainText('Signed out', { timeout: 30_000 });
    await expect.poll(() => fw.connectionsOf(p.id), { timeout: 30_000 }).toBe(1);
    // Its cookie is revoked too: a reload or a new tab does not sign it in again.
    await b.reload();
    await expect(b.getByTestId('session-expired')).toBeVisible();
    const b2 = await other.newPage();
    await b2.goto(fw.url + '/');
    await expect(b2.getByTestId('session-expired')).toBeVisible();
    await a.getByTestId('sessions-dialog').getByRole('button', { name: 'Close', exact: true }).click();

    // Sign out of this browser: the server revokes the session, every tab of it shows the sign-in page.
    const a2 = await mine.newPage();
    await a2.goto(fw.url + '/');
    await expect(a2.getByTestId('tabs')).toBeVisible(); // signed in through the browser session
    await a.getByTestId('account-menu').click();
    await a.getByTestId('account-sign-out').click();
    await expect(a.getByTestId('session-expired')).toContainText('Signed out');
    await expect(a2.getByTestId('session-expired')).toContainText('Signed out', { timeout: 30_000 });
    await expect.poll(() => fw.connectionsOf(p.id), { timeout: 30_000 }).toBe(0);
    const a3 = await mine.newPage();
    await a3.goto(fw.url + '/');
    await expect(a3.getByTestId('session-expired')).toContainText('Sign in');
    const left = await fw.api<{ sessions: unknown[] }>('GET', '/api/auth/sessions');
    expect(left.sessions).toHaveLength(0);
  } finally {
    await mine.close();
    await other.close();
  }
});
