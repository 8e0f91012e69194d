import { Backoff, BackoffOptions } from './backoff';
import { Channel } from './channel';
import {
  Close,
  CloseAction,
  Frame,
  RealtimeError,
  SUBPROTOCOL,
  SUBPROTOCOL_BATCH,
  WebSocketFactory,
  WebSocketLike,
  WelcomePayload,
  closeAction,
  frameTexts,
  type RequestOptions,
} from './protocol';

export type { RequestOptions } from './protocol';

/**
 * idle: not wanted (lazy policy) · connecting: handshake until `welcome` ·
 * open: welcomed · waiting: backoff before the next attempt · stopped: a
 * close that must not be retried (1008, 4004, session gone).
 */
export type SocketState = 'idle' | 'connecting' | 'open' | 'waiting' | 'stopped';

export interface FatalInfo {
  code: number;
  reason: string;
}

export interface SocketOptions {
  projectId: string;
  /** Base like `ws://127.0.0.1:7420` (no path); `/ws?projectId=` is appended. */
  wsBase: () => string;
  /** A currently valid token; called before every attempt. */
  token: () => Promise<string>;
  /** Gets a fresh token after a 4001; rejecting ends the socket (session over). */
  refreshToken: () => Promise<string>;
  /**
   * Browsers hide why a handshake failed (401/404/429 all look like 1006).
   * After `probeAfter` failed handshakes in a row the socket asks this hook,
   * which can look the project/session up over REST.
   */
  probe?: () => Promise<CloseAction | 'ok'>;
  probeAfter?: number;
  /** WebSocket constructor, injected by tests (default: the browser's). */
  createSocket?: WebSocketFactory;
  backoff?: BackoffOptions;
  /** Reply deadline of request(); default 10 s. */
  requestTimeoutMs?: number;
  /** Deadline for the `welcome` frame after the transport opened; default 10 s. */
  welcomeTimeoutMs?: number;
  /** Send an app-level ping every heartbeatMs (from welcome) and drop the connection without pong. Default true. */
  heartbeat?: boolean;
}

interface Pending {
  frame: Frame;
  onReply?: (f: Frame) => void;
  resolve: (f: Frame) => void;
  reject: (e: unknown) => void;
  timer: ReturnType<typeof setTimeout>;
  sent: boolean;
}

const defaultFactory: WebSocketFactory = (url, protocols) =>
  new WebSocket(url, protocols) as unknown as WebSocketLike;

/**
 * One WebSocket to one project (docs/websocket.md), in the layering of
 * phoenix.js: this class is the transport (state machine, backoff with full
 * jitter, heartbeat, request/reply by ref with timeouts, an outgoing buffer
 * while not connected, token refresh); Channel objects ride on it and
 * re-subscribe with `since` after every reconnect. No React in here.
 */
export class ProjectSocket {
  readonly projectId: string;
  private opts: SocketOptions;
  private create: WebSocketFactory;
  private backoff: Backoff;
  private ws: WebSocketLike | null = null;
  private generation = 0;
  private desired = false;
  private _state: SocketState = 'idle';
  private channels = new Map<string, Channel>();
  private pending = new Map<string, Pending>();
  private outbox: string[] = [];
  private nextRef = 1;
  private retryTimer: ReturnType<typeof setTimeout> | null = null;
  private _retryAt: number | null = null;
  private welcomeTimer: ReturnType<typeof setTimeout> | null = null;
  private heartbeatTimer: ReturnType<typeof setInterval> | null = null;
  private failedHandshakes = 0;
  private stateListeners = new Set<(s: SocketState) => void>();
  private frameListeners = new Set<(f: Frame) => void>();
  private fatalListeners = new Set<(f: FatalInfo) => void>();
  /** Set from the welcome frame. */
  connectionId = '';
  welcome: WelcomePayload | null = null;
  fatal: FatalInfo | null = null;
  /** Number of transports opened so far (for the UI and tests). */
  connects = 0;

  constructor(opts: SocketOptions) {
    this.opts = opts;
    this.projectId = opts.projectId;
    this.create = opts.createSocket ?? defaultFactory;
    this.backoff = new Backoff(opts.backoff);
  }

  get state(): SocketState {
    return this._state;
  }

