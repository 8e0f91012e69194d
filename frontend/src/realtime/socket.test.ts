import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Backoff } from './backoff';
import type { SnapshotInfo } from './channel';
import { FakeServer, type FakeServerOptions } from './fake-server';
import { LazyConnections } from './lazy';
import { Frame, RealtimeError, SUBPROTOCOL, SUBPROTOCOL_BATCH } from './protocol';
import { ProjectSocket, SocketOptions } from './socket';

/** Lets microtasks (fake frames) run, and moves fake time by ms. */
const advance = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

/**
 * Whether the fake servers of the ProjectSocket suite select the batch
 * subprotocol: the suite runs once per framing, so every behaviour
 * (reconnect, resync with since, dedupe, snapshots, refresh, heartbeat) is
 * proven with one frame per message and with frames joined into messages.
 */
let serverBatch = false;
const newServer = (opts: FakeServerOptions = {}) => new FakeServer({ batch: serverBatch, ...opts });

function setup(over: Partial<SocketOptions> = {}, server = newServer()) {
  let token = 't1';
  const refreshToken = vi.fn(() => {
    token = `t${Number(token.slice(1)) + 1}`;
    return Promise.resolve(token);
  });
  const socket = new ProjectSocket({
    projectId: server.projectId,
    wsBase: () => 'ws://127.0.0.1:7420',
    token: () => Promise.resolve(token),
    refreshToken,
    createSocket: server.factory,
    backoff: { random: () => 0.5 },
    ...over,
  });
  return { server, socket, refreshToken };
}

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('Backoff', () => {
  it('draws full-jitter delays between 0.5 s and a cap that doubles up to 20 s', () => {
    let r = 1;
    const b = new Backoff({ random: () => r });
    const caps: number[] = [];
    for (let i = 0; i < 10; i++) caps.push(b.next());
    expect(caps).toEqual([500, 1000, 2000, 4000, 8000, 16000, 20000, 20000, 20000, 20000]);
    r = 0;
    expect(b.next()).toBe(500);
    b.reset();
    r = 0.999;
    expect(b.next()).toBeLessThanOrEqual(500);
  });
});

