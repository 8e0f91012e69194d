import type { Project } from '../api/types';
import type { Channel, Frame, ProjectSocket } from '../realtime';
import type { NotificationPayload } from '../api/types';
import { requestRun, submitRun } from '../inputs/run';
import { ProjectSecrets } from './secrets';
import { Store } from './store';
import { toastLevel } from './toasts';
import { Connection } from './tab/connection';
import { Editor } from './tab/editor';
import { Runs } from './tab/runs';
import { initialTabState, type TabDeps, type TabState } from './tab/state';
import { Trust } from './tab/trust';
import { Presence } from './tab/presence';
import { windowIdentity } from './identity';

export type { ActiveRun, Conflict, HistoryState, NodeState, PresenceEditor, TabDeps, TabState } from './tab/state';

/**
 * One project tab: the state React reads (through useStore) and the methods
 * it calls. The work is done by slices with one job each, all writing this
 * one store: `connection` (the socket and its state), `editor` (the open
 * workflow, undo, save, conflicts), `runs` (active runs, the run on display,
 * logs, history). The tab itself loads the project's tools and workflows
 * and routes the `project:` and `tools:` channels to the slices.
 */
export class ProjectTab extends Store<TabState> {
  readonly id: string;
  readonly connection: Connection;
  readonly editor: Editor;
  readonly runs: Runs;
  /** The project's secrets (names and uses; values never come back). */
  readonly secrets: ProjectSecrets;
  readonly trust: Trust;
  readonly presence: Presence;
  private deps: TabDeps;
  private projectCh: Channel;
  private toolsCh: Channel;
  private offs: (() => void)[] = [];
  private disposed = false;

  constructor(project: Project, deps: TabDeps) {
    super(initialTabState(project));
    this.id = project.id;
    this.deps = deps;
    this.connection = new Connection(this, project, deps);
    this.editor = new Editor(this, project.id, deps, this.connection, {
      workflowShown: (kind) => {
        this.runs.clearRun();
        if (kind === 'new') this.runs.resetHistory();
        else {
          this.runs.adoptActiveRun();
          void this.runs.loadHistory();
        }
      },
      workflowsChanged: () => void this.refreshWorkflows(),
      nameOf: (by) => this.presence.nameOf(by),
    });
    this.runs = new Runs(this, project.id, deps, this.connection, { save: () => this.editor.save() });
    this.connection.hooks = { backOnline: (ms) => void this.resync(ms) };
    this.secrets = new ProjectSecrets(deps.api, project.id);
    this.trust = new Trust(this, project.id, deps, () => this.loadTools());
    this.presence = new Presence(this, project.id, this.connection, deps.identity ?? windowIdentity());

    this.projectCh = this.socket.channel(`project:${project.id}`);
    this.offs.push(
      this.projectCh.onSnapshot((snap) => this.runs.applyProjectSnapshot(snap)),
      this.projectCh.on('*', (f) => this.onProjectEvent(f)),
    );
    this.projectCh.subscribe().catch(() => undefined);

    this.toolsCh = this.socket.channel(`tools:${project.id}`);
    this.offs.push(
      this.toolsCh.on('tools.changed', () => void this.loadTools()),
      this.toolsCh.on('tools.status', (f) => this.trust.onStatus(f)),
    );
    this.toolsCh.subscribe().catch(() => undefined);
  }

  get socket(): ProjectSocket {
    return this.connection.socket;
  }

  get logs() {
    return this.runs.logs;
  }

  /** The REST client (components that read extra data: child runs, full outputs). */
  get api() {
    return this.deps.api;
  }

  /** First load over REST: tools, workflows, the first workflow. */
  async load(): Promise<void> {
    this.set({ loading: true, loadError: null });
    await Promise.all([
      this.loadTools(),
      this.secrets.reload(),
      (async () => {
        try {
          const workflows = await this.deps.api.listWorkflows(this.id);
          this.set({ workflows });
          const last = this.editor.lastOpen(workflows.map((w) => w.id ?? ''));
          if (last && workflows.some((w) => w.id === last)) await this.openWorkflow(last);
          else if (last) this.editor.openDraft(last);
          else if (workflows.length && workflows[0].id) await this.openWorkflow(workflows[0].id);
          else this.editor.watchWorkflow();
        } catch (e) {
          this.set({ loadError: (e as Error).message });
        }
      })(),
    ]);
    this.set({ loading: false });
    void this.loadHistory();
  }

  async loadTools(): Promise<void> {
    this.set({ toolsLoading: true });
    try {
      const cat = await this.deps.api.toolCatalog(this.id);
      const tools = cat.tools;
      tools.sort((a, b) => (a.title || a.name).localeCompare(b.title || b.name));
      this.set({ tools, toolsLoading: false });
      this.trust.setServers(cat.servers ?? []);
    } catch (e) {
      this.set({ toolsLoading: false });
      this.deps.toasts.push({ level: 'error', title: 'Could not load tools', message: (e as Error).message });
    }
  }

  async refreshWorkflows(): Promise<void> {
    try {
      this.set({ workflows: await this.deps.api.listWorkflows(this.id) });
    } catch {
      /* keep the old list */
    }
  }

