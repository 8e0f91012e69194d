import { Api, ApiError } from '../api/client';
import type { Project, Workspace as WorkspaceDoc } from '../api/types';
import { LazyConnections, type WebSocketFactory } from '../realtime';
import { ProjectTab } from './project';
import { Store } from './store';
import type { Toasts } from './toasts';

export interface WorkspaceState {
  tabs: ProjectTab[];
  active: string | null;
  restoring: boolean;
}

export interface WorkspaceDeps {
  api: Api;
  toasts: Toasts;
  wsBase: () => string;
  token: () => Promise<string>;
  refreshToken: () => Promise<string>;
  onTokenRefreshed: (fn: (t: string) => void) => () => void;
  createSocket?: WebSocketFactory;
  /** Storage for the open tabs when the server has no /api/workspace. */
  storage?: Pick<Storage, 'getItem' | 'setItem'>;
  /** Grace period of the lazy policy (ms). */
  graceMs?: number;
  /** Background poll of GET /api/projects (ms). */
  pollMs?: number;
}

const LOCAL_KEY = 'flowweaver.workspace';

/**
 * The open project tabs: order, the active one, persistence (server-side
 * /api/workspace, else localStorage: it holds only project ids), the lazy
 * connection policy, and a cheap poll that tells background tabs a run
 * started elsewhere.
 */
export class Workspace extends Store<WorkspaceState> {
  readonly lazy: LazyConnections;
  private deps: WorkspaceDeps;
  private serverSide = true;
  private pollTimer: ReturnType<typeof setInterval> | null = null;
  /** Per project, the lastRunAt of the previous poll. */
  private lastRunAt = new Map<string, string>();
  private saveTimer: ReturnType<typeof setTimeout> | null = null;
  private offToken: () => void;

  constructor(deps: WorkspaceDeps) {
    super({ tabs: [], active: null, restoring: true });
    this.deps = deps;
    this.lazy = new LazyConnections({ graceMs: deps.graceMs ?? 5000 });
    // A refreshed token is handed to every open socket (auth.refresh), so
    // connections live on without reconnecting.
    this.offToken = deps.onTokenRefreshed((t) => {
      for (const tab of this.get().tabs) void tab.socket.sendAuthRefresh(t);
    });
  }

  tab(id: string | null): ProjectTab | undefined {
    return id ? this.get().tabs.find((t) => t.id === id) : undefined;
  }