  isOpen(): boolean {
    return this._state === 'open';
  }

  /** When the next reconnect attempt is due (epoch ms), while `waiting` on backoff; else null. */
  get retryAt(): number | null {
    return this._retryAt;
  }

  /** Skips the rest of the backoff wait and tries to connect now (the "Retry now" button). */
  retryNow(): void {
    if (!this.desired || this._state !== 'waiting' || !this.retryTimer) return;
    this.clearRetry();
    void this.attempt();
  }

  /** Wants a connection: opens one now unless one is open or pending. */
  connect(): void {
    this.desired = true;
    if (this._state === 'idle' || this._state === 'stopped') {
      this.fatal = null;
      this.backoff.reset();
      this.failedHandshakes = 0;
      void this.attempt();
    }
  }

  /**
   * Drops the connection (lazy policy or tab closed). Channels keep their
   * position, so a later connect() resumes them with `since`.
   */
  disconnect(): void {
    this.desired = false;
    this.clearRetry();
    const ws = this.ws;
    this.teardown();
    if (ws) {
      try {
        ws.close(Close.Normal, 'idle');
      } catch {
        /* already closing */
      }
    }
    this.failAll(new RealtimeError('disconnected', 'connection closed'), true);
    this.setState('idle');
  }

  /** Gets or creates the channel object of that name. */
  channel(name: string): Channel {
    let ch = this.channels.get(name);
    if (!ch) {
      ch = new Channel(this, name);
      this.channels.set(name, ch);
    }
    return ch;
  }

  /** Unsubscribes and drops a channel object. */
  removeChannel(name: string): void {
    const ch = this.channels.get(name);
    if (!ch) return;
    this.channels.delete(name);
    void ch.unsubscribe();
  }

  /**
   * Sends one frame with a fresh ref and resolves with the reply that echoes
   * it (an `error` reply rejects with RealtimeError). While not connected
   * the frame waits in a buffer and goes out after the channels rejoined.
   * The timeout runs from the call, so a caller is never left hanging.
   */
  request(event: string, payload: unknown, o: RequestOptions = {}): Promise<Frame> {
    const ref = String(this.nextRef++);
    const frame: Frame = { event, payload: payload ?? null, ref };
    if (o.channel) frame.channel = o.channel;
    const timeoutMs = o.timeoutMs ?? this.opts.requestTimeoutMs ?? 10000;
    return new Promise<Frame>((resolve, reject) => {
      const timer = setTimeout(() => {
        const p = this.pending.get(ref);
        if (!p) return;
        this.pending.delete(ref);
        if (!p.sent) this.outbox = this.outbox.filter((s) => !s.includes(`"ref":"${ref}"`));
        reject(new RealtimeError('timeout', `${event}: no reply within ${timeoutMs} ms`));
      }, timeoutMs);
      const p: Pending = { frame, resolve, reject, timer, sent: false, onReply: o.onReply };
      this.pending.set(ref, p);
      const text = JSON.stringify(frame);
      if (this._state === 'open' && this.ws) {
        p.sent = true;
        this.ws.send(text);
      } else {
        this.outbox.push(text);
      }
    });
  }

  /** Tells the server about a refreshed token (`auth.refresh`), if connected. */
  sendAuthRefresh(token: string): Promise<void> {
    if (!this.isOpen()) return Promise.resolve();
    return this.request('auth.refresh', { token }).then(
      () => undefined,
      () => undefined,
    );
  }

  onState(fn: (s: SocketState) => void): () => void {
    this.stateListeners.add(fn);
    return () => this.stateListeners.delete(fn);
  }

  /** Frames that are neither a reply nor on a known channel (e.g. `error` without ref). */
  onFrame(fn: (f: Frame) => void): () => void {
    this.frameListeners.add(fn);
    return () => this.frameListeners.delete(fn);
  }

  /** The socket stopped for good: project deleted, policy close, session over. */
  onFatal(fn: (f: FatalInfo) => void): () => void {
    this.fatalListeners.add(fn);
    return () => this.fatalListeners.delete(fn);
  }

  // ---- internals ----

  private setState(s: SocketState): void {
    if (this._state === s) return;
    this._state = s;
    this.emitState();
  }

