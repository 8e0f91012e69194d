import type { Edge, Node } from '@xyflow/react';
import type { JSONSchema, RetryPolicy, Trigger, Workflow, WorkflowNode } from '../api/types';

/** Data of a canvas node: plain and serializable, exactly what is saved. */
export interface ToolNodeData extends Record<string, unknown> {
  tool: string;
  label?: string;
  params: Record<string, unknown>;
  retry?: RetryPolicy;
  timeoutMs?: number;
  /** A placeholder for a node that edges of an invalid file name but the file lacks: drawn, never saved. */
  missing?: boolean;
}

export type FlowNode = Node<ToolNodeData, 'tool'>;
export type FlowEdge = Edge;

export interface Graph {
  nodes: FlowNode[];
  edges: FlowEdge[];
  /** The workflow's triggers (drawn at the canvas's left edge); undo covers them too. */
  triggers?: Trigger[];
  /** The declared run inputs (JSON Schema); undo covers them too. */
  inputs?: JSONSchema;
}

export const ID_RE = /^[A-Za-z0-9_-]{1,64}$/;

/** The condition of an edge as the canvas keeps it: the source handle id ("true", "minor", "failure"...), none for success. */
export function edgeOn(e: { sourceHandle?: string | null; data?: Record<string, unknown> }): string | undefined {
  const on = (e.data?.on as string | undefined) ?? e.sourceHandle ?? undefined;
  return on && on !== 'success' ? on : undefined;
}

export function edgeId(source: string, target: string, on?: string | null): string {
  return on && on !== 'success' ? `${source}->${target}:${on}` : `${source}->${target}`;
}

/** Tools whose outputs are branches (one source handle per branch). */
export function branchesOf(tool: string, params: Record<string, unknown> | undefined): string[] | null {
  if (tool === 'if') return ['true', 'false'];
  if (tool === 'switch') {
    const cases = Array.isArray(params?.cases) ? (params.cases as unknown[]).filter((c): c is string => typeof c === 'string' && c !== '') : [];
    return [...cases, 'default'];
  }
  return null;
}

/** Builds a canvas edge. Branch edges leave from the branch's handle; failure/always edges from the node's one handle. */
export function makeEdge(source: string, target: string, on: string | undefined, branching: boolean): FlowEdge {
  const cond = on && on !== 'success' ? on : undefined;
  const e: FlowEdge = { id: edgeId(source, target, cond), source, target };
  if (cond) e.data = { on: cond };
  if (cond && branching) e.sourceHandle = cond;
  return e;
}

export function fromWorkflow(wf: Workflow): Graph {
  const nodes: FlowNode[] = (wf.nodes ?? []).map((n, i) => ({
    id: n.id,
    type: 'tool',
    position: n.position ?? { x: 80 + (i % 4) * 260, y: 80 + Math.floor(i / 4) * 160 },
    data: {
      tool: n.tool,
      label: n.label,
      params: { ...(n.params ?? {}) },
      retry: n.retry,
      timeoutMs: n.timeoutMs,
    },
  }));
  const branching = new Set(nodes.filter((n) => branchesOf(n.data.tool, n.data.params)).map((n) => n.id));
  const edges: FlowEdge[] = (wf.edges ?? []).map((e) => makeEdge(e.source, e.target, e.on, branching.has(e.source)));
  return {
    nodes: [...nodes, ...missingNodes(nodes, edges)],
    edges,
    triggers: (wf.triggers ?? []).map((t) => ({ ...t })),
    inputs: wf.inputs ? structuredClone(wf.inputs) : undefined,
  };
}

/**
 * Placeholders for the nodes that edges name but the workflow lacks (a file
 * made invalid on disk), so React Flow draws the dangling edge and the user
 * can delete it. They sit right of the node the edge comes from.
 */
function missingNodes(nodes: FlowNode[], edges: FlowEdge[]): FlowNode[] {
  const have = new Map(nodes.map((n) => [n.id, n]));
  const out: FlowNode[] = [];
  for (const e of edges) {
    for (const [id, other] of [
      [e.target, e.source],
      [e.source, e.target],
    ]) {
      if (!id || have.has(id)) continue;
      const near = have.get(other)?.position ?? { x: 80, y: 80 };
      const n: FlowNode = { id, type: 'tool', position: { x: near.x + 300, y: near.y + 40 * out.length }, data: { tool: '', params: {}, missing: true } };
      have.set(id, n);
      out.push(n);
    }
  }
  return out;
}

