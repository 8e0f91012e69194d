// Wire types of the WebSocket API (docs/websocket.md). Nothing here knows about React.

/** One JSON text frame, in either direction. */
export interface Frame {
  event: string;
  channel?: string;
  payload?: unknown;
  ref?: string;
  /** Set on every server frame. */
  projectId?: string;
  /** Set on durable server events: per project, strictly increasing. */
  seq?: number;
  ts?: string;
}

/** Payload of the first frame after the upgrade. */
export interface WelcomePayload {
  connectionId: string;
  protocol: number;
  heartbeatMs: number;
  lastSeq: number;
}

/** Payload of the `subscribed` reply. */
export interface SubscribedPayload {
  snapshot: unknown;
  recovered: boolean;
  lastSeq: number;
}

/** Subprotocol of one frame per message; the bearer token rides as a further entry. */
export const SUBPROTOCOL = 'flowweaver.v1';

/**
 * The same protocol with batched server messages: a message holds one or
 * more frames, one per line. The socket offers it first; a server that does
 * not know it selects SUBPROTOCOL, and `ws.protocol` tells which one it got.
 */
export const SUBPROTOCOL_BATCH = 'flowweaver.v1.batch';

/**
 * The frame texts of one server message under the negotiated subprotocol:
 * its lines with SUBPROTOCOL_BATCH (a frame never holds a raw newline, JSON
 * escapes them), else the whole message. Empty or malformed pieces are left
 * to the caller, which ignores them like a malformed message.
 */
export function frameTexts(data: string, protocol: string): string[] {
  return protocol === SUBPROTOCOL_BATCH ? data.split('\n') : [data];
}

/** Close codes (docs/websocket.md, "Connection life and close codes"). */
export const Close = {
  Normal: 1000,
  GoingAway: 1001,
  Abnormal: 1006,
  Unsupported: 1003,
  Policy: 1008,
  TooBig: 1009,
  Internal: 1011,
  TokenExpired: 4001,
  ProjectDeleted: 4004,
  SlowConsumer: 4008,
  TooManyConnections: 4029,
} as const;

/** What the socket does after a close, decided from the close code alone. */
export type CloseAction = 'reconnect' | 'refresh' | 'stop';

export function closeAction(code: number): CloseAction {
  switch (code) {
    case Close.TokenExpired:
      return 'refresh';
    case Close.Policy:
    case Close.ProjectDeleted:
      return 'stop';
    default:
      // 1001 (server restart), 1006 (network), 1011, 4008 (slow consumer:
      // resubscribe with since and lose nothing), 4029 (back off) ...
      return 'reconnect';
  }
}

/** An `error` reply, or a local failure (timeout, disconnected) of a request. */
export class RealtimeError extends Error {
  readonly code: string;
  readonly payload: unknown;
  constructor(code: string, message: string, payload?: unknown) {
    super(message);
    this.name = 'RealtimeError';
    this.code = code;
    this.payload = payload ?? null;
  }
}

/** Minimal WebSocket surface the socket uses, so tests can inject a fake. */
export interface WebSocketLike {
  readonly readyState: number;
  readonly protocol: string;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string; wasClean?: boolean }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
  send(data: string): void;
  close(code?: number, reason?: string): void;
}

export type WebSocketFactory = (url: string, protocols: string[]) => WebSocketLike;

export const WS_OPEN = 1;

/** Durable events are the ones carrying a seq. */
export function isDurable(f: Frame): boolean {
  return typeof f.seq === 'number' && f.seq > 0;
}

/** Options of one request on a project socket. */
export interface RequestOptions {
  channel?: string;
  timeoutMs?: number;
  /**
   * Runs synchronously when the (non-error) reply arrives, before any later
   * frame is processed. Channel uses it so the frames replayed right after
   * `subscribed` already see the new position.
   */
  onReply?: (f: Frame) => void;
}
