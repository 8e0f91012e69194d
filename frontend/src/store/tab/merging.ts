import type { Workflow } from '../../api/types';
import { fromWorkflow, toWorkflow, type FlowEdge, type FlowNode, type Graph } from '../graph';
import { conflictLabel, jsonEqual, mergeWorkflows, resolveConflict, type MergeConflict } from '../merge';
import type { Store } from '../store';
import type { TabDeps, TabState } from './state';

/** What the merging slice needs from the editor. */
export interface MergeHost {
  graph(): Graph;
  /** Puts a merged graph (and name) on the canvas as one undoable change. */
  applyMerged(g: Graph, name: string): void;
  /** A readable name for the `by` of a save ("Firefox, window 2"), never an id. */
  nameOf(by: string | undefined): string;
}

/** The workflow as the canvas would save it: the same normalisation on every side of a merge. */
export function normalized(workflowId: string, wf: Workflow): Workflow {
  const out = toWorkflow(workflowId, wf.name ?? '', fromWorkflow(wf));
  // Fields the canvas does not model (inputs, description, ...) ride along untouched.
  for (const [k, v] of Object.entries(wf)) if (!(k in out) && k !== 'version' && v !== undefined) (out as unknown as Record<string, unknown>)[k] = v;
  if (wf.version !== undefined) out.version = wf.version;
  return out;
}

/**
 * Co-editing: the open workflow's base version (the saved version the
 * canvas's edits started from) and the three-way merge of a version saved
 * elsewhere into the canvas (src/store/merge.ts). Disjoint edits merge
 * silently (a toast names who saved); items changed on both sides become
 * per-item conflicts in the tab's `conflict.items`, resolved one by one.
 */
export class Merging {
  /** The saved version the canvas's edits started from; null when unknown (never saved, an old draft). */
  base: Workflow | null = null;
  /** The `by` and version of the last workflow.updated seen, to name who saved on a 409. */
  lastBy: { by: string; version: number } | null = null;

  constructor(
    private tab: Store<TabState>,
    private deps: TabDeps,
    private host: MergeHost,
  ) {}

  setBase(wf: Workflow | null): void {
    const id = this.tab.get().workflowId;
    this.base = wf && (wf.version ?? 0) > 0 ? normalized(id, wf) : null;
  }

  private mine(): Workflow {
    const s = this.tab.get();
    return toWorkflow(s.workflowId, s.name, this.host.graph());
  }

  /**
   * Merges `theirs` (a newer saved version) into the canvas. Returns
   * 'merged' when nothing conflicts (the canvas now holds both sides' edits
   * and the new base version), 'conflicts' when some items need a choice,
   * 'unknown' when there is no base to merge against (the caller falls back
   * to the whole-workflow banner).
   */
  integrate(theirsRaw: Workflow, by?: string): 'merged' | 'conflicts' | 'unknown' {
    const s = this.tab.get();
    if (!this.base) return 'unknown';
    const theirs = normalized(s.workflowId, theirsRaw);
    const version = theirs.version ?? 0;
    const who = this.host.nameOf(by ?? (this.lastBy?.version === version ? this.lastBy.by : undefined));
    const r = mergeWorkflows(this.base, this.mine(), theirs);
    // Conflicts still open from an earlier merge stay open (mine is still on the canvas).
    const items: MergeConflict[] = [...r.conflicts];
    for (const old of s.conflict?.items ?? []) if (!items.some((c) => c.key === old.key)) items.push(old);
    this.base = theirs;
    this.apply(r.workflow);
    const same = this.matchesBase();
    this.tab.set({
      version,
      dirty: !same || items.length > 0,
      conflict: items.length ? { version, workflow: theirsRaw, by: who, items } : null,
    });
    const renamed = r.renamed.map((x) => `“${x.from}” is now “${x.to}”`).join(', ');
    const note = renamed ? ` They added a node under the same id as a new one of yours: yours ${renamed}.` : '';
    if (!items.length && (r.taken > 0 || renamed)) {
      this.deps.toasts.push({ level: 'info', title: `Merged changes from ${who}`, message: `“${s.name}” now has their edits and yours (v${version}).${note}` });
    } else if (renamed) {
      this.deps.toasts.push({ level: 'info', title: 'Node renamed', message: note.trim() });
    }
    return items.length ? 'conflicts' : 'merged';
  }

  /** Picks one side for one conflicting item. */
  resolve(key: string, side: 'mine' | 'theirs'): void {
    const c = this.tab.get().conflict;
    const item = c?.items?.find((x) => x.key === key);
    if (!c || !item || !c.workflow) return;
    if (side === 'theirs') this.apply(resolveConflict(this.mine(), normalized(this.tab.get().workflowId, c.workflow), item, 'theirs'));
    const rest = c.items!.filter((x) => x.key !== key);
    this.tab.set({ conflict: rest.length ? { ...c, items: rest } : null, dirty: !this.matchesBase() });
  }

  /** Picks one side for every open conflict. */
  resolveAll(side: 'mine' | 'theirs'): void {
    for (const item of this.tab.get().conflict?.items ?? []) this.resolve(item.key, side);
  }

  /** What Save says while conflicts are open, or null. */
  blocking(): string | null {
    const items = this.tab.get().conflict?.items;
    if (!items?.length) return null;
    const first = conflictLabel(items[0]);
    return items.length === 1
      ? `${first} was changed here and elsewhere: keep yours or take theirs first.`
      : `${items.length} items were changed here and elsewhere (${first}, …): keep yours or take theirs for each first.`;
  }

  private matchesBase(): boolean {
    if (!this.base) return false;
    const { version: _v, ...base } = this.base;
    return jsonEqual(base, this.mine());
  }

  /** Puts a merged workflow on the canvas, keeping what the canvas knows of unchanged nodes (selection, size). */
  private apply(wf: Workflow): void {
    const s = this.tab.get();
    const g = fromWorkflow(wf);
    const oldNodes = new Map(s.nodes.map((n) => [n.id, n]));
    const nodes: FlowNode[] = g.nodes.map((n) => {
      const o = oldNodes.get(n.id);
      if (!o) return n;
      const samePos = o.position.x === n.position.x && o.position.y === n.position.y;
      const sameData = jsonEqual(o.data, n.data);
      if (samePos && sameData) return o;
      return { ...o, position: samePos ? o.position : n.position, data: sameData ? o.data : n.data };
    });
    const oldEdges = new Map(s.edges.map((e) => [e.id, e]));
    const edges: FlowEdge[] = g.edges.map((e) => oldEdges.get(e.id) ?? e);
    this.host.applyMerged({ nodes, edges, triggers: g.triggers ?? [], inputs: g.inputs }, wf.name || s.name);
  }
}
