import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { Api } from '../api/client';
import { FakeServer } from '../realtime/fake-server';
import type { WebSocketFactory } from '../realtime';
import { Toasts } from './toasts';
import { Workspace } from './workspace';

const advance = (ms = 0) => vi.advanceTimersByTimeAsync(ms);

/** An in-memory REST backend behind the real Api class (fetch injected). */
function fakeRest(projects: { id: string; name: string; path: string; activeRuns?: number }[]) {
  type Stored = { id: string; version?: number; [k: string]: unknown };
  const workflows = new Map<string, Stored>();
  const calls: string[] = [];
  const json = (status: number, body: unknown) =>
    new Response(body === undefined ? '' : JSON.stringify(body), { status, headers: { 'Content-Type': 'application/json' } });
  let putWorkflow: (body: Stored) => Response = (body) => {
    const version = (workflows.get(body.id)?.version ?? 0) + 1;
    workflows.set(body.id, { ...body, version });
    return json(200, { version });
  };
  const route = (url: string | URL | Request, init?: RequestInit): Response => {
    const u = new URL(url instanceof Request ? url.url : url, 'http://x');
    const m = init?.method ?? 'GET';
    calls.push(`${m} ${u.pathname}`);
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as Stored) : undefined;
    const p = u.pathname;
    if (p === '/api/workspace') return json(404, { error: 'not_found', message: 'no route' });
    if (p === '/api/projects') return json(200, projects);
    if (/^\/api\/projects\/[^/]+$/.test(p)) return json(200, projects.find((x) => p.endsWith(x.id)));
    if (p.endsWith('/tools'))
      return json(200, { tools: [{ name: 'shell', title: 'Shell', description: '', source: 'builtin', inputSchema: { type: 'object', properties: { command: { type: 'string' } }, required: ['command'] } }] });
    if (p.endsWith('/workflows')) return json(200, { workflows: [...workflows.values()] });
    if (p.includes('/workflows/') && m === 'PUT') return putWorkflow(body!);
    if (p.includes('/workflows/')) return json(200, workflows.get(p.split('/').pop()!));
    if (p.endsWith('/runs')) return json(200, { runs: [] });
    return json(404, { error: 'not_found', message: p });
  };
  const fetchFn = (url: string | URL | Request, init?: RequestInit) => Promise.resolve(route(url, init));
  return { fetchFn, calls, workflows, setPut: (f: typeof putWorkflow) => (putWorkflow = f), json };
}

function setup(n: number) {
  const projects = Array.from({ length: n }, (_, i) => ({ id: `p${i}`, name: `Project ${i}`, path: `/tmp/p${i}`, activeRuns: 0 }));
  const rest = fakeRest(projects);
  const servers = new Map(projects.map((p) => [p.id, new FakeServer({ projectId: p.id })]));
  const factory: WebSocketFactory = (url, protocols) => servers.get(new URL(url).searchParams.get('projectId')!)!.factory(url, protocols);
  const toasts = new Toasts();
  const api = new Api({ baseUrl: '', auth: { token: () => Promise.resolve('t'), refresh: () => Promise.resolve('t'), expired: () => undefined }, fetch: rest.fetchFn });
  const store = new Map<string, string>();
  const ws = new Workspace({
    api,
    toasts,
    wsBase: () => 'ws://127.0.0.1:1',
    token: () => Promise.resolve('t'),
    refreshToken: () => Promise.resolve('t'),
    onTokenRefreshed: () => () => undefined,
    createSocket: factory,
    storage: { getItem: (k) => store.get(k) ?? null, setItem: (k, v) => void store.set(k, v) },
  });
  const open = () => [...servers.values()].reduce((a, s) => a + s.openConnections().length, 0);
  return { projects, rest, servers, ws, toasts, store, open };
}

beforeEach(() => vi.useFakeTimers());
afterEach(() => vi.useRealTimers());

