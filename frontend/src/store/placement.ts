import type { FlowNode } from './graph';

/** The size a node is assumed to have before React Flow measured it. */
export const NODE_W = 240;
export const NODE_H = 110;
const GAP = 20;

interface Rect {
  x: number;
  y: number;
  w: number;
  h: number;
}

function rectOf(n: FlowNode): Rect {
  return { x: n.position.x, y: n.position.y, w: n.measured?.width ?? NODE_W, h: n.measured?.height ?? NODE_H };
}

function overlaps(a: Rect, b: Rect): boolean {
  return a.x < b.x + b.w + GAP && b.x < a.x + a.w + GAP && a.y < b.y + b.h + GAP && b.y < a.y + a.h + GAP;
}

/**
 * The nearest spot at or below `pos` where a node of the default size does
 * not overlap any of `nodes` (dropped, pasted and double-click-added nodes
 * never land on top of each other). It walks down one row at a time, then
 * to the next column, so the result stays close to where the user aimed.
 */
export function freeSpot(nodes: FlowNode[], pos: { x: number; y: number }, size = { w: NODE_W, h: NODE_H }): { x: number; y: number } {
  const rects = nodes.map(rectOf);
  for (let col = 0; col < 50; col++) {
    for (let row = 0; row < 50; row++) {
      const r = { x: pos.x + col * (size.w + GAP), y: pos.y + row * (NODE_H / 2), w: size.w, h: size.h };
      if (!rects.some((o) => overlaps(r, o))) return { x: r.x, y: r.y };
    }
  }
  return pos;
}

/** Moves a group of new nodes (a paste) down as one until none of them overlaps `existing`. */
export function placeGroup(existing: FlowNode[], group: FlowNode[]): FlowNode[] {
  const rects = existing.map(rectOf);
  for (let step = 0; step < 200; step++) {
    const dy = step * (NODE_H / 2);
    if (!group.some((n) => rects.some((o) => overlaps({ ...rectOf(n), y: n.position.y + dy }, o)))) {
      return dy ? group.map((n) => ({ ...n, position: { x: n.position.x, y: n.position.y + dy } })) : group;
    }
  }
  return group;
}
