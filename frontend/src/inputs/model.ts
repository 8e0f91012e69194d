import type { JSONSchema } from '../api/types';

/**
 * A workflow's declared run inputs (docs/workflows.md, "Inputs"): the file
 * keeps a JSON Schema object schema; the editor works on this flat list
 * and writes the schema back, keeping keywords it does not edit (pattern,
 * minimum, enum...). The server has the last word: it validates the
 * declaration on save and the inputs at every run start.
 */
export type InputType = 'string' | 'number' | 'integer' | 'boolean' | 'object' | 'array';

export const INPUT_TYPES: InputType[] = ['string', 'number', 'integer', 'boolean', 'object', 'array'];

export interface InputDecl {
  name: string;
  type: InputType;
  description?: string;
  /** undefined: no default. */
  default?: unknown;
  required: boolean;
}

/** Inputs the engine fills itself: never "undeclared". */
export const ENGINE_INPUTS = ['trigger', 'item', 'index'];

export const INPUT_NAME = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;

type Schema = JSONSchema & Record<string, unknown>;

/** The declared inputs, in declaration order. */
export function declsFromSchema(schema: JSONSchema | null | undefined): InputDecl[] {
  if (!schema || typeof schema !== 'object' || !schema.properties) return [];
  const required = new Set(Array.isArray(schema.required) ? schema.required : []);
  return Object.entries(schema.properties).map(([name, p]) => {
    const prop = (p ?? {}) as Schema;
    const type = (INPUT_TYPES as string[]).includes(prop.type as string) ? (prop.type as InputType) : 'string';
    const d: InputDecl = { name, type, required: required.has(name) };
    if (typeof prop.description === 'string' && prop.description) d.description = prop.description;
    if (prop.default !== undefined) d.default = prop.default;
    return d;
  });
}

/**
 * The schema for decls, built on base (the schema as loaded) so keywords
 * the editor does not show survive; undefined when nothing is declared.
 */
export function schemaFromDecls(decls: InputDecl[], base?: JSONSchema | null): JSONSchema | undefined {
  if (!decls.length) return undefined;
  const old = (base?.properties ?? {}) as Record<string, Schema>;
  const properties: Record<string, JSONSchema> = {};
  for (const d of decls) {
    const p: Schema = { ...(old[d.name] ?? {}), type: d.type };
    if (old[d.name]?.type !== d.type) {
      // Keywords of the old type (minimum, items...) would not fit the new one.
      for (const k of Object.keys(p)) if (!['type', 'description', 'default', 'title'].includes(k)) delete p[k];
    }
    if (d.description) p.description = d.description;
    else delete p.description;
    if (d.default !== undefined) p.default = d.default;
    else delete p.default;
    properties[d.name] = p;
  }
  const out: Schema = { ...(base ?? {}), type: 'object', properties };
  const required = decls.filter((d) => d.required).map((d) => d.name);
  if (required.length) out.required = required;
  else delete out.required;
  return out;
}

/** schema with the input from renamed to (same place, same keywords), so a rename keeps what the editor does not show. */
export function renameInSchema(schema: JSONSchema | null | undefined, from: string, to: string): JSONSchema | undefined {
  if (!schema?.properties || !(from in schema.properties)) return schema ?? undefined;
  const properties: Record<string, JSONSchema> = {};
  for (const [k, v] of Object.entries(schema.properties)) properties[k === from ? to : k] = v;
  return { ...schema, properties, required: schema.required?.map((r) => (r === from ? to : r)) };
}

/** A problem with the declared name of row i, or null. */
export function nameProblem(decls: InputDecl[], i: number): string | null {
  const name = decls[i].name;
  if (!INPUT_NAME.test(name)) return 'a letter or _ first, then letters, digits and _';
  if (name === 'trigger') return '“trigger” is reserved: Flow Weaver fills inputs.trigger';
  if (decls.findIndex((d) => d.name === name) !== i) return 'another input has this name';
  return null;
}

