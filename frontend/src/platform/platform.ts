// Where the server URL and the token come from. The desktop window gets both
// from a Wails binding; a browser exchanges the one-time code of the login
// URL fragment. Nothing outside src/platform/ knows which mode it runs in.

export interface Grant {
  token: string;
  /** Epoch ms. */
  expiresAt: number;
}

export class SessionError extends Error {
  readonly code: 'no_session' | 'code_rejected' | 'expired' | 'signed_out' | 'unreachable';
  constructor(code: SessionError['code'], message: string) {
    super(message);
    this.name = 'SessionError';
    this.code = code;
  }
}

export interface Platform {
  readonly kind: 'desktop' | 'browser';
  /** REST base: '' (same origin) in a browser, the loopback URL on the desktop. */
  baseUrl(): string;
  /** WebSocket base: `ws://host:port`. */
  wsBase(): string;
  /** The first token of this page's life; throws SessionError when there is none. */
  login(): Promise<Grant>;
  /** A fresh token, given the current one. */
  refresh(current: string): Promise<Grant>;
  /**
   * Browser only: signs this browser out on the server (its session, shared
   * by every tab of the browser, is revoked) and forgets the token.
   */
  signOut?: (token: string) => Promise<void>;
  /** A native folder picker, when the platform has one. */
  pickFolder?: () => Promise<string | null>;
  /** Shows the active project in the window title. */
  setTitle(projectName: string): void;
  /** Calls fn when the native menu asks to open a project; returns an unsubscribe. */
  onOpenProjectRequest(fn: () => void): () => void;
  /**
   * Desktop only: calls fn when the window is closed while triggers are
   * active, and tells the shell this page shows that question; returns an
   * unsubscribe. The answer goes to answerClose.
   */
  onCloseRequest?: (fn: (q: CloseQuestion) => void) => () => void;
  /** Desktop only: the answer to a close question. */
  answerClose?: (choice: CloseChoice, remember: boolean) => Promise<void>;
}

/** What the desktop shell asks when the window is closed with active triggers. */
export interface CloseQuestion {
  triggers: number;
  runs: number;
  message: string;
}

export type CloseChoice = 'background' | 'quit' | 'cancel';

/** The page title both platforms show: "Flow Weaver — <project>". */
export function windowTitle(projectName: string): string {
  return projectName ? `Flow Weaver — ${projectName}` : 'Flow Weaver';
}

interface DesktopBinding {
  Session(): Promise<{ url: string; token: string; expiresAt: string | number }>;
  OpenProjectDialog?: () => Promise<string>;
  SetTitle?: (projectName: string) => Promise<void>;
  WatchClose?: () => Promise<void>;
  AnswerClose?: (choice: string, remember: boolean) => Promise<void>;
}

/** What Wails injects into the desktop window: window.go (bindings) and window.runtime. */
interface WailsWindow {
  go?: { app?: { App?: Partial<DesktopBinding> } };
  runtime?: { EventsOn?: (event: string, fn: (...data: unknown[]) => void) => unknown; EventsOff?: (event: string) => void };
}

function desktopBinding(w: WailsWindow | undefined): DesktopBinding | null {
  const app = w?.go?.app?.App;
  return app && typeof app.Session === 'function' ? (app as DesktopBinding) : null;
}

export function toEpoch(v: string | number | undefined): number {
  if (typeof v === 'number') return v < 1e12 ? v * 1000 : v;
  const t = v ? Date.parse(v) : NaN;
  return Number.isFinite(t) ? t : Date.now() + 10 * 60 * 1000;
}

