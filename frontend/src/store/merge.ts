import type { Trigger, Workflow, WorkflowEdge, WorkflowNode } from '../api/types';

/**
 * Three-way merge of workflows by id, for two windows editing one workflow.
 *
 * `base` is the saved version both sides started from, `mine` the edits of
 * this window, `theirs` the version saved elsewhere meanwhile. Changes are
 * compared per item: per node id, per connection (source → target), per
 * trigger id and per workflow-level field (name, inputs, ...).
 *
 * - An item changed on one side only takes that side's version (added,
 *   edited, removed).
 * - The same change on both sides is no conflict.
 * - A node id added on both sides for different nodes (both windows dropped
 *   a "shell" node and got "shell_2") keeps both: this window's node gets
 *   the next free id ("shell_3"), its edges follow (`renamed`).
 * - A node's position merges apart from its content (tool, label, params,
 *   retry, timeout): a move on one side and a param edit on the other both
 *   stay; moved on both sides, this window's position wins (no conflict for
 *   a drag). A node removed on one side and only moved on the other is removed.
 * - Anything else changed on both sides in different ways is a conflict:
 *   the content of one node (edited on both sides, or removed on one side
 *   while edited or newly connected on the other), the edges between one
 *   pair of nodes, one trigger, one workflow field. The merged workflow
 *   holds this window's version of every conflicting item until the user
 *   picks one (`resolve`).
 *
 * Values are compared deep (key order does not matter). Pure: no state, no I/O.
 */

export type ConflictKind = 'node' | 'edges' | 'trigger' | 'field';

export interface MergeConflict {
  /** Unique per item: `node:<id>`, `edges:<source>-><target>`, `trigger:<id>`, `field:<name>`. */
  key: string;
  kind: ConflictKind;
  /** The node id, the pair "source->target", the trigger id or the field name. */
  id: string;
  /** both: changed on both sides differently; deletedMine / deletedTheirs: removed on that side, changed on the other. */
  reason: 'both' | 'deletedMine' | 'deletedTheirs';
}

export interface MergeResult {
  /** The merged workflow (this window's version for every conflict). `version` is theirs. */
  workflow: Workflow;
  conflicts: MergeConflict[];
  /** How many items the merge took from theirs (0: theirs changed nothing that was not already here). */
  taken: number;
  /** This window's nodes renamed because theirs added another node under the same id. */
  renamed: { from: string; to: string }[];
}

/** Deep equality of JSON values; object key order does not count, undefined members equal missing ones. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (a === null || b === null || typeof a !== 'object' || typeof b !== 'object') return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    return a.length === bb.length && a.every((x, i) => jsonEqual(x, bb[i]));
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) if (!jsonEqual(ao[k], bo[k])) return false;
  return true;
}

/** The part of a node that is its meaning, not where it is drawn. */
function content(n: WorkflowNode | undefined): unknown {
  if (!n) return undefined;
  const { position: _p, ...rest } = n;
  return { ...rest, params: rest.params ?? {} };
}

const pairOf = (e: WorkflowEdge) => `${e.source}->${e.target}`;
const edgeKey = (e: WorkflowEdge) => `${e.source}->${e.target}:${e.on && e.on !== 'success' ? e.on : ''}`;

/** The edges of one pair as a comparable, order-free list of conditions. */
function pairSets(edges: WorkflowEdge[]): Map<string, WorkflowEdge[]> {
  const m = new Map<string, WorkflowEdge[]>();
  for (const e of edges) {
    const k = pairOf(e);
    const list = m.get(k) ?? [];
    if (!list.some((x) => edgeKey(x) === edgeKey(e))) list.push(e);
    m.set(k, list);
  }
  return m;
}

function sameEdges(a: WorkflowEdge[] | undefined, b: WorkflowEdge[] | undefined): boolean {
  const ka = (a ?? []).map(edgeKey).sort();
  const kb = (b ?? []).map(edgeKey).sort();
  return ka.length === kb.length && ka.every((k, i) => k === kb[i]);
}

const byId = <T extends { id: string }>(xs: T[] | undefined) => new Map((xs ?? []).map((x) => [x.id, x]));