describe('Workspace', () => {
  it('opens tabs with isolated state, persists them locally when /api/workspace is missing, and restores them', async () => {
    const { projects, ws, store, open } = setup(3);
    await ws.restore();
    expect(ws.get().tabs).toHaveLength(0);
    for (const p of projects) ws.open(p);
    await advance(400);
    expect(ws.get().active).toBe('p2');
    expect(JSON.parse(store.get('flowweaver.workspace')!)).toEqual({ tabs: ['p0', 'p1', 'p2'], active: 'p2' });
    // only the foreground tab is connected once the grace period passed
    await advance(6000);
    expect(open()).toBe(1);
    // per-tab state is isolated
    ws.tab('p0')!.setName('only in p0');
    expect(ws.tab('p1')!.get().name).not.toBe('only in p0');
    ws.move('p2', 0);
    ws.close('p1');
    await advance(400);
    expect(JSON.parse(store.get('flowweaver.workspace')!)).toEqual({ tabs: ['p2', 'p0'], active: 'p2' });
    ws.dispose();

    const again = setup(3);
    again.store.set('flowweaver.workspace', store.get('flowweaver.workspace')!);
    await again.ws.restore();
    expect(again.ws.get().tabs.map((t) => t.id)).toEqual(['p2', 'p0']);
    expect(again.ws.get().active).toBe('p2');
    again.ws.dispose();
  });

  it('connects a background tab whose project has an active run (learnt by the poll)', async () => {
    const { projects, ws, open } = setup(3);
    await ws.restore();
    for (const p of projects) ws.open(p);
    ws.activate('p0');
    await advance(6000);
    expect(open()).toBe(1);
    projects[2].activeRuns = 1;
    await advance(3000);
    expect(open()).toBe(2);
    ws.dispose();
  });
});