describe.each([SUBPROTOCOL, SUBPROTOCOL_BATCH])('ProjectSocket, server selects %s', (selected) => {
  beforeEach(() => {
    serverBatch = selected === SUBPROTOCOL_BATCH;
  });
  afterEach(() => {
    serverBatch = false;
  });

  it('connects with the subprotocols, waits for welcome, then sends', async () => {
    const { server, socket } = setup();
    socket.connect();
    expect(socket.state).toBe('connecting');
    await advance();
    const conn = server.last();
    expect(conn.url).toBe('ws://127.0.0.1:7420/ws?projectId=p1');
    expect(conn.protocols).toEqual(['flowweaver.v1.batch', 'flowweaver.v1', 'bearer.t1']);
    expect(conn.client.protocol).toBe(selected);
    expect(socket.state).toBe('open');
    expect(socket.connectionId).toBe('c1');
    const reply = await Promise.all([socket.request('ping', null), advance()]);
    expect(reply[0].event).toBe('pong');
  });

  it('buffers requests while connecting and flushes them after welcome', async () => {
    const { server, socket } = setup();
    server.sendWelcome = false;
    socket.connect();
    const p = socket.request('tools.list', null);
    await advance();
    expect(server.last().open).toBe(true);
    expect(server.last().sent).toEqual([]); // nothing before welcome
    server.last().push({ event: 'welcome', channel: 'system', payload: { connectionId: 'x', protocol: 1, heartbeatMs: 0, lastSeq: 0 } });
    await advance();
    expect(server.last().sent.map((f) => f.event)).toEqual(['tools.list']);
    await expect(p).resolves.toMatchObject({ event: 'ack' });
  });

  it('rejects a request without reply after its timeout, and rejects error replies', async () => {
    const { server, socket } = setup({ requestTimeoutMs: 3000 });
    server.silent.add('run.start');
    server.handlers.set('run.cancel', () => ({ event: 'error', payload: { code: 'not_found', message: 'no such run' } }));
    socket.connect();
    await advance();
    const p = socket.request('run.start', { workflowId: 'w' });
    const caught = p.catch((e: unknown) => e);
    await advance(2999);
    let settled = false;
    void p.catch(() => (settled = true));
    await advance(0);
    expect(settled).toBe(false);
    await advance(1);
    const err = await caught;
    expect(err).toBeInstanceOf(RealtimeError);
    expect((err as RealtimeError).code).toBe('timeout');
    const e2 = await Promise.all([socket.request('run.cancel', { runId: 'r' }).catch((e: unknown) => e), advance()]);
    expect(e2[0]).toMatchObject({ code: 'not_found', message: 'no such run' });
  });

  it('reconnects with full-jitter backoff after the server drops it', async () => {
    const { server, socket } = setup({ backoff: { random: () => 1 } });
    socket.connect();
    await advance();
    server.accept = false;
    server.last().kill(1001);
    await advance();
    expect(socket.state).toBe('waiting');
    // attempt 1 after 500 ms, 2 after 1000, 3 after 2000 (random = 1: the cap)
    const times: number[] = [];
    let t = 0;
    for (let i = 0; i < 3; i++) {
      const before = server.connections.length;
      while (server.connections.length === before) {
        await advance(100);
        t += 100;
      }
      times.push(t);
    }
    expect(times).toEqual([500, 1500, 3500]);
    server.accept = true;
    await advance(4000);
    expect(socket.state).toBe('open');
    // a healthy connection resets the backoff
    server.last().kill(1006);
    await advance(499);
    const n = server.connections.length;
    await advance(1);
    expect(server.connections.length).toBe(n + 1);
  });

  it('re-subscribes every channel with since = last seen seq, and loses nothing', async () => {
    const { server, socket } = setup();
    socket.connect();
    await advance();
    const ch = socket.channel('project:p1');
    const seen: number[] = [];
    ch.on('*', (f) => seen.push(f.seq!));
    await Promise.all([ch.subscribe(), advance()]);
    server.publish('project:p1', 'run.queued', { runId: 'r1' });
    server.publish('project:p1', 'run.started', { runId: 'r1' });
    await advance();
    expect(seen).toEqual([1, 2]);
    server.last().kill(4008); // slow consumer
    await advance();
    server.publish('project:p1', 'run.completed', { runId: 'r1' }); // missed while away
    await advance(500);
    expect(socket.state).toBe('open');
    const sub = server.last().sent.find((f) => f.event === 'subscribe');
    expect(sub).toMatchObject({ channel: 'project:p1', payload: { since: 2 } });
    expect(seen).toEqual([1, 2, 3]);
  });

  it('drops duplicate and old seqs', async () => {
    const { server, socket } = setup();
    socket.connect();
    await advance();
    const ch = socket.channel('run:r1');
    const seen: number[] = [];
    ch.on('node.log', (f) => seen.push(f.seq!));
    await Promise.all([ch.subscribe(), advance()]);
    const conn = server.last();
    for (const seq of [5, 6, 6, 4, 7, 7]) conn.push({ event: 'node.log', channel: 'run:r1', seq, payload: {} });
    conn.push({ event: 'node.log', channel: 'run:r1', payload: {} }); // transient: no seq, always delivered
    await advance();
    expect(seen).toEqual([5, 6, 7, undefined]);
  });

  it('applies the snapshot when the server could not recover the gap', async () => {
    const { server, socket } = setup();
    let runs = ['r1'];
    server.snapshot = () => ({ runs });
    socket.connect();
    await advance();
    const ch = socket.channel('project:p1');
    const snaps: { s: unknown; info: SnapshotInfo }[] = [];
    const events: number[] = [];
    ch.onSnapshot((s, info) => snaps.push({ s, info }));
    ch.on('*', (f) => events.push(f.seq!));
    await Promise.all([ch.subscribe(), advance()]);
    expect(snaps).toEqual([{ s: { runs: ['r1'] }, info: { initial: true, recovered: false, lastSeq: 0 } }]);
    server.publish('project:p1', 'run.queued', { runId: 'r2' });
    await advance();
    server.last().kill(1001);
    await advance();
    for (let i = 0; i < 5; i++) server.publish('project:p1', 'run.queued', { runId: `x${i}` });
    server.compact(4); // seq 2..4 are gone: since=1 cannot be served
    runs = ['r1', 'r2', 'x0', 'x1', 'x2', 'x3', 'x4'];
    await advance(500);
    expect(snaps.length).toBe(2);
    expect(snaps[1]).toEqual({ s: { runs }, info: { initial: false, recovered: false, lastSeq: 6 } });
    // seq 5 and 6 were replayed too but are covered by the snapshot
    expect(events).toEqual([1]);
    server.publish('project:p1', 'run.started', { runId: 'x4' });
    await advance();
    expect(events).toEqual([1, 7]);
  });

  it('a channel with a preset position gets the history replayed on its first join', async () => {
    const { server, socket } = setup();
    server.publish(['project:p1', 'run:r1'], 'run.queued', { runId: 'r1' });
    server.publish('run:r1', 'node.log', { lines: ['a'] });
    server.publish('project:p1', 'notification', {});
    socket.connect();
    await advance();
    const ch = socket.channel('run:r1');
    ch.lastSeq = 0;
    const seen: number[] = [];
    let snaps = 0;
    ch.onSnapshot(() => snaps++);
    ch.on('*', (f) => seen.push(f.seq!));
    await Promise.all([ch.subscribe(), advance()]);
    expect(snaps).toBe(1);
    expect(seen).toEqual([1, 2]);
  });

  it('does not apply the snapshot again when the rejoin recovered', async () => {
    const { server, socket } = setup();
    socket.connect();
    await advance();
    const ch = socket.channel('run:r1');
    let snaps = 0;
    ch.onSnapshot(() => snaps++);
    await Promise.all([ch.subscribe(), advance()]);
    server.last().kill(1006);
    await advance(500);
    expect(socket.state).toBe('open');
    expect(snaps).toBe(1);
  });

  it('refreshes the token on 4001 and reconnects with the new one', async () => {
    const { server, socket, refreshToken } = setup();
    socket.connect();
    await advance();
    const ch = socket.channel('project:p1');
    await Promise.all([ch.subscribe(), advance()]);
    server.last().kill(4001, 'token expired');
    await advance();
    expect(refreshToken).toHaveBeenCalledTimes(1);
    expect(socket.state).toBe('open');
    expect(server.last().token).toBe('t2');
    expect(server.connections.length).toBe(2);
    expect(server.last().subscriptions.has('project:p1')).toBe(true);
  });

  it('stops and reports when the refresh fails', async () => {
    const { server, socket } = setup({ refreshToken: async () => Promise.reject(new Error('expired')) });
    const fatal = vi.fn();
    socket.onFatal(fatal);
    socket.connect();
    await advance();
    server.last().kill(4001);
    await advance(60000);
    expect(socket.state).toBe('stopped');
    expect(fatal).toHaveBeenCalledWith({ code: 4001, reason: 'session expired' });
    expect(server.connections.length).toBe(1);
  });

  it.each([1008, 4004])('stops on %i and tells the user', async (code) => {
    const { server, socket } = setup();
    const fatal = vi.fn();
    socket.onFatal(fatal);
    socket.connect();
    const p = socket.channel('project:p1').subscribe().catch((e: unknown) => e);
    await advance();
    server.last().kill(code, 'bye');
    await advance(60000);
    expect(socket.state).toBe('stopped');
    expect(fatal).toHaveBeenCalledWith({ code, reason: 'bye' });
    expect(server.connections.length).toBe(1);
    expect(await p).toBeDefined();
  });

  it('sends auth.refresh over an open socket', async () => {
    const { server, socket } = setup();
    socket.connect();
    await advance();
    await Promise.all([socket.sendAuthRefresh('t9'), advance()]);
    expect(server.last().sent).toContainEqual(expect.objectContaining({ event: 'auth.refresh', payload: { token: 't9' } }));
  });

  it('asks the probe after failed handshakes and stops when the project is gone', async () => {
    const probe = vi.fn(() => Promise.resolve('stop' as const));
    const { server, socket } = setup({ probe, probeAfter: 2 });
    server.accept = false;
    socket.connect();
    await advance(5000);
    expect(probe).toHaveBeenCalledTimes(1);
    expect(socket.state).toBe('stopped');
    expect(socket.fatal?.code).toBe(4004);
  });

  it('drops a connection whose pongs stop and reconnects', async () => {
    const { server, socket } = setup({}, newServer({ heartbeatMs: 1000 }));
    socket.connect();
    await advance();
    expect(socket.state).toBe('open');
    server.silent.add('ping');
    await advance(1000 + 2000);
    expect(server.connections.length).toBe(1);
    await advance(1);
    expect(['waiting', 'connecting', 'open']).toContain(socket.state);
    await advance(600);
    expect(server.connections.length).toBe(2);
  });

  it('disconnect() closes, keeps channel positions, and connect() resumes with since', async () => {
    const { server, socket } = setup();
    socket.connect();
    await advance();
    const ch = socket.channel('project:p1');
    const seen: Frame[] = [];
    ch.on('*', (f) => seen.push(f));
    await Promise.all([ch.subscribe(), advance()]);
    server.publish('project:p1', 'notification', { message: 'a' });
    await advance();
    socket.disconnect();
    await advance();
    expect(socket.state).toBe('idle');
    expect(server.openConnections().length).toBe(0);
    expect(server.connections[0].closedBy).toBe('client');
    server.publish('project:p1', 'notification', { message: 'b' });
    await advance(60000);
    expect(server.connections.length).toBe(1); // no reconnect while idle
    socket.connect();
    await advance();
    expect(server.last().sent[0]).toMatchObject({ event: 'subscribe', payload: { since: 1 } });
    expect(seen.map((f) => (f.payload as { message: string }).message)).toEqual(['a', 'b']);
  });
});

