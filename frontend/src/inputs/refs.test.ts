import { describe, expect, it } from 'vitest';
import type { FlowNode } from '../store/graph';
import type { InputDecl } from './model';
import { applyCompletion, completionAt, completionItems, inputRefs, undeclaredInputRefs } from './refs';

const decls: InputDecl[] = [
  { name: 'who', type: 'string', required: true, description: 'whom to greet' },
  { name: 'times', type: 'integer', required: false },
  { name: 'whole', type: 'boolean', required: false },
];

const node = (id: string, tool: string, params: Record<string, unknown>): FlowNode => ({ id, type: 'tool', position: { x: 0, y: 0 }, data: { tool, params } });

describe('{{ inputs.x }} references', () => {
  it('are read inside braces only, and whole expressions for expression params', () => {
    expect(inputRefs('hi {{ inputs.who }} {{ inputs.times * 2 + inputs.who.length }} inputs.nope {{ nodes.a.inputs.no }}')).toEqual(['who', 'times']);
    expect(inputRefs('inputs.branch == "main"', true)).toEqual(['branch']);
  });

  it('are problems when the workflow declares inputs but not that one', () => {
    const nodes = [
      node('a', 'log', { message: 'hi {{ inputs.who }} {{ inputs.whom }}', nested: { list: ['{{ inputs.whom }}'] } }),
      node('b', 'if', { condition: 'inputs.flag && inputs.who != ""' }),
      node('c', 'log', { message: '{{ inputs.trigger.body }} {{ inputs.item }} {{ inputs.index }}' }),
    ];
    const got = undeclaredInputRefs(nodes, decls);
    expect(got.map((p) => [p.node, p.param, p.name])).toEqual([
      ['a', 'message', 'whom'],
      ['a', 'nested', 'whom'],
      ['b', 'condition', 'flag'],
    ]);
    expect(got[0].message).toBe('{{ inputs.whom }} in message: “whom” is not a declared input (declared: who, times, whole)');
    // Nothing declared: the workflow takes any inputs.
    expect(undeclaredInputRefs(nodes, [])).toEqual([]);
  });
});

describe('completion of {{ inputs.', () => {
  it('applies after inputs. inside open braces', () => {
    expect(completionAt('echo {{ inputs.', 15)).toEqual({ from: 15, partial: '' });
    expect(completionAt('echo {{ inputs.wh', 17)).toEqual({ from: 15, partial: 'wh' });
    expect(completionAt('echo {{ inputs.who }} inputs.', 29)).toBeNull(); // braces closed
    expect(completionAt('echo inputs.', 12)).toBeNull();
    expect(completionAt('inputs.', 7, true)).toEqual({ from: 7, partial: '' });
    expect(completionAt('{{ nodes.a.inputs.', 18)).toBeNull();
  });

  it('offers names starting with the partial first, then containing it', () => {
    expect(completionItems(decls, { from: 0, partial: '' }).map((d) => d.name)).toEqual(['who', 'times', 'whole']);
    expect(completionItems(decls, { from: 0, partial: 'WH' }).map((d) => d.name)).toEqual(['who', 'whole']);
    expect(completionItems(decls, { from: 0, partial: 'o' }).map((d) => d.name)).toEqual(['who', 'whole']);
    expect(completionItems(decls, { from: 0, partial: 'zz' })).toEqual([]);
  });

  it('inserts the name, closing the braces unless they are already closed', () => {
    const t = 'echo {{ inputs.w';
    expect(applyCompletion(t, t.length, completionAt(t, t.length)!, 'who')).toEqual({ text: 'echo {{ inputs.who }}', caret: 21 });
    const u = 'echo {{ inputs.wh }} done';
    expect(applyCompletion(u, 16, completionAt(u, 16)!, 'whole')).toEqual({ text: 'echo {{ inputs.whole }} done', caret: 20 });
    expect(applyCompletion('inputs.', 7, { from: 7, partial: '' }, 'who', true)).toEqual({ text: 'inputs.who', caret: 10 });
  });
});
