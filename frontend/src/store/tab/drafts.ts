import type { Workflow } from '../../api/types';

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
  /** The workflow that was open last, so a reload reopens it. */
  open?: string;
  drafts: Record<string, Draft>;
}

/**
 * Unsaved edits per workflow, in localStorage under one key per project,
 * so a reload, a crashed tab or a closed window loses nothing. Storage that
 * is full or blocked only means drafts are not kept; editing goes on.
 */
export class Drafts {
  private key: string;

  constructor(
    projectId: string,
    private storage: Pick<Storage, 'getItem' | 'setItem' | 'removeItem'> | null = defaultStorage(),
  ) {
    this.key = `flowweaver.drafts.${projectId}`;
  }

  get(workflowId: string): Draft | null {
    return this.read().drafts[workflowId] ?? null;
  }

  lastOpen(): string | undefined {
    return this.read().open;
  }

  put(workflowId: string, d: Draft): void {
    const doc = this.read();
    doc.drafts[workflowId] = d;
    this.write(doc);
  }

  remove(workflowId: string): void {
    const doc = this.read();
    if (!doc.drafts[workflowId]) return;
    delete doc.drafts[workflowId];
    this.write(doc);
  }

  setOpen(workflowId: string): void {
    const doc = this.read();
    if (doc.open === workflowId) return;
    doc.open = workflowId;
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