describe('LazyConnections', () => {
  it('keeps exactly the foreground tab and the tabs with active runs connected', async () => {
    const lazy = new LazyConnections({ graceMs: 5000 });
    const servers: FakeServer[] = [];
    const sockets: ProjectSocket[] = [];
    for (let i = 0; i < 10; i++) {
      const { server, socket } = setup({}, new FakeServer({ projectId: `p${i}` }));
      servers.push(server);
      sockets.push(socket);
      lazy.add(`p${i}`, socket);
    }
    const open = () => servers.reduce((n, s) => n + s.openConnections().length, 0);
    lazy.setForeground('p0');
    await advance();
    expect(open()).toBe(1);
    // runs start in p0, p3, p7 (p3/p7 learnt through the REST poll)
    lazy.setActiveRuns('p0', 1);
    lazy.setActiveRuns('p3', 1);
    lazy.setActiveRuns('p7', 2);
    await advance();
    expect(open()).toBe(3);
    // user flicks to p5: p5 connects, p0 keeps its connection (active run)
    lazy.setForeground('p5');
    await advance();
    expect(open()).toBe(4);
    // back to p0: p5 is idle in the background, gone after the grace period
    lazy.setForeground('p0');
    await advance(4999);
    expect(open()).toBe(4);
    await advance(1);
    expect(open()).toBe(3);
    expect(lazy.connectedProjects().sort()).toEqual(['p0', 'p3', 'p7']);
    // p3's run finishes in the background: it disconnects after the grace period
    lazy.setActiveRuns('p3', 0);
    await advance(5000);
    expect(open()).toBe(2);
    // reactivating p3 reconnects it and it resyncs with since
    const ch = sockets[3].channel('project:p3');
    expect(ch.wanted).toBe(false);
    lazy.setForeground('p3');
    await advance();
    expect(servers[3].openConnections().length).toBe(1);
    // closing a tab frees its connection at once
    lazy.remove('p7');
    await advance();
    expect(servers[7].openConnections().length).toBe(0);
    lazy.dispose();
    await advance();
    expect(open()).toBe(0);
  });

  it('a tab coming back within the grace period keeps its connection', async () => {
    const lazy = new LazyConnections({ graceMs: 5000 });
    const { server, socket } = setup();
    const other = setup({}, new FakeServer({ projectId: 'p2' }));
    lazy.add('p1', socket);
    lazy.add('p2', other.socket);
    lazy.setForeground('p1');
    await advance();
    lazy.setForeground('p2');
    await advance(3000);
    lazy.setForeground('p1');
    await advance(10000);
    expect(server.connections.length).toBe(1);
    expect(server.openConnections().length).toBe(1);
    expect(other.server.openConnections().length).toBe(0);
  });

  it('a nudge connects an idle background tab for one grace period (a run that started by itself)', async () => {
    const lazy = new LazyConnections({ graceMs: 5000 });
    const fg = setup();
    const bg = setup({}, new FakeServer({ projectId: 'p2' }));
    lazy.add('p1', fg.socket);
    lazy.add('p2', bg.socket);
    lazy.setForeground('p1');
    await advance();
    expect(bg.server.openConnections().length).toBe(0);
    lazy.nudge('p2');
    await advance();
    expect(bg.server.openConnections().length).toBe(1);
    await advance(5000);
    expect(bg.server.openConnections().length).toBe(0);
    expect(fg.server.openConnections().length).toBe(1);
    lazy.dispose();
  });
});
