import { applyEdgeChanges, applyNodeChanges, type Connection as EdgeConnection, type EdgeChange, type NodeChange } from '@xyflow/react';
import type { JSONSchema, Trigger, TriggerType } from '../../api/types';
import { newTrigger } from '../../triggers/model';
import { defaultParams } from '../../canvas/schema';
import {
  copySelection,
  createsCycle,
  branchesOf,
  edgeId,
  edgeOn,
  makeEdge,
  Graph,
  History,
  newNodeId,
  pasteInto,
  type FlowEdge,
  type FlowNode,
  type ToolNodeData,
} from '../graph';
import type { Store } from '../store';
import { freeSpot, placeGroup } from '../placement';
import type { TabDeps, TabState } from './state';

/**
 * The edits of the open workflow on the canvas: its nodes, edges, triggers
 * and run inputs, each recorded for undo/redo and marking the workflow
 * unsaved (selecting is not an edit), and copy/paste. Editor (editor.ts)
 * extends it with opening, drafts and saving; opening a workflow starts a
 * new undo history.
 */
export class GraphEdits {
  protected undo = new History();
  private clipboard: Graph | null = null;

  constructor(
    protected tab: Store<TabState>,
    protected deps: TabDeps,
  ) {}

  setName(name: string): void {
    this.tab.set({ name, dirty: true });
  }

  graph(): Graph {
    const s = this.tab.get();
    return { nodes: s.nodes, edges: s.edges, triggers: s.triggers, inputs: s.inputs };
  }

  /** Records the current graph for undo, then applies a change. */
  private change(next: Partial<Graph>, coalesceKey = ''): void {
    this.undo.record(this.graph(), coalesceKey);
    this.tab.set({ ...next, dirty: true, canUndo: this.undo.canUndo, canRedo: this.undo.canRedo });
  }

  onNodesChange = (changes: NodeChange<FlowNode>[]): void => {
    const structural = changes.some((c) => c.type === 'remove' || c.type === 'add');
    const moved = changes.some((c) => c.type === 'position' && c.dragging === false);
    const nodes = applyNodeChanges(changes, this.tab.get().nodes);
    if (structural) {
      const ids = new Set(nodes.map((n) => n.id));
      this.change({ nodes, edges: this.tab.get().edges.filter((e) => ids.has(e.source) && ids.has(e.target)) });
    } else {
      // Selection and dimension changes are not edits; a finished drag is (recorded at drag start).
      this.tab.set(moved ? { nodes, dirty: true } : { nodes });
    }
  };

  /** Called by the canvas when a drag starts, so the move can be undone. */
  beginDrag = (): void => {
    this.undo.record(this.graph());
    this.tab.set({ canUndo: this.undo.canUndo, canRedo: false });
  };

  onEdgesChange = (changes: EdgeChange<FlowEdge>[]): void => {
    const edges = applyEdgeChanges(changes, this.tab.get().edges);
    if (changes.some((c) => c.type === 'remove')) this.change({ edges });
    else this.tab.set({ edges });
  };

  /**
   * Adds an edge unless it exists or would close a cycle. From a branch
   * handle of an if/switch node the edge carries that branch as its "on".
   */
  connect = (c: EdgeConnection): boolean => {
    if (!c.source || !c.target) return false;
    const s = this.tab.get();
    const edges = s.edges;
    const src = s.nodes.find((n) => n.id === c.source);
    const branching = !!src && !!branchesOf(src.data.tool, src.data.params);
    const on = branching && c.sourceHandle ? c.sourceHandle : undefined;
    const edge = makeEdge(c.source, c.target, on, branching);
    if (edges.some((e) => e.id === edge.id)) return false;
    if (createsCycle(edges, c.source, c.target)) {
      this.deps.toasts.push({ level: 'warning', title: 'Not connected', message: 'That edge would create a cycle; workflows must be acyclic.' });
      return false;
    }
    this.change({ edges: [...edges, edge] });
    return true;
  };

  /** Sets when a (non-branch) edge's target runs: after success, failure, or always. */
  setEdgeOn(id: string, on: 'success' | 'failure' | 'always'): void {
    const edges = this.tab.get().edges;
    const e = edges.find((x) => x.id === id);
    if (!e || (edgeOn(e) ?? 'success') === on) return;
    const next = makeEdge(e.source, e.target, on, false);
    if (edges.some((x) => x.id === next.id)) return;
    this.change({ edges: edges.map((x) => (x.id === id ? next : x)) });
  }

  addNode(toolName: string, position: { x: number; y: number }): string {
    const s = this.tab.get();
    const tool = s.tools.find((t) => t.name === toolName);
    const id = newNodeId(toolName, s.nodes.map((n) => n.id));
    const node: FlowNode = {
      id,
      type: 'tool',
      position: freeSpot(s.nodes, position),
      selected: true,
      data: { tool: toolName, params: defaultParams(tool?.inputSchema) },
    };
    this.change({ nodes: [...s.nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node] });
    return id;
  }

