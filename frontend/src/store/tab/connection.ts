import { ApiError } from '../../api/client';
import type { Project } from '../../api/types';
import { Frame, ProjectSocket } from '../../realtime';
import type { Store } from '../store';
import type { TabDeps, TabState } from './state';

/**
 * The connection slice: owns the tab's project socket and reports its
 * state (`conn`) and a fatal stop (`fatal`) into the tab state. The other
 * slices ask it whether the socket can carry a request now.
 */
export class Connection {
  readonly socket: ProjectSocket;
  private offs: (() => void)[] = [];

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
      this.socket.onState((conn) => this.tab.set({ conn })),
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

  /** Whether requests should go over the socket (else over REST). */
  canUseSocket(): boolean {
    return this.socket.state !== 'stopped' && this.socket.state !== 'idle';
  }

  private onStrayFrame(f: Frame): void {
    if (f.event === 'error' && f.payload?.message) {
      this.deps.toasts.push({
        level: 'error',
        title: `Server: ${f.payload.code ?? 'error'}`,
        message: f.payload.message,
        source: this.tab.get().project.name,
      });
    }
  }

  dispose(): void {
    for (const off of this.offs) off();
    this.socket.disconnect();
  }
}
