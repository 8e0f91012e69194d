// The browser session: after the one-time login code, other tabs and
// windows of the same browser profile are signed in (an HttpOnly,
// SameSite=Strict cookie bound to a device key in the origin's
// localStorage), also after the browser was closed and reopened; another
// origin cannot use the cookie; `flowweaver open` prints a fresh login
// URL, and pasting it into the sign-in screen signs in without a reload.

import { chromium, request, type BrowserContext } from '@playwright/test';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { binary, expect, test } from './fixtures';

const run = promisify(execFile);

async function freshLoginURL(dataDir: string): Promise<string> {
  const { stdout } = await run(binary, ['open', '--no-browser', '--data-dir', dataDir]);
  const m = /^open (http:\/\/\S+#code=\S+)$/m.exec(stdout);
  if (!m) throw new Error(`flowweaver open printed ${JSON.stringify(stdout)}`);
  return m[1];
}

test('a second window and a reopened browser of the same profile are signed in; other origins are not', async ({ fw }, info) => {
  const profile = mkdtempSync(path.join(os.tmpdir(), 'fw-profile-'));
  const launch = () => chromium.launchPersistentContext(profile, { ...info.project.use.launchOptions, viewport: { width: 1400, height: 900 } });
  let ctx: BrowserContext | null = await launch();
  try {
    const first = await ctx.newPage();
    await first.goto(fw.loginUrl);
    await expect(first.getByTestId('empty-state')).toBeVisible();

    // The cookie is HttpOnly and SameSite=Strict: the page cannot read it.
    const cookies = await ctx.cookies(fw.url + '/api/auth/session');
    const session = cookies.find((c) => c.name.startsWith('fw_session'));
    expect(session, 'a session cookie').toBeTruthy();
    expect(session!.httpOnly).toBe(true);
    expect(session!.sameSite).toBe('Strict');
    expect(await first.evaluate(() => document.cookie)).not.toContain('fw_session');

    // A new window of the same browser: signed in, no code needed.
    const second = await ctx.newPage();
    await second.goto(fw.url + '/');
    await expect(second.getByTestId('empty-state')).toBeVisible();
    await expect(second.getByTestId('session-expired')).toHaveCount(0);
    // Its token works on the API like the first window's.
    const token = await second.evaluate(() => (JSON.parse(sessionStorage.getItem('flowweaver.session')!) as { token: string }).token);
    const res = await fetch(fw.url + '/api/projects', { headers: { Authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);

    // Another origin of the same host (localhost instead of 127.0.0.1) has neither cookie nor device key.
    const other = await ctx.newPage();
    await other.goto(fw.url.replace('127.0.0.1', 'localhost') + '/');
    await expect(other.getByTestId('session-expired')).toContainText('Sign in');

    // The stolen cookie alone is worth nothing: without the page's device key, or from another origin.
    const api = await request.newContext();
    try {
      const cookie = `${session!.name}=${session!.value}`;
      const noKey = await api.post(fw.url + '/api/auth/session', { headers: { Cookie: cookie, Origin: fw.url }, data: { deviceKey: 'x'.repeat(43) } });
      expect(noKey.status()).toBe(401);
      const deviceKey = await first.evaluate(() => localStorage.getItem('flowweaver.deviceKey')!);
      const foreign = await api.post(fw.url + '/api/auth/session', { headers: { Cookie: cookie, Origin: 'http://127.0.0.1:1' }, data: { deviceKey } });
      expect(foreign.status()).toBe(403);
      const noOrigin = await api.post(fw.url + '/api/auth/session', { headers: { Cookie: cookie }, data: { deviceKey } });
      expect(noOrigin.status()).toBe(403);
      // Both halves from our own origin: that is what the page does.
      const ok = await api.post(fw.url + '/api/auth/session', { headers: { Cookie: cookie, Origin: fw.url }, data: { deviceKey } });
      expect(ok.status()).toBe(200);
    } finally {
      await api.dispose();
    }

    // Close the browser and open it again on the same profile: still signed in.
    await ctx.close();
    ctx = await launch();
    const reopened = ctx.pages()[0] ?? (await ctx.newPage());
    await reopened.goto(fw.url + '/');
    await expect(reopened.getByTestId('empty-state')).toBeVisible();
  } finally {
    await ctx?.close();
    rmSync(profile, { recursive: true, force: true });
  }
});

test('flowweaver open prints a fresh login URL; pasting it into the sign-in screen signs in', async ({ fw, browser }) => {
  // The code printed at start is used up by another browser.
  const used = await browser.newContext();
  await (await used.newPage()).goto(fw.loginUrl);
  const ctx = await browser.newContext();
  try {
    const page = await ctx.newPage();
    await page.goto(fw.url + '/');
    await expect(page.getByTestId('session-expired')).toContainText('Sign in');
    const url = await freshLoginURL(fw.dataDir);
    expect(url.startsWith(fw.url + '/#code=')).toBe(true);
    // Pasting the link in the address bar of the same page only changes the fragment.
    await page.evaluate((hash) => (window.location.hash = hash), new URL(url).hash);
    await expect(page.getByTestId('empty-state')).toBeVisible();
    expect(page.url()).not.toContain('code=');
  } finally {
    await ctx.close();
    await used.close();
  }
});