/** Ids in a stable order: mine's order first, then what only theirs (or only base) has. */
function orderedIds(...lists: (string[] | undefined)[]): string[] {
  const out: string[] = [];
  const seen = new Set<string>();
  for (const l of lists)
    for (const id of l ?? []) {
      if (seen.has(id)) continue;
      out.push(id);
      seen.add(id);
    }
  return out;
}

/** The three-way pick for one value: the changed side, or null when both changed it differently. */
function pick3<T>(b: T, m: T, t: T, eq: (x: T, y: T) => boolean): { value: T; fromTheirs: boolean } | null {
  if (eq(m, t)) return { value: m, fromTheirs: false };
  if (eq(b, m)) return { value: t, fromTheirs: true };
  if (eq(b, t)) return { value: m, fromTheirs: false };
  return null;
}

const SKIP_FIELDS = new Set(['id', 'version', 'nodes', 'edges', 'triggers']);

/** "shell_2" taken: "shell_3" (the next free number after the id's own). */
function freeId(id: string, taken: Set<string>): string {
  const m = /^(.*?)(?:_(\d+))?$/.exec(id)!;
  const stem = m[1] || id;
  for (let i = Math.max(2, Number(m[2] ?? 1) + 1); ; i++) {
    const next = `${stem}_${i}`.slice(-64);
    if (!taken.has(next)) return next;
  }
}

/** Renames this window's nodes whose id theirs also added, for a different node. */
function renameClashes(base: Workflow, mine: Workflow, theirs: Workflow): { mine: Workflow; renamed: { from: string; to: string }[] } {
  const inBase = new Set((base.nodes ?? []).map((n) => n.id));
  const theirsById = byId(theirs.nodes);
  const taken = new Set([...(mine.nodes ?? []), ...(theirs.nodes ?? []), ...(base.nodes ?? [])].map((n) => n.id));
  const renamed: { from: string; to: string }[] = [];
  for (const n of mine.nodes ?? []) {
    const t = theirsById.get(n.id);
    if (inBase.has(n.id) || !t || jsonEqual(content(n), content(t))) continue;
    const to = freeId(n.id, taken);
    taken.add(to);
    renamed.push({ from: n.id, to });
  }
  if (!renamed.length) return { mine, renamed };
  const map = new Map(renamed.map((r) => [r.from, r.to]));
  const re = (id: string) => map.get(id) ?? id;
  return {
    renamed,
    mine: {
      ...mine,
      nodes: (mine.nodes ?? []).map((n) => (map.has(n.id) ? { ...n, id: re(n.id) } : n)),
      edges: (mine.edges ?? []).map((e) => (map.has(e.source) || map.has(e.target) ? { ...e, source: re(e.source), target: re(e.target) } : e)),
    },
  };
}

