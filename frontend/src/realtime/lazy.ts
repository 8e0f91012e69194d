// The lazy connection policy of issue 5: a project holds a WebSocket only
// while it is the foreground tab or has an active (queued/running) run. A
// background tab with nothing active lets its connection go after a grace
// period (so flicking through tabs does not churn connections) and
// reconnects, resubscribing with `since`, when it is activated again.

export interface LazyTarget {
  connect(): void;
  disconnect(): void;
}

export interface LazyOptions {
  /** How long a background idle project keeps its connection; default 5 s. */
  graceMs?: number;
}

interface Entry {
  target: LazyTarget;
  activeRuns: number;
  connected: boolean;
  timer: ReturnType<typeof setTimeout> | null;
}

export class LazyConnections {
  private entries = new Map<string, Entry>();
  private foreground: string | null = null;
  private graceMs: number;

  constructor(opts: LazyOptions = {}) {
    this.graceMs = opts.graceMs ?? 5000;
  }

  /** Registers a project (a new tab); it connects if the policy says so. */
  add(projectId: string, target: LazyTarget): void {
    this.entries.set(projectId, { target, activeRuns: 0, connected: false, timer: null });
    this.apply(projectId);
  }

  /** Unregisters a project (tab closed) and disconnects it at once. */
  remove(projectId: string): void {
    const e = this.entries.get(projectId);
    if (!e) return;
    if (e.timer) clearTimeout(e.timer);
    this.entries.delete(projectId);
    if (e.connected) e.target.disconnect();
    if (this.foreground === projectId) this.foreground = null;
  }

  setForeground(projectId: string | null): void {
    const prev = this.foreground;
    this.foreground = projectId;
    if (prev && prev !== projectId) this.apply(prev);
    if (projectId) this.apply(projectId);
  }

  /** Number of queued/running runs, from channel events or the REST poll. */
  setActiveRuns(projectId: string, n: number): void {
    const e = this.entries.get(projectId);
    if (!e || e.activeRuns === n) return;
    e.activeRuns = n;
    this.apply(projectId);
  }

  /**
   * Connects a background project for one grace period even though it has
   * no active run: a run started by itself (a trigger) and may already have
   * ended between two polls; connecting replays it (history, toast).
   */
  nudge(projectId: string): void {
    const e = this.entries.get(projectId);
    if (!e) return;
    if (!e.connected) {
      e.connected = true;
      e.target.connect();
    }
    this.apply(projectId);
  }

  /** Whether the policy wants this project connected right now. */
  wants(projectId: string): boolean {
    const e = this.entries.get(projectId);
    return !!e && (this.foreground === projectId || e.activeRuns > 0);
  }

  /** Projects currently holding (or establishing) a connection. */
  connectedProjects(): string[] {
    return [...this.entries].filter(([, e]) => e.connected).map(([id]) => id);
  }

  dispose(): void {
    for (const id of [...this.entries.keys()]) this.remove(id);
  }

  private apply(projectId: string): void {
    const e = this.entries.get(projectId);
    if (!e) return;
    if (this.wants(projectId)) {
      if (e.timer) clearTimeout(e.timer);
      e.timer = null;
      if (!e.connected) {
        e.connected = true;
        e.target.connect();
      }
      return;
    }
    if (!e.connected || e.timer) return;
    e.timer = setTimeout(() => {
      e.timer = null;
      if (this.entries.get(projectId) !== e || this.wants(projectId)) return;
      e.connected = false;
      e.target.disconnect();
    }, this.graceMs);
  }
}
