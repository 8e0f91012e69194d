import { ApiError } from '../../api/client';
import type { ErrorDetails, Problem, Workflow, WorkflowUpdatedPayload } from '../../api/types';
import { Channel, Frame, RealtimeError } from '../../realtime';
import { fromWorkflow, toWorkflow } from '../graph';
import type { Store } from '../store';
import type { Connection } from './connection';
import { Drafts } from './drafts';
import { GraphEdits } from './graphEdits';
import { invalidBanner, loadAsWritten } from './invalid';
import { Merging } from './merging';
import { newWorkflowId, type TabDeps, type TabState } from './state';

/** What the editor tells the rest of the tab. */
export interface EditorHooks {
  /** Another workflow (or a new one) is on the canvas. */
  workflowShown(kind: 'opened' | 'new'): void;
  /** The project's workflow list may have changed (after a save). */
  workflowsChanged(): void;
  /** A readable name for the `by` of a save made elsewhere (from presence); never an id. */
  nameOf?(by: string | undefined): string;
}

/** Who saved, when presence does not know the connection (any more). */
export function fallbackName(by: string | undefined): string {
  if (by === 'disk') return 'a program that edited the file';
  if (by === 'api') return 'a script (REST API)';
  return 'another window';
}

/**
 * The editor slice: the open workflow as canvas nodes and edges, its undo
 * history and clipboard, saving (REST for the first save, `workflow.update`
 * with the base version after) and the conflict raised when another editor
 * saved first. The edits themselves (nodes, edges, triggers, run inputs,
 * undo and clipboard) are GraphEdits' (graphEdits.ts); this class opens,
 * drafts, deletes, watches and saves the workflow they apply to.
 */
export class Editor extends GraphEdits {
  private workflowCh: Channel | null = null;

  private draftTimer: ReturnType<typeof setTimeout> | null = null;
  private offDrafts: () => void;
  /** The base version of the canvas's edits and the merge of versions saved elsewhere. */
  readonly merging: Merging;

  constructor(
    tab: Store<TabState>,
    private id: string,
    deps: TabDeps,
    private conn: Connection,
    private hooks: EditorHooks,
    readonly drafts = new Drafts(id),
  ) {
    super(tab, deps);
    this.merging = new Merging(tab, deps, {
      graph: () => this.graph(),
      applyMerged: (g, name) => {
        this.undo.record(this.graph());
        this.tab.set({ ...g, name, canUndo: this.undo.canUndo, canRedo: this.undo.canRedo });
      },
      nameOf: (by) => this.nameOf(by),
    });
    // Unsaved edits go to a draft shortly after each change; a clean
    // workflow has none.
    let last = tab.get();
    this.offDrafts = tab.subscribe(() => {
      const s = tab.get();
      const changed =
        s.nodes !== last.nodes ||
        s.edges !== last.edges ||
        s.triggers !== last.triggers ||
        s.inputs !== last.inputs ||
        s.name !== last.name ||
        s.dirty !== last.dirty ||
        s.workflowId !== last.workflowId;
      last = s;
      if (changed) this.scheduleDraft();
    });
  }

  private scheduleDraft(): void {
    if (this.draftTimer) clearTimeout(this.draftTimer);
    this.draftTimer = setTimeout(() => this.flushDraft(), 250);
  }

  /** Writes (or, when the workflow is clean, removes) the draft of the open workflow now. */
  flushDraft(): void {
    if (this.draftTimer) clearTimeout(this.draftTimer);
    this.draftTimer = null;
    const s = this.tab.get();
    if (s.dirty) {
      const base = this.merging.base?.version === s.version ? this.merging.base : undefined;
      this.drafts.put(s.workflowId, { workflow: toWorkflow(s.workflowId, s.name, this.graph()), baseVersion: s.version, base, savedAt: Date.now() });
    } else {
      this.drafts.remove(s.workflowId);
    }
  }