  /** Reopens the tabs of the last session. */
  async restore(): Promise<void> {
    let doc: WorkspaceDoc = { tabs: [], active: null };
    try {
      doc = (await this.deps.api.getWorkspace()) ?? doc;
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) this.serverSide = false;
      doc = this.readLocal();
    }
    let projects: Project[] = [];
    try {
      projects = await this.deps.api.listProjects();
    } catch {
      /* shown as empty */
    }
    const byId = new Map(projects.map((p) => [p.id, p]));
    for (const id of doc.tabs ?? []) {
      const p = byId.get(id);
      if (p) this.addTab(p, false);
    }
    const active = doc.active && this.tab(doc.active) ? doc.active : (this.get().tabs[0]?.id ?? null);
    this.set({ restoring: false });
    if (active) this.activate(active, false);
    this.startPolling();
  }

  /** Opens a project (existing or new) in a tab, or switches to its tab. */
  open(p: Project): ProjectTab {
    const existing = this.tab(p.id);
    if (existing) {
      this.activate(p.id);
      return existing;
    }
    const tab = this.addTab(p, true);
    this.activate(p.id);
    return tab;
  }

  private addTab(p: Project, persist: boolean): ProjectTab {
    const tab = new ProjectTab(p, {
      api: this.deps.api,
      toasts: this.deps.toasts,
      wsBase: this.deps.wsBase,
      token: this.deps.token,
      refreshToken: this.deps.refreshToken,
      createSocket: this.deps.createSocket,
      onActiveRuns: (id, n) => this.lazy.setActiveRuns(id, n),
      isForeground: (id) => this.get().active === id,
    });
    this.set((s) => ({ tabs: [...s.tabs, tab] }));
    this.lazy.add(p.id, tab.socket);
    void tab.load();
    if (persist) this.persist();
    return tab;
  }

  activate(id: string, persist = true): void {
    if (!this.tab(id)) return;
    this.set({ active: id });
    this.lazy.setForeground(id);
    if (persist) this.persist();
  }

  close(id: string): void {
    const s = this.get();
    const i = s.tabs.findIndex((t) => t.id === id);
    if (i < 0) return;
    const tab = s.tabs[i];
    this.lazy.remove(id);
    tab.dispose();
    const tabs = s.tabs.filter((t) => t.id !== id);
    let active = s.active;
    if (active === id) active = tabs[Math.min(i, tabs.length - 1)]?.id ?? null;
    this.set({ tabs, active });
    this.lazy.setForeground(active);
    this.persist();
  }

  /** Moves a tab to another position (drag and drop in the tab bar). */
  move(id: string, toIndex: number): void {
    const tabs = [...this.get().tabs];
    const from = tabs.findIndex((t) => t.id === id);
    if (from < 0) return;
    const [t] = tabs.splice(from, 1);
    tabs.splice(Math.max(0, Math.min(toIndex, tabs.length)), 0, t);
    this.set({ tabs });
    this.persist();
  }

  /** The document saved for the next start. */
  doc(): WorkspaceDoc {
    return { tabs: this.get().tabs.map((t) => t.id), active: this.get().active };
  }

  private persist(): void {
    if (this.get().restoring) return;
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.saveTimer = setTimeout(() => void this.flush(), 300);
  }

  async flush(): Promise<void> {
    const doc = this.doc();
    this.writeLocal(doc);
    if (!this.serverSide) return;
    try {
      await this.deps.api.putWorkspace(doc);
    } catch (e) {
      if (e instanceof ApiError && (e.status === 404 || e.status === 405)) this.serverSide = false;
    }
  }

  private readLocal(): WorkspaceDoc {
    try {
      const raw = this.storage()?.getItem(LOCAL_KEY);
      const d = (raw ? JSON.parse(raw) : null) as { tabs?: unknown; active?: string | null } | null;
      if (d && Array.isArray(d.tabs)) return { tabs: d.tabs.map(String), active: d.active ?? null };
    } catch {
      /* ignore */
    }
    return { tabs: [], active: null };
  }

  private writeLocal(doc: WorkspaceDoc): void {
    try {
      this.storage()?.setItem(LOCAL_KEY, JSON.stringify(doc));
    } catch {
      /* private mode */
    }
  }

  private storage() {
    return this.deps.storage ?? (typeof localStorage !== 'undefined' ? localStorage : undefined);
  }

  /**
   * Every few seconds, one GET /api/projects tells which background
   * projects have active runs, so their tabs connect (lazy policy) and can
   * show progress and a toast when the run ends.
   */
  startPolling(): void {
    if (this.pollTimer) return;
    this.pollTimer = setInterval(() => void this.pollOnce(), this.deps.pollMs ?? 3000);
  }

  async pollOnce(): Promise<void> {
    if (!this.get().tabs.length) return;
    try {
      const projects = await this.deps.api.listProjects();
      for (const p of projects) {
        const tab = this.tab(p.id);
        if (tab && typeof p.trusted === 'boolean') tab.trust.applyTrusted(p.trusted);
        if (!tab || typeof p.activeRuns !== 'number') continue;
        const seen = this.lastRunAt.get(p.id);
        this.lastRunAt.set(p.id, p.lastRunAt ?? '');
        // A connected tab knows better from its project channel.
        if (tab.socket.state === 'open') continue;
        this.lazy.setActiveRuns(p.id, p.activeRuns);
        // A run started by itself since the last poll, perhaps already over.
        if (seen !== undefined && (p.lastRunAt ?? '') !== seen) this.lazy.nudge(p.id);
      }
    } catch {
      /* the next poll will tell */
    }
  }

  dispose(): void {
    if (this.pollTimer) clearInterval(this.pollTimer);
    if (this.saveTimer) clearTimeout(this.saveTimer);
    this.offToken();
    for (const t of this.get().tabs) t.dispose();
    this.lazy.dispose();
  }
}
