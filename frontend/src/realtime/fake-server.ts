// An in-memory stand-in for the daemon's /ws endpoint, for unit tests of the
// realtime layer. It speaks the WebSocket API (docs/websocket.md) closely enough to exercise
// reconnects: a per-project event log with seq, replay on `subscribe` with
// `since`, `recovered: false` once history was compacted away, close codes.
// Frames travel on microtasks, so tests drive it with fake timers and never
// sleep. With `batch` it selects flowweaver.v1.batch when offered and joins
// the frames pushed in one turn into one message, one per line, as the real
// server joins the frames it had queued together.

import { Frame, SUBPROTOCOL, SUBPROTOCOL_BATCH, WebSocketFactory, WebSocketLike } from './protocol';

interface LoggedEvent {
  seq: number;
  channels: string[];
  frame: Frame;
}

export type FrameHandler = (conn: FakeConnection, frame: Frame) => Frame | Frame[] | null | void;

export interface FakeServerOptions {
  projectId?: string;
  heartbeatMs?: number;
  /** Select flowweaver.v1.batch when the client offers it (default: flowweaver.v1 only, like an older server). */
  batch?: boolean;
}

const tick = (fn: () => void) => void Promise.resolve().then(fn);

/** The client end, handed to ProjectSocket through its createSocket option. */
export class FakeWebSocket implements WebSocketLike {
  readyState = 0;
  protocol = '';
  onopen: ((ev: unknown) => void) | null = null;
  onmessage: ((ev: { data: unknown }) => void) | null = null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null = null;
  onerror: ((ev: unknown) => void) | null = null;
  constructor(private conn: FakeConnection) {}

  send(data: string): void {
    if (this.readyState !== 1) throw new Error('send on a socket that is not open');
    this.conn.sent.push(JSON.parse(data) as Frame);
    const conn = this.conn;
    tick(() => conn.server.receive(conn, data));
  }

  close(code = 1000, reason = ''): void {
    if (this.readyState >= 2) return;
    this.readyState = 2;
    this.conn.closedBy = 'client';
    tick(() => this.conn.finish(code, reason));
  }
}

/** The server end of one connection. */
export class FakeConnection {
  readonly client: FakeWebSocket;
  readonly subscriptions = new Set<string>();
  /** Frames the client sent, parsed. */
  readonly sent: Frame[] = [];
  /** Frames the server sent. */
  readonly received: Frame[] = [];
  closedBy: 'client' | 'server' | null = null;
  closeCode: number | null = null;
  readonly id: string;
  /** Messages delivered to the client (a batched one counts once). */
  messages = 0;
  /** Lines of the batched message that goes out at the end of this turn. */
  private batchLines: string[] = [];

  constructor(
    readonly server: FakeServer,
    readonly url: string,
    readonly protocols: string[],
    n: number,
  ) {
    this.client = new FakeWebSocket(this);
    this.id = `c${n}`;
  }

  get open(): boolean {
    return this.client.readyState === 1;
  }

  get token(): string | undefined {
    return this.protocols.find((p) => p.startsWith('bearer.'))?.slice('bearer.'.length);
  }

  /** Sends a frame to the client (projectId filled in). */
  push(frame: Frame): void {
    if (!this.open) return;
    const f = { projectId: this.server.projectId, ...frame };
    this.received.push(f);
    const data = JSON.stringify(f);
    if (this.client.protocol !== SUBPROTOCOL_BATCH) {
      this.pushRaw(data);
      return;
    }
    this.batchLines.push(data);
    if (this.batchLines.length > 1) return;
    tick(() => {
      const lines = this.batchLines;
      this.batchLines = [];
      this.deliver(lines.join('\n'));
    });
  }

  /** Sends one message as is (a hand-made batch, a malformed message). */
  pushRaw(data: string): void {
    tick(() => this.deliver(data));
  }

  private deliver(data: string): void {
    if (this.client.readyState !== 1) return;
    this.messages++;
    this.client.onmessage?.({ data });
  }

  /** Server-side close with a code (4001, 4008, 1001 ...). */
  kill(code: number, reason = ''): void {
    if (this.client.readyState >= 2) return;
    this.client.readyState = 2;
    this.closedBy = 'server';
    tick(() => this.finish(code, reason));
  }

  /** @internal */
  finish(code: number, reason: string): void {
    if (this.client.readyState === 3) return;
    this.client.readyState = 3;
    this.closeCode = code;
    this.client.onclose?.({ code, reason, wasClean: code !== 1006 });
  }
}

