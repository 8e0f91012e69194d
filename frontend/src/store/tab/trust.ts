import { ApiError } from '../../api/client';
import type { McpServerStatus, TrustReview } from '../../api/types';
import type { Frame } from '../../realtime';
import type { Store } from '../store';
import type { TabDeps, TabState } from './state';

/**
 * The trust slice: whether the tab's folder may run what it brings
 * (`project.trusted`), the state of its MCP servers (`servers`, with the
 * ones held back: "untrusted", "pending_approval"), and the actions on
 * them: review what would run, trust, revoke, approve one changed entry.
 * See docs/security.md.
 */
export class Trust {
  constructor(
    private tab: Store<TabState>,
    private projectId: string,
    private deps: TabDeps,
    private reloadTools: () => Promise<void>,
  ) {}

  get trusted(): boolean {
    return this.tab.get().project.trusted !== false;
  }

  /** What the folder would run once trusted: fetched fresh every time it is shown. */
  review(): Promise<TrustReview> {
    return this.deps.api.trustReview(this.projectId);
  }

  /** Trusts the folder, approving the MCP entries the user was shown (by fingerprint). */
  async trust(review: TrustReview): Promise<void> {
    const p = await this.deps.api.setTrust(
      this.projectId,
      true,
      review.mcpServers.map((s) => s.fingerprint),
    );
    this.applyTrusted(!!p.trusted);
  }

  /** Revokes trust: the server stops the MCP servers and cancels the runs of this folder. */
  async revoke(): Promise<void> {
    const p = await this.deps.api.setTrust(this.projectId, false);
    this.applyTrusted(!!p.trusted);
  }

  /** Approves one MCP entry that was added or changed after trust. False when it changed again meanwhile. */
  async approve(fingerprint: string): Promise<boolean> {
    try {
      await this.deps.api.approveMcpEntry(this.projectId, fingerprint);
      return true;
    } catch (e) {
      if (e instanceof ApiError && e.status === 409) {
        this.deps.toasts.push({
          level: 'warning',
          title: 'The entry changed again',
          message: 'Its configuration changed since it was shown. Review it again before approving.',
          source: this.tab.get().project.name,
        });
        return false;
      }
      throw e;
    } finally {
      await this.reloadTools();
    }
  }

  /** Shows a failed trust action as a toast of this tab. */
  reportError(title: string, e: unknown): void {
    this.deps.toasts.push({ level: 'error', title, message: (e as Error).message ?? String(e), source: this.tab.get().project.name });
  }

  /** The catalog's servers, as loaded with the tools. */
  setServers(servers: McpServerStatus[]): void {
    this.tab.set({ servers });
  }

  /** A tools.status event: one server changed state. Unknown servers reload the catalog. */
  onStatus(f: Frame): void {
    const st = (f.payload ?? {}) as Partial<McpServerStatus>;
    if (!st.server) return;
    const servers = this.tab.get().servers;
    const i = servers.findIndex((s) => s.server === st.server && s.file === st.file);
    if (i < 0) {
      void this.reloadTools();
      return;
    }
    const next = [...servers];
    next[i] = { ...servers[i], status: st.status ?? servers[i].status, error: st.error, fingerprint: st.fingerprint ?? servers[i].fingerprint };
    this.tab.set({ servers: next });
  }

  /** A project.trust event (this tab, another tab or another client changed trust). */
  onTrustEvent(f: Frame): void {
    const trusted = (f.payload as { trusted?: boolean } | null)?.trusted;
    if (typeof trusted === 'boolean') this.applyTrusted(trusted);
    void this.reloadTools();
  }

  applyTrusted(trusted: boolean): void {
    const s = this.tab.get();
    if (s.project.trusted === trusted) return;
    this.tab.set({ project: { ...s.project, trusted } });
  }
}
