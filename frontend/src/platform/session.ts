import { Grant, Platform, SessionError } from './platform';

export type SessionStatus =
  | { status: 'loading' }
  | { status: 'ready' }
  | { status: 'expired'; reason: string; code: SessionError['code'] };

/**
 * Holds the token for the page: refreshes it before it expires (at about
 * 80% of its life, at most a minute early), shares one refresh among
 * concurrent callers, tells listeners (the sockets send `auth.refresh`),
 * and flips to "expired" when the platform can no longer produce one.
 */
export class Session {
  private grant: Grant | null = null;
  private inflight: Promise<string> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private _status: SessionStatus = { status: 'loading' };
  private statusListeners = new Set<() => void>();
  private tokenListeners = new Set<(t: string) => void>();

  constructor(readonly platform: Platform) {}

  get status(): SessionStatus {
    return this._status;
  }

  /** Signs in (again): the sign-in screen calls it when a login link is pasted. */
  async start(): Promise<void> {
    if (this._status.status !== 'loading') this.setStatus({ status: 'loading' });
    try {
      this.accept(await this.platform.login());
      this.setStatus({ status: 'ready' });
    } catch (e) {
      this.fail(e);
    }
  }

  /** The current token, refreshed first when it expires within 30 s. */
  async token(): Promise<string> {
    if (this._status.status === 'expired') throw new SessionError('expired', this._status.reason);
    if (!this.grant) throw new SessionError('no_session', 'not logged in');
    if (this.grant.expiresAt - Date.now() < 30000) return this.refresh();
    return this.grant.token;
  }

  refresh(): Promise<string> {
    if (this.inflight) return this.inflight;
    const current = this.grant?.token ?? '';
    this.inflight = this.platform
      .refresh(current)
      .then((g) => {
        this.accept(g);
        for (const fn of [...this.tokenListeners]) fn(g.token);
        return g.token;
      })
      .catch((e) => {
        this.fail(e);
        throw e;
      })
      .finally(() => {
        this.inflight = null;
      });
    return this.inflight;
  }

  expire(reason: string): void {
    this.fail(new SessionError('expired', reason));
  }

  /** Signs this browser out (server side too) and shows the sign-in screen. */
  async signOut(): Promise<void> {
    const token = this.grant?.token ?? '';
    if (this.platform.signOut) await this.platform.signOut(token);
    this.grant = null;
    this.fail(new SessionError('signed_out', 'you signed out of this browser'));
  }

  onStatus(fn: () => void): () => void {
    this.statusListeners.add(fn);
    return () => this.statusListeners.delete(fn);
  }

  /** Called with every refreshed token. */
  onToken(fn: (token: string) => void): () => void {
    this.tokenListeners.add(fn);
    return () => this.tokenListeners.delete(fn);
  }

  dispose(): void {
    if (this.timer) clearTimeout(this.timer);
  }

  private accept(g: Grant): void {
    this.grant = g;
    if (this.timer) clearTimeout(this.timer);
    const left = g.expiresAt - Date.now();
    const early = Math.min(60000, left * 0.2);
    this.timer = setTimeout(() => void this.refresh().catch(() => undefined), Math.max(1000, left - early));
  }

  private fail(e: unknown): void {
    if (this.timer) clearTimeout(this.timer);
    const code = e instanceof SessionError ? e.code : 'expired';
    const reason = e instanceof Error ? e.message : String(e);
    if (this._status.status === 'expired') return;
    this.setStatus({ status: 'expired', reason, code });
  }

  private setStatus(s: SessionStatus): void {
    this._status = s;
    for (const fn of [...this.statusListeners]) fn();
  }
}