export class FakeServer {
  readonly projectId: string;
  readonly connections: FakeConnection[] = [];
  readonly log: LoggedEvent[] = [];
  heartbeatMs: number;
  batch: boolean;
  seq = 0;
  /** Events with seq below this are gone from history (forces recovered:false). */
  retainedFrom = 1;
  /** When false, handshakes fail like a 401/404 does in a browser (close 1006). */
  accept = true;
  /** When false, the transport opens but no welcome is sent. */
  sendWelcome = true;
  /** Events the server swallows without replying (to test timeouts). */
  readonly silent = new Set<string>();
  /** Custom handlers by event name. */
  readonly handlers = new Map<string, FrameHandler>();
  /** Channel snapshots, by channel name. */
  snapshot: (channel: string) => unknown = () => ({});

  constructor(opts: FakeServerOptions = {}) {
    this.projectId = opts.projectId ?? 'p1';
    this.heartbeatMs = opts.heartbeatMs ?? 0;
    this.batch = opts.batch ?? false;
  }

  /** The WebSocket constructor to inject into ProjectSocket. */
  readonly factory: WebSocketFactory = (url, protocols) => {
    const conn = new FakeConnection(this, url, protocols, this.connections.length + 1);
    this.connections.push(conn);
    tick(() => {
      if (conn.client.readyState !== 0) return;
      if (!this.accept) {
        conn.finish(1006, '');
        return;
      }
      conn.client.readyState = 1;
      conn.client.protocol = this.batch && protocols.includes(SUBPROTOCOL_BATCH) ? SUBPROTOCOL_BATCH : SUBPROTOCOL;
      conn.client.onopen?.({});
      if (this.sendWelcome) {
        conn.push({
          event: 'welcome',
          channel: 'system',
          payload: { connectionId: conn.id, protocol: 1, heartbeatMs: this.heartbeatMs, lastSeq: this.seq },
        });
      }
    });
    return conn.client;
  };

  /** Connections whose transport is open. */
  openConnections(): FakeConnection[] {
    return this.connections.filter((c) => c.open);
  }

  last(): FakeConnection {
    return this.connections[this.connections.length - 1];
  }

  /** Appends a durable event and delivers it to subscribers of its channels. */
  publish(channels: string | string[], event: string, payload: unknown = {}): number {
    const chs = Array.isArray(channels) ? channels : [channels];
    const seq = ++this.seq;
    const frame: Frame = { event, payload, seq, ts: new Date(0).toISOString() };
    this.log.push({ seq, channels: chs, frame });
    for (const c of this.openConnections()) {
      for (const ch of chs) if (c.subscriptions.has(ch)) c.push({ ...frame, channel: ch });
    }
    return seq;
  }

  /** Sends a transient (no seq) event to subscribers. */
  broadcast(channel: string, event: string, payload: unknown = {}): void {
    for (const c of this.openConnections()) if (c.subscriptions.has(channel)) c.push({ event, channel, payload });
  }

  /** Forgets history up to and including seq. */
  compact(uptoSeq: number): void {
    this.retainedFrom = uptoSeq + 1;
  }

  /** @internal a frame from a client. */
  receive(conn: FakeConnection, data: string): void {
    if (!conn.open) return;
    let f: Frame;
    try {
      f = JSON.parse(data) as Frame;
    } catch {
      conn.push({ event: 'error', payload: { code: 'bad_request', message: 'malformed JSON' } });
      return;
    }
    if (this.silent.has(f.event)) return;
    const custom = this.handlers.get(f.event);
    if (custom) {
      const out = custom(conn, f);
      if (out) for (const o of Array.isArray(out) ? out : [out]) conn.push({ ref: f.ref, ...o });
      return;
    }
    switch (f.event) {
      case 'subscribe':
        this.subscribe(conn, f);
        return;
      case 'unsubscribe':
        conn.subscriptions.delete(f.channel!);
        conn.push({ event: 'unsubscribed', channel: f.channel, ref: f.ref, payload: {} });
        return;
      case 'ping':
        conn.push({ event: 'pong', ref: f.ref, payload: { serverTime: new Date(0).toISOString() } });
        return;
      default:
        conn.push({ event: 'ack', ref: f.ref, channel: f.channel, payload: {} });
    }
  }

  private subscribe(conn: FakeConnection, f: Frame): void {
    const ch = f.channel!;
    const since = (f.payload as { since?: number } | undefined)?.since;
    const recovered = since !== undefined && since + 1 >= this.retainedFrom;
    conn.subscriptions.add(ch);
    conn.push({
      event: 'subscribed',
      channel: ch,
      ref: f.ref,
      payload: { snapshot: this.snapshot(ch), recovered, lastSeq: this.seq },
    });
    // Without `since` nothing is replayed. When history was compacted the
    // retained tail is still sent: it overlaps the snapshot, and the client
    // has to drop what the snapshot already covers.
    const from = since ?? this.seq;
    for (const e of this.log) {
      if (e.seq > from && e.seq >= this.retainedFrom && e.channels.includes(ch)) conn.push({ ...e.frame, channel: ch });
    }
  }
}
