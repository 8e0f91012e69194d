import { ApiError } from '../../api/client';
import type { ErrorDetails, Project } from '../../api/types';
import { Frame, ProjectSocket, type SocketState } from '../../realtime';
import type { Store } from '../store';
import type { TabDeps, TabState } from './state';

/** What the connection slice tells the rest of the tab. */
export interface ConnectionHooks {
  /** The socket is open again after an outage of `offlineMs`. */
  backOnline(offlineMs: number): void;
}

/**
 * The connection slice: owns the tab's project socket and reports its
 * state (`conn`), a fatal stop (`fatal`) and an outage (`outage`: lost
 * after having been connected, with the next retry time) into the tab
 * state. The other slices ask it whether the socket can carry a request
 * now, and refuse at once with its message while it cannot.
 */
export class Connection {
  readonly socket: ProjectSocket;
  private offs: (() => void)[] = [];
  private wasOpen = false;
  hooks: ConnectionHooks | null = null;

  constructor(
    private tab: Store<TabState>,
    project: Project,
    private deps: TabDeps,
  ) {
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
      this.socket.onState((conn) => this.onState(conn)),
      this.socket.onFatal((f) => {
        const msg =
          f.code === 4004
            ? 'This project was deleted or is no longer known to the server.'
            : f.code === 4001
              ? 'Session expired.'
              : `The server closed the connection (${f.code}${f.reason ? `: ${f.reason}` : ''}).`;
        this.tab.set({ fatal: msg });
        deps.toasts.push({ level: 'error', title: 'Connection stopped', message: msg, source: project.name });
      }),
      this.socket.onFrame((f) => this.onStrayFrame(f)),
    );
  }

  private onState(conn: SocketState): void {
    const outage = this.tab.get().outage;
    if (conn === 'open') {
      this.wasOpen = true;
      this.tab.set({ conn, outage: null });
      if (outage) this.hooks?.backOnline(Date.now() - outage.since);
      return;
    }
    if ((conn === 'waiting' || conn === 'connecting') && this.wasOpen) {
      this.tab.set({ conn, outage: { since: outage?.since ?? Date.now(), retryAt: this.socket.retryAt }, resync: null });
      return;
    }
    // idle (the lazy policy let go, or the tab closes) and stopped (fatal) are no outage.
    if (conn === 'idle' || conn === 'stopped') this.wasOpen = false;
    this.tab.set({ conn, outage: null });
  }

  /** "Retry now": skips the backoff wait. */
  retryNow(): void {
    this.socket.retryNow();
  }

  /**
   * Null when requests can go out now; else why not, in words for the user.
   * During an outage requests are refused at once instead of waiting in the
   * socket's buffer until they time out.
   */
  notConnected(): string | null {
    const o = this.tab.get().outage;
    if (!o) return null;
    const secs = o.retryAt ? Math.max(1, Math.ceil((o.retryAt - Date.now()) / 1000)) : 0;
    return `Not connected to the server (${secs ? `reconnecting in ${secs} s` : 'reconnecting now'}).`;
  }

  /** Whether requests should go over the socket (else over REST). */
  canUseSocket(): boolean {
    return this.socket.state !== 'stopped' && this.socket.state !== 'idle';
  }

  private onStrayFrame(f: Frame): void {
    const p = f.payload as ErrorDetails | undefined;
    if (f.event === 'error' && p?.message) {
      this.deps.toasts.push({
        level: 'error',
        title: `Server: ${p.code ?? 'error'}`,
        message: p.message,
        source: this.tab.get().project.name,
      });
    }
  }

  dispose(): void {
    for (const off of this.offs) off();
    this.socket.disconnect();
  }
}