  updateNodeData(nodeId: string, patch: Partial<ToolNodeData>, coalesceKey = ''): void {
    this.change(
      {
        nodes: this.tab.get().nodes.map((n) => (n.id === nodeId ? { ...n, data: { ...n.data, ...patch } } : n)),
      },
      coalesceKey ? `${nodeId}:${coalesceKey}` : '',
    );
    // A fixed field clears its problem, and the error an earlier run left on the node is stale now.
    if (this.tab.get().problems.some((p) => p.node === nodeId)) {
      this.tab.set({ problems: this.tab.get().problems.filter((p) => p.node !== nodeId) });
    }
    const st = this.tab.get().nodeStates[nodeId];
    if (st?.error && 'params' in patch) {
      this.tab.set({ nodeStates: { ...this.tab.get().nodeStates, [nodeId]: { ...st, error: undefined } } });
    }
  }

  setParam(nodeId: string, key: string, value: unknown): void {
    const n = this.tab.get().nodes.find((x) => x.id === nodeId);
    if (!n) return;
    const params = { ...n.data.params };
    if (value === undefined) delete params[key];
    else params[key] = value;
    this.updateNodeData(nodeId, { params }, key);
  }

  /** Renames a node id, keeping its edges. Returns an error message or null. */
  renameNode(oldId: string, newId: string): string | null {
    if (oldId === newId) return null;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(newId)) return 'letters, digits, _ and -, at most 64';
    if (this.tab.get().nodes.some((n) => n.id === newId)) return 'another node has this id';
    const r = (id: string) => (id === oldId ? newId : id);
    this.change({
      nodes: this.tab.get().nodes.map((n) => (n.id === oldId ? { ...n, id: newId } : n)),
      edges: this.tab.get().edges.map((e) => ({ ...e, id: edgeId(r(e.source), r(e.target), edgeOn(e)), source: r(e.source), target: r(e.target) })),
    });
    return null;
  }

  deleteSelection(): void {
    const s = this.tab.get();
    // A trigger shown in the inspector is the selection (nodes were deselected when it was picked).
    if (s.selectedTrigger && !s.nodes.some((n) => n.selected)) {
      this.removeTrigger(s.selectedTrigger);
      return;
    }
    const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
    const edges = s.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
    if (!gone.size && edges.length === s.edges.length) return;
    this.change({ nodes: s.nodes.filter((n) => !gone.has(n.id)), edges });
  }

  copy(): boolean {
    const clip = copySelection(this.graph());
    if (clip) this.clipboard = clip;
    return !!clip;
  }

  paste(): void {
    if (!this.clipboard) return;
    const before = this.graph();
    const next = pasteInto(before, this.clipboard);
    const added = next.nodes.slice(before.nodes.length);
    this.change({ ...next, nodes: [...next.nodes.slice(0, before.nodes.length), ...placeGroup(before.nodes, added)] });
  }

  undoChange(): void {
    const g = this.undo.undo(this.graph());
    if (g) this.tab.set({ ...g, dirty: true, canUndo: this.undo.canUndo, canRedo: this.undo.canRedo });
  }

  redoChange(): void {
    const g = this.undo.redo(this.graph());
    if (g) this.tab.set({ ...g, dirty: true, canUndo: this.undo.canUndo, canRedo: this.undo.canRedo });
  }

  // --- triggers (drawn at the canvas's left edge, edited in their own inspector) ---

  addTrigger(type: TriggerType): string {
    const t = newTrigger(type, this.tab.get().triggers.map((x) => x.id));
    this.change({ triggers: [...this.tab.get().triggers, t] });
    this.selectTrigger(t.id);
    return t.id;
  }

  updateTrigger(id: string, patch: Partial<Trigger>, coalesceKey = ''): void {
    const triggers = this.tab.get().triggers.map((t) => {
      if (t.id !== id) return t;
      const next: Trigger = { ...t, ...patch };
      for (const k of Object.keys(next) as (keyof Trigger)[]) if (next[k] === undefined || next[k] === '') delete next[k];
      return next;
    });
    this.change({ triggers }, coalesceKey ? `trigger:${id}:${coalesceKey}` : '');
    const s = this.tab.get();
    if (s.problems.some((p) => p.field.startsWith('triggers['))) this.tab.set({ problems: s.problems.filter((p) => !p.field.startsWith('triggers[')) });
  }

  /** Replaces the declared run inputs (undefined: none); a fixed declaration clears its problems. */
  setInputs(inputs: JSONSchema | undefined, coalesceKey = ''): void {
    this.change({ inputs }, coalesceKey ? `inputs:${coalesceKey}` : '');
    const s = this.tab.get();
    if (s.problems.some((p) => p.field.startsWith('inputs'))) this.tab.set({ problems: s.problems.filter((p) => !p.field.startsWith('inputs')), banner: null });
  }

  removeTrigger(id: string): void {
    this.change({ triggers: this.tab.get().triggers.filter((t) => t.id !== id) });
    if (this.tab.get().selectedTrigger === id) this.tab.set({ selectedTrigger: null });
  }

  /** Shows a trigger in the inspector (and deselects the nodes), or none. */
  selectTrigger(id: string | null): void {
    if (id !== null) this.selectOnly(null);
    this.tab.set({ selectedTrigger: id });
  }

  selectOnly(nodeId: string | null): void {
    this.tab.set({
      nodes: this.tab.get().nodes.map((n) => (n.selected === (n.id === nodeId) ? n : { ...n, selected: n.id === nodeId })),
    });
  }
}