  private emitState(): void {
    const s = this._state;
    for (const fn of [...this.stateListeners]) fn(s);
  }

  private async attempt(): Promise<void> {
    this.retryTimer = null;
    this._retryAt = null;
    if (!this.desired) return;
    this.setState('connecting');
    const gen = ++this.generation;
    let token: string;
    try {
      token = await this.opts.token();
    } catch {
      if (gen !== this.generation) return;
      this.stop(Close.TokenExpired, 'session expired');
      return;
    }
    if (gen !== this.generation || !this.desired) return;
    const url = `${this.opts.wsBase().replace(/\/$/, '')}/ws?projectId=${encodeURIComponent(this.projectId)}`;
    let ws: WebSocketLike;
    try {
      ws = this.create(url, [SUBPROTOCOL_BATCH, SUBPROTOCOL, `bearer.${token}`]);
    } catch {
      this.scheduleRetry();
      return;
    }
    this.ws = ws;
    this.connects++;
    ws.onopen = () => {
      if (gen !== this.generation) return;
      this.welcomeTimer = setTimeout(() => {
        if (gen === this.generation) this.drop(Close.Abnormal, 'no welcome');
      }, this.opts.welcomeTimeoutMs ?? 10000);
    };
    ws.onmessage = (ev) => {
      if (gen !== this.generation || typeof ev.data !== 'string') return;
      for (const text of frameTexts(ev.data, ws.protocol)) {
        // A frame that ended this transport (a handler disconnected) drops
        // the rest of its message, as it drops the messages after it.
        if (gen !== this.generation) return;
        this.onFrameText(text);
      }
    };
    ws.onerror = () => {
      /* a close event always follows */
    };
    ws.onclose = (ev) => {
      if (gen !== this.generation) return;
      this.onClose(ev.code, ev.reason || '');
    };
  }

  /** Handles one frame: a whole message, or one line of a batched one. */
  private onFrameText(data: string): void {
    let f: Frame;
    try {
      f = JSON.parse(data) as Frame;
    } catch {
      return; // the server never sends this; ignore rather than die
    }
    if (!f || typeof f.event !== 'string') return;
    if (this._state === 'connecting') {
      if (f.event !== 'welcome') return;
      this.onWelcome(f.payload as WelcomePayload);
      return;
    }
    if (f.ref !== undefined && f.ref !== null) {
      const p = this.pending.get(String(f.ref));
      if (p) {
        this.pending.delete(String(f.ref));
        clearTimeout(p.timer);
        if (f.event === 'error') {
          const pl = (f.payload ?? {}) as { code?: string; message?: string };
          p.reject(new RealtimeError(pl.code ?? 'error', pl.message ?? 'request failed', pl));
        } else {
          p.onReply?.(f);
          p.resolve(f);
        }
        return;
      }
    }
    const ch = f.channel ? this.channels.get(f.channel) : undefined;
    if (ch) ch.deliver(f);
    else for (const fn of [...this.frameListeners]) fn(f);
  }

  private onWelcome(w: WelcomePayload): void {
    if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
    this.welcomeTimer = null;
    this.welcome = w ?? null;
    this.connectionId = w?.connectionId ?? '';
    this.backoff.reset();
    this.failedHandshakes = 0;
    this.setState('open');
    // Rejoin first, so a buffered request that depends on a channel (or its
    // replay) is answered after the channel is live again.
    for (const ch of this.channels.values()) if (ch.wanted) ch.join();
    const out = this.outbox;
    this.outbox = [];
    for (const text of out) {
      const ref = (JSON.parse(text) as Frame).ref!;
      const p = this.pending.get(ref);
      if (!p) continue; // timed out meanwhile
      p.sent = true;
      this.ws!.send(text);
    }
    this.startHeartbeat(w?.heartbeatMs);
  }

  private startHeartbeat(ms?: number): void {
    if (this.opts.heartbeat === false || !ms || ms <= 0) return;
    const gen = this.generation;
    this.heartbeatTimer = setInterval(() => {
      if (gen !== this.generation || !this.isOpen()) return;
      this.request('ping', null, { timeoutMs: ms * 2 }).catch((e) => {
        if (gen === this.generation && e instanceof RealtimeError && e.code === 'timeout') {
          this.drop(Close.Abnormal, 'heartbeat timeout');
        }
      });
    }, ms);
  }