  /**
   * Puts the draft of the open workflow (if any) on the canvas, marked as
   * unsaved. When the saved version moved on since the draft was made (`saved`
   * is newer than its base), that version is merged in.
   */
  private restoreDraft(saved?: Workflow, othersDrafts = true): void {
    const s = this.tab.get();
    this.drafts.setOpen(s.workflowId);
    const d = this.drafts.take(s.workflowId, othersDrafts);
    if (!d) return;
    if (d.baseVersion !== s.version) this.merging.setBase(d.base?.version === d.baseVersion ? d.base : null);
    const g = fromWorkflow(d.workflow);
    this.tab.set({
      name: d.workflow.name || s.name,
      nodes: g.nodes,
      edges: g.edges,
      triggers: g.triggers ?? [],
      inputs: g.inputs,
      // Saving goes against the version the edits started from, so a save made elsewhere meanwhile is a conflict.
      version: d.baseVersion || s.version,
      dirty: true,
      draftRestored: d.savedAt,
    });
    if (saved && (saved.version ?? 0) > d.baseVersion && d.baseVersion > 0) {
      if (this.merging.integrate(saved) === 'unknown') this.tab.set({ conflict: { version: saved.version ?? 0, workflow: saved } });
    }
  }

  /** The workflow a reload should reopen: the last one open, if it still exists or has a draft. */
  lastOpen(saved: string[]): string | undefined {
    const id = this.drafts.lastOpen();
    if (!id) return undefined;
    return saved.includes(id) || this.drafts.get(id) ? id : undefined;
  }

  /** Reopens a never-saved workflow from its draft. */
  openDraft(workflowId: string): void {
    this.flushDraft();
    this.showWorkflow(workflowId, { name: 'Untitled workflow', nodes: [], edges: [], version: 0 });
    this.restoreDraft();
    this.watchWorkflow();
    this.hooks.workflowShown('new');
  }

  /** "Discard": drops the draft and shows the saved workflow (or an empty one). */
  async discardDraft(): Promise<void> {
    const s = this.tab.get();
    // Clean first, so the flush before opening does not write the edits back.
    this.tab.set({ dirty: false, draftRestored: null });
    this.drafts.remove(s.workflowId);
    if (s.workflows.some((w) => w.id === s.workflowId)) await this.openWorkflow(s.workflowId);
    else this.newWorkflow();
  }

  /**
   * Deletes the open workflow (its file) and offers Undo for a while: Undo
   * writes the saved version back under the same id. A never-saved workflow
   * only loses its draft. Another workflow of the project (or an empty one)
   * takes the canvas.
   */
  async deleteWorkflow(): Promise<void> {
    const s = this.tab.get();
    const name = s.name;
    this.tab.set({ dirty: false, draftRestored: null });
    this.drafts.remove(s.workflowId);
    let saved: Workflow | null = null;
    if (s.version) {
      try {
        // A file that is invalid on disk has no valid version to restore: it is deleted without Undo.
        saved = await this.deps.api.getWorkflow(this.id, s.workflowId).catch(() => null);
        await this.deps.api.deleteWorkflow(this.id, s.workflowId);
      } catch (e) {
        this.tab.set({ dirty: s.dirty });
        this.deps.toasts.push({ level: 'error', title: `“${name}” not deleted`, message: (e as Error).message });
        return;
      }
    }
    this.hooks.workflowsChanged();
    const rest = s.workflows.filter((w) => w.id !== s.workflowId && w.id);
    if (rest.length) await this.openWorkflow(rest[0].id!).catch(() => this.newWorkflow());
    else this.newWorkflow();
    const restore = saved;
    this.deps.toasts.push({
      level: 'success',
      title: `Deleted “${name}”`,
      message: restore ? 'The workflow file was removed from the project folder.' : 'The unsaved workflow was discarded.',
      ttlMs: 10_000,
      action: restore ? { label: 'Undo', run: () => void this.undoDelete(s.workflowId, restore) } : undefined,
    });
  }

