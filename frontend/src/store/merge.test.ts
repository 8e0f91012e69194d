import { describe, expect, it } from 'vitest';
import type { Workflow, WorkflowEdge, WorkflowNode } from '../api/types';
import { conflictLabel, jsonEqual, mergeWorkflows, resolveConflict } from './merge';

const node = (id: string, params: Record<string, unknown> = {}, position = { x: 0, y: 0 }, extra: Partial<WorkflowNode> = {}): WorkflowNode => ({
  id,
  tool: 'shell',
  params,
  position,
  ...extra,
});
const edge = (source: string, target: string, on?: string): WorkflowEdge => (on ? { source, target, on } : { source, target });
const wf = (nodes: WorkflowNode[], edges: WorkflowEdge[] = [], extra: Partial<Workflow> = {}): Workflow => ({ id: 'w', name: 'W', nodes, edges, ...extra });

const base = wf([node('a', { command: 'echo a' }), node('b', { command: 'echo b' }, { x: 300, y: 0 })], [edge('a', 'b')]);
const ids = (w: Workflow) => w.nodes.map((n) => n.id);
const params = (w: Workflow, id: string) => w.nodes.find((n) => n.id === id)?.params;

describe('jsonEqual', () => {
  it('compares deep, ignores key order and undefined members', () => {
    expect(jsonEqual({ a: 1, b: [1, { c: 2 }] }, { b: [1, { c: 2 }], a: 1 })).toBe(true);
    expect(jsonEqual({ a: 1, b: undefined }, { a: 1 })).toBe(true);
    expect(jsonEqual([1, 2], [2, 1])).toBe(false);
    expect(jsonEqual({ a: [1] }, { a: { 0: 1 } })).toBe(false);
    expect(jsonEqual(null, {})).toBe(false);
    expect(jsonEqual('1', 1)).toBe(false);
  });
});

