import type { JSONSchema } from '../api/types';
import { declsFromSchema, initialForm, parseForm } from './model';

/**
 * Run with inputs: a workflow that declares inputs opens the run form on
 * Run; Ctrl+Enter reuses the last values used for it (kept per project and
 * workflow in localStorage) without the form, as long as they still fit
 * the declaration. A workflow without inputs runs at once, as always.
 */

/** The open run form: after a refused start, the server's errors by input name and the values that were sent. */
export interface RunForm {
  errors?: Record<string, string>;
  values?: Record<string, unknown>;
}

/** What the flow needs of a project tab. */
export interface RunTarget {
  readonly id: string;
  get(): { workflowId: string; inputs?: JSONSchema; runForm: RunForm | null };
  set(patch: { runForm: RunForm | null }): void;
  /** Starts the run; true when it started. */
  startRun(inputs?: Record<string, unknown>): Promise<boolean>;
}

const key = (projectId: string, workflowId: string) => `flowweaver.runInputs.${projectId}.${workflowId}`;

/** The last inputs a run of the workflow was started with from this browser. */
export function lastInputs(projectId: string, workflowId: string): Record<string, unknown> | null {
  try {
    const raw = localStorage.getItem(key(projectId, workflowId));
    const v = raw ? (JSON.parse(raw) as unknown) : null;
    return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null; // storage off or garbage: the form starts from the defaults
  }
}

export function rememberInputs(projectId: string, workflowId: string, inputs: Record<string, unknown>): void {
  try {
    localStorage.setItem(key(projectId, workflowId), JSON.stringify(inputs));
  } catch {
    /* storage full or off: the next run asks again */
  }
}

/**
 * Run (via "button") or Ctrl+Enter (via "shortcut"): starts at once when
 * nothing is declared, reuses the last values on the shortcut, and opens
 * the form otherwise (or when the last values no longer fit).
 */
export async function requestRun(tab: RunTarget, via: 'button' | 'shortcut'): Promise<void> {
  const s = tab.get();
  if (s.runForm) return; // the form is open: it has its own Enter
  const decls = declsFromSchema(s.inputs);
  if (!decls.length) {
    await tab.startRun();
    return;
  }
  if (via === 'shortcut') {
    const last = lastInputs(tab.id, s.workflowId);
    if (last) {
      const { values, errors } = parseForm(decls, initialForm(decls, last));
      if (!Object.keys(errors).length) {
        await submitRun(tab, values);
        return;
      }
    }
  }
  tab.set({ runForm: {} });
}

/** The form's Run: closes it, starts the run and remembers the values once it started. */
export async function submitRun(tab: RunTarget, values: Record<string, unknown>): Promise<boolean> {
  const workflowId = tab.get().workflowId;
  tab.set({ runForm: null });
  const ok = await tab.startRun(values);
  if (ok) rememberInputs(tab.id, workflowId, values);
  else {
    // The server refused these inputs (the form reopened with its messages): keep what was typed.
    const form = tab.get().runForm;
    if (form) tab.set({ runForm: { ...form, values } });
  }
  return ok;
}