/** The Wails window: the Go side mints tokens; the backend listens on loopback. */
export class DesktopPlatform implements Platform {
  readonly kind = 'desktop';
  private url = '';
  constructor(private binding: DesktopBinding) {
    if (binding.OpenProjectDialog) {
      this.pickFolder = async () => (await binding.OpenProjectDialog!()) || null;
    }
    if (binding.WatchClose && binding.AnswerClose) {
      this.onCloseRequest = (fn) => this.watchClose(fn);
      this.answerClose = (choice, remember) => binding.AnswerClose!(choice, remember);
    }
  }
  pickFolder?: () => Promise<string | null>;
  onCloseRequest?: (fn: (q: CloseQuestion) => void) => () => void;
  answerClose?: (choice: CloseChoice, remember: boolean) => Promise<void>;
  private watchClose(fn: (q: CloseQuestion) => void): () => void {
    // app.EventCloseRequested; WatchClose both registers this page as the
    // one that asks and acknowledges each question it shows (the shell
    // falls back to a native dialog without an acknowledgement).
    const rt = (window as WailsWindow).runtime;
    if (!rt || typeof rt.EventsOn !== 'function') return () => {};
    const off = rt.EventsOn('app:close-requested', (q: unknown) => {
      void this.binding.WatchClose?.()?.catch?.(() => {});
      fn(q as CloseQuestion);
    });
    void this.binding.WatchClose?.()?.catch?.(() => {});
    return typeof off === 'function' ? (off as () => void) : () => rt.EventsOff?.('app:close-requested');
  }
  baseUrl() {
    return this.url;
  }
  wsBase() {
    return this.url.replace(/^http/, 'ws');
  }
  async login(): Promise<Grant> {
    try {
      const s = await this.binding.Session();
      this.url = s.url.replace(/\/$/, '');
      return { token: s.token, expiresAt: toEpoch(s.expiresAt) };
    } catch (e) {
      throw new SessionError('unreachable', `the desktop backend did not answer: ${(e as Error).message ?? e}`);
    }
  }
  refresh(): Promise<Grant> {
    return this.login();
  }
  setTitle(projectName: string) {
    document.title = windowTitle(projectName);
    void this.binding.SetTitle?.(projectName)?.catch?.(() => {});
  }
  onOpenProjectRequest(fn: () => void): () => void {
    // Wails injects its runtime as window.runtime; File > Open Project…
    // emits "menu:open-project" (app.EventOpenProject).
    const rt = (window as WailsWindow).runtime;
    if (!rt || typeof rt.EventsOn !== 'function') return () => {};
    const off = rt.EventsOn('menu:open-project', fn);
    return typeof off === 'function' ? (off as () => void) : () => rt.EventsOff?.('menu:open-project');
  }
}

const STORAGE_KEY = 'flowweaver.session';
const DEVICE_KEY = 'flowweaver.deviceKey';

/** Body of POST /api/auth/login and /api/auth/refresh. */
interface AuthGrantBody {
  token: string;
  expiresAt: string;
}

/**
 * A browser against `flowweaver serve`. The login URL carries a one-time
 * code in the fragment (never sent to a server, never in history once we
 * replaced it). The token lives in memory and in sessionStorage (this tab
 * and origin only, so a reload keeps the session), never in localStorage
 * or a URL. Redeeming the code also starts a browser session: an HttpOnly
 * SameSite=Strict cookie the page cannot read, bound to a random device key
 * kept in this origin's localStorage. A new tab or window without a token
 * trades both at /api/auth/session for one; neither half works alone, and
 * no other origin can read the device key (docs/security.md).
 */