  private async undoDelete(workflowId: string, wf: Workflow): Promise<void> {
    const { version: _v, ...doc } = wf;
    try {
      await this.deps.api.putWorkflow(this.id, workflowId, { ...doc, id: workflowId });
      this.hooks.workflowsChanged();
      await this.openWorkflow(workflowId);
      this.deps.toasts.push({ level: 'success', title: `Restored “${wf.name || workflowId}”` });
    } catch (e) {
      this.deps.toasts.push({ level: 'error', title: `“${wf.name || workflowId}” not restored`, message: (e as Error).message });
    }
  }

  /** A readable name for who saved (`by` of workflow.updated): presence first, then what `by` says. */
  nameOf(by: string | undefined): string {
    return this.hooks.nameOf?.(by) || fallbackName(by);
  }

  dispose(): void {
    this.flushDraft();
    this.offDrafts();
  }

  private get socket() {
    return this.conn.socket;
  }

  /** Shows a saved workflow with this window's draft of it (othersDrafts: or the newest draft of another window). */
  async openWorkflow(workflowId: string, othersDrafts = true): Promise<void> {
    const written = await loadAsWritten(this.deps.api, this.id, workflowId, this.tab.get().workflows);
    const wf = written.wf;
    this.flushDraft();
    this.showWorkflow(workflowId, wf);
    if (written.problems) this.tab.set({ problems: written.problems, banner: invalidBanner(workflowId, wf.name || workflowId, written) });
    this.restoreDraft(wf, othersDrafts);
    this.watchWorkflow();
    this.hooks.workflowShown('opened');
  }

  newWorkflow(name = 'Untitled workflow'): void {
    this.flushDraft();
    this.showWorkflow(newWorkflowId(), { name, nodes: [], edges: [], version: 0 });
    this.drafts.setOpen(this.tab.get().workflowId);
    this.watchWorkflow();
    this.hooks.workflowShown('new');
  }

  private showWorkflow(workflowId: string, wf: Workflow): void {
    const g = fromWorkflow(wf);
    this.undo.clear();
    this.tab.set({
      workflowId,
      name: wf.name || workflowId,
      version: wf.version ?? 0,
      nodes: g.nodes,
      edges: g.edges,
      triggers: g.triggers ?? [],
      inputs: g.inputs,
      runForm: null,
      selectedTrigger: null,
      dirty: false,
      problems: [],
      banner: null,
      conflict: null,
      draftRestored: null,
      canUndo: false,
      canRedo: false,
    });
    this.merging.setBase(wf);
  }

  /** Follows `workflow:<id>` of the open (saved) workflow for edits made elsewhere. */
  watchWorkflow(): void {
    const name = `workflow:${this.tab.get().workflowId}`;
    if (this.workflowCh?.name === name) return;
    if (this.workflowCh) this.socket.removeChannel(this.workflowCh.name);
    if (!this.tab.get().version) {
      this.workflowCh = null;
      return;
    }
    const ch = this.socket.channel(name);
    this.workflowCh = ch;
    ch.on('workflow.updated', (f) => this.onWorkflowUpdated(f));
    ch.subscribe().catch(() => undefined);
  }

  /**
   * After an outage: waits until the open workflow's channel rejoined and
   * checks the saved version, so an edit saved elsewhere meanwhile is seen
   * (reloaded, or a conflict when there are local edits).
   */
  async resync(): Promise<string[]> {
    const s = this.tab.get();
    if (!this.workflowCh || !s.version) return [];
    try {
      await this.workflowCh.subscribe();
      const wf = await this.deps.api.getWorkflow(this.id, s.workflowId);
      if ((wf.version ?? 0) > this.tab.get().version) {
        this.onWorkflowUpdated({ event: 'workflow.updated', payload: { workflowId: s.workflowId, version: wf.version } });
        return [`workflow “${s.name}” (v${wf.version}, changed meanwhile)`];
      }
      return [`workflow “${s.name}” (v${wf.version ?? s.version})`];
    } catch {
      return [];
    }
  }