describe('ProjectTab', () => {
  it('saves, runs, and follows node status and logs from the run channel', async () => {
    const { projects, ws, servers } = setup(1);
    await ws.restore();
    const tab = ws.open(projects[0]);
    await advance();
    tab.addNode('shell', { x: 0, y: 0 });
    tab.setParam('shell', 'command', 'echo hi');
    const srv = servers.get('p0')!;
    srv.handlers.set('run.start', (_c, f) => ({ event: 'run.queued', payload: { runId: 'r1', workflowId: (f.payload as { workflowId: string }).workflowId } }));
    const started = tab.startRun();
    await advance();
    await started;
    expect(tab.get().version).toBe(1); // first save went through REST PUT
    expect(tab.get().runId).toBe('r1');
    expect(srv.last().sent.find((f) => f.channel === 'run:r1')).toMatchObject({ event: 'subscribe', payload: { since: 0 } });
    expect(tab.get().nodeStates.shell.status).toBe('pending');
    srv.publish(['project:p0', 'run:r1'], 'run.started', { runId: 'r1', workflowId: tab.get().workflowId });
    srv.publish('run:r1', 'node.started', { runId: 'r1', nodeId: 'shell' });
    srv.publish('run:r1', 'node.log', { runId: 'r1', nodeId: 'shell', stream: 'stdout', lines: ['hi', 'there'] });
    await advance(100);
    expect(tab.get().nodeStates.shell.status).toBe('running');
    expect(tab.logs.lines.map((l) => l.text)).toEqual(['hi', 'there']);
    expect(Object.keys(tab.get().activeRuns)).toEqual(['r1']);
    srv.publish('run:r1', 'node.completed', { runId: 'r1', nodeId: 'shell', durationMs: 12, output: { exitCode: 0 } });
    srv.publish(['project:p0', 'run:r1'], 'run.completed', { runId: 'r1', workflowId: tab.get().workflowId });
    await advance();
    expect(tab.get().nodeStates.shell).toMatchObject({ status: 'succeeded', durationMs: 12 });
    expect(tab.get().run?.status).toBe('succeeded');
    expect(tab.get().activeRuns).toEqual({});
    ws.dispose();
  });

  it('keeps a run that ended before its start was answered out of the active runs', async () => {
    const { projects, ws, servers } = setup(1);
    await ws.restore();
    const tab = ws.open(projects[0]);
    await advance();
    tab.addNode('shell', { x: 0, y: 0 });
    tab.setParam('shell', 'command', 'echo hi');
    const srv = servers.get('p0')!;
    // As the server does for a run of instant nodes: the whole run's events go out before the answer.
    srv.handlers.set('run.start', (_c, f) => {
      const workflowId = (f.payload as { workflowId: string }).workflowId;
      srv.publish(['project:p0', 'run:r1'], 'run.queued', { runId: 'r1', workflowId, status: 'queued' });
      srv.publish(['project:p0', 'run:r1'], 'run.started', { runId: 'r1', workflowId, status: 'running' });
      srv.publish(['project:p0', 'run:r1'], 'run.completed', { runId: 'r1', workflowId, status: 'succeeded' });
      return { event: 'run.queued', payload: { runId: 'r1', workflowId } };
    });
    const started = tab.startRun();
    await advance();
    expect(await started).toBe(true);
    await advance(100);
    expect(tab.get().runId).toBe('r1');
    expect(tab.get().activeRuns).toEqual({});
    ws.dispose();
  });

  it('marks a re-run attempt after a crash in the log and on the node', async () => {
    const { projects, ws, servers } = setup(1);
    await ws.restore();
    const tab = ws.open(projects[0]);
    await advance();
    tab.addNode('shell', { x: 0, y: 0 });
    tab.setParam('shell', 'command', 'sleep 5');
    const srv = servers.get('p0')!;
    srv.handlers.set('run.start', (_c, f) => ({ event: 'run.queued', payload: { runId: 'r1', workflowId: (f.payload as { workflowId: string }).workflowId } }));
    const started = tab.startRun();
    await advance();
    await started;
    srv.publish('run:r1', 'node.started', { runId: 'r1', nodeId: 'shell', attempt: 1 });
    srv.publish('run:r1', 'node.log', { runId: 'r1', nodeId: 'shell', stream: 'stdout', lines: ['first try'] });
    srv.publish('run:r1', 'node.started', { runId: 'r1', nodeId: 'shell', attempt: 2, reason: 'server restarted', interruptedAttempt: 1 });
    srv.publish('run:r1', 'node.log', { runId: 'r1', nodeId: 'shell', stream: 'stdout', lines: ['second try'] });
    await advance(100);
    expect(tab.logs.lines.map((l) => [l.stream, l.text])).toEqual([
      ['stdout', 'first try'],
      ['marker', 'attempt 2 — server restarted'],
      ['stdout', 'second try'],
    ]);
    expect(tab.get().nodeStates.shell).toMatchObject({ status: 'running', attempt: 2, attemptReason: 'server restarted' });
    ws.dispose();
  });

  it('shows validation problems on nodes and a version conflict with reload/overwrite', async () => {
    const { projects, ws, servers, rest } = setup(1);
    await ws.restore();
    const tab = ws.open(projects[0]);
    await advance();
    tab.addNode('shell', { x: 0, y: 0 });
    rest.setPut(() =>
      rest.json(400, { error: 'bad_request', message: 'invalid workflow', problems: [{ field: 'nodes[0].params.command', node: 'shell', message: 'command is required' }] }),
    );
    const s1 = tab.save();
    await advance();
    expect(await s1).toBe(false);
    expect(tab.get().problems).toEqual([{ field: 'nodes[0].params.command', node: 'shell', message: 'command is required' }]);
    rest.setPut(() => rest.json(200, { version: 3 }));
    tab.setParam('shell', 'command', 'ls');
    expect(tab.get().problems).toEqual([]);
    const s2 = tab.save();
    await advance();
    expect(await s2).toBe(true);
    expect(tab.get().version).toBe(3);

    const srv = servers.get('p0')!;
    const theirs = { name: 'Theirs', nodes: [{ id: 'x', tool: 'shell' }], edges: [] };
    // "Overwrite with mine" after a merge saves against their version (4), not blindly (-1).
    srv.handlers.set('workflow.update', (_c, f) =>
      (f.payload as { baseVersion: number }).baseVersion === 4
        ? { event: 'ack', payload: { version: 5 } }
        : { event: 'error', payload: { code: 'conflict', message: 'version conflict', details: { version: 4, workflow: theirs } } },
    );
    tab.setName('Mine');
    const s3 = tab.save();
    await advance();
    expect(await s3).toBe(false);
    // Both renamed it: the name is the one conflict; their node replacing the untouched one merged.
    expect(tab.get().conflict).toMatchObject({ version: 4, workflow: { ...theirs, version: 4 }, items: [{ key: 'field:name' }] });
    expect(tab.get().nodes.map((n) => n.id)).toEqual(['x']);
    expect(tab.get().name).toBe('Mine');
    const s4 = tab.overwriteConflict();
    await advance();
    expect(await s4).toBe(true);
    expect(tab.get()).toMatchObject({ version: 5, conflict: null, dirty: false });
    ws.dispose();
  });

  it('does not merge a workflow.updated that arrives while its own save is under way (the answer to the save decides)', async () => {
    const { projects, ws, servers, rest } = setup(1);
    await ws.restore();
    const tab = ws.open(projects[0]);
    await advance();
    tab.addNode('shell', { x: 0, y: 0 });
    tab.setParam('shell', 'command', 'a');
    expect(await Promise.all([tab.save(), advance()]).then(([ok]) => ok)).toBe(true);
    const id = tab.get().workflowId;
    await advance();
    tab.setParam('shell', 'command', 'mine');
    const srv = servers.get('p0')!;
    let answer: (() => void) | null = null;
    srv.handlers.set('workflow.update', (conn, f) => {
      answer = () => conn.push({ event: 'ack', ref: f.ref, payload: { version: 3 } });
    });
    const saving = tab.save();
    await advance(5);
    expect(tab.get().saving).toBe(true);
    // Another save (v2) is announced meanwhile; the REST read would already serve ours (v3).
    rest.workflows.set(id, { ...rest.workflows.get(id)!, version: 3 });
    const reads = rest.calls.length;
    srv.publish(`workflow:${id}`, 'workflow.updated', { workflowId: id, version: 2, by: 'c0ffee' });
    await advance(10);
    expect(rest.calls.slice(reads).filter((c) => c.startsWith('GET') && c.includes('/workflows/'))).toEqual([]);
    answer!();
    await advance(10);
    expect(await saving).toBe(true);
    expect(tab.get()).toMatchObject({ version: 3, dirty: false, conflict: null, saving: false });
    ws.dispose();
  });

  it('merges a save made elsewhere into unsaved edits of other nodes, and re-saves a 409 against their version', async () => {
    const { projects, ws, servers, rest, toasts } = setup(1);
    await ws.restore();
    const tab = ws.open(projects[0]);
    await advance();
    tab.addNode('shell', { x: 0, y: 0 });
    tab.addNode('shell', { x: 0, y: 300 });
    tab.setParam('shell', 'command', 'a');
    tab.setParam('shell_2', 'command', 'b');
    expect(await Promise.all([tab.save(), advance()]).then(([ok]) => ok)).toBe(true);
    const id = tab.get().workflowId;
    const saved = rest.workflows.get(id)!;
    expect(saved.version).toBe(1);
    await advance();

    // Here: shell_2 edited. There: shell edited and saved as v2.
    tab.setParam('shell_2', 'command', 'b mine');
    const theirs = structuredClone(saved) as unknown as { nodes: { id: string; params: Record<string, unknown> }[]; version: number };
    theirs.nodes[0].params.command = 'a theirs';
    theirs.version = 2;
    rest.workflows.set(id, theirs as never);
    const srv = servers.get('p0')!;
    srv.publish(`workflow:${id}`, 'workflow.updated', { workflowId: id, version: 2, by: 'c0ffee' });
    await advance(10);
    const params = () => Object.fromEntries(tab.get().nodes.map((n) => [n.id, n.data.params.command]));
    expect(params()).toEqual({ shell: 'a theirs', shell_2: 'b mine' });
    expect(tab.get()).toMatchObject({ version: 2, dirty: true, conflict: null });
    expect(toasts.get().items.at(-1)?.title).toBe('Merged changes from another window');

    // A 409 on save (v3 saved meanwhile, not yet announced): merged and saved again against v3.
    const v3 = structuredClone(theirs);
    v3.nodes[0].params.timeout = 5;
    v3.version = 3;
    const sent: number[] = [];
    srv.handlers.set('workflow.update', (_c, f) => {
      const p = f.payload as { baseVersion: number; workflow: typeof v3 };
      sent.push(p.baseVersion);
      if (p.baseVersion !== 3) return { event: 'error', payload: { code: 'conflict', message: 'version conflict', version: 3, workflow: v3 } };
      expect(p.workflow.nodes.map((n) => n.params)).toEqual([{ command: 'a theirs', timeout: 5 }, { command: 'b mine' }]);
      return { event: 'ack', payload: { version: 4 } };
    });
    const s = tab.save();
    await advance(10);
    expect(await s).toBe(true);
    expect(sent).toEqual([2, 3]);
    expect(tab.get()).toMatchObject({ version: 4, dirty: false, conflict: null });

    // The same node edited on both sides: a conflict on that node only; Save waits for a choice.
    tab.setParam('shell', 'command', 'a mine');
    const v5 = structuredClone(v3);
    v5.nodes[0].params.command = 'a theirs again';
    v5.version = 5;
    rest.workflows.set(id, v5 as never);
    srv.publish(`workflow:${id}`, 'workflow.updated', { workflowId: id, version: 5, by: 'c0ffee' });
    await advance(10);
    expect(tab.get().conflict?.items?.map((c) => c.key)).toEqual(['node:shell']);
    expect(await tab.save()).toBe(false);
    tab.editor.resolveConflict('node:shell', 'theirs');
    expect(params().shell).toBe('a theirs again');
    expect(tab.get()).toMatchObject({ conflict: null, dirty: false, version: 5 });
    ws.dispose();
  });
});
