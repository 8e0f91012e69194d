import { applyEdgeChanges, applyNodeChanges, type Connection, type EdgeChange, type NodeChange } from '@xyflow/react';
import { Api, ApiError } from '../api/client';
import {
  terminalRun,
  type NodeEventPayload,
  type NodeLogPayload,
  type NodeRun,
  type NodeStatus,
  type NotificationPayload,
  type Problem,
  type Project,
  type Run,
  type RunEventPayload,
  type RunStatus,
  type Tool,
  type Workflow,
} from '../api/types';
import { defaultParams } from '../canvas/schema';
import { Channel, Frame, ProjectSocket, RealtimeError, type SocketState, type WebSocketFactory } from '../realtime';
import {
  copySelection,
  createsCycle,
  edgeId,
  fromWorkflow,
  Graph,
  History,
  newNodeId,
  pasteInto,
  toWorkflow,
  type FlowEdge,
  type FlowNode,
  type ToolNodeData,
} from './graph';
import { LogBuffer } from './logs';
import { Store } from './store';
import type { Toasts } from './toasts';

export interface NodeState {
  status: NodeStatus;
  startedAt?: number;
  durationMs?: number;
  error?: string;
  output?: unknown;
  attempt?: number;
}

export interface ActiveRun {
  runId: string;
  workflowId: string;
  status: RunStatus;
}

export interface Conflict {
  version: number;
  workflow: Workflow | null;
  by?: string;
}

export interface HistoryState {
  runs: Run[];
  next?: string;
  status: '' | RunStatus;
  loading: boolean;
  error?: string;
}

export interface TabState {
  project: Project;
  conn: SocketState;
  fatal: string | null;
  tools: Tool[];
  toolsLoading: boolean;
  workflows: Workflow[];
  workflowId: string;
  name: string;
  /** 0: never saved. */
  version: number;
  nodes: FlowNode[];
  edges: FlowEdge[];
  dirty: boolean;
  canUndo: boolean;
  canRedo: boolean;
  saving: boolean;
  problems: Problem[];
  /** A problem without node: shown above the canvas. */
  banner: string | null;
  conflict: Conflict | null;
  activeRuns: Record<string, ActiveRun>;
  /** The run shown on the canvas and in the log viewer. */
  runId: string | null;
  run: Run | null;
  nodeStates: Record<string, NodeState>;
  starting: boolean;
  history: HistoryState;
  loading: boolean;
  loadError: string | null;
}

export interface TabDeps {
  api: Api;
  toasts: Toasts;
  wsBase: () => string;
  token: () => Promise<string>;
  refreshToken: () => Promise<string>;
  /** Number of active runs changed (the lazy policy listens). */
  onActiveRuns: (projectId: string, n: number) => void;
  /** Whether this tab is the foreground one (for "finished in background" toasts). */
  isForeground: (projectId: string) => boolean;
  createSocket?: WebSocketFactory;
}

const newWorkflowId = () => `wf-${Math.random().toString(36).slice(2, 8)}`;

/**
 * Everything one project tab knows: its socket and channels, tools,
 * the open workflow as canvas nodes/edges with undo history, the run on
 * display and its logs, run history. Fed by realtime events; React reads
 * it through useStore and calls the methods.
 */
export class ProjectTab extends Store<TabState> {
  readonly id: string;
  readonly socket: ProjectSocket;
  readonly logs = new LogBuffer();
  private deps: TabDeps;
  private projectCh: Channel;
  private toolsCh: Channel;
  private runCh: Channel | null = null;
  private workflowCh: Channel | null = null;
  private undo = new History();
  private clipboard: Graph | null = null;
  private offs: (() => void)[] = [];
  private disposed = false;

