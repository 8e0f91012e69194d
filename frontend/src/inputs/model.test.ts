import { describe, expect, it } from 'vitest';
import type { JSONSchema, Workflow } from '../api/types';
import { fromWorkflow, toWorkflow } from '../store/graph';
import { mergeWorkflows } from '../store/merge';
import { declsFromSchema, errorsFromProblems, initialForm, inputsSummary, nameProblem, newInputName, parseForm, renameInSchema, schemaFromDecls, type InputDecl } from './model';

const release: JSONSchema = {
  type: 'object',
  properties: {
    version: { type: 'string', description: 'the version to tag', pattern: '^[0-9.]+$' } as JSONSchema,
    count: { type: 'integer', default: 2, minimum: 1 },
    dryRun: { type: 'boolean', default: true },
    ratio: { type: 'number' },
    tags: { type: 'array', default: ['a'] },
    env: { type: 'object' },
  },
  required: ['version'],
};

describe('the declaration', () => {
  it('reads the schema in declaration order', () => {
    const d = declsFromSchema(release);
    expect(d.map((x) => x.name)).toEqual(['version', 'count', 'dryRun', 'ratio', 'tags', 'env']);
    expect(d[0]).toEqual({ name: 'version', type: 'string', description: 'the version to tag', required: true });
    expect(d[1]).toEqual({ name: 'count', type: 'integer', default: 2, required: false });
    expect(declsFromSchema(undefined)).toEqual([]);
  });

  it('writes it back keeping the keywords it does not edit, and nothing when empty', () => {
    const d = declsFromSchema(release);
    const back = schemaFromDecls(d, release);
    expect(back).toEqual(release);
    // A type change drops the old type's keywords (minimum does not fit a string).
    const changed = schemaFromDecls(
      d.map((x) => (x.name === 'count' ? { ...x, type: 'string', default: undefined } : x)),
      release,
    );
    expect(changed?.properties?.count).toEqual({ type: 'string' });
    expect(changed?.properties?.version).toEqual(release.properties!.version);
    expect(schemaFromDecls([], release)).toBeUndefined();
    const noneRequired = schemaFromDecls([{ name: 'x', type: 'string', required: false }]);
    expect(noneRequired).toEqual({ type: 'object', properties: { x: { type: 'string' } } });
  });

  it('renames in place, keeping order, keywords and required', () => {
    const r = renameInSchema(release, 'version', 'tag')!;
    expect(Object.keys(r.properties!)).toEqual(['tag', 'count', 'dryRun', 'ratio', 'tags', 'env']);
    expect((r.properties!.tag as Record<string, unknown>).pattern).toBe('^[0-9.]+$');
    expect(r.required).toEqual(['tag']);
  });

  it('checks names: identifiers, unique, not trigger', () => {
    const d: InputDecl[] = [
      { name: 'who', type: 'string', required: false },
      { name: 'who', type: 'string', required: false },
      { name: 'my-x', type: 'string', required: false },
      { name: 'trigger', type: 'string', required: false },
      { name: '_ok9', type: 'string', required: false },
    ];
    expect(nameProblem(d, 0)).toBeNull();
    expect(nameProblem(d, 1)).toMatch(/another input/);
    expect(nameProblem(d, 2)).toMatch(/letter or _ first/);
    expect(nameProblem(d, 3)).toMatch(/reserved/);
    expect(nameProblem(d, 4)).toBeNull();
    expect(newInputName(d)).toBe('input');
    expect(newInputName([...d, { name: 'input', type: 'string', required: false }])).toBe('input_2');
  });
});

describe('the run form', () => {
  const decls = declsFromSchema(release);

  it('starts from the defaults, or the last values where they exist', () => {
    expect(initialForm(decls)).toEqual({ version: '', count: '2', dryRun: true, ratio: '', tags: '[\n  "a"\n]', env: '' });
    const f = initialForm(decls, { version: '1.2.3', dryRun: false, gone: 1 });
    expect(f.version).toBe('1.2.3');
    expect(f.dryRun).toBe(false);
    expect(f.count).toBe('2');
  });

  it('reads typed values and leaves empty optional fields out', () => {
    const r = parseForm(decls, { version: '1.2.3', count: ' 5 ', dryRun: false, ratio: '0.5', tags: '["x","y"]', env: '{"A":"1"}' });
    expect(r.errors).toEqual({});
    expect(r.values).toEqual({ version: '1.2.3', count: 5, dryRun: false, ratio: 0.5, tags: ['x', 'y'], env: { A: '1' } });
    const empty = parseForm(decls, { version: 'v', count: '', dryRun: true, ratio: '', tags: '', env: '' });
    expect(empty.values).toEqual({ version: 'v', dryRun: true });
  });

  it('says what is wrong with each field', () => {
    const r = parseForm(decls, { version: '', count: '2.5', dryRun: true, ratio: 'abc', tags: '{"a":1}', env: '[' });
    const { env, ...rest } = r.errors;
    expect(rest).toEqual({ version: 'required', count: 'must be a whole number', ratio: 'must be a number', tags: 'must be a JSON array: [ ... ]' });
    expect(env).toMatch(/^invalid JSON/);
    expect(parseForm(decls, { version: 'v', env: '[1]' }).errors.env).toBe('must be a JSON object: { ... }');
  });

  it('maps the server refusal to fields, and summarises a run', () => {
    expect(
      errorsFromProblems([
        { field: 'inputs.who', message: 'is required' },
        { field: 'inputs.tags.1', message: 'must be a string, not number' },
        { field: 'nodes[0]', message: 'x' },
      ]),
    ).toEqual({ who: 'is required', tags: 'must be a string, not number' });
    expect(inputsSummary({ n: 2, who: 'Ada', trigger: { type: 'manual' } })).toBe('n=2 · who=Ada');
    expect(inputsSummary({ n: 2, who: 'Ada', extra: [1] }, ['who', 'n'])).toBe('who=Ada · n=2 · extra=[1]');
    expect(inputsSummary(undefined)).toBe('');
  });
});

describe('the declaration on the canvas', () => {
  it('rides with the graph (save, drafts, undo) and merges as a workflow-level field', () => {
    const wf: Workflow = { id: 'g', name: 'G', nodes: [{ id: 'a', tool: 'log', params: {} }], edges: [], inputs: release };
    const g = fromWorkflow(wf);
    expect(g.inputs).toEqual(release);
    expect(g.inputs).not.toBe(release); // a copy: canvas edits never touch the loaded workflow
    expect(toWorkflow('g', 'G', g).inputs).toEqual(release);
    expect(toWorkflow('g', 'G', { ...g, inputs: undefined })).not.toHaveProperty('inputs');
    // Theirs declared inputs, mine changed a node: both survive the merge.
    const base: Workflow = { id: 'g', name: 'G', nodes: [{ id: 'a', tool: 'log', params: {} }], edges: [] };
    const mine: Workflow = { ...base, nodes: [{ id: 'a', tool: 'log', params: { message: 'mine' } }] };
    const merged = mergeWorkflows(base, mine, { ...base, inputs: release });
    expect(merged.conflicts).toEqual([]);
    expect(fromWorkflow(merged.workflow).inputs).toEqual(release);
    expect(merged.workflow.nodes[0].params).toEqual({ message: 'mine' });
  });
});
