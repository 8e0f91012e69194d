import { describe, expect, it } from 'vitest';
import { fromWorkflow, toWorkflow } from './graph';

describe('a workflow with a dangling edge (invalid on disk)', () => {
  const wf = {
    name: 'Dangling',
    nodes: [{ id: 'a', tool: 'delay', params: { ms: 1 }, position: { x: 10, y: 20 } }],
    edges: [
      { source: 'a', target: 'ghost' },
      { source: 'phantom', target: 'a' },
    ],
  };

  it('draws a placeholder for every node an edge names but the file lacks', () => {
    const g = fromWorkflow(wf);
    expect(g.nodes.map((n) => [n.id, !!n.data.missing])).toEqual([
      ['a', false],
      ['ghost', true],
      ['phantom', true],
    ]);
    expect(g.edges.map((e) => e.id)).toEqual(['a->ghost', 'phantom->a']);
    // Right of the node the edge comes from.
    expect(g.nodes[1].position.x).toBeGreaterThan(10);
  });

  it('never saves a placeholder, but keeps an edge still pointing at one (the server names the problem)', () => {
    const g = fromWorkflow(wf);
    const out = toWorkflow('dangling', 'Dangling', { ...g, edges: g.edges.filter((e) => e.target !== 'ghost') });
    expect(out.nodes.map((n) => n.id)).toEqual(['a']);
    expect(out.edges).toEqual([{ source: 'phantom', target: 'a' }]);
  });

  it('adds no placeholder to a valid workflow', () => {
    const g = fromWorkflow({ name: 'ok', nodes: [{ id: 'a', tool: 'delay', params: {} }, { id: 'b', tool: 'log', params: {} }], edges: [{ source: 'a', target: 'b' }] });
    expect(g.nodes.every((n) => !n.data.missing)).toBe(true);
  });
});