  /**
   * Saves the open workflow: the first save of a new workflow goes through
   * REST PUT, later ones through `workflow.update` with the base version so
   * a concurrent edit elsewhere is detected. `overwrite` sends baseVersion -1.
   */
  async save(overwrite = false, attempt = 0): Promise<boolean> {
    const s = this.tab.get();
    if (s.saving) return false;
    const blocking = overwrite ? null : this.merging.blocking();
    if (blocking) {
      this.deps.toasts.push({ level: 'warning', title: `“${s.name}” not saved yet`, message: blocking });
      return false;
    }
    if (overwrite && s.conflict?.items) {
      // "Keep all mine" after a merge: the canvas already holds mine; save against their version.
      this.merging.resolveAll('mine');
      return this.save(false, attempt);
    }
    const offline = this.conn.notConnected();
    if (offline) {
      this.deps.toasts.push({ level: 'error', title: 'Not saved', message: `${offline} Your edits stay in this tab; save again once the connection is back.` });
      return false;
    }
    const wf = toWorkflow(s.workflowId, s.name, this.graph());
    this.tab.set({ saving: true });
    try {
      let version: number;
      // Params that do not fit their tools' schemas come back with the save (which stands).
      let paramProblems: Problem[] = [];
      if (!s.version || !this.conn.canUseSocket()) {
        const r = (await this.deps.api.putWorkflow(this.id, s.workflowId, wf, overwrite ? undefined : s.version || undefined)) as { version: number; problems?: Problem[] };
        version = r.version;
        paramProblems = r.problems ?? [];
      } else {
        const reply = await this.socket.request('workflow.update', {
          workflowId: s.workflowId,
          baseVersion: overwrite ? -1 : s.version,
          workflow: wf,
        });
        const ack = reply.payload as (WorkflowUpdatedPayload & { problems?: Problem[] }) | undefined;
        version = Number(ack?.version ?? s.version + 1);
        paramProblems = ack?.problems ?? [];
      }
      // Edits made while the save was in flight stay dirty.
      const now = this.tab.get();
      const changed = now.nodes !== s.nodes || now.edges !== s.edges || now.triggers !== s.triggers || now.inputs !== s.inputs || now.name !== s.name;
      this.tab.set({ version, dirty: changed, problems: paramProblems, banner: null, conflict: null, saving: false, draftRestored: null });
      this.merging.setBase({ ...wf, version });
      if (paramProblems.length) {
        const n = paramProblems.length;
        this.deps.toasts.push({
          level: 'warning',
          title: `Saved “${now.name}” as a draft`,
          message: `${n === 1 ? '1 problem' : `${n} problems`} to fix before it can run: see the marked nodes and the Problems tab.`,
        });
      }
      this.watchWorkflow();
      this.hooks.workflowsChanged();
      return true;
    } catch (e) {
      this.tab.set({ saving: false });
      // Saved elsewhere first: merge their version in; a clean merge is saved at once against it.
      const theirs = conflictWorkflow(e);
      if (theirs && !overwrite && attempt < 3) {
        const r = this.merging.integrate(theirs);
        if (r === 'merged') return this.save(false, attempt + 1);
        if (r === 'conflicts') return false;
      }
      this.saveFailed(e);
      return false;
    }
  }