  constructor(project: Project, deps: TabDeps) {
    super({
      project,
      conn: 'idle',
      fatal: null,
      tools: [],
      toolsLoading: true,
      workflows: [],
      workflowId: newWorkflowId(),
      name: 'Untitled workflow',
      version: 0,
      nodes: [],
      edges: [],
      dirty: false,
      canUndo: false,
      canRedo: false,
      saving: false,
      problems: [],
      banner: null,
      conflict: null,
      activeRuns: {},
      runId: null,
      run: null,
      nodeStates: {},
      starting: false,
      history: { runs: [], status: '', loading: false },
      loading: true,
      loadError: null,
    });
    this.id = project.id;
    this.deps = deps;
    this.socket = new ProjectSocket({
      projectId: project.id,
      wsBase: deps.wsBase,
      token: deps.token,
      refreshToken: deps.refreshToken,
      createSocket: deps.createSocket,
      probe: async () => {
        try {
          await deps.api.getProject(project.id);
          return 'reconnect';
        } catch (e) {
          if (e instanceof ApiError && e.status === 404) return 'stop';
          if (e instanceof ApiError && e.status === 401) return 'refresh';
          return 'reconnect';
        }
      },
    });
    this.offs.push(
      this.socket.onState((conn) => this.set({ conn })),
      this.socket.onFatal((f) => {
        const msg =
          f.code === 4004
            ? 'This project was deleted or is no longer known to the server.'
            : f.code === 4001
              ? 'Session expired.'
              : `The server closed the connection (${f.code}${f.reason ? `: ${f.reason}` : ''}).`;
        this.set({ fatal: msg });
        deps.toasts.push({ level: 'error', title: 'Connection stopped', message: msg, source: project.name });
      }),
      this.socket.onFrame((f) => this.onStrayFrame(f)),
    );

    this.projectCh = this.socket.channel(`project:${project.id}`);
    this.offs.push(
      this.projectCh.onSnapshot((snap) => this.applyProjectSnapshot(snap)),
      this.projectCh.on('*', (f) => this.onProjectEvent(f)),
    );
    this.projectCh.subscribe().catch(() => undefined);

    this.toolsCh = this.socket.channel(`tools:${project.id}`);
    this.offs.push(this.toolsCh.on('tools.changed', () => void this.loadTools()));
    this.toolsCh.subscribe().catch(() => undefined);
  }

