import type { FlowNode } from '../store/graph';
import { ENGINE_INPUTS, type InputDecl } from './model';

/**
 * `{{ inputs.x }}` in node params: the names a node reads (for problems
 * when the workflow declares its inputs but not x) and the completion of
 * `{{ inputs.` in the inspector's text fields.
 */

// inputs.<name> not preceded by a word character or a dot (nodes.a.inputs.x is not a run input).
const REF = /(?<![\w.])inputs\.([A-Za-z_][A-Za-z0-9_]*)/g;
const BLOCK = /\{\{([\s\S]*?)\}\}/g;

/** Params that are expressions without braces (if's condition, switch's value, transform's expression). */
const EXPRESSION_PARAMS: Record<string, string[]> = { if: ['condition'], switch: ['value'], transform: ['expression'] };

/** The input names a text reads: inside {{ }}, or anywhere when the text is an expression. */
export function inputRefs(text: string, expression = false): string[] {
  const names: string[] = [];
  const scan = (s: string) => {
    for (const m of s.matchAll(REF)) if (!names.includes(m[1])) names.push(m[1]);
  };
  if (expression) scan(text);
  else for (const b of text.matchAll(BLOCK)) scan(b[1]);
  return names;
}

export interface InputRefProblem {
  node: string;
  /** The param whose text names the input. */
  param: string;
  name: string;
  message: string;
}

function walk(v: unknown, visit: (s: string) => void): void {
  if (typeof v === 'string') visit(v);
  else if (Array.isArray(v)) v.forEach((x) => walk(x, visit));
  else if (v && typeof v === 'object') Object.values(v).forEach((x) => walk(x, visit));
}

/**
 * References to inputs the workflow does not declare. Nothing when it
 * declares none (its runs take any inputs, unchecked); the engine's own
 * inputs (trigger, a forEach child's item and index) are always there.
 */
export function undeclaredInputRefs(nodes: FlowNode[], decls: InputDecl[]): InputRefProblem[] {
  if (!decls.length) return [];
  const known = new Set([...decls.map((d) => d.name), ...ENGINE_INPUTS]);
  const list = decls.map((d) => d.name).join(', ');
  const out: InputRefProblem[] = [];
  for (const n of nodes) {
    const expr = EXPRESSION_PARAMS[n.data.tool] ?? [];
    for (const [param, value] of Object.entries(n.data.params ?? {})) {
      const seen = new Set<string>();
      walk(value, (s) => {
        for (const name of inputRefs(s, expr.includes(param) && typeof value === 'string')) {
          if (known.has(name) || seen.has(name)) continue;
          seen.add(name);
          out.push({ node: n.id, param, name, message: `{{ inputs.${name} }} in ${param}: “${name}” is not a declared input (declared: ${list})` });
        }
      });
    }
  }
  return out;
}

/** Where a completion applies: the partial name typed after `inputs.` at the caret, inside `{{`. */
export interface CompletionSpot {
  /** Index of the partial name's first character. */
  from: number;
  partial: string;
}

export function completionAt(text: string, caret: number, expression = false): CompletionSpot | null {
  const before = text.slice(0, caret);
  if (!expression) {
    const open = before.lastIndexOf('{{');
    if (open < 0 || before.lastIndexOf('}}') > open) return null;
  }
  const m = /(?<![\w.])inputs\.([A-Za-z0-9_]*)$/.exec(before);
  if (!m) return null;
  return { from: caret - m[1].length, partial: m[1] };
}

/** The declared inputs a spot offers: names starting with the partial (case-insensitive), then containing it. */
export function completionItems(decls: InputDecl[], spot: CompletionSpot): InputDecl[] {
  const p = spot.partial.toLowerCase();
  const starts = decls.filter((d) => d.name.toLowerCase().startsWith(p));
  const contains = decls.filter((d) => !d.name.toLowerCase().startsWith(p) && d.name.toLowerCase().includes(p));
  return [...starts, ...contains];
}

/**
 * Puts name at the spot, replacing the partial name and the rest of the
 * identifier after the caret; closes the braces (` }}`) when no `}}`
 * follows on the line. Returns the new text and caret.
 */
export function applyCompletion(text: string, caret: number, spot: CompletionSpot, name: string, expression = false): { text: string; caret: number } {
  let end = caret;
  while (end < text.length && /[A-Za-z0-9_]/.test(text[end])) end++;
  const rest = text.slice(end);
  const lineRest = rest.split('\n')[0];
  const close = !expression && !lineRest.includes('}}') ? ' }}' : '';
  const next = text.slice(0, spot.from) + name + close + rest;
  return { text: next, caret: spot.from + name.length + close.length };
}

/** Whether a param of a tool is an expression without braces. */
export function isExpressionParam(tool: string | undefined, param: string): boolean {
  return !!tool && (EXPRESSION_PARAMS[tool] ?? []).includes(param);
}
