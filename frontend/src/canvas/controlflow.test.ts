import { describe, expect, it } from 'vitest';
import { referenceOf } from '../components/OutputViewer';
import { branchesOf, copySelection, fromWorkflow, pasteInto, toWorkflow } from '../store/graph';
import { edgeClass } from './edgeStyle';

const wf = {
  name: 'Branches',
  nodes: [
    { id: 'check', tool: 'if', params: { condition: 'inputs.ok' } },
    { id: 'kind', tool: 'switch', params: { value: 'inputs.bump', cases: ['patch', 'minor'] } },
    { id: 'build', tool: 'shell', params: { command: 'make' } },
    { id: 'notify', tool: 'log', params: { message: 'x' } },
  ],
  edges: [
    { source: 'check', target: 'kind', on: 'true' },
    { source: 'check', target: 'build', on: 'false' },
    { source: 'kind', target: 'build', on: 'minor' },
    { source: 'build', target: 'notify', on: 'failure' },
    { source: 'kind', target: 'notify' },
  ],
};

describe('control flow on the canvas', () => {
  it('keeps edge conditions through the canvas and back', () => {
    const g = fromWorkflow(wf);
    expect(g.edges.find((e) => e.target === 'kind')?.sourceHandle).toBe('true');
    // A failure edge leaves the node's one handle; its condition is data.
    const fail = g.edges.find((e) => e.target === 'notify' && e.source === 'build')!;
    expect(fail.sourceHandle).toBeUndefined();
    expect(fail.id).toBe('build->notify:failure');
    expect(toWorkflow('b', 'Branches', g).edges).toEqual(wf.edges);
  });

  it('pasting keeps conditions and branch handles', () => {
    const g = fromWorkflow(wf);
    g.nodes = g.nodes.map((n) => ({ ...n, selected: n.id === 'check' || n.id === 'kind' }));
    const out = pasteInto(g, copySelection(g)!);
    const pasted = out.edges.find((e) => e.source === 'check_2');
    expect(pasted?.sourceHandle).toBe('true');
    expect(pasted?.id).toBe('check_2->kind_2:true');
  });

  it('lists the branches of if and switch nodes', () => {
    expect(branchesOf('if', {})).toEqual(['true', 'false']);
    expect(branchesOf('switch', { cases: ['a', 'b', 3] })).toEqual(['a', 'b', 'default']);
    expect(branchesOf('shell', {})).toBeNull();
  });

  it('draws what the engine decided', () => {
    const g = fromWorkflow(wf);
    const fail = g.edges.find((e) => e.id === 'build->notify:failure')!;
    expect(edgeClass(fail, {}, {}).className).toBe('edge-on-failure');
    const untaken = edgeClass(g.edges[1], { check: { status: 'succeeded' } }, { 'check->build:false': 'untaken' });
    expect(untaken.className).toContain('edge-untaken');
  });

  it('makes references to output values', () => {
    expect(referenceOf('fetch', ['body', 'items', 0, 'title'])).toBe('{{ nodes.fetch.output.body.items[0].title }}');
    expect(referenceOf('my-node', ['a b'])).toBe('{{ nodes["my-node"].output["a b"] }}');
    expect(referenceOf('x', [])).toBe('{{ nodes.x.output }}');
  });
});
