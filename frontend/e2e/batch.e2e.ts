// The tab's socket uses the batched framing (flowweaver.v1.batch): the real
// server joins the frames it queued together into one message, one frame
// per line, and the tab handles each line as a message of its own.

import type { WebSocket as PWWebSocket } from '@playwright/test';
import { expect, test } from './fixtures';
import { logLines, openKnown } from './ui';

test('the tab reads batched socket messages: every log line once, in order, and the run its end', async ({ fw, page }) => {
  const p = await fw.project('batch');
  await fw.putWorkflow(p.id, 'chunks', {
    name: 'Chunks',
    nodes: [
      {
        id: 'out',
        tool: 'shell',
        // 30 chunks of 100 lines: many log events, some of them queued together.
        params: { command: `seq -f 'chunk line %.0f' 3000 | awk '{ print } NR % 100 == 0 { fflush(); system("sleep 0.02") }'` },
        position: { x: 0, y: 0 },
      },
    ],
    edges: [],
  });
  const messages: string[] = [];
  page.on('websocket', (ws: PWWebSocket) => {
    if (!ws.url().includes('/ws?projectId=')) return;
    ws.on('framereceived', (f) => {
      if (typeof f.payload === 'string') messages.push(f.payload);
    });
  });
  await fw.openUI(page);
  await openKnown(page, p);
  const view = page.getByTestId(`project-view-${p.id}`);
  await view.getByTestId('run').click();
  await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 60_000 });
  await expect(view.getByTestId('log-count')).toHaveText('3,000 lines');
  await expect(logLines(view).filter({ hasText: /chunk line 3000$/ })).toHaveCount(1);

  // The server selected the batch framing: some messages hold several
  // frames (a run.* event is on project:<id> and run:<id>, queued together),
  // and every line of every message is one whole frame.
  expect(messages.some((m) => m.includes('\n'))).toBe(true);
  const runSeqs: number[] = [];
  for (const m of messages) {
    for (const line of m.split('\n')) {
      const f = JSON.parse(line) as { event?: unknown; channel?: string; seq?: number };
      expect(typeof f.event).toBe('string');
      if (f.channel?.startsWith('run:') && typeof f.seq === 'number') runSeqs.push(f.seq);
    }
  }
  // On the run's channel, seq strictly increases across and within messages.
  expect(runSeqs.length).toBeGreaterThan(2);
  runSeqs.forEach((s, i) => i === 0 || expect(s).toBeGreaterThan(runSeqs[i - 1]));
});
