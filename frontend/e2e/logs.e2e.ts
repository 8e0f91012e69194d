// The log viewer while lines stream in: it follows the tail, scrolling up
// pauses following (new lines do not pull the view down), Follow resumes.

import { expect, test } from './fixtures';
import { logLines, openKnown } from './ui';

test('the log follows the tail; scrolling up pauses it; Follow resumes', async ({ fw, page }) => {
  const p = await fw.project('logs');
  await fw.putWorkflow(p.id, 'stream', {
    name: 'Stream',
    nodes: [
      {
        id: 'out',
        tool: 'shell',
        // A first batch, a pause long enough to scroll up on a busy machine, then more.
        params: { command: `seq -f 'first %.0f' 3000; sleep 6; seq -f 'second %.0f' 3000` },
        position: { x: 0, y: 0 },
      },
    ],
    edges: [],
  });
  await fw.openUI(page);
  await openKnown(page, p);
  const view = page.getByTestId(`project-view-${p.id}`);
  await view.getByTestId('run').click();

  const lines = logLines(view);
  const follow = view.getByTestId('log-follow');
  // Following: the last line of the first batch is on screen, the first is not.
  await expect(lines.filter({ hasText: /^3000\s*out\s*first 3000$/ })).toHaveCount(1);
  await expect(follow).toHaveClass(/primary/);
  await expect(lines.filter({ hasText: /first 1$/ })).toHaveCount(0);

  // Scrolling to the top pauses following.
  await view.getByTestId('log-viewer').locator('.fw-logs-scroll').evaluate((el) => {
    el.scrollTop = 0;
  });
  await expect(follow).toHaveClass(/ghost/);
  await expect(lines.filter({ hasText: /first 1$/ })).toHaveCount(1);

  // The second batch arrives while paused: the view stays at the top.
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expect(view.getByTestId('log-count')).toHaveText('6,000 lines');
  await expect(lines.filter({ hasText: /first 1$/ })).toHaveCount(1);
  await expect(lines.filter({ hasText: /second 3000$/ })).toHaveCount(0);

  // Follow jumps to the tail and stays there.
  await follow.click();
  await expect(follow).toHaveClass(/primary/);
  await expect(lines.filter({ hasText: /second 3000$/ })).toHaveCount(1);
  await expect(lines.filter({ hasText: /first 1$/ })).toHaveCount(0);
});