  /** Abandons a transport that looks dead and handles it as closed. */
  private drop(code: number, reason: string): void {
    const ws = this.ws;
    if (ws) {
      try {
        ws.close(4000, reason);
      } catch {
        /* ignore */
      }
    }
    this.onClose(code, reason);
  }

  private onClose(code: number, reason: string): void {
    const welcomed = this._state === 'open';
    this.teardown();
    this.failAll(new RealtimeError('disconnected', `connection closed (${code})`), false);
    if (!this.desired) {
      this.setState('idle');
      return;
    }
    if (!welcomed) this.failedHandshakes++;
    const action = closeAction(code);
    if (action === 'stop') {
      this.stop(code, reason || (code === Close.ProjectDeleted ? 'project deleted' : 'closed by server policy'));
      return;
    }
    if (action === 'refresh') {
      void this.refreshThenReconnect();
      return;
    }
    if (!welcomed && this.opts.probe && this.failedHandshakes >= (this.opts.probeAfter ?? 2)) {
      void this.probeThenRetry();
      return;
    }
    this.scheduleRetry();
  }

  private async refreshThenReconnect(): Promise<void> {
    const gen = ++this.generation;
    this.setState('waiting');
    try {
      await this.opts.refreshToken();
    } catch {
      if (gen === this.generation) this.stop(Close.TokenExpired, 'session expired');
      return;
    }
    if (gen !== this.generation || !this.desired) return;
    // Right away the first time; a server that keeps answering 4001 gets backoff.
    if (this.failedHandshakes <= 1) void this.attempt();
    else this.scheduleRetry();
  }

  private async probeThenRetry(): Promise<void> {
    const gen = ++this.generation;
    this.setState('waiting');
    let verdict: CloseAction | 'ok';
    try {
      verdict = await this.opts.probe!();
    } catch {
      verdict = 'reconnect';
    }
    if (gen !== this.generation || !this.desired) return;
    this.failedHandshakes = 0;
    if (verdict === 'stop') this.stop(Close.ProjectDeleted, 'project not found');
    else if (verdict === 'refresh') void this.refreshThenReconnect();
    else this.scheduleRetry();
  }

  private scheduleRetry(): void {
    this.clearRetry();
    const delay = this.backoff.next();
    this._retryAt = Date.now() + delay;
    this.retryTimer = setTimeout(() => void this.attempt(), delay);
    // Listeners learn the new retry time even when the state stays `waiting`.
    if (this._state === 'waiting') this.emitState();
    else this.setState('waiting');
  }

  private stop(code: number, reason: string): void {
    this.desired = false;
    this.clearRetry();
    this.teardown();
    this.fatal = { code, reason };
    const err = new RealtimeError('stopped', reason);
    this.failAll(err, true);
    for (const ch of this.channels.values()) ch.fail(err);
    this.setState('stopped');
    for (const fn of [...this.fatalListeners]) fn(this.fatal);
  }

  private clearRetry(): void {
    if (this.retryTimer) clearTimeout(this.retryTimer);
    this.retryTimer = null;
    this._retryAt = null;
  }

  /** Forgets the current transport; its late callbacks are ignored by generation. */
  private teardown(): void {
    this.generation++;
    if (this.welcomeTimer) clearTimeout(this.welcomeTimer);
    if (this.heartbeatTimer) clearInterval(this.heartbeatTimer);
    this.welcomeTimer = null;
    this.heartbeatTimer = null;
    if (this.ws) {
      this.ws.onopen = this.ws.onmessage = this.ws.onclose = this.ws.onerror = null;
    }
    this.ws = null;
    for (const ch of this.channels.values()) ch.reset();
  }

  /**
   * Rejects requests already on the wire (their reply is lost with the
   * connection; retrying blindly could start a run twice). Buffered ones
   * wait for the next connection unless `includeBuffered`.
   */
  private failAll(err: RealtimeError, includeBuffered: boolean): void {
    for (const [ref, p] of this.pending) {
      if (p.sent || includeBuffered) {
        clearTimeout(p.timer);
        this.pending.delete(ref);
        p.reject(err);
      }
    }
    if (includeBuffered) this.outbox = [];
  }
}

