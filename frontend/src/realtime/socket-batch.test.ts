// How ProjectSocket reads the flowweaver.v1.batch framing: a server message
// holds one or more frames, one per line, each handled exactly like a
// message of its own. (socket.test.ts runs the whole socket suite over both
// framings; these tests pin down the splitting itself.)

import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { FakeServer } from './fake-server';
import { Frame, SUBPROTOCOL, SUBPROTOCOL_BATCH, frameTexts } from './protocol';
import { ProjectSocket } from './socket';

const advance = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

/** A socket on a fake server, welcomed, with `project:p1` joined; `seen` collects its frames. */
async function joined(batch = true) {
  const server = new FakeServer({ batch });
  const socket = new ProjectSocket({
    projectId: server.projectId,
    wsBase: () => 'ws://127.0.0.1:7420',
    token: () => Promise.resolve('t1'),
    refreshToken: () => Promise.resolve('t2'),
    createSocket: server.factory,
    backoff: { random: () => 0.5 },
  });
  socket.connect();
  await advance();
  const ch = socket.channel('project:p1');
  const seen: Frame[] = [];
  ch.on('*', (f) => seen.push(f));
  await Promise.all([ch.subscribe(), advance()]);
  const conn = server.last();
  return { server, socket, ch, seen, conn };
}

/** The wire text of a durable event on project:p1. */
const line = (seq: number, event = 'notification') =>
  JSON.stringify({ event, channel: 'project:p1', projectId: 'p1', seq, payload: { message: `m${seq}` } });

beforeEach(() => {
  vi.useFakeTimers();
});
afterEach(() => {
  vi.useRealTimers();
});

describe('frameTexts', () => {
  it('splits a batched message at newlines and keeps a plain one whole', () => {
    expect(frameTexts('{"a":1}\n{"b":2}', SUBPROTOCOL_BATCH)).toEqual(['{"a":1}', '{"b":2}']);
    expect(frameTexts('{"a":1}', SUBPROTOCOL_BATCH)).toEqual(['{"a":1}']);
    expect(frameTexts('{\n"a":1}', SUBPROTOCOL)).toEqual(['{\n"a":1}']);
    expect(frameTexts('{"a":1}', '')).toEqual(['{"a":1}']);
  });
});

describe('ProjectSocket with flowweaver.v1.batch', () => {
  it('handles every frame of a message, in order', async () => {
    const { seen, conn } = await joined();
    expect(conn.client.protocol).toBe(SUBPROTOCOL_BATCH);
    conn.pushRaw([line(1), line(2), line(3, 'run.queued')].join('\n'));
    await advance();
    expect(seen.map((f) => [f.seq, f.event])).toEqual([
      [1, 'notification'],
      [2, 'notification'],
      [3, 'run.queued'],
    ]);
  });

  it('handles a message of a single frame', async () => {
    const { seen, conn } = await joined();
    conn.pushRaw(line(1));
    await advance();
    expect(seen.map((f) => f.seq)).toEqual([1]);
  });

  it('ignores an empty trailing line', async () => {
    const { seen, conn, socket } = await joined();
    const stray: Frame[] = [];
    socket.onFrame((f) => stray.push(f));
    conn.pushRaw(`${line(1)}\n${line(2)}\n`);
    await advance();
    expect(seen.map((f) => f.seq)).toEqual([1, 2]);
    expect(stray).toEqual([]);
    expect(socket.state).toBe('open');
  });

  it('skips a malformed line like a malformed message and keeps the others', async () => {
    const { seen, conn, socket } = await joined();
    conn.pushRaw([line(1), '{"event":"notif', '[1,2]', '{"no":"event"}', line(2)].join('\n'));
    conn.pushRaw('not json at all');
    conn.pushRaw(line(3));
    await advance();
    expect(seen.map((f) => f.seq)).toEqual([1, 2, 3]);
    expect(socket.state).toBe('open');
    expect(socket.connects).toBe(1);
  });

  it('dedupes seqs across and within messages', async () => {
    const { seen, conn } = await joined();
    conn.pushRaw([line(1), line(2), line(2)].join('\n'));
    conn.pushRaw([line(2), line(3)].join('\n'));
    await advance();
    expect(seen.map((f) => f.seq)).toEqual([1, 2, 3]);
  });

  it('settles a reply and delivers the events after it from the same message', async () => {
    const { socket, conn, seen } = await joined();
    conn.server.handlers.set('run.start', () => null); // answered by hand below
    const reply = socket.request('run.start', { workflowId: 'w' });
    await advance();
    const ref = conn.sent.at(-1)!.ref;
    conn.pushRaw([line(1, 'run.queued'), JSON.stringify({ event: 'ack', ref, payload: { runId: 'r1' } }), line(2, 'run.started')].join('\n'));
    await advance();
    await expect(reply).resolves.toMatchObject({ event: 'ack', payload: { runId: 'r1' } });
    expect(seen.map((f) => f.event)).toEqual(['run.queued', 'run.started']);
  });

  it('drops the rest of a message once a frame ended the connection, like later messages', async () => {
    const { socket, ch, seen, conn } = await joined();
    ch.on('run.canceled', () => socket.disconnect());
    conn.pushRaw([line(1), line(2, 'run.canceled'), line(3)].join('\n'));
    conn.pushRaw(line(4));
    await advance();
    expect(seen.map((f) => f.seq)).toEqual([1, 2]);
    expect(socket.state).toBe('idle');
    // A later connect resumes after the last frame handled, so 3 and 4 come back by replay.
    expect(ch.lastSeq).toBe(2);
  });

  it('reads one frame per message when the server selected flowweaver.v1', async () => {
    const { seen, conn } = await joined(false);
    expect(conn.client.protocol).toBe(SUBPROTOCOL);
    conn.pushRaw(JSON.stringify({ event: 'notification', channel: 'project:p1', seq: 1, payload: {} }, null, 2)); // pretty-printed: newlines inside
    conn.pushRaw([line(2), line(3)].join('\n')); // not a frame on this framing: ignored as malformed
    conn.pushRaw(line(4));
    await advance();
    expect(seen.map((f) => f.seq)).toEqual([1, 4]);
  });

  it('resubscribes with since after a drop and gets the replay in one message, exactly once', async () => {
    const { server, socket, seen, conn } = await joined();
    server.publish('project:p1', 'run.queued', { runId: 'r1' });
    server.publish('project:p1', 'run.started', { runId: 'r1' });
    await advance();
    conn.kill(4008);
    await advance();
    for (let i = 0; i < 5; i++) server.publish('project:p1', 'node.log', { lines: [`l${i}`] }); // missed while away
    await advance(500);
    expect(socket.state).toBe('open');
    const next = server.last();
    expect(next).not.toBe(conn);
    expect(next.sent.find((f) => f.event === 'subscribe')).toMatchObject({ payload: { since: 2 } });
    // welcome, then the subscribed reply with the five replayed events
    expect(next.messages).toBe(2);
    expect(seen.map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6, 7]);
  });
});