/** Merges mine and theirs against base (see the module comment). */
export function mergeWorkflows(base: Workflow, mineIn: Workflow, theirs: Workflow): MergeResult {
  const conflicts: MergeConflict[] = [];
  let taken = 0;
  const { mine, renamed } = renameClashes(base, mineIn, theirs);

  // --- nodes ---
  const bN = byId(base.nodes);
  const mN = byId(mine.nodes);
  const tN = byId(theirs.nodes);
  const bE = pairSets(base.edges ?? []);
  const mE = pairSets(mine.edges ?? []);
  const tE = pairSets(theirs.edges ?? []);
  /** Did a side change the edges touching node id (added, removed, re-conditioned)? */
  const edgesTouched = (side: Map<string, WorkflowEdge[]>, id: string) => {
    for (const k of new Set([...bE.keys(), ...side.keys()])) {
      const [s, t] = k.split('->');
      if ((s === id || t === id) && !sameEdges(bE.get(k), side.get(k))) return true;
    }
    return false;
  };
  const nodes: WorkflowNode[] = [];
  /** Nodes whose conflict is removed-vs-edited: their edges follow mine (the side the canvas shows). */
  const deleteConflicts = new Set<string>();
  const ids = orderedIds(
    (mine.nodes ?? []).map((n) => n.id),
    (theirs.nodes ?? []).map((n) => n.id),
  );
  for (const id of ids) {
    const b = bN.get(id);
    const m = mN.get(id);
    const t = tN.get(id);
    if (m && t) {
      const c = pick3(content(b ?? m), content(m), content(t), jsonEqual);
      // Added on both sides with different content has no base: content(b ?? m) makes it "theirs changed", so check.
      const addedBoth = !b && !jsonEqual(content(m), content(t));
      const pos = pick3(b?.position, m.position, t.position, jsonEqual) ?? { value: m.position, fromTheirs: false };
      if (!c || addedBoth) {
        conflicts.push({ key: `node:${id}`, kind: 'node', id, reason: 'both' });
        nodes.push(m);
        continue;
      }
      const from = c.fromTheirs ? t : m;
      const node: WorkflowNode = { ...from, position: pos.value };
      if (node.position === undefined) delete node.position;
      if (c.fromTheirs || pos.fromTheirs) taken++;
      nodes.push(node);
    } else if (m && !t) {
      if (!b) {
        nodes.push(m); // added here
      } else if (jsonEqual(content(b), content(m)) && !edgesTouched(mE, id)) {
        taken++; // removed there, at most moved here: removed
      } else {
        conflicts.push({ key: `node:${id}`, kind: 'node', id, reason: 'deletedTheirs' });
        deleteConflicts.add(id);
        nodes.push(m);
      }
    } else if (t && !m) {
      if (!b) {
        nodes.push(t); // added there
        taken++;
      } else if (jsonEqual(content(b), content(t)) && !edgesTouched(tE, id)) {
        // removed here, at most moved there: stays removed
      } else {
        conflicts.push({ key: `node:${id}`, kind: 'node', id, reason: 'deletedMine' });
        deleteConflicts.add(id);
      }
    }
    // neither: removed on both sides
  }

  // --- edges, per pair of nodes ---
  const present = new Set(nodes.map((n) => n.id));
  const edges: WorkflowEdge[] = [];
  const pairs = orderedIds([...mE.keys()], [...tE.keys()], [...bE.keys()]);
  for (const k of pairs) {
    const [s, t] = k.split('->');
    if (!present.has(s) || !present.has(t)) continue;
    const b = bE.get(k);
    const m = mE.get(k);
    const th = tE.get(k);
    if (deleteConflicts.has(s) || deleteConflicts.has(t)) {
      edges.push(...(m ?? [])); // decided with the node's conflict
      continue;
    }
    const r = pick3(b, m, th, sameEdges);
    if (!r) {
      conflicts.push({ key: `edges:${k}`, kind: 'edges', id: k, reason: 'both' });
      edges.push(...(m ?? []));
      continue;
    }
    if (r.fromTheirs) taken++;
    edges.push(...(r.value ?? []));
  }

  // --- triggers ---
  const bT = byId(base.triggers);
  const mT = byId(mine.triggers);
  const tT = byId(theirs.triggers);
  const triggers: Trigger[] = [];
  for (const id of orderedIds(
    (mine.triggers ?? []).map((x) => x.id),
    (theirs.triggers ?? []).map((x) => x.id),
  )) {
    const b = bT.get(id);
    const m = mT.get(id);
    const t = tT.get(id);
    const r = b ? pick3(b, m, t, jsonEqual) : m && t && !jsonEqual(m, t) ? null : { value: m ?? t, fromTheirs: !m };
    if (!r) {
      conflicts.push({ key: `trigger:${id}`, kind: 'trigger', id, reason: !m ? 'deletedMine' : !t ? 'deletedTheirs' : 'both' });
      if (m) triggers.push(m);
      continue;
    }
    if (r.fromTheirs) taken++;
    if (r.value) triggers.push(r.value);
  }

  // --- workflow-level fields (name, inputs, and whatever the format grows) ---
  const out: Record<string, unknown> = {};
  const fields = orderedIds(Object.keys(mine), Object.keys(theirs), Object.keys(base)).filter((f) => !SKIP_FIELDS.has(f));
  const bf = base as unknown as Record<string, unknown>;
  const mf = mine as unknown as Record<string, unknown>;
  const tf = theirs as unknown as Record<string, unknown>;
  for (const f of fields) {
    const r = pick3(bf[f], mf[f], tf[f], jsonEqual);
    if (!r) {
      conflicts.push({ key: `field:${f}`, kind: 'field', id: f, reason: 'both' });
      if (mf[f] !== undefined) out[f] = mf[f];
      continue;
    }
    if (r.fromTheirs) taken++;
    if (r.value !== undefined) out[f] = r.value;
  }

  const workflow = { ...out, nodes, edges } as unknown as Workflow;
  if (mine.id ?? theirs.id) workflow.id = mine.id ?? theirs.id;
  if (theirs.version !== undefined) workflow.version = theirs.version;
  if (triggers.length || mine.triggers || theirs.triggers) workflow.triggers = triggers;
  if (!workflow.name) workflow.name = mine.name ?? theirs.name ?? '';
  return { workflow, conflicts, taken, renamed };
}