describe('mergeWorkflows', () => {
  it('keeps both edits when they touch different nodes', () => {
    const mine = wf([node('a', { command: 'echo MINE' }), base.nodes[1]], base.edges);
    const theirs = wf([base.nodes[0], node('b', { command: 'echo THEIRS' }, { x: 300, y: 0 })], base.edges, { version: 7 });
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(params(r.workflow, 'a')).toEqual({ command: 'echo MINE' });
    expect(params(r.workflow, 'b')).toEqual({ command: 'echo THEIRS' });
    expect(r.workflow.version).toBe(7);
    expect(r.taken).toBe(1);
  });

  it('is a conflict when both edit the same node differently, and keeps mine on the canvas', () => {
    const mine = wf([node('a', { command: 'mine' }), base.nodes[1]], base.edges);
    const theirs = wf([node('a', { command: 'theirs' }), base.nodes[1]], base.edges);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([{ key: 'node:a', kind: 'node', id: 'a', reason: 'both' }]);
    expect(params(r.workflow, 'a')).toEqual({ command: 'mine' });
    expect(conflictLabel(r.conflicts[0])).toBe('node “a”');
  });

  it('the same edit on both sides is no conflict (params compared deep, key order aside)', () => {
    const p1 = { command: 'x', env: { A: '1', B: '2' } };
    const p2 = { env: { B: '2', A: '1' }, command: 'x' };
    const mine = wf([node('a', p1), base.nodes[1]], base.edges);
    const theirs = wf([node('a', p2), base.nodes[1]], base.edges);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.taken).toBe(0);
  });

  it('a param edit and a move of the same node both stay', () => {
    const mine = wf([node('a', { command: 'mine' }), base.nodes[1]], base.edges);
    const theirs = wf([node('a', { command: 'echo a' }, { x: 50, y: 60 }), base.nodes[1]], base.edges);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.workflow.nodes[0]).toMatchObject({ params: { command: 'mine' }, position: { x: 50, y: 60 } });
  });

  it('moved on both sides: my position wins without a conflict', () => {
    const mine = wf([node('a', { command: 'echo a' }, { x: 1, y: 1 }), base.nodes[1]], base.edges);
    const theirs = wf([node('a', { command: 'echo a' }, { x: 2, y: 2 }), base.nodes[1]], base.edges);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.workflow.nodes[0].position).toEqual({ x: 1, y: 1 });
  });

  it('a move there is taken when nothing changed here', () => {
    const theirs = wf([base.nodes[0], node('b', { command: 'echo b' }, { x: 999, y: 5 })], base.edges);
    const r = mergeWorkflows(base, base, theirs);
    expect(r.workflow.nodes[1].position).toEqual({ x: 999, y: 5 });
    expect(r.taken).toBe(1);
  });

  it('adds of different ids on both sides keep both, mine first', () => {
    const mine = wf([...base.nodes, node('c')], [...base.edges, edge('b', 'c')]);
    const theirs = wf([...base.nodes, node('d')], [...base.edges, edge('a', 'd')]);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(ids(r.workflow)).toEqual(['a', 'b', 'c', 'd']);
    expect(r.workflow.edges).toEqual([edge('a', 'b'), edge('b', 'c'), edge('a', 'd')]);
  });

  it('the same id added on both sides for different nodes keeps both (mine renamed, its edges follow); equal content is one node', () => {
    const mine = wf([...base.nodes, node('shell_2', { command: '1' })], [...base.edges, edge('b', 'shell_2')]);
    const theirs = wf([...base.nodes, node('shell_2', { command: '2' }), node('shell_3')], base.edges);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.renamed).toEqual([{ from: 'shell_2', to: 'shell_4' }]);
    expect(ids(r.workflow)).toEqual(['a', 'b', 'shell_4', 'shell_2', 'shell_3']);
    expect(params(r.workflow, 'shell_4')).toEqual({ command: '1' });
    expect(params(r.workflow, 'shell_2')).toEqual({ command: '2' });
    expect(r.workflow.edges).toEqual([edge('a', 'b'), edge('b', 'shell_4')]);
    expect(mergeWorkflows(base, wf([...base.nodes, node('c', { command: '1' })]), wf([...base.nodes, node('c', { command: '2' })])).renamed).toEqual([{ from: 'c', to: 'c_2' }]);
    const same = mergeWorkflows(base, wf([...base.nodes, node('c', { command: '1' })], base.edges), wf([...base.nodes, node('c', { command: '1' }, { x: 9, y: 9 })], base.edges));
    expect(same.conflicts).toEqual([]);
    expect(same.renamed).toEqual([]);
    expect(ids(same.workflow)).toEqual(['a', 'b', 'c']);
  });

  it('a node removed there and untouched here is removed, with its edges', () => {
    const theirs = wf([base.nodes[0]], []);
    const r = mergeWorkflows(base, base, theirs);
    expect(r.conflicts).toEqual([]);
    expect(ids(r.workflow)).toEqual(['a']);
    expect(r.workflow.edges).toEqual([]);
  });

  it('a node removed here stays removed when theirs only moved it', () => {
    const mine = wf([base.nodes[0]], []);
    const theirs = wf([base.nodes[0], node('b', { command: 'echo b' }, { x: 1, y: 2 })], base.edges);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(ids(r.workflow)).toEqual(['a']);
  });

  it('a node removed there but edited here is a conflict (deletion vs edit); take theirs removes it and its edges', () => {
    const mine = wf([base.nodes[0], node('b', { command: 'edited' }, { x: 300, y: 0 })], base.edges);
    const theirs = wf([base.nodes[0]], []);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([{ key: 'node:b', kind: 'node', id: 'b', reason: 'deletedTheirs' }]);
    expect(ids(r.workflow)).toEqual(['a', 'b']);
    expect(r.workflow.edges).toEqual([edge('a', 'b')]);
    const t = resolveConflict(r.workflow, theirs, r.conflicts[0], 'theirs');
    expect(ids(t)).toEqual(['a']);
    expect(t.edges).toEqual([]);
    expect(resolveConflict(r.workflow, theirs, r.conflicts[0], 'mine')).toBe(r.workflow);
  });

  it('a node removed here but edited there is a conflict; take theirs brings it back with its edges', () => {
    const mine = wf([base.nodes[0]], []);
    const theirs = wf([base.nodes[0], node('b', { command: 'edited there' }, { x: 300, y: 0 })], [edge('a', 'b', 'always')]);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([{ key: 'node:b', kind: 'node', id: 'b', reason: 'deletedMine' }]);
    expect(ids(r.workflow)).toEqual(['a']);
    const t = resolveConflict(r.workflow, theirs, r.conflicts[0], 'theirs');
    expect(ids(t)).toEqual(['a', 'b']);
    expect(params(t, 'b')).toEqual({ command: 'edited there' });
    expect(t.edges).toEqual([edge('a', 'b', 'always')]);
  });

  it('a node removed there while connected anew here is a conflict', () => {
    const three = wf([...base.nodes, node('c')], base.edges);
    const mine = wf(three.nodes, [...base.edges, edge('c', 'b')]);
    const theirs = wf([base.nodes[0], node('c')], []);
    const r = mergeWorkflows(three, mine, theirs);
    expect(r.conflicts.map((c) => c.key)).toEqual(['node:b']);
    expect(r.workflow.edges).toEqual([edge('a', 'b'), edge('c', 'b')]);
  });

  it('removed on both sides is gone', () => {
    const mine = wf([base.nodes[0]], []);
    const r = mergeWorkflows(base, mine, mine);
    expect(ids(r.workflow)).toEqual(['a']);
    expect(r.conflicts).toEqual([]);
  });

  it('an edge added here and another removed there both apply', () => {
    const three = wf([...base.nodes, node('c')], [edge('a', 'b'), edge('b', 'c')]);
    const mine = wf(three.nodes, [...three.edges, edge('a', 'c')]);
    const theirs = wf(three.nodes, [edge('b', 'c')]);
    const r = mergeWorkflows(three, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.workflow.edges).toEqual([edge('b', 'c'), edge('a', 'c')]);
  });

  it('an edge condition changed on one side is taken; changed differently on both is a conflict on that pair', () => {
    const theirs = wf(base.nodes, [edge('a', 'b', 'failure')]);
    expect(mergeWorkflows(base, base, theirs).workflow.edges).toEqual([edge('a', 'b', 'failure')]);
    const mine = wf(base.nodes, [edge('a', 'b', 'always')]);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([{ key: 'edges:a->b', kind: 'edges', id: 'a->b', reason: 'both' }]);
    expect(r.workflow.edges).toEqual([edge('a', 'b', 'always')]);
    expect(conflictLabel(r.conflicts[0])).toBe('the connection a → b');
    expect(resolveConflict(r.workflow, theirs, r.conflicts[0], 'theirs').edges).toEqual([edge('a', 'b', 'failure')]);
    // "success" written out equals no condition.
    expect(mergeWorkflows(base, wf(base.nodes, [edge('a', 'b', 'success')]), base).conflicts).toEqual([]);
  });

  it('an edge to a node that theirs added is kept', () => {
    const theirs = wf([...base.nodes, node('c')], [...base.edges, edge('b', 'c')]);
    const mine = wf(base.nodes, []);
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(ids(r.workflow)).toEqual(['a', 'b', 'c']);
    expect(r.workflow.edges).toEqual([edge('b', 'c')]);
  });

  it('workflow fields merge: name on one side, inputs on the other; both changed is a field conflict', () => {
    const mine = { ...base, name: 'Renamed' };
    const theirs = { ...base, inputs: { type: 'object' } } as Workflow;
    const r = mergeWorkflows(base, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.workflow.name).toBe('Renamed');
    expect((r.workflow as unknown as { inputs: unknown }).inputs).toEqual({ type: 'object' });
    const c = mergeWorkflows(base, mine, { ...base, name: 'Other' });
    expect(c.conflicts).toEqual([{ key: 'field:name', kind: 'field', id: 'name', reason: 'both' }]);
    expect(c.workflow.name).toBe('Renamed');
    expect(conflictLabel(c.conflicts[0])).toBe('the workflow name');
    expect(resolveConflict(c.workflow, { ...base, name: 'Other' }, c.conflicts[0], 'theirs').name).toBe('Other');
  });

  it('triggers merge by id like nodes', () => {
    const t1 = { id: 't1', type: 'schedule' as const, cron: '0 * * * *' };
    const b = { ...base, triggers: [t1] };
    const mine = { ...base, triggers: [t1, { id: 't2', type: 'webhook' as const }] };
    const theirs = { ...base, triggers: [{ ...t1, cron: '5 * * * *' }] };
    const r = mergeWorkflows(b, mine, theirs);
    expect(r.conflicts).toEqual([]);
    expect(r.workflow.triggers).toEqual([{ ...t1, cron: '5 * * * *' }, { id: 't2', type: 'webhook' }]);
    const both = mergeWorkflows(b, { ...base, triggers: [{ ...t1, enabled: false }] }, theirs);
    expect(both.conflicts).toEqual([{ key: 'trigger:t1', kind: 'trigger', id: 't1', reason: 'both' }]);
    expect(resolveConflict(both.workflow, theirs, both.conflicts[0], 'theirs').triggers).toEqual(theirs.triggers);
    const gone = mergeWorkflows(b, { ...base, triggers: [] }, theirs);
    expect(gone.conflicts).toEqual([{ key: 'trigger:t1', kind: 'trigger', id: 't1', reason: 'deletedMine' }]);
  });

  it('conflicts and clean merges mix: only the touched node is in conflict', () => {
    const b3 = wf([...base.nodes, node('c', { command: 'c' })], base.edges);
    const mine = wf([node('a', { command: 'mine a' }), base.nodes[1], node('c', { command: 'mine c' })], base.edges);
    const theirs = wf([node('a', { command: 'theirs a' }), node('b', { command: 'theirs b' }, { x: 300, y: 0 }), node('c', { command: 'c' })], base.edges);
    const r = mergeWorkflows(b3, mine, theirs);
    expect(r.conflicts.map((c) => c.key)).toEqual(['node:a']);
    expect(params(r.workflow, 'b')).toEqual({ command: 'theirs b' });
    expect(params(r.workflow, 'c')).toEqual({ command: 'mine c' });
    const resolved = resolveConflict(r.workflow, theirs, r.conflicts[0], 'theirs');
    expect(params(resolved, 'a')).toEqual({ command: 'theirs a' });
    expect(params(resolved, 'c')).toEqual({ command: 'mine c' });
  });

  it('nothing changed there: the merge is mine, taken 0', () => {
    const mine = wf([node('a', { command: 'x' }), base.nodes[1]], base.edges);
    const r = mergeWorkflows(base, mine, { ...base, version: 3 });
    expect(r.taken).toBe(0);
    expect(r.workflow).toEqual({ ...mine, version: 3 });
  });

  it('does not change its inputs', () => {
    const mine = wf([node('a', { command: 'mine' })], []);
    const theirs = wf([base.nodes[0], node('b', { command: 'theirs' })], []);
    const copies = JSON.stringify([base, mine, theirs]);
    const r = mergeWorkflows(base, mine, theirs);
    resolveConflict(r.workflow, theirs, { key: 'node:b', kind: 'node', id: 'b', reason: 'deletedMine' }, 'theirs');
    expect(JSON.stringify([base, mine, theirs])).toBe(copies);
  });
});