  /**
   * Back online after an outage: waits for the channels to rejoin (the
   * server replays what was missed, or sends a snapshot), re-reads what REST
   * serves (tools, workflow list, history), and records what was brought up
   * to date for the "back online" banner.
   */
  private async resync(offlineMs: number): Promise<void> {
    // The socket rejoins its channels right after it reports `open`.
    await new Promise((r) => setTimeout(r, 0));
    const joined = async (ch: Channel, label: string): Promise<string[]> => {
      try {
        const r = await ch.subscribe();
        return [r.recovered === false ? `${label} (reloaded)` : `${label} (missed events replayed)`];
      } catch {
        return []; // the connection reports why
      }
    };
    const parts = await Promise.all([
      joined(this.projectCh, 'active runs'),
      this.runs.resync(),
      this.editor.resync(),
      this.refreshWorkflows().then(() => ['workflow list']),
      this.loadTools().then(() => ['tools']),
    ]);
    const items = parts.flat();
    if (this.disposed || this.get().outage) return;
    this.set({ resync: { at: Date.now(), offlineMs, items } });
  }

  dismissResync = () => this.set({ resync: null });
  discardDraft = () => this.editor.discardDraft();
  deleteWorkflow = () => this.editor.deleteWorkflow();
  /** Writes the pending draft now (the page is going away). */
  flushDraft = () => this.editor.flushDraft();
  /** Whether closing this tab would lose something: unsaved edits or a run in progress. */
  get hasUnfinishedWork(): boolean {
    const s = this.get();
    return s.dirty || Object.keys(s.activeRuns).length > 0;
  }
  retryNow = () => this.connection.retryNow();

  private onProjectEvent(f: Frame): void {
    if (f.event === 'notification') {
      const p = (f.payload ?? {}) as NotificationPayload;
      this.deps.toasts.push({ level: toastLevel(p.level), title: p.message ?? 'Notification', source: this.get().project.name });
      return;
    }
    if (f.event === 'workflow.updated' || f.event === 'workflow.deleted' || f.event === 'workflow.saved') {
      void this.refreshWorkflows();
      return;
    }
    if (f.event === 'project.trust') {
      this.trust.onTrustEvent(f);
      return;
    }
    if (f.event === 'secrets.changed') {
      void this.secrets.reload();
      return;
    }
    if (f.event.startsWith('run.')) this.runs.onProjectRunEvent(f);
  }

  // The methods the components call, kept on the tab so they need not know the slices.
  openWorkflow = (id: string) => this.editor.openWorkflow(id);
  newWorkflow = (name?: string) => this.editor.newWorkflow(name);
  setName = (name: string) => this.editor.setName(name);
  onNodesChange: Editor['onNodesChange'] = (c) => this.editor.onNodesChange(c);
  beginDrag = () => this.editor.beginDrag();
  onEdgesChange: Editor['onEdgesChange'] = (c) => this.editor.onEdgesChange(c);
  connect: Editor['connect'] = (c) => this.editor.connect(c);
  addNode: Editor['addNode'] = (tool, pos) => this.editor.addNode(tool, pos);
  updateNodeData: Editor['updateNodeData'] = (id, patch, key) => this.editor.updateNodeData(id, patch, key);
  setParam: Editor['setParam'] = (id, key, value) => this.editor.setParam(id, key, value);
  renameNode: Editor['renameNode'] = (a, b) => this.editor.renameNode(a, b);
  deleteSelection = () => this.editor.deleteSelection();
  copy = () => this.editor.copy();
  paste = () => this.editor.paste();
  undoChange = () => this.editor.undoChange();
  redoChange = () => this.editor.redoChange();
  selectOnly = (id: string | null) => this.editor.selectOnly(id);
  addTrigger: Editor['addTrigger'] = (type) => this.editor.addTrigger(type);
  updateTrigger: Editor['updateTrigger'] = (id, patch, key) => this.editor.updateTrigger(id, patch, key);
  removeTrigger = (id: string) => this.editor.removeTrigger(id);
  selectTrigger = (id: string | null) => this.editor.selectTrigger(id);
  save = (overwrite = false) => this.editor.save(overwrite);
  reloadFromConflict = () => this.editor.reloadFromConflict();
  overwriteConflict = () => this.editor.overwriteConflict();
  startRun = (inputs?: Record<string, unknown>) => this.runs.startRun(inputs);
  /** Run / Ctrl+Enter: the run form when the workflow declares inputs (inputs/run.ts). */
  requestRun = (via: 'button' | 'shortcut') => requestRun(this, via);
  submitRunInputs = (values: Record<string, unknown>) => submitRun(this, values);
  closeRunForm = () => this.set({ runForm: null });
  setInputs: Editor['setInputs'] = (schema, key) => this.editor.setInputs(schema, key);
  cancelRun = () => this.runs.cancelRun();
  showRun = (runId: string, fresh = false) => this.runs.showRun(runId, fresh);
  clearRun = () => this.runs.clearRun();
  rerunFrom = (nodeId: string) => this.runs.rerunFrom(nodeId);
  setEdgeOn = (id: string, on: 'success' | 'failure' | 'always') => this.editor.setEdgeOn(id, on);
  loadHistory = (more = false) => this.runs.loadHistory(more);
  setHistoryFilter: Runs['setHistoryFilter'] = (status) => this.runs.setHistoryFilter(status);

  /** Subscribes or unsubscribes the `system` channel (monitoring panel open). */
  systemChannel(): Channel {
    return this.socket.channel('system');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const off of this.offs) off();
    this.presence.dispose();
    this.editor.dispose();
    this.connection.dispose();
  }
}
