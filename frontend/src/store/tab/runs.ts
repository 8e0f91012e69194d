import { terminalRun, type NodeEventPayload, type NodeLogPayload, type NodeRun, type Run, type RunEventPayload, type RunStatus } from '../../api/types';
import { ApiError } from '../../api/client';
import { errorsFromProblems } from '../../inputs/model';
import { Channel, Frame, RealtimeError } from '../../realtime';
import { edgeId } from '../graph';
import { LogBuffer } from '../logs';
import type { Store } from '../store';
import type { Connection } from './connection';
import type { ActiveRun, NodeState, TabDeps, TabState } from './state';

/** What the runs slice needs from the rest of the tab. */
export interface RunsHooks {
  /** Saves the open workflow; false when it could not be saved. */
  save(): Promise<boolean>;
}

/** How many ended runs a tab remembers (Runs.ended). */
const endedRunsKept = 256;

/**
 * The runs slice: the project's active runs (from the `project:` snapshot
 * and its run events), the run on display (node states live from `run:<id>`,
 * logs replayed from the start), starting and cancelling, and the run
 * history of the open workflow.
 */
export class Runs {
  readonly logs = new LogBuffer();
  private runCh: Channel | null = null;
  /**
   * Runs whose end this tab saw on the project channel (the newest
   * endedRunsKept). A start's answer can arrive after its run's end: a run
   * the server executes at once (only instant nodes, such as log and
   * transform) has ended when it answers, and its events are sent first.
   */
  private ended = new Set<string>();

  constructor(
    private tab: Store<TabState>,
    private id: string,
    private deps: TabDeps,
    private conn: Connection,
    private hooks: RunsHooks,
  ) {}

  private get socket() {
    return this.conn.socket;
  }

  /**
   * Saves if needed, then starts a run of the open workflow with inputs and
   * shows it; true when it started. Inputs the server refuses (they do not
   * fit the workflow's declaration) reopen the run form with its messages.
   */
  async startRun(inputs: Record<string, unknown> = {}): Promise<boolean> {
    const s = this.tab.get();
    if (s.starting) return false;
    if (!s.nodes.length) {
      this.deps.toasts.push({ level: 'warning', title: 'Nothing to run', message: 'Drag a tool from the palette onto the canvas first.' });
      return false;
    }
    const offline = this.conn.notConnected();
    if (offline) {
      this.deps.toasts.push({ level: 'error', title: 'Run not started', message: `${offline} Run it again once the connection is back.` });
      return false;
    }
    this.tab.set({ starting: true });
    try {
      if (s.dirty || !s.version) {
        if (!(await this.hooks.save())) return false;
      }
      // Problems found at save time would fail the run: say so before starting it.
      const problems = this.tab.get().problems.filter((p) => p.node);
      if (problems.length) {
        const first = problems[0];
        this.deps.toasts.push({
          level: 'error',
          title: 'Run not started',
          message: `${problems.length === 1 ? '1 problem' : `${problems.length} problems`} to fix first (Problems tab): ${first.node}: ${first.message}`,
        });
        return false;
      }
      const workflowId = this.tab.get().workflowId;
      let runId: string;
      if (this.conn.canUseSocket()) {
        const reply = await this.socket.request('run.start', { workflowId, inputs });
        runId = (reply.payload as { runId: string }).runId;
      } else {
        runId = (await this.deps.api.startRun(this.id, workflowId, inputs)).runId;
      }
      this.markStarted({ runId, workflowId, status: 'queued', createdAt: new Date().toISOString() });
      this.showRun(runId, true);
      return true;
    } catch (e) {
      const refused = inputErrors(e);
      // Refused inputs: the form reopens with the server's message on each field (no toast needed).
      if (refused && this.tab.get().inputs) this.tab.set({ runForm: { errors: refused } });
      else this.deps.toasts.push({ level: 'error', title: 'Run not started', message: (e as Error).message });
      return false;
    } finally {
      this.tab.set({ starting: false });
    }
  }

  async cancelRun(): Promise<void> {
    const runId = this.tab.get().runId;
    if (!runId) return;
    const offline = this.conn.notConnected();
    if (offline) {
      this.deps.toasts.push({ level: 'error', title: 'Cancel not sent', message: `${offline} The run goes on; cancel it again once the connection is back.` });
      return;
    }
    try {
      if (this.conn.canUseSocket()) await this.socket.request('run.cancel', { runId });
      else await this.deps.api.cancelRun(runId);
    } catch (e) {
      this.deps.toasts.push({ level: 'error', title: 'Cancel failed', message: (e as Error).message });
    }
  }

