import { Frame, RealtimeError, RequestOptions, SubscribedPayload, isDurable } from './protocol';

/**
 * What a channel needs from the socket it rides on. Owned here (not an
 * import of ProjectSocket) so the socket can create channels without the
 * two modules importing each other.
 */
export interface ChannelTransport {
  isOpen(): boolean;
  request(event: string, payload: unknown, opts?: RequestOptions): Promise<Frame>;
}

export type ChannelState = 'closed' | 'joining' | 'joined';

export interface SnapshotInfo {
  /** True for the first join of this channel object (no `since` sent). */
  initial: boolean;
  recovered: boolean;
  lastSeq: number;
}

type Handler = (frame: Frame) => void;
type SnapshotHandler = (snapshot: unknown, info: SnapshotInfo) => void;
interface Waiter {
  resolve: (p: SubscribedPayload) => void;
  reject: (e: unknown) => void;
}

/**
 * One subscription on a project socket (phoenix.js "channel"). It remembers
 * the last durable seq it delivered, so after any reconnect it re-subscribes
 * with `since` and the server replays exactly what was missed; events at or
 * below that seq are dropped (dedupe), so a handler never sees one twice.
 * When the server can no longer replay (`recovered: false`), the snapshot
 * handlers run and the state is rebuilt from the snapshot instead.
 */
export class Channel {
  readonly name: string;
  private socket: ChannelTransport;
  private handlers = new Map<string, Set<Handler>>();
  private snapshotHandlers = new Set<SnapshotHandler>();
  private waiters: Waiter[] = [];
  private joinedOnce = false;
  /** Whether the user of this channel wants it subscribed. */
  wanted = false;
  state: ChannelState = 'closed';
  /**
   * Highest durable seq delivered (or covered by an applied snapshot). Set
   * it before the first subscribe() to ask for history (e.g. 0 for every
   * event of a run still in the server's log).
   */
  lastSeq: number | undefined;

  constructor(socket: ChannelTransport, name: string) {
    this.socket = socket;
    this.name = name;
  }

  /**
   * Subscribes now if connected, else as soon as the socket is connected; it
   * stays subscribed across reconnects until unsubscribe(). The promise
   * settles with the next `subscribed` reply (or its error).
   */
  subscribe(): Promise<SubscribedPayload> {
    this.wanted = true;
    const p = new Promise<SubscribedPayload>((resolve, reject) => this.waiters.push({ resolve, reject }));
    if (this.state === 'joined') {
      // Already live: nothing to send, answer with what we know.
      this.settle(null, { snapshot: null, recovered: true, lastSeq: this.lastSeq ?? 0 });
    } else if (this.state === 'closed' && this.socket.isOpen()) {
      this.join();
    }
    return p;
  }

  /** Stops delivery; the seq position is kept so a later subscribe resumes. */
  unsubscribe(): Promise<void> {
    const wasLive = this.state !== 'closed';
    this.wanted = false;
    this.state = 'closed';
    this.settle(new RealtimeError('unsubscribed', `unsubscribed from ${this.name}`));
    if (!wasLive || !this.socket.isOpen()) return Promise.resolve();
    return this.socket
      .request('unsubscribe', null, { channel: this.name })
      .then(() => undefined)
      .catch(() => undefined);
  }

  /** Registers a handler for one event name, or '*' for all; returns its remover. */
  on(event: string, handler: Handler): () => void {
    let set = this.handlers.get(event);
    if (!set) this.handlers.set(event, (set = new Set()));
    set.add(handler);
    return () => set.delete(handler);
  }

  /** Runs on the first join and whenever a rejoin could not be recovered. */
  onSnapshot(handler: SnapshotHandler): () => void {
    this.snapshotHandlers.add(handler);
    return () => this.snapshotHandlers.delete(handler);
  }

  /** Sends a request on this channel and resolves with the direct reply. */
  push(event: string, payload: unknown, timeoutMs?: number): Promise<Frame> {
    return this.socket.request(event, payload, { channel: this.name, timeoutMs });
  }

  /** @internal sends `subscribe` (with `since` once a position is known). */
  join(): void {
    this.state = 'joining';
    const sentSince = this.lastSeq !== undefined;
    const payload = sentSince ? { since: this.lastSeq } : {};
    let reply: SubscribedPayload | null = null;
    const onReply = (f: Frame) => {
      const p = (f.payload ?? {}) as SubscribedPayload;
      reply = p;
      if (!this.wanted || this.state !== 'joining') return;
      this.state = 'joined';
      const initial = !this.joinedOnce;
      this.joinedOnce = true;
      const lastSeq = typeof p.lastSeq === 'number' ? p.lastSeq : 0;
      if (initial || p.recovered === false) {
        // The snapshot is the state as of lastSeq: anything replayed at or
        // below it is already contained in it. A first join that asked for
        // history on purpose (since preset, recovered) keeps its position
        // and gets the replay on top of the snapshot.
        if (!sentSince || p.recovered === false) this.lastSeq = Math.max(this.lastSeq ?? 0, lastSeq);
        const info: SnapshotInfo = { initial, recovered: !!p.recovered, lastSeq };
        for (const h of [...this.snapshotHandlers]) h(p.snapshot, info);
      }
    };
    this.socket.request('subscribe', payload, { channel: this.name, onReply }).then(
      () => {
        if (this.state === 'joined') this.settle(null, reply!);
      },
      (err) => {
        if (this.state === 'joining') this.state = 'closed';
        // A disconnect before the reply is not the subscriber's problem:
        // the channel rejoins on the next connection.
        if (err instanceof RealtimeError && err.code === 'disconnected' && this.wanted) return;
        this.wanted = false;
        this.settle(err);
      },
    );
  }

  /** @internal the socket closed: a rejoin follows on the next welcome if wanted. */
  reset(): void {
    this.state = 'closed';
  }

  /** @internal the socket stopped for good. */
  fail(err: unknown): void {
    this.state = 'closed';
    this.settle(err);
  }

  /** @internal routes one server frame of this channel. */
  deliver(frame: Frame): void {
    if (this.state === 'closed' && !this.wanted) return;
    if (isDurable(frame)) {
      if (this.lastSeq !== undefined && frame.seq! <= this.lastSeq) return; // duplicate
      this.lastSeq = frame.seq!;
    }
    const run = (set?: Set<Handler>) => {
      if (set) for (const h of [...set]) h(frame);
    };
    run(this.handlers.get(frame.event));
    run(this.handlers.get('*'));
  }

  private settle(err: unknown, value?: SubscribedPayload): void {
    const ws = this.waiters;
    this.waiters = [];
    for (const w of ws) {
      if (err) w.reject(err);
      else w.resolve(value!);
    }
  }
}
