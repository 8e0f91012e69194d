import type { Workflow } from '../../api/types';
import { windowIdentity } from '../identity';

/** An unsaved workflow kept in the browser until it is saved or discarded. */
export interface Draft {
  workflow: Workflow;
  /** The saved version the edits started from (0: never saved). */
  baseVersion: number;
  /** That saved version itself, so a version saved elsewhere meanwhile can be merged in. */
  base?: Workflow;
  savedAt: number;
}

interface ProjectDrafts {
  /** The workflow that was open last in any window, so a reopened browser reopens it. */
  open?: string;
  /** The workflow open last per window number, so a reload reopens that window's. */
  opens?: Record<string, string>;
  /** By "<workflowId>#<window>" (a draft per window), or by workflow id (written before windows counted). */
  drafts: Record<string, Draft>;
}

/**
 * Unsaved edits per workflow, in localStorage under one key per project,
 * so a reload, a crashed tab or a closed window loses nothing. Storage that
 * is full or blocked only means drafts are not kept; editing goes on.
 *
 * Windows of one browser share localStorage, and two of them may edit one
 * workflow at once: each window keeps its own draft (by its window number,
 * which survives a reload of that tab), so one window's draft never
 * replaces another's. A window without a draft of its own (a reopened
 * browser, a new tab) takes over the newest draft of that workflow.
 */
export class Drafts {
  private key: string;

  constructor(
    projectId: string,
    private storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null = defaultStorage(),
    private window = windowIdentity().window,
  ) {
    this.key = `flowweaver.drafts.${projectId}`;
  }

  private own(workflowId: string): string {
    return `${workflowId}#${this.window}`;
  }

  /** This window's draft of the workflow, else the newest of any window. */
  get(workflowId: string): Draft | null {
    const found = this.find(this.read(), workflowId);
    return found ? found[1] : null;
  }

  private ownOf(doc: ProjectDrafts, workflowId: string): [string, Draft] | null {
    const own = doc.drafts[this.own(workflowId)];
    return own ? [this.own(workflowId), own] : null;
  }

  private find(doc: ProjectDrafts, workflowId: string): [string, Draft] | null {
    const own = this.ownOf(doc, workflowId);
    if (own) return own;
    let best: [string, Draft] | null = null;
    for (const [k, d] of Object.entries(doc.drafts)) {
      if (k !== workflowId && !k.startsWith(`${workflowId}#`)) continue;
      if (!best || (d?.savedAt ?? 0) > (best[1]?.savedAt ?? 0)) best = [k, d];
    }
    return best;
  }

  /**
   * Like get, and a draft of another window becomes this window's (so it is
   * not restored twice). With others false only this window's own draft is
   * returned: a window that reloads a workflow because another window saved
   * it must not take that window's edits, which may still be in storage for
   * the moment between its save and the save's answer.
   */
  take(workflowId: string, others = true): Draft | null {
    const doc = this.read();
    const found = others ? this.find(doc, workflowId) : this.ownOf(doc, workflowId);
    if (!found) return null;
    if (found[0] !== this.own(workflowId)) {
      delete doc.drafts[found[0]];
      doc.drafts[this.own(workflowId)] = found[1];
      this.write(doc);
    }
    return found[1];
  }

  lastOpen(): string | undefined {
    const doc = this.read();
    return doc.opens?.[String(this.window)] ?? doc.open;
  }

  put(workflowId: string, d: Draft): void {
    const doc = this.read();
    doc.drafts[this.own(workflowId)] = d;
    delete doc.drafts[workflowId];
    this.write(doc);
  }

  /** Drops this window's draft of the workflow (saved or discarded here); other windows' stay. */
  remove(workflowId: string): void {
    const doc = this.read();
    if (!doc.drafts[this.own(workflowId)] && !doc.drafts[workflowId]) return;
    delete doc.drafts[this.own(workflowId)];
    delete doc.drafts[workflowId];
    this.write(doc);
  }

  setOpen(workflowId: string): void {
    const doc = this.read();
    const w = String(this.window);
    if (doc.open === workflowId && doc.opens?.[w] === workflowId) return;
    doc.open = workflowId;
    doc.opens = { ...doc.opens, [w]: workflowId };
    this.write(doc);
  }

  /** Drops every draft of the project (the project was forgotten). */
  clear(): void {
    try {
      this.storage?.removeItem(this.key);
    } catch {
      /* blocked storage: nothing was kept either */
    }
  }

  private read(): ProjectDrafts {
    try {
      const raw = this.storage?.getItem(this.key);
      const doc = raw ? (JSON.parse(raw) as ProjectDrafts) : null;
      if (doc && typeof doc === 'object' && doc.drafts && typeof doc.drafts === 'object') return doc;
    } catch {
      /* unreadable: start over */
    }
    return { drafts: {} };
  }

  private write(doc: ProjectDrafts): void {
    try {
      if (!doc.open && !Object.keys(doc.drafts).length) this.storage?.removeItem(this.key);
      else this.storage?.setItem(this.key, JSON.stringify(doc));
    } catch {
      /* quota or blocked storage: drafts are best effort */
    }
  }
}

function defaultStorage(): Storage | null {
  try {
    return typeof localStorage !== 'undefined' ? localStorage : null;
  } catch {
    return null;
  }
}