  /** Shows a run on the canvas: its node states live, and its logs (replayed from the start). */
  showRun(runId: string, fresh = false): void {
    if (this.runCh?.name === `run:${runId}`) return;
    this.clearRun();
    const s = this.tab.get();
    const nodeStates: Record<string, NodeState> = {};
    if (fresh) for (const n of s.nodes) nodeStates[n.id] = { status: 'pending' };
    this.tab.set({
      runId,
      run: fresh ? { id: runId, projectId: this.id, workflowId: s.workflowId, status: 'queued', createdAt: new Date().toISOString() } : null,
      nodeStates,
      edgeStates: {},
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

  /**
   * After an outage: waits until the run on display rejoined and says how
   * it was brought up to date (missed events replayed, or its state
   * reloaded), then reloads the history.
   */
  async resync(): Promise<string[]> {
    const items: string[] = [];
    const ch = this.runCh;
    if (ch) {
      const label = `run ${ch.name.slice(4, 12)}`;
      try {
        const r = await ch.subscribe();
        items.push(r.recovered === false ? `${label} (state reloaded)` : `${label} (missed events replayed)`);
      } catch {
        const runId = this.tab.get().runId;
        if (runId) {
          await this.deps.api.getRun(runId).then((r) => this.applyRunSnapshot(runId, r)).catch(() => undefined);
          items.push(`${label} (state reloaded)`);
        }
      }
    }
    await this.loadHistory();
    items.push('run history');
    return items;
  }

  clearRun(): void {
    if (this.runCh) this.socket.removeChannel(this.runCh.name);
    this.runCh = null;
    this.logs.clear();
    this.tab.set({ runId: null, run: null, nodeStates: {}, edgeStates: {} });
  }

  /**
   * Starts the run on display again from one node: the nodes before it
   * keep their recorded results, it and everything after it run again.
   */
  async rerunFrom(nodeId: string): Promise<void> {
    const s = this.tab.get();
    const old = s.runId;
    if (!old || !s.run || !terminalRun(s.run.status)) {
      this.deps.toasts.push({ level: 'warning', title: 'Nothing to re-run', message: 'Run from here needs a finished run on display.' });
      return;
    }
    try {
      if (s.dirty && !(await this.hooks.save())) return;
      const { runId } = await this.deps.api.rerunRun(old, nodeId);
      this.markStarted({ runId, workflowId: s.workflowId, status: 'queued', createdAt: new Date().toISOString() });
      this.showRun(runId, false);
    } catch (e) {
      this.deps.toasts.push({ level: 'error', title: 'Re-run not started', message: (e as Error).message });
    }
  }

  /** snap is a run channel's snapshot ({run}) or GET /api/runs/{id}'s run. */
  private applyRunSnapshot(runId: string, snap: unknown): void {
    if (this.tab.get().runId !== runId || !snap) return;
    const s = snap as { run?: Run; id?: string };
    const run: Run | null = s.run ?? (s.id ? (snap as Run) : null);
    if (!run) return;
    const nodeStates: Record<string, NodeState> = { ...this.tab.get().nodeStates };
    for (const n of run.nodes ?? []) nodeStates[n.nodeId] = { ...nodeStates[n.nodeId], ...nodeStateOf(n) };
    const edgeStates = { ...this.tab.get().edgeStates };
    for (const e of run.edges ?? []) edgeStates[edgeId(e.source, e.target, e.on)] = e.state;
    this.tab.set({ run: { ...run }, nodeStates, edgeStates });
    if (!terminalRun(run.status)) this.markActive({ runId, workflowId: run.workflowId, status: run.status, createdAt: run.createdAt });
  }

  private onRunEvent(runId: string, f: Frame): void {
    if (this.tab.get().runId !== runId) return;
    const at = f.ts ? Date.parse(f.ts) : Date.now();
    if (f.event === 'node.log') {
      this.logs.append(f.payload as NodeLogPayload);
      return;
    }
    if (f.event.startsWith('node.')) {
      const p = f.payload as NodeEventPayload;
      if (!p?.nodeId) return;
      const prev = this.tab.get().nodeStates[p.nodeId] ?? { status: 'pending' };
      // A re-run of an interrupted node: the lines above are the earlier attempt's.
      if (f.event === 'node.started' && (p.attempt ?? 1) > 1) this.logs.mark(p.nodeId, `attempt ${p.attempt}${p.reason ? ` — ${p.reason}` : ''}`);
      const patch: Partial<TabState> = { nodeStates: { ...this.tab.get().nodeStates, [p.nodeId]: nextNodeState(f.event, p, prev, at) } };
      if (p.edges?.length) {
        const edgeStates = { ...this.tab.get().edgeStates };
        for (const e of p.edges) edgeStates[edgeId(p.nodeId, e.target, e.on)] = e.taken ? 'taken' : 'untaken';
        patch.edgeStates = edgeStates;
      }
      this.tab.set(patch);
      return;
    }
    if (f.event.startsWith('run.')) {
      const p = f.payload as RunEventPayload;
      const status = runStatusOf(f.event, p);
      if (!status) return;
      const run = this.tab.get().run;
      this.tab.set({
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
        const ns = { ...this.tab.get().nodeStates };
        for (const [id, st] of Object.entries(ns)) {
          if (st.status === 'pending') ns[id] = { status: status === 'canceled' ? 'canceled' : 'skipped' };
          if (st.status === 'running' && status === 'canceled') ns[id] = { ...st, status: 'canceled' };
        }
        this.tab.set({ nodeStates: ns });
      }
    }
  }

  /**
   * The `project:` snapshot: the project's active runs as of now (first
   * join, or a rejoin the server could not replay). A run of the open
   * workflow that this tab did not know yet takes the canvas.
   */
  applyProjectSnapshot(snap: unknown): void {
    const runs: Run[] = (snap as { runs?: Run[] } | null)?.runs ?? [];
    const before = this.tab.get().activeRuns;
    const activeRuns: Record<string, ActiveRun> = {};
    for (const r of runs) {
      // Child runs show through their parent's workflow/forEach node.
      if (!terminalRun(r.status) && !r.parentRunId) activeRuns[r.id] = { runId: r.id, workflowId: r.workflowId, status: r.status, createdAt: r.createdAt };
    }
    this.tab.set({ activeRuns });
    this.deps.onActiveRuns(this.id, Object.keys(activeRuns).length);
    const s = this.tab.get();
    const mine = activeRunsOf(s.activeRuns, s.workflowId);
    const fresh = mine.find((r) => !before[r.runId]);
    if (fresh) this.showRun(fresh.runId);
    else if (!s.runId) this.adoptActiveRun();
  }

  /**
   * Shows the newest active run of the open workflow, if there is one
   * (the workflow was just opened, or nothing is on display).
   */
  adoptActiveRun(): void {
    const s = this.tab.get();
    const [newest] = activeRunsOf(s.activeRuns, s.workflowId);
    if (newest && newest.runId !== s.runId) this.showRun(newest.runId);
  }

  /** A `run.*` event on the project channel. */
  onProjectRunEvent(f: Frame): void {
    const p = (f.payload ?? {}) as RunEventPayload;
    const status = runStatusOf(f.event, p);
    if (!p.runId || !status || p.parentRunId) return; // child runs show through their parent's node
    const s = this.tab.get();
    if (terminalRun(status)) {
      this.ended.add(p.runId);
      if (this.ended.size > endedRunsKept) this.ended.delete(this.ended.values().next().value!);
      const known = s.activeRuns[p.runId];
      const rest = { ...s.activeRuns };
      delete rest[p.runId];
      this.tab.set({ activeRuns: rest });
      this.deps.onActiveRuns(this.id, Object.keys(rest).length);
      if (known && !this.deps.isForeground(this.id)) {
        this.deps.toasts.push({
          level: status === 'succeeded' ? 'success' : status === 'failed' ? 'error' : 'warning',
          title: `Run ${status}`,
          message: `${s.workflows.find((w) => w.id === known.workflowId)?.name || known.workflowId} in ${s.project.name}${p.error ? `: ${p.error}` : ''}`,
          source: s.project.name,
        });
      }
      if ((p.workflowId ?? known?.workflowId) === s.workflowId) void this.loadHistory();
    } else {
      const isNew = !s.activeRuns[p.runId];
      this.markActive({ runId: p.runId, workflowId: p.workflowId ?? '', status, createdAt: f.ts });
      // A new run of the open workflow, started anywhere (this tab, REST,
      // CLI, another window, a trigger): the canvas follows the newest.
      if (isNew && p.workflowId === this.tab.get().workflowId) this.showRun(p.runId, status === 'queued');
    }
  }

  /** Marks a run this tab just started active, unless its end came first. */
  private markStarted(r: ActiveRun): void {
    if (!this.ended.has(r.runId)) this.markActive(r);
  }

  private markActive(r: ActiveRun): void {
    const prev = this.tab.get().activeRuns[r.runId];
    if (prev && prev.status === r.status) return;
    const activeRuns = {
      ...this.tab.get().activeRuns,
      [r.runId]: { ...prev, ...r, workflowId: r.workflowId || prev?.workflowId || '', createdAt: prev?.createdAt ?? r.createdAt },
    };
    this.tab.set({ activeRuns });
    this.deps.onActiveRuns(this.id, Object.keys(activeRuns).length);
    if (!prev && r.workflowId === this.tab.get().workflowId) void this.loadHistory();
  }

  async loadHistory(more = false): Promise<void> {
    const s = this.tab.get();
    if (!s.version && !more) {
      this.tab.set({ history: { ...s.history, runs: [], next: undefined, loading: false, error: undefined } });
      return;
    }
    const h = s.history;
    this.tab.set({ history: { ...h, loading: true, error: undefined } });
    try {
      const page = await this.deps.api.listRuns(this.id, {
        workflowId: s.workflowId,
        status: h.status || undefined,
        limit: 50,
        cursor: more ? h.next : undefined,
      });
      const cur = this.tab.get().history;
      this.tab.set({
        history: { ...cur, runs: more ? [...cur.runs, ...(page.runs ?? [])] : (page.runs ?? []), next: page.next || undefined, loading: false },
      });
    } catch (e) {
      this.tab.set({ history: { ...this.tab.get().history, loading: false, error: (e as Error).message } });
    }
  }

  setHistoryFilter(status: '' | RunStatus): void {
    this.tab.set({ history: { ...this.tab.get().history, status, runs: [], next: undefined } });
    void this.loadHistory();
  }

  resetHistory(): void {
    this.tab.set({ history: { runs: [], status: '', loading: false } });
  }
}

/** The active runs of one workflow, newest first. */
export function activeRunsOf(active: Record<string, ActiveRun>, workflowId: string): ActiveRun[] {
  return Object.values(active)
    .filter((r) => r.workflowId === workflowId)
    .sort((a, b) => (b.createdAt ?? '').localeCompare(a.createdAt ?? '') || b.runId.localeCompare(a.runId));
}

/** The node state after one `node.*` event. */
function nextNodeState(event: string, p: NodeEventPayload, prev: NodeState, at: number): NodeState {
  switch (event) {
    case 'node.started':
      return { status: 'running', startedAt: at, attempt: p.attempt, attemptReason: p.reason };
    case 'node.completed':
      return { ...prev, status: 'succeeded', durationMs: p.durationMs, output: p.output, error: undefined };
    case 'node.failed':
      return { ...prev, status: 'failed', durationMs: p.durationMs ?? (prev.startedAt ? at - prev.startedAt : undefined), error: p.error };
    case 'node.skipped':
      return { ...prev, status: 'skipped', reason: p.reason };
    case 'node.progress':
      return { ...prev, progress: { done: p.done ?? 0, total: p.total ?? 0, failed: p.failed ?? 0 } };
    case 'node.canceled':
      return { ...prev, status: 'canceled' };
    case 'node.retrying':
      return { ...prev, status: 'running', error: p.error };
    default:
      return prev;
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
    attemptReason: n.reason,
  };
}

export function runStatusOf(event: string, p: RunEventPayload | undefined): RunStatus | null {
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

/** The per-input messages of a start the server refused for its inputs, or null. */
function inputErrors(e: unknown): Record<string, string> | null {
  const payload = (e instanceof RealtimeError ? e.payload : null) as { problems?: { field: string; message: string }[] } | null;
  const problems = e instanceof ApiError ? e.problems : payload?.problems;
  const errors = errorsFromProblems(problems ?? undefined);
  return Object.keys(errors).length ? errors : null;
}
