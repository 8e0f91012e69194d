import { describe, expect, it } from 'vitest';
import { copySelection, createsCycle, fromWorkflow, History, newNodeId, pasteInto, toWorkflow } from './graph';
import { searchLines } from './logs';

const wf = {
  name: 'Build',
  nodes: [
    { id: 'build', tool: 'shell', params: { command: 'go build' }, position: { x: 0, y: 0 } },
    { id: 'pause', tool: 'delay', params: { ms: 200 } },
    { id: 'test', tool: 'shell', params: { command: 'go test' }, retry: { max: 2 }, timeoutMs: 600000, position: { x: 400, y: 0 } },
  ],
  edges: [
    { source: 'build', target: 'pause' },
    { source: 'pause', target: 'test' },
  ],
};

describe('graph', () => {
  it('round-trips a workflow through canvas nodes', () => {
    const g = fromWorkflow(wf);
    const back = toWorkflow('w1', 'Build', g);
    expect(back.nodes[0]).toEqual(wf.nodes[0]);
    expect(back.nodes[2]).toMatchObject({ retry: { max: 2 }, timeoutMs: 600000 });
    expect(back.nodes[1].position).toBeDefined(); // laid out when missing
    expect(back.edges).toEqual(wf.edges);
  });

  it('detects cycles and derives unique ids', () => {
    expect(createsCycle(wf.edges, 'test', 'build')).toBe(true);
    expect(createsCycle(wf.edges, 'build', 'test')).toBe(false);
    expect(createsCycle([], 'a', 'a')).toBe(true);
    expect(newNodeId('shell', ['shell', 'shell_2'])).toBe('shell_3');
    expect(newNodeId('mcp:git/status', [])).toBe('status');
  });

  it('undo/redo restores snapshots and coalesces typing in one field', () => {
    let t = 0;
    const h = new History(100, () => t);
    const g0 = fromWorkflow(wf);
    const g1 = { ...g0, nodes: g0.nodes.slice(1) };
    h.record(g0, 'build:command');
    t = 500;
    h.record(g1, 'build:command'); // same field within 1 s: merged
    expect(h.canUndo).toBe(true);
    const cur = { nodes: [], edges: [] };
    expect(h.undo(cur)).toBe(g0);
    expect(h.canUndo).toBe(false);
    expect(h.redo(g0)).toBe(cur);
  });

  it('copies the selection with its inner edges and pastes with fresh ids', () => {
    const g = fromWorkflow(wf);
    g.nodes = g.nodes.map((n) => ({ ...n, selected: n.id !== 'test' }));
    const clip = copySelection(g)!;
    expect(clip.nodes.map((n) => n.id)).toEqual(['build', 'pause']);
    expect(clip.edges).toHaveLength(1);
    const out = pasteInto(g, clip);
    expect(out.nodes.map((n) => n.id)).toEqual(['build', 'pause', 'test', 'build_2', 'pause_2']);
    expect(out.edges.at(-1)).toMatchObject({ source: 'build_2', target: 'pause_2' });
    expect(out.nodes.filter((n) => n.selected).map((n) => n.id)).toEqual(['build_2', 'pause_2']);
  });

  it('searches 100k log lines', () => {
    const lines = Array.from({ length: 100_000 }, (_, i) => ({ nodeId: i % 2 ? 'a' : 'b', stream: 'stdout' as const, text: `line ${i}` }));
    expect(searchLines(lines, 'LINE 9999').length).toBe(11);
    expect(searchLines(lines, 'line 9999', 'a')).toEqual([9999, 99991, 99993, 99995, 99997, 99999]);
  });
});

describe('triggers in the graph', () => {
  it('survive a load and save unchanged (a save never drops them)', () => {
    const wf = {
      name: 'n',
      nodes: [{ id: 'a', tool: 'log', params: {} }],
      edges: [],
      triggers: [
        { id: 'nightly', type: 'schedule' as const, cron: '0 3 * * *', timezone: 'Europe/Berlin' },
        { id: 'hook', type: 'webhook' as const, enabled: false },
      ],
    };
    const out = toWorkflow('w', 'n', fromWorkflow(wf));
    expect(out.triggers).toEqual(wf.triggers);
    expect(toWorkflow('w', 'n', fromWorkflow({ ...wf, triggers: [] })).triggers).toBeUndefined();
  });
});