export class BrowserPlatform implements Platform {
  readonly kind = 'browser';
  constructor(
    private win: Window,
    private doFetch: typeof fetch = (...a) => fetch(...a),
  ) {}
  baseUrl() {
    return '';
  }
  wsBase() {
    const l = this.win.location;
    return `${l.protocol === 'https:' ? 'wss:' : 'ws:'}//${l.host}`;
  }
  async login(): Promise<Grant> {
    const code = new URLSearchParams(this.win.location.hash.replace(/^#/, '')).get('code');
    if (code) {
      // Remove the code from the address bar and history before anything else.
      const l = this.win.location;
      this.win.history.replaceState(null, '', l.pathname + l.search);
      const res = await this.post('/api/auth/login', { code, deviceKey: this.deviceKey(true) });
      if (!res.ok) {
        this.forget();
        // A used link in a browser that is signed in anyway is no reason to stop.
        const g = await this.fromBrowserSession();
        if (g) return g;
        throw new SessionError('code_rejected', 'this login link was already used or has expired');
      }
      return this.keep((await res.json()) as AuthGrantBody);
    }
    const saved = this.win.sessionStorage.getItem(STORAGE_KEY);
    if (saved) {
      try {
        const g = JSON.parse(saved) as Grant;
        if (g.token && g.expiresAt > Date.now() + 5000) return g;
      } catch {
        /* fall through */
      }
      this.forget();
    }
    const g = await this.fromBrowserSession();
    if (g) return g;
    if (saved) throw new SessionError('expired', 'your session has expired');
    throw new SessionError('no_session', 'no session: open the login URL printed by `flowweaver serve` or `flowweaver open`');
  }
  /** A token from the browser session (cookie + device key), or null when there is none. */
  private async fromBrowserSession(): Promise<Grant | null> {
    const deviceKey = this.deviceKey(false);
    if (!deviceKey) return null;
    const res = await this.post('/api/auth/session', { deviceKey });
    if (!res.ok) return null;
    return this.keep((await res.json()) as AuthGrantBody);
  }
  /** This origin's device key; made on first use when `create`. */
  private deviceKey(create: boolean): string {
    let storage: Storage;
    try {
      storage = this.win.localStorage;
    } catch {
      return ''; // storage blocked: the session lasts as long as the tab
    }
    let k = storage.getItem(DEVICE_KEY) ?? '';
    if (!k && create) {
      const b = new Uint8Array(32);
      this.win.crypto.getRandomValues(b);
      k = btoa(String.fromCharCode(...b)).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
      storage.setItem(DEVICE_KEY, k);
    }
    return k;
  }
  async refresh(current: string): Promise<Grant> {
    const res = await this.post('/api/auth/refresh', undefined, current);
    if (!res.ok) {
      this.forget();
      if (await signedOut(res)) throw new SessionError('signed_out', 'this browser was signed out');
      throw new SessionError('expired', 'your session has expired');
    }
    return this.keep((await res.json()) as AuthGrantBody);
  }
  async signOut(token: string): Promise<void> {
    const res = await this.post('/api/auth/logout', undefined, token);
    this.forget();
    if (!res.ok && res.status !== 401) throw new SessionError('unreachable', `sign out failed (${res.status})`);
  }
  setTitle(projectName: string) {
    this.win.document.title = windowTitle(projectName);
  }
  onOpenProjectRequest(): () => void {
    return () => {}; // a browser has no native menu
  }
  private keep(body: AuthGrantBody): Grant {
    const g: Grant = { token: body.token, expiresAt: toEpoch(body.expiresAt) };
    this.win.sessionStorage.setItem(STORAGE_KEY, JSON.stringify(g));
    return g;
  }
  private forget() {
    this.win.sessionStorage.removeItem(STORAGE_KEY);
  }
  private async post(path: string, body?: unknown, token?: string): Promise<Response> {
    const headers: Record<string, string> = { 'Content-Type': 'application/json' };
    if (token) headers.Authorization = `Bearer ${token}`;
    try {
      return await this.doFetch(path, {
        method: 'POST',
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
      });
    } catch (e) {
      throw new SessionError('unreachable', `cannot reach the Flow Weaver server (${(e as Error).message})`);
    }
  }
}

/** Whether a 401 says the session was revoked (details.reason "signed_out"). */
async function signedOut(res: Response): Promise<boolean> {
  try {
    const body = (await res.json()) as { details?: { reason?: string } };
    return body.details?.reason === 'signed_out';
  } catch {
    return false;
  }
}

/** Picks the adapter for this page. */
export function detectPlatform(w: Window = window): Platform {
  const b = desktopBinding(w as Window & WailsWindow);
  return b ? new DesktopPlatform(b) : new BrowserPlatform(w);
}
