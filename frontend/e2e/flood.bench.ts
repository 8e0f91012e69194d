// The UI flood benchmark (`make bench-ui`, not part of the e2e suite): a
// shell node prints 200,000 lines into an open project tab. It measures, in
// Chromium, with the page's own clock (Performance API, requestAnimationFrame):
//   - the frame rate while the lines arrive (from the first log line shown to
//     the last), and the longest gap between two frames;
//   - how long after the node ended (its finishedAt, from the server) the
//     last line was on screen.
// Goals (docs/benchmarks.md): at least 30 fps during the flood, the last line
// within 2 s of the node's end. It prints one RESULT line per case and fails
// only when the page never shows the last line (a hang), never on a timing.
// FW_BENCH_PROFILE=1 also saves a Chromium CPU profile per case, and
// FW_BENCH_TRACE=1 a Chromium performance trace (paint, raster, compositor:
// where a frame's time goes outside JavaScript; open it in DevTools).

import type { Page } from '@playwright/test';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { expect, test, type WorkflowDoc } from './fixtures';
import { openKnown } from './ui';

const LINES = 200_000;
const LAST = `flood line ${LINES}`;

/**
 * Quiet: no flood (a 3 s node, one line): the frame rate of a running tab.
 * Burst: everything at once. Paced: 20 chunks of 10,000 lines, 0.2 s apart (a build log).
 */
const cases: { name: string; command: string }[] = [
  { name: 'quiet', command: `sleep 3; echo '${LAST}'` },
  { name: 'burst', command: `seq -f 'flood line %.0f' ${LINES}` },
  {
    name: 'paced',
    command: `seq -f 'flood line %.0f' ${LINES} | awk '{ print } NR % 10000 == 0 { fflush(); system("sleep 0.2") }'`,
  },
];

function floodWorkflow(command: string): WorkflowDoc {
  return { name: 'Flood', nodes: [{ id: 'flood', tool: 'shell', params: { command }, position: { x: 0, y: 0 } }], edges: [] };
}

interface Meter {
  frames: number[];
  firstLineAt: number;
  lastLineAt: number;
}

