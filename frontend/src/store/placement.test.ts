import { describe, expect, it } from 'vitest';
import type { FlowNode } from './graph';
import { freeSpot, NODE_H, NODE_W, placeGroup } from './placement';

const at = (id: string, x: number, y: number): FlowNode => ({ id, type: 'tool', position: { x, y }, data: { tool: 'delay', params: {} } });
const overlap = (a: FlowNode, b: FlowNode) =>
  Math.abs(a.position.x - b.position.x) < NODE_W && Math.abs(a.position.y - b.position.y) < NODE_H;

describe('placement', () => {
  it('keeps a free spot where it is', () => {
    expect(freeSpot([at('a', 0, 0)], { x: 600, y: 0 })).toEqual({ x: 600, y: 0 });
  });
  it('moves a node aimed at an occupied spot to the nearest free one below', () => {
    const nodes = [at('a', 0, 0)];
    const p = freeSpot(nodes, { x: 10, y: 10 });
    expect(overlap(at('b', p.x, p.y), nodes[0])).toBe(false);
    expect(p.x).toBe(10);
    expect(p.y).toBeGreaterThan(10);
  });
  it('ten nodes added at one spot never overlap', () => {
    const nodes: FlowNode[] = [];
    for (let i = 0; i < 10; i++) {
      const p = freeSpot(nodes, { x: 80, y: 80 });
      nodes.push(at(`n${i}`, p.x, p.y));
    }
    for (const a of nodes) for (const b of nodes) if (a !== b) expect(overlap(a, b)).toBe(false);
  });
  it('moves a pasted group as one', () => {
    const group = placeGroup([at('a', 0, 0), at('b', 300, 0)], [at('a2', 20, 20), at('b2', 320, 20)]);
    expect(group[1].position.x - group[0].position.x).toBe(300);
    expect(group[0].position.y).toBe(group[1].position.y);
    expect(overlap(group[0], at('a', 0, 0))).toBe(false);
  });
});