/** A name for a new input: input, input_2, ... */
export function newInputName(decls: InputDecl[]): string {
  const used = new Set(decls.map((d) => d.name));
  if (!used.has('input')) return 'input';
  for (let i = 2; ; i++) if (!used.has(`input_${i}`)) return `input_${i}`;
}

// --- the run form ---

/** What a form field holds: text, or a checkbox state for booleans. */
export type FormValue = string | boolean;

/** A value as the form shows it. */
export function toText(type: InputType, v: unknown): FormValue {
  if (type === 'boolean') return v === true;
  if (v === undefined || v === null) return '';
  if (type === 'object' || type === 'array') return JSON.stringify(v, null, 2);
  return typeof v === 'string' ? v : JSON.stringify(v);
}

/** The form's first values: the last ones used where they exist, else the defaults. */
export function initialForm(decls: InputDecl[], last?: Record<string, unknown> | null): Record<string, FormValue> {
  const out: Record<string, FormValue> = {};
  for (const d of decls) out[d.name] = toText(d.type, last && d.name in last ? last[d.name] : d.default);
  return out;
}

export type Parsed = { ok: true; value: unknown } | { ok: false; error: string };

/** Reads one field as its declared type; an empty optional field is "not given" (undefined). */
export function parseValue(d: InputDecl, raw: FormValue | undefined): Parsed {
  if (d.type === 'boolean') return { ok: true, value: raw === true };
  const s = typeof raw === 'string' ? raw : '';
  // Spaces are a string's value, but nothing for the other types.
  const empty = d.type === 'string' ? s === '' : s.trim() === '';
  if (empty) return d.required ? { ok: false, error: 'required' } : { ok: true, value: undefined };
  switch (d.type) {
    case 'number':
    case 'integer': {
      const n = Number(s.trim());
      if (!Number.isFinite(n)) return { ok: false, error: d.type === 'integer' ? 'must be a whole number' : 'must be a number' };
      if (d.type === 'integer' && !Number.isInteger(n)) return { ok: false, error: 'must be a whole number' };
      return { ok: true, value: n };
    }
    case 'object':
    case 'array': {
      let v: unknown;
      try {
        v = JSON.parse(s);
      } catch (e) {
        return { ok: false, error: `invalid JSON: ${(e as Error).message}` };
      }
      const isArray = Array.isArray(v);
      if (d.type === 'array' ? !isArray : isArray || v === null || typeof v !== 'object') {
        return { ok: false, error: d.type === 'array' ? 'must be a JSON array: [ ... ]' : 'must be a JSON object: { ... }' };
      }
      return { ok: true, value: v };
    }
    default:
      return { ok: true, value: s };
  }
}

/** The inputs to send, or the errors by field name (empty when there are none). */
export function parseForm(decls: InputDecl[], form: Record<string, FormValue>): { values: Record<string, unknown>; errors: Record<string, string> } {
  const values: Record<string, unknown> = {};
  const errors: Record<string, string> = {};
  for (const d of decls) {
    const r = parseValue(d, form[d.name]);
    if (!r.ok) errors[d.name] = r.error;
    else if (r.value !== undefined) values[d.name] = r.value;
  }
  return { values, errors };
}

/** Server problems of a refused start ("inputs.who": "is required") by input name. */
export function errorsFromProblems(problems: { field: string; message: string }[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const p of problems ?? []) {
    const m = /^inputs\.([A-Za-z0-9_]+)/.exec(p.field);
    if (m && !out[m[1]]) out[m[1]] = p.message;
  }
  return out;
}

/**
 * A run's inputs in one line (without the engine's trigger record):
 * "who=Ada · times=2", the declared names first in their order (the server
 * returns keys sorted), then any others.
 */
export function inputsSummary(inputs: Record<string, unknown> | undefined, order: string[] = []): string {
  if (!inputs) return '';
  const keys = Object.keys(inputs).filter((k) => k !== 'trigger');
  const rank = (k: string) => (order.includes(k) ? order.indexOf(k) : order.length);
  keys.sort((a, b) => rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0));
  return keys.map((k) => `${k}=${typeof inputs[k] === 'string' ? inputs[k] : JSON.stringify(inputs[k])}`).join(' · ');
}
