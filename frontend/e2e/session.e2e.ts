// The browser session: the one-time login code, and a clear screen (not a
// blank page) when there is no valid session.

import { expect, screen, test } from './fixtures';

test('the login code works once; a second use shows the log-in-again screen', async ({ fw, page, browser }) => {
  const loginUrl = fw.loginUrl;
  await fw.openUI(page); // consumes the code
  // The code left the address bar at once.
  expect(page.url()).not.toContain('code=');
  await expect(page.getByTestId('empty-state')).toBeVisible();
  // A reload keeps the session (sessionStorage of this tab).
  await page.reload();
  await expect(page.getByTestId('empty-state')).toBeVisible();

  const other = await browser.newContext();
  try {
    const p2 = await other.newPage();
    await p2.goto(loginUrl);
    await expect(p2.getByTestId('session-expired')).toBeVisible();
    await expect(p2.getByTestId('session-expired')).toContainText('already used');
    await screen(p2, '00-login-code-reused');
    // No code at all: the sign-in screen.
    await p2.goto(fw.url + '/');
    await expect(p2.getByTestId('session-expired')).toContainText('Sign in');
  } finally {
    await other.close();
  }
});