  /** First load over REST: tools, workflows, the first workflow. */
  async load(): Promise<void> {
    this.set({ loading: true, loadError: null });
    await Promise.all([
      this.loadTools(),
      (async () => {
        try {
          const workflows = await this.deps.api.listWorkflows(this.id);
          this.set({ workflows });
          if (workflows.length && workflows[0].id) await this.openWorkflow(workflows[0].id);
          else this.watchWorkflow();
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
      const tools = await this.deps.api.listTools(this.id);
      tools.sort((a, b) => (a.title || a.name).localeCompare(b.title || b.name));
      this.set({ tools, toolsLoading: false });
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

  // ---------------- workflow editing ----------------

  async openWorkflow(workflowId: string): Promise<void> {
    const wf = await this.deps.api.getWorkflow(this.id, workflowId);
    this.showWorkflow(workflowId, wf);
    this.watchWorkflow();
    this.clearRun();
    void this.loadHistory();
  }

  newWorkflow(name = 'Untitled workflow'): void {
    this.showWorkflow(newWorkflowId(), { name, nodes: [], edges: [], version: 0 });
    this.watchWorkflow();
    this.clearRun();
    this.set({ history: { runs: [], status: '', loading: false } });
  }

  private showWorkflow(workflowId: string, wf: Workflow): void {
    const g = fromWorkflow(wf);
    this.undo.clear();
    this.set({
      workflowId,
      name: wf.name || workflowId,
      version: wf.version ?? 0,
      nodes: g.nodes,
      edges: g.edges,
      dirty: false,
      problems: [],
      banner: null,
      conflict: null,
      canUndo: false,
      canRedo: false,
    });
  }

  private watchWorkflow(): void {
    const name = `workflow:${this.get().workflowId}`;
    if (this.workflowCh?.name === name) return;
    if (this.workflowCh) this.socket.removeChannel(this.workflowCh.name);
    if (!this.get().version) {
      this.workflowCh = null;
      return;
    }
    const ch = this.socket.channel(name);
    this.workflowCh = ch;
    ch.on('workflow.updated', (f) => this.onWorkflowUpdated(f));
    ch.subscribe().catch(() => undefined);
  }

  setName(name: string): void {
    this.set({ name, dirty: true });
  }

  private graph(): Graph {
    const s = this.get();
    return { nodes: s.nodes, edges: s.edges };
  }

  /** Records the current graph for undo, then applies a change. */
  private change(next: Partial<Graph>, coalesceKey = ''): void {
    this.undo.record(this.graph(), coalesceKey);
    this.set({ ...next, dirty: true, canUndo: this.undo.canUndo, canRedo: this.undo.canRedo });
  }

  onNodesChange = (changes: NodeChange<FlowNode>[]): void => {
    const structural = changes.some((c) => c.type === 'remove' || c.type === 'add');
    const moved = changes.some((c) => c.type === 'position' && c.dragging === false);
    const nodes = applyNodeChanges(changes, this.get().nodes);
    if (structural) {
      const ids = new Set(nodes.map((n) => n.id));
      this.change({ nodes, edges: this.get().edges.filter((e) => ids.has(e.source) && ids.has(e.target)) });
    } else {
      // Selection and dimension changes are not edits; a finished drag is (recorded at drag start).
      this.set(moved ? { nodes, dirty: true } : { nodes });
    }
  };

  /** Called by the canvas when a drag starts, so the move can be undone. */
  beginDrag = (): void => {
    this.undo.record(this.graph());
    this.set({ canUndo: this.undo.canUndo, canRedo: false });
  };

  onEdgesChange = (changes: EdgeChange<FlowEdge>[]): void => {
    const edges = applyEdgeChanges(changes, this.get().edges);
    if (changes.some((c) => c.type === 'remove')) this.change({ edges });
    else this.set({ edges });
  };

  /** Adds an edge unless it exists or would close a cycle. */
  connect = (c: Connection): boolean => {
    if (!c.source || !c.target) return false;
    const edges = this.get().edges;
    if (edges.some((e) => e.source === c.source && e.target === c.target)) return false;
    if (createsCycle(edges, c.source, c.target)) {
      this.deps.toasts.push({ level: 'warning', title: 'Not connected', message: 'That edge would create a cycle; workflows must be acyclic.' });
      return false;
    }
    this.change({ edges: [...edges, { id: edgeId(c.source, c.target), source: c.source, target: c.target }] });
    return true;
  };

  addNode(toolName: string, position: { x: number; y: number }): string {
    const tool = this.get().tools.find((t) => t.name === toolName);
    const id = newNodeId(toolName, this.get().nodes.map((n) => n.id));
    const node: FlowNode = {
      id,
      type: 'tool',
      position,
      selected: true,
      data: { tool: toolName, params: defaultParams(tool?.inputSchema) },
    };
    this.change({ nodes: [...this.get().nodes.map((n) => (n.selected ? { ...n, selected: false } : n)), node] });
    return id;
  }

  updateNodeData(nodeId: string, patch: Partial<ToolNodeData>, coalesceKey = ''): void {
    this.change(
      {
        nodes: this.get().nodes.map((n) => (n.id === nodeId ? { ...n, data: { ...n.data, ...patch } } : n)),
      },
      coalesceKey ? `${nodeId}:${coalesceKey}` : '',
    );
    // A fixed field clears its problem.
    if (this.get().problems.some((p) => p.node === nodeId)) {
      this.set({ problems: this.get().problems.filter((p) => p.node !== nodeId) });
    }
  }

  setParam(nodeId: string, key: string, value: unknown): void {
    const n = this.get().nodes.find((x) => x.id === nodeId);
    if (!n) return;
    const params = { ...n.data.params };
    if (value === undefined) delete params[key];
    else params[key] = value;
    this.updateNodeData(nodeId, { params }, key);
  }

  /** Renames a node id, keeping its edges. Returns an error message or null. */
  renameNode(oldId: string, newId: string): string | null {
    if (oldId === newId) return null;
    if (!/^[A-Za-z0-9_-]{1,64}$/.test(newId)) return 'letters, digits, _ and -, at most 64';
    if (this.get().nodes.some((n) => n.id === newId)) return 'another node has this id';
    const r = (id: string) => (id === oldId ? newId : id);
    this.change({
      nodes: this.get().nodes.map((n) => (n.id === oldId ? { ...n, id: newId } : n)),
      edges: this.get().edges.map((e) => ({ ...e, id: edgeId(r(e.source), r(e.target)), source: r(e.source), target: r(e.target) })),
    });
    return null;
  }

  deleteSelection(): void {
    const s = this.get();
    const gone = new Set(s.nodes.filter((n) => n.selected).map((n) => n.id));
    const edges = s.edges.filter((e) => !e.selected && !gone.has(e.source) && !gone.has(e.target));
    if (!gone.size && edges.length === s.edges.length) return;
    this.change({ nodes: s.nodes.filter((n) => !gone.has(n.id)), edges });
  }

  copy(): boolean {
    const clip = copySelection(this.graph());
    if (clip) this.clipboard = clip;
    return !!clip;
  }

  paste(): void {
    if (!this.clipboard) return;
    this.change(pasteInto(this.graph(), this.clipboard));
  }

  undoChange(): void {
    const g = this.undo.undo(this.graph());
    if (g) this.set({ ...g, dirty: true, canUndo: this.undo.canUndo, canRedo: this.undo.canRedo });
  }

  redoChange(): void {
    const g = this.undo.redo(this.graph());
    if (g) this.set({ ...g, dirty: true, canUndo: this.undo.canUndo, canRedo: this.undo.canRedo });
  }

  selectOnly(nodeId: string | null): void {
    this.set({
      nodes: this.get().nodes.map((n) => (n.selected === (n.id === nodeId) ? n : { ...n, selected: n.id === nodeId })),
    });
  }

  // ---------------- save ----------------

  /**
   * Saves the open workflow: the first save of a new workflow goes through
   * REST PUT, later ones through `workflow.update` with the base version so
   * a concurrent edit elsewhere is detected. `overwrite` sends baseVersion -1.
   */
  async save(overwrite = false): Promise<boolean> {
    const s = this.get();
    if (s.saving) return false;
    const wf = toWorkflow(s.workflowId, s.name, this.graph());
    this.set({ saving: true });
    try {
      let version: number;
      if (!s.version || !this.canUseSocket()) {
        version = (await this.deps.api.putWorkflow(this.id, s.workflowId, wf)).version;
      } else {
        const reply = await this.socket.request('workflow.update', {
          workflowId: s.workflowId,
          baseVersion: overwrite ? -1 : s.version,
          workflow: wf,
        });
        version = Number(reply.payload?.version ?? s.version + 1);
      }
      // Edits made while the save was in flight stay dirty.
      const changed = this.get().nodes !== s.nodes || this.get().edges !== s.edges || this.get().name !== s.name;
      this.set({ version, dirty: changed, problems: [], banner: null, conflict: null, saving: false });
      this.watchWorkflow();
      void this.refreshWorkflows();
      return true;
    } catch (e) {
      this.set({ saving: false });
      this.saveFailed(e);
      return false;
    }
  }

  private canUseSocket(): boolean {
    return this.socket.state !== 'stopped' && this.socket.state !== 'idle';
  }

  private saveFailed(e: unknown): void {
    const code = e instanceof RealtimeError || e instanceof ApiError ? e.code : 'internal';
    const payload = e instanceof RealtimeError ? e.payload : e instanceof ApiError ? e.details : null;
    if (code === 'conflict') {
      const d = payload?.details ?? payload ?? {};
      this.set({ conflict: { version: Number(d.version ?? 0), workflow: d.workflow ?? null } });
      return;
    }
    const problems: Problem[] =
      (e instanceof ApiError ? e.problems : null) ?? payload?.problems ?? payload?.details?.problems ?? [];
    if (problems.length) {
      const general = problems.filter((p) => !p.node);
      this.set({
        problems,
        banner: general.length ? general.map((p) => p.message).join(' · ') : `${problems.length} problem(s) on the nodes marked in red`,
      });
      this.deps.toasts.push({ level: 'error', title: 'Workflow not saved', message: `${problems.length} validation problem(s)` });
      return;
    }
    const msg = (e as Error).message ?? String(e);
    this.set({ banner: `Save failed: ${msg}` });
    this.deps.toasts.push({ level: 'error', title: 'Save failed', message: msg });
  }

  /** Conflict resolution: take the other version (losing local edits). */
  reloadFromConflict(): void {
    const c = this.get().conflict;
    if (!c) return;
    if (c.workflow) this.showWorkflow(this.get().workflowId, { ...c.workflow, version: c.version });
    else void this.openWorkflow(this.get().workflowId);
    this.set({ conflict: null });
  }

  overwriteConflict(): Promise<boolean> {
    return this.save(true);
  }

  private onWorkflowUpdated(f: Frame): void {
    const p = f.payload ?? {};
    const s = this.get();
    if (p.workflowId && p.workflowId !== s.workflowId) return;
    if (p.by && p.by === this.socket.connectionId) return; // our own save
    if (typeof p.version === 'number' && p.version <= s.version) return;
    if (!s.dirty) {
      void this.openWorkflow(s.workflowId).then(() =>
        this.deps.toasts.push({ level: 'info', title: 'Workflow updated', message: `${s.name} was changed by another editor and reloaded.` }),
      );
      return;
    }
    void this.deps.api
      .getWorkflow(this.id, s.workflowId)
      .then((wf) => this.set({ conflict: { version: wf.version ?? p.version, workflow: wf, by: p.by } }))
      .catch(() => this.set({ conflict: { version: p.version, workflow: null, by: p.by } }));
  }

  // ---------------- runs ----------------

  /** Saves if needed, then starts a run of the open workflow and shows it. */
  async startRun(): Promise<void> {
    const s = this.get();
    if (s.starting) return;
    if (!s.nodes.length) {
      this.deps.toasts.push({ level: 'warning', title: 'Nothing to run', message: 'Drag a tool from the palette onto the canvas first.' });
      return;
    }
    this.set({ starting: true });
    try {
      if (s.dirty || !s.version) {
        if (!(await this.save())) return;
      }
      let runId: string;
      if (this.canUseSocket()) {
        const reply = await this.socket.request('run.start', { workflowId: this.get().workflowId, inputs: {} });
        runId = reply.payload?.runId;
      } else {
        runId = (await this.deps.api.startRun(this.id, this.get().workflowId)).runId;
      }
      this.markActive({ runId, workflowId: this.get().workflowId, status: 'queued' });
      this.showRun(runId, true);
    } catch (e) {
      this.deps.toasts.push({ level: 'error', title: 'Run not started', message: (e as Error).message });
    } finally {
      this.set({ starting: false });
    }
  }

  async cancelRun(): Promise<void> {
    const runId = this.get().runId;
    if (!runId) return;
    try {
      if (this.canUseSocket()) await this.socket.request('run.cancel', { runId });
      else await this.deps.api.cancelRun(runId);
    } catch (e) {
      this.deps.toasts.push({ level: 'error', title: 'Cancel failed', message: (e as Error).message });
    }
  }

  /** Shows a run on the canvas: its node states live, and its logs (replayed from the start). */
  showRun(runId: string, fresh = false): void {
    if (this.runCh?.name === `run:${runId}`) return;
    this.clearRun();
    const nodeStates: Record<string, NodeState> = {};
    if (fresh) for (const n of this.get().nodes) nodeStates[n.id] = { status: 'pending' };
    this.set({
      runId,
      run: fresh ? ({ id: runId, projectId: this.id, workflowId: this.get().workflowId, status: 'queued', createdAt: new Date().toISOString() } as Run) : null,
      nodeStates,
    });
    const ch = this.socket.channel(`run:${runId}`);
    ch.lastSeq = 0; // ask for the run's whole history: logs included
    this.runCh = ch;
    ch.onSnapshot((snap) => this.applyRunSnapshot(runId, snap));
    ch.on('*', (f) => this.onRunEvent(runId, f));
    if (this.socket.state === 'idle' || this.socket.state === 'stopped') {
      // Not connected (a background or stopped tab): read the run over REST.
      void this.deps.api.getRun(runId).then((r) => this.applyRunSnapshot(runId, r)).catch(() => undefined);
    }
    ch.subscribe().catch(() => {
      void this.deps.api.getRun(runId).then((r) => this.applyRunSnapshot(runId, r)).catch(() => undefined);
    });
  }

  clearRun(): void {
    if (this.runCh) this.socket.removeChannel(this.runCh.name);
    this.runCh = null;
    this.logs.clear();
    this.set({ runId: null, run: null, nodeStates: {} });
  }

  private applyRunSnapshot(runId: string, snap: any): void {
    if (this.get().runId !== runId || !snap) return;
    const run: Run | null = snap.run ?? (snap.id ? snap : null);
    if (!run) return;
    const nodeStates: Record<string, NodeState> = { ...this.get().nodeStates };
    for (const n of run.nodes ?? []) nodeStates[n.nodeId] = nodeStateOf(n);
    this.set({ run: { ...run }, nodeStates });
    if (!terminalRun(run.status)) this.markActive({ runId, workflowId: run.workflowId, status: run.status });
  }

  private onRunEvent(runId: string, f: Frame): void {
    if (this.get().runId !== runId) return;
    const at = f.ts ? Date.parse(f.ts) : Date.now();
    if (f.event === 'node.log') {
      this.logs.append(f.payload as NodeLogPayload);
      return;
    }
    if (f.event.startsWith('node.')) {
      const p = f.payload as NodeEventPayload;
      if (!p?.nodeId) return;
      const prev = this.get().nodeStates[p.nodeId] ?? { status: 'pending' };
      let next: NodeState = prev;
      switch (f.event) {
        case 'node.started':
          next = { status: 'running', startedAt: at, attempt: p.attempt };
          break;
        case 'node.completed':
          next = { ...prev, status: 'succeeded', durationMs: p.durationMs, output: p.output, error: undefined };
          break;
        case 'node.failed':
          next = { ...prev, status: 'failed', durationMs: p.durationMs ?? (prev.startedAt ? at - prev.startedAt : undefined), error: p.error };
          break;
        case 'node.skipped':
          next = { ...prev, status: 'skipped' };
          break;
        case 'node.canceled':
          next = { ...prev, status: 'canceled' };
          break;
        case 'node.retrying':
          next = { ...prev, status: 'running', error: p.error };
          break;
      }
      this.set({ nodeStates: { ...this.get().nodeStates, [p.nodeId]: next } });
      return;
    }
    if (f.event.startsWith('run.')) {
      const status = runStatusOf(f.event, f.payload);
      if (!status) return;
      const run = this.get().run;
      const p = f.payload as RunEventPayload;
      this.set({
        run: {
          ...(run ?? ({ id: runId, projectId: this.id, workflowId: p.workflowId ?? '', createdAt: f.ts ?? '' } as Run)),
          status,
          error: p.error ?? run?.error,
          startedAt: status === 'running' ? (f.ts ?? run?.startedAt) : run?.startedAt,
          finishedAt: terminalRun(status) ? f.ts : run?.finishedAt,
        },
      });
      if (terminalRun(status)) {
        // Nodes that never started will not: show them as skipped/canceled.
        const ns = { ...this.get().nodeStates };
        for (const [id, st] of Object.entries(ns)) {
          if (st.status === 'pending') ns[id] = { status: status === 'canceled' ? 'canceled' : 'skipped' };
          if (st.status === 'running' && status === 'canceled') ns[id] = { ...st, status: 'canceled' };
        }
        this.set({ nodeStates: ns });
      }
    }
  }

  // ---------------- project channel ----------------

  private applyProjectSnapshot(snap: any): void {
    const runs: Run[] = snap?.runs ?? [];
    const activeRuns: Record<string, ActiveRun> = {};
    for (const r of runs) {
      if (!terminalRun(r.status)) activeRuns[r.id] = { runId: r.id, workflowId: r.workflowId, status: r.status };
    }
    this.set({ activeRuns });
    this.deps.onActiveRuns(this.id, Object.keys(activeRuns).length);
    // A run of the open workflow started elsewhere: show it.
    const mine = Object.values(activeRuns).find((r) => r.workflowId === this.get().workflowId);
    if (mine && !this.get().runId) this.showRun(mine.runId);
  }

  private onProjectEvent(f: Frame): void {
    if (f.event === 'notification') {
      const p = (f.payload ?? {}) as NotificationPayload;
      this.deps.toasts.push({ level: (p.level as any) ?? 'info', title: p.message ?? 'Notification', source: this.get().project.name });
      return;
    }
    if (f.event === 'workflow.updated' || f.event === 'workflow.deleted' || f.event === 'workflow.saved') {
      void this.refreshWorkflows();
      return;
    }
    if (!f.event.startsWith('run.')) return;
    const p = (f.payload ?? {}) as RunEventPayload;
    const status = runStatusOf(f.event, p);
    if (!p.runId || !status) return;
    if (terminalRun(status)) {
      const known = this.get().activeRuns[p.runId];
      const rest = { ...this.get().activeRuns };
      delete rest[p.runId];
      this.set({ activeRuns: rest });
      this.deps.onActiveRuns(this.id, Object.keys(rest).length);
      if (known && !this.deps.isForeground(this.id)) {
        this.deps.toasts.push({
          level: status === 'succeeded' ? 'success' : status === 'failed' ? 'error' : 'warning',
          title: `Run ${status}`,
          message: `${known.workflowId} in ${this.get().project.name}${p.error ? `: ${p.error}` : ''}`,
          source: this.get().project.name,
        });
      }
      if ((p.workflowId ?? known?.workflowId) === this.get().workflowId) void this.loadHistory();
    } else {
      this.markActive({ runId: p.runId, workflowId: p.workflowId ?? '', status });
      // A run of the open workflow started from elsewhere (API, another window).
      if (p.workflowId === this.get().workflowId && !this.get().runId && status === 'queued') this.showRun(p.runId, true);
    }
  }

  private markActive(r: ActiveRun): void {
    const prev = this.get().activeRuns[r.runId];
    if (prev && prev.status === r.status) return;
    const activeRuns = { ...this.get().activeRuns, [r.runId]: { ...prev, ...r, workflowId: r.workflowId || prev?.workflowId || '' } };
    this.set({ activeRuns });
    this.deps.onActiveRuns(this.id, Object.keys(activeRuns).length);
    if (!prev && r.workflowId === this.get().workflowId) void this.loadHistory();
  }

  private onStrayFrame(f: Frame): void {
    if (f.event === 'error' && f.payload?.message) {
      this.deps.toasts.push({ level: 'error', title: `Server: ${f.payload.code ?? 'error'}`, message: f.payload.message, source: this.get().project.name });
    }
  }

  // ---------------- history ----------------

  async loadHistory(more = false): Promise<void> {
    const s = this.get();
    if (!s.version && !more) {
      this.set({ history: { ...s.history, runs: [], next: undefined, loading: false, error: undefined } });
      return;
    }
    const h = s.history;
    this.set({ history: { ...h, loading: true, error: undefined } });
    try {
      const page = await this.deps.api.listRuns(this.id, {
        workflowId: s.workflowId,
        status: h.status || undefined,
        limit: 50,
        cursor: more ? h.next : undefined,
      });
      const cur = this.get().history;
      this.set({
        history: { ...cur, runs: more ? [...cur.runs, ...(page.runs ?? [])] : (page.runs ?? []), next: page.next || undefined, loading: false },
      });
    } catch (e) {
      this.set({ history: { ...this.get().history, loading: false, error: (e as Error).message } });
    }
  }

  setHistoryFilter(status: '' | RunStatus): void {
    this.set({ history: { ...this.get().history, status, runs: [], next: undefined } });
    void this.loadHistory();
  }

  /** Subscribes or unsubscribes the `system` channel (monitoring panel open). */
  systemChannel(): Channel {
    return this.socket.channel('system');
  }

  dispose(): void {
    if (this.disposed) return;
    this.disposed = true;
    for (const off of this.offs) off();
    this.socket.disconnect();
  }
}

function nodeStateOf(n: NodeRun): NodeState {
  return {
    status: n.status,
    startedAt: n.startedAt ? Date.parse(n.startedAt) : undefined,
    durationMs: n.durationMs,
    error: n.error,
    output: n.output,
    attempt: n.attempt,
  };
}

function runStatusOf(event: string, p: any): RunStatus | null {
  switch (event) {
    case 'run.queued':
      return 'queued';
    case 'run.started':
      return 'running';
    case 'run.completed':
      return p?.status === 'failed' ? 'failed' : 'succeeded';
    case 'run.failed':
      return 'failed';
    case 'run.canceled':
      return 'canceled';
    default:
      return null;
  }
}