/** Starts a frame meter in the page: every animation frame's time, and when the first and the last line were in the DOM. */
async function startMeter(page: Page, last: string): Promise<void> {
  await page.evaluate((lastText) => {
    const m: Meter = { frames: [], firstLineAt: 0, lastLineAt: 0 };
    (window as unknown as { fwMeter: Meter }).fwMeter = m;
    const tick = (t: number) => {
      m.frames.push(t);
      if (!m.lastLineAt) {
        const rows = document.querySelectorAll('[data-testid="log-line"] .fw-log-text');
        if (rows.length && !m.firstLineAt) m.firstLineAt = t;
        for (const r of rows) {
          if (r.textContent === lastText) {
            m.lastLineAt = t;
            break;
          }
        }
      }
      requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  }, last);
}

for (const c of cases) {
  test(`flood of ${LINES} lines (${c.name})`, async ({ fw, page }) => {
    const p = await fw.project(`flood-${c.name}`);
    await fw.putWorkflow(p.id, 'flood', floodWorkflow(c.command));
    await fw.openUI(page);
    await openKnown(page, p);
    const view = page.getByTestId(`project-view-${p.id}`);
    // FW_BENCH_CSS: extra CSS for experiments, e.g. '* { animation: none !important }'
    // to tell the log viewer's cost from the page's animations (docs/benchmarks.md).
    if (process.env.FW_BENCH_CSS) await page.addStyleTag({ content: process.env.FW_BENCH_CSS });
    await startMeter(page, LAST);
    // The page's frame rate before the flood: what this machine gives an idle tab.
    await page.waitForTimeout(1000);
    const idleFps = await page.evaluate(() => {
      const f = (window as unknown as { fwMeter: Meter }).fwMeter.frames;
      return f.length > 1 ? ((f.length - 1) * 1000) / (f[f.length - 1] - f[0]) : NaN;
    });
    const cdp = process.env.FW_BENCH_PROFILE ? await page.context().newCDPSession(page) : null;
    if (cdp) {
      await cdp.send('Profiler.enable');
      await cdp.send('Profiler.start');
    }
    const browser = process.env.FW_BENCH_TRACE ? page.context().browser() : null;
    const tracePath = path.join(test.info().outputDir, `flood-${c.name}.trace.json`);
    if (browser) {
      mkdirSync(test.info().outputDir, { recursive: true });
      await browser.startTracing(page, { path: tracePath, categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink', 'cc', 'viz', 'gpu', ...(process.env.FW_BENCH_TRACE === 'quads' ? ['disabled-by-default-viz.quads'] : [])] });
    }
    const layersCdp = process.env.FW_BENCH_LAYERS ? await page.context().newCDPSession(page) : null;
    let layers: { layerId: string; width: number; height: number; offsetX: number; offsetY: number; drawsContent: boolean; paintCount?: number; backendNodeId?: number }[] = [];
    if (layersCdp) {
      layersCdp.on('LayerTree.layerTreeDidChange', (e) => {
        if (e.layers) layers = e.layers;
      });
      await layersCdp.send('LayerTree.enable');
    }
    const clickAt = await page.evaluate(() => performance.now());
    await view.getByTestId('run').click();
    if (layersCdp) {
      await page.waitForTimeout(1500);
      for (const l of layers.filter((l) => l.drawsContent)) {
        const { compositingReasons } = await layersCdp.send('LayerTree.compositingReasons', { layerId: l.layerId }).catch(() => ({ compositingReasons: [] as string[] }));
        let node = '';
        if (l.backendNodeId) {
          const d = await layersCdp.send('DOM.describeNode', { backendNodeId: l.backendNodeId }).catch(() => null);
          node = d ? `${d.node.nodeName}.${(d.node.attributes ?? []).join(' ')}` : '';
        }
        console.log(`layer ${l.offsetX},${l.offsetY} ${l.width}x${l.height} paints=${l.paintCount} ${node.slice(0, 80)} [${compositingReasons.join(',')}]`);
      }
    }
    await expect(view.getByTestId('run-status')).toHaveText('succeeded', { timeout: 120_000 });
    if (cdp) {
      const { profile } = await cdp.send('Profiler.stop');
      mkdirSync(test.info().outputDir, { recursive: true });
      writeFileSync(path.join(test.info().outputDir, `flood-${c.name}.cpuprofile`), JSON.stringify(profile));
      console.log(`profile: ${path.join(test.info().outputDir, `flood-${c.name}.cpuprofile`)}`);
    }
    await expect.poll(() => page.evaluate(() => (window as unknown as { fwMeter: Meter }).fwMeter.lastLineAt), { timeout: 60_000 }).toBeGreaterThan(0);
    if (browser) {
      await browser.stopTracing();
      console.log(`trace: ${tracePath}`);
    }

    const m = await page.evaluate(() => {
      const w = window as unknown as { fwMeter: Meter };
      return { ...w.fwMeter, origin: performance.timeOrigin };
    });
    const runs = await fw.runs(p.id);
    const run = await fw.run(runs[0].id);
    const node = (run.nodes as { nodeId: string; finishedAt?: string }[] | undefined)?.find((n) => n.nodeId === 'flood');
    const endedAt = node?.finishedAt ? Date.parse(node.finishedAt) : NaN;

    const rate = (from: number, to: number) => {
      const f = m.frames.filter((t) => t >= from && t <= to);
      let worst = 0;
      for (let i = 1; i < f.length; i++) worst = Math.max(worst, f[i] - f[i - 1]);
      return { fps: to > from && f.length > 1 ? ((f.length - 1) * 1000) / (f[f.length - 1] - f[0]) : NaN, worst };
    };
    const span = m.lastLineAt - m.firstLineAt;
    const { fps, worst } = rate(m.firstLineAt, m.lastLineAt);
    const whole = rate(clickAt, m.lastLineAt);
    const lastLineMs = m.origin + m.lastLineAt - endedAt;
    const lines = await view.getByTestId('log-line').count();
    const result = `RESULT case=${c.name} lines=${LINES} flood_ms=${span.toFixed(0)} fps=${fps.toFixed(1)} worst_frame_ms=${worst.toFixed(0)} run_fps=${whole.fps.toFixed(1)} idle_fps=${idleFps.toFixed(1)} last_line_after_node_end_ms=${lastLineMs.toFixed(0)} dom_rows=${lines}`;
    console.log(result);
    test.info().annotations.push({ type: 'result', description: result });
  });
}