export function toWorkflow(id: string, name: string, g: Graph): Workflow {
  const nodes: WorkflowNode[] = g.nodes.filter((n) => !n.data.missing).map((n) => {
    const out: WorkflowNode = {
      id: n.id,
      tool: n.data.tool,
      params: n.data.params ?? {},
      position: { x: Math.round(n.position.x), y: Math.round(n.position.y) },
    };
    if (n.data.label) out.label = n.data.label;
    if (n.data.retry && n.data.retry.max > 0) out.retry = n.data.retry;
    if (n.data.timeoutMs && n.data.timeoutMs > 0) out.timeoutMs = n.data.timeoutMs;
    return out;
  });
  const wf: Workflow = {
    id,
    name,
    nodes,
    edges: g.edges.map((e) => {
      const on = edgeOn(e);
      return on ? { source: e.source, target: e.target, on } : { source: e.source, target: e.target };
    }),
  };
  if (g.triggers?.length) wf.triggers = g.triggers;
  if (g.inputs) wf.inputs = g.inputs;
  return wf;
}

/** A node id derived from the tool name, unique in the graph: "shell", "shell_2"... */
export function newNodeId(tool: string, taken: Iterable<string>): string {
  const used = new Set(taken);
  const base = (tool.split(/[/:.]/).pop() || 'node').replace(/[^A-Za-z0-9_-]/g, '_').slice(0, 50) || 'node';
  if (!used.has(base)) return base;
  for (let i = 2; ; i++) if (!used.has(`${base}_${i}`)) return `${base}_${i}`;
}

/** Would adding source->target close a cycle? (The server rejects cycles too.) */
export function createsCycle(edges: { source: string; target: string }[], source: string, target: string): boolean {
  if (source === target) return true;
  const out = new Map<string, string[]>();
  for (const e of edges) out.set(e.source, [...(out.get(e.source) ?? []), e.target]);
  const stack = [target];
  const seen = new Set<string>();
  while (stack.length) {
    const n = stack.pop()!;
    if (n === source) return true;
    if (seen.has(n)) continue;
    seen.add(n);
    stack.push(...(out.get(n) ?? []));
  }
  return false;
}

/**
 * Undo/redo as a stack of whole-graph snapshots. Graphs are small, and
 * snapshots cannot get out of step with the canvas the way inverse
 * operations can. `record` is called before a change; edits with the same
 * `coalesceKey` within a second (typing in one field) share one entry.
 */
export class History {
  private past: Graph[] = [];
  private future: Graph[] = [];
  private lastKey = '';
  private lastAt = 0;

  constructor(
    private limit = 100,
    private now: () => number = Date.now,
  ) {}

  record(g: Graph, coalesceKey = ''): void {
    const t = this.now();
    if (coalesceKey && coalesceKey === this.lastKey && t - this.lastAt < 1000) {
      this.lastAt = t;
      return;
    }
    this.lastKey = coalesceKey;
    this.lastAt = t;
    this.past.push(g);
    if (this.past.length > this.limit) this.past.shift();
    this.future = [];
  }

  undo(current: Graph): Graph | null {
    const g = this.past.pop();
    if (!g) return null;
    this.future.push(current);
    this.lastKey = '';
    return g;
  }

  redo(current: Graph): Graph | null {
    const g = this.future.pop();
    if (!g) return null;
    this.past.push(current);
    this.lastKey = '';
    return g;
  }

  clear(): void {
    this.past = [];
    this.future = [];
  }

  get canUndo(): boolean {
    return this.past.length > 0;
  }
  get canRedo(): boolean {
    return this.future.length > 0;
  }
}

/** Copies the selected nodes and the edges between them. */
export function copySelection(g: Graph): Graph | null {
  const nodes = g.nodes.filter((n) => n.selected);
  if (!nodes.length) return null;
  const ids = new Set(nodes.map((n) => n.id));
  const edges = g.edges.filter((e) => ids.has(e.source) && ids.has(e.target));
  return structuredClone({ nodes, edges });
}

/** Pastes a copy with fresh ids, offset so it does not hide the original; the pasted nodes are selected. */
export function pasteInto(g: Graph, clip: Graph, offset = 40): Graph {
  const taken = new Set(g.nodes.map((n) => n.id));
  const map = new Map<string, string>();
  const nodes: FlowNode[] = clip.nodes.map((n) => {
    const id = newNodeId(n.id, taken);
    taken.add(id);
    map.set(n.id, id);
    return {
      ...structuredClone(n),
      id,
      selected: true,
      position: { x: n.position.x + offset, y: n.position.y + offset },
    };
  });
  const edges = clip.edges.map((e) => {
    const s = map.get(e.source)!;
    const t = map.get(e.target)!;
    return { ...structuredClone(e), id: edgeId(s, t, edgeOn(e)), source: s, target: t, selected: false };
  });
  return {
    nodes: [...g.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), ...nodes],
    edges: [...g.edges, ...edges],
  };
}