  private saveFailed(e: unknown): void {
    const code = e instanceof RealtimeError || e instanceof ApiError ? e.code : 'internal';
    const payload = (e instanceof RealtimeError ? e.payload : e instanceof ApiError ? e.details : null) as ErrorDetails | null;
    if (code === 'conflict') {
      const d: ErrorDetails = payload?.details ?? payload ?? {};
      const last = this.merging.lastBy;
      const by = last && last.version === Number(d.version) ? this.nameOf(last.by) : undefined;
      this.tab.set({ conflict: { version: Number(d.version ?? 0), workflow: d.workflow ?? null, ...(by ? { by } : {}) } });
      return;
    }
    const problems: Problem[] =
      (e instanceof ApiError ? e.problems : null) ?? payload?.problems ?? payload?.details?.problems ?? [];
    if (problems.length) {
      const general = problems.filter((p) => !p.node);
      this.tab.set({
        problems,
        banner: general.length ? general.map((p) => p.message).join(' · ') : `${problems.length === 1 ? '1 problem' : `${problems.length} problems`} on the nodes marked in red`,
      });
      this.deps.toasts.push({ level: 'error', title: 'Workflow not saved', message: problems.length === 1 ? '1 validation problem' : `${problems.length} validation problems` });
      return;
    }
    const msg = (e as Error).message ?? String(e);
    this.tab.set({ banner: `Save failed: ${msg}` });
    this.deps.toasts.push({ level: 'error', title: 'Save failed', message: msg });
  }

  /**
   * Conflict resolution: take the other version. After a merge (per-item
   * conflicts) only the conflicting items take theirs; the edits that merged
   * stay. Without a merge the whole workflow is theirs (local edits go).
   */
  reloadFromConflict(): void {
    const c = this.tab.get().conflict;
    if (!c) return;
    if (c.items) {
      this.merging.resolveAll('theirs');
      return;
    }
    if (c.workflow) this.showWorkflow(this.tab.get().workflowId, { ...c.workflow, version: c.version });
    else void this.openWorkflow(this.tab.get().workflowId);
    this.tab.set({ conflict: null });
  }

  overwriteConflict(): Promise<boolean> {
    return this.save(true);
  }

  /** Keeps mine or takes theirs for one conflicting item (a node, a connection, a trigger, a field). */
  resolveConflict(key: string, side: 'mine' | 'theirs'): void {
    this.merging.resolve(key, side);
  }

  private onWorkflowUpdated(f: Frame): void {
    const p = (f.payload ?? {}) as WorkflowUpdatedPayload;
    const s = this.tab.get();
    if (p.workflowId && p.workflowId !== s.workflowId) return;
    if (p.by && p.by === this.socket.connectionId) return; // our own save
    if (typeof p.version === 'number' && p.by) this.merging.lastBy = { by: p.by, version: p.version };
    if (typeof p.version === 'number' && p.version <= s.version) return;
    // A save of ours is under way: its answer tells (a 409 brings their version, which is merged then).
    if (s.saving) return;
    if (!s.dirty) {
      // Reloaded because another editor saved: never with that editor's draft.
      void this.openWorkflow(s.workflowId, false).then(() =>
        this.deps.toasts.push({ level: 'info', title: 'Workflow updated', message: `${s.name} was changed by another editor and reloaded.` }),
      );
      return;
    }
    // Unsaved edits here: merge their version in (by node, edge, trigger and field).
    const by = this.nameOf(p.by);
    void this.deps.api
      .getWorkflow(this.id, s.workflowId)
      .then((wf) => {
        const now = this.tab.get();
        // Moved on, merged already, or a save started meanwhile (its answer brings what changed; the
        // version read here may even be that save's own).
        if (now.workflowId !== s.workflowId || (wf.version ?? 0) <= now.version || now.saving) return;
        if (this.merging.integrate(wf, p.by) === 'unknown') this.tab.set({ conflict: { version: wf.version ?? p.version ?? 0, workflow: wf, by } });
      })
      .catch(() => this.tab.set({ conflict: { version: p.version ?? 0, workflow: null, by } }));
  }
}

/** Their saved version from a conflict error (WS payload or REST body), if it came along. */
function conflictWorkflow(e: unknown): Workflow | null {
  const code = e instanceof RealtimeError || e instanceof ApiError ? e.code : '';
  if (code !== 'conflict') return null;
  const payload = (e instanceof RealtimeError ? e.payload : (e as ApiError).details) as ErrorDetails | null;
  const d: ErrorDetails = payload?.details ?? payload ?? {};
  if (!d.workflow) return null;
  return { ...d.workflow, version: Number(d.version ?? d.workflow.version ?? 0) };
}
