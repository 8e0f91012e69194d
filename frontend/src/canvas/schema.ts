import type { JSONSchema } from '../api/types';

export type FieldKind = 'string' | 'text' | 'number' | 'integer' | 'boolean' | 'enum' | 'json';

export interface Field {
  key: string;
  kind: FieldKind;
  label: string;
  description?: string;
  required: boolean;
  enumValues?: unknown[];
  default?: unknown;
  minimum?: number;
  maximum?: number;
}

const LONG_TEXT = /command|script|body|content|expression|message|query|template|code/i;

function typeOf(s: JSONSchema): string | undefined {
  if (Array.isArray(s.type)) return s.type.find((t) => t !== 'null');
  return s.type;
}

/**
 * The inspector form of a tool, from its JSON Schema `inputSchema`: one
 * field per property, in declaration order; strings, numbers, integers,
 * booleans and enums get their own control; objects and arrays are edited
 * as JSON.
 */
export function fieldsFromSchema(schema: JSONSchema | null | undefined): Field[] {
  if (!schema || typeof schema !== 'object' || !schema.properties) return [];
  const required = new Set(schema.required ?? []);
  return Object.entries(schema.properties).map(([key, prop]) => {
    const p = prop ?? {};
    const t = typeOf(p);
    let kind: FieldKind;
    if (Array.isArray(p.enum) && p.enum.length) kind = 'enum';
    else if (t === 'boolean') kind = 'boolean';
    else if (t === 'integer') kind = 'integer';
    else if (t === 'number') kind = 'number';
    else if (t === 'string' || t === undefined) kind = t === undefined && !p.enum ? (p.properties ? 'json' : 'string') : 'string';
    else kind = 'json';
    if (kind === 'string' && (LONG_TEXT.test(key) || p.format === 'textarea')) kind = 'text';
    return {
      key,
      kind,
      label: p.title ?? key,
      description: p.description,
      required: required.has(key),
      enumValues: p.enum,
      default: p.default,
      minimum: p.minimum,
      maximum: p.maximum,
    };
  });
}

/** What a control shows for a stored value. */
export function displayValue(f: Field, v: unknown): string {
  if (v === undefined || v === null) return '';
  if (f.kind === 'json') return typeof v === 'string' ? v : JSON.stringify(v, null, 2);
  if (f.kind === 'enum') return JSON.stringify(v);
  // Numbers and booleans print the same either way; an object (a value the
  // schema did not expect) shows as JSON rather than "[object Object]".
  return typeof v === 'string' ? v : (JSON.stringify(v) ?? '');
}

export type Coerced = { ok: true; value: unknown } | { ok: false; error: string };

/**
 * Turns what the user typed into the value to store. Empty input means
 * "unset" (undefined), so optional fields do not end up as "" or 0.
 */
export function coerce(f: Field, raw: string | boolean): Coerced {
  if (f.kind === 'boolean') return { ok: true, value: Boolean(raw) };
  const s = String(raw);
  if (s.trim() === '') return { ok: true, value: undefined };
  switch (f.kind) {
    case 'number':
    case 'integer': {
      const n = Number(s);
      if (!Number.isFinite(n)) return { ok: false, error: 'not a number' };
      if (f.kind === 'integer' && !Number.isInteger(n)) return { ok: false, error: 'must be a whole number' };
      if (f.minimum !== undefined && n < f.minimum) return { ok: false, error: `at least ${f.minimum}` };
      if (f.maximum !== undefined && n > f.maximum) return { ok: false, error: `at most ${f.maximum}` };
      return { ok: true, value: n };
    }
    case 'enum': {
      try {
        return { ok: true, value: JSON.parse(s) };
      } catch {
        return { ok: true, value: s };
      }
    }
    case 'json':
      try {
        return { ok: true, value: JSON.parse(s) };
      } catch (e) {
        return { ok: false, error: `invalid JSON: ${(e as Error).message}` };
      }
    default:
      return { ok: true, value: s };
  }
}

/** Local checks before save: required fields present. The server has the last word. */
export function missingRequired(fields: Field[], params: Record<string, unknown> | undefined): string[] {
  return fields
    .filter((f) => f.required && f.kind !== 'boolean')
    .filter((f) => {
      const v = params?.[f.key];
      return v === undefined || v === null || v === '';
    })
    .map((f) => f.key);
}

/** Initial params of a new node: the schema defaults. */
export function defaultParams(schema: JSONSchema | null | undefined): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const f of fieldsFromSchema(schema)) if (f.default !== undefined) out[f.key] = structuredClone(f.default);
  return out;
}