/**
 * Applies one side's version of a conflicting item to the merged workflow
 * `current` (the canvas, which holds mine). `theirs` is the version saved
 * elsewhere. Taking theirs for a node brings its content and position, or
 * removes it (and its edges) when theirs removed it; a node theirs has but
 * mine removed comes back with theirs' edges. Keeping mine changes nothing.
 */
export function resolveConflict(current: Workflow, theirs: Workflow, c: MergeConflict, side: 'mine' | 'theirs'): Workflow {
  if (side === 'mine') return current;
  const wf: Workflow = { ...current, nodes: [...(current.nodes ?? [])], edges: [...(current.edges ?? [])] };
  switch (c.kind) {
    case 'node': {
      const t = (theirs.nodes ?? []).find((n) => n.id === c.id);
      const i = wf.nodes.findIndex((n) => n.id === c.id);
      if (!t) {
        wf.nodes = wf.nodes.filter((n) => n.id !== c.id);
        wf.edges = wf.edges.filter((e) => e.source !== c.id && e.target !== c.id);
        return wf;
      }
      if (i >= 0) wf.nodes[i] = t;
      else wf.nodes.push(t);
      if (c.reason !== 'both') {
        // A node back from (or kept against) a removal: its connections are theirs.
        const ids = new Set(wf.nodes.map((n) => n.id));
        const touches = (e: WorkflowEdge) => e.source === c.id || e.target === c.id;
        wf.edges = [...wf.edges.filter((e) => !touches(e)), ...(theirs.edges ?? []).filter((e) => touches(e) && ids.has(e.source) && ids.has(e.target))];
      }
      return wf;
    }
    case 'edges': {
      const ids = new Set(wf.nodes.map((n) => n.id));
      wf.edges = [
        ...wf.edges.filter((e) => pairOf(e) !== c.id),
        ...(theirs.edges ?? []).filter((e) => pairOf(e) === c.id && ids.has(e.source) && ids.has(e.target)),
      ];
      return wf;
    }
    case 'trigger': {
      const t = (theirs.triggers ?? []).find((x) => x.id === c.id);
      const rest = (wf.triggers ?? []).filter((x) => x.id !== c.id);
      const i = (wf.triggers ?? []).findIndex((x) => x.id === c.id);
      if (!t) wf.triggers = rest;
      else if (i >= 0) wf.triggers = (wf.triggers ?? []).map((x) => (x.id === c.id ? t : x));
      else wf.triggers = [...rest, t];
      return wf;
    }
    case 'field': {
      const out = { ...wf } as unknown as Record<string, unknown>;
      const v = (theirs as unknown as Record<string, unknown>)[c.id];
      if (v === undefined) delete out[c.id];
      else out[c.id] = v;
      return out as unknown as Workflow;
    }
  }
}

/** A short human label of a conflict: "node “fetch”", "the edges fetch → parse", "the name". */
export function conflictLabel(c: MergeConflict): string {
  switch (c.kind) {
    case 'node':
      return `node “${c.id}”`;
    case 'edges':
      return `the connection ${c.id.replace('->', ' → ')}`;
    case 'trigger':
      return `trigger “${c.id}”`;
    case 'field':
      return c.id === 'name' ? 'the workflow name' : `the workflow’s ${c.id}`;
  }
}
