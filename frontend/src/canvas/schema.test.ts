import { describe, expect, it } from 'vitest';
import { coerce, defaultParams, fieldsFromSchema, missingRequired } from './schema';

const shell = {
  type: 'object',
  properties: {
    command: { type: 'string', description: 'Shell command' },
    ms: { type: 'integer', minimum: 0, default: 100 },
    ratio: { type: 'number' },
    verbose: { type: 'boolean' },
    method: { type: 'string', enum: ['GET', 'POST'] },
    headers: { type: 'object' },
    tags: { type: 'array', items: { type: 'string' } },
    name: { type: ['string', 'null'], title: 'Display name' },
  },
  required: ['command', 'method'],
};

describe('fieldsFromSchema', () => {
  it('maps every JSON Schema type to a control, in order, with required and descriptions', () => {
    const f = fieldsFromSchema(shell);
    expect(f.map((x) => [x.key, x.kind, x.required])).toEqual([
      ['command', 'text', true],
      ['ms', 'integer', false],
      ['ratio', 'number', false],
      ['verbose', 'boolean', false],
      ['method', 'enum', true],
      ['headers', 'json', false],
      ['tags', 'json', false],
      ['name', 'string', false],
    ]);
    expect(f[0].description).toBe('Shell command');
    expect(f[7].label).toBe('Display name');
  });

  it('is empty for a missing or property-less schema', () => {
    expect(fieldsFromSchema(null)).toEqual([]);
    expect(fieldsFromSchema({ type: 'object' })).toEqual([]);
  });
});

describe('coerce', () => {
  const [command, ms, ratio, verbose, method, headers] = fieldsFromSchema(shell);
  it('turns input text into typed values, empty into unset', () => {
    expect(coerce(command, 'go test ./...')).toEqual({ ok: true, value: 'go test ./...' });
    expect(coerce(command, '')).toEqual({ ok: true, value: undefined });
    expect(coerce(ms, '250')).toEqual({ ok: true, value: 250 });
    expect(coerce(ratio, '0.5')).toEqual({ ok: true, value: 0.5 });
    expect(coerce(verbose, true)).toEqual({ ok: true, value: true });
    expect(coerce(method, '"POST"')).toEqual({ ok: true, value: 'POST' });
    expect(coerce(headers, '{"a": 1}')).toEqual({ ok: true, value: { a: 1 } });
  });
  it('rejects bad input with a message instead of storing it', () => {
    expect(coerce(ms, '2.5')).toMatchObject({ ok: false, error: 'must be a whole number' });
    expect(coerce(ms, '-1')).toMatchObject({ ok: false, error: 'at least 0' });
    expect(coerce(ratio, 'abc')).toMatchObject({ ok: false });
    expect(coerce(headers, '{oops')).toMatchObject({ ok: false });
  });
});

it('reports missing required params and fills defaults', () => {
  const f = fieldsFromSchema(shell);
  expect(missingRequired(f, { command: '' })).toEqual(['command', 'method']);
  expect(missingRequired(f, { command: 'ls', method: 'GET' })).toEqual([]);
  expect(defaultParams(shell)).toEqual({ ms: 100 });
});
