import { describe, expect, it } from 'vitest';
import { Drafts } from './drafts';
import { activeRunsOf } from './runs';

function memory() {
  const m = new Map<string, string>();
  return {
    m,
    getItem: (k: string) => m.get(k) ?? null,
    setItem: (k: string, v: string) => void m.set(k, v),
    removeItem: (k: string) => void m.delete(k),
  };
}

describe('activeRunsOf (which run the canvas follows)', () => {
  it('lists the runs of one workflow, newest first', () => {
    const runs = {
      a: { runId: 'a', workflowId: 'w', status: 'running' as const, createdAt: '2026-12-01T10:00:00Z' },
      b: { runId: 'b', workflowId: 'w', status: 'queued' as const, createdAt: '2026-12-01T10:05:00Z' },
      c: { runId: 'c', workflowId: 'other', status: 'running' as const, createdAt: '2026-12-01T10:09:00Z' },
    };
    expect(activeRunsOf(runs, 'w').map((r) => r.runId)).toEqual(['b', 'a']);
    expect(activeRunsOf(runs, 'none')).toEqual([]);
  });
});

describe('Drafts', () => {
  const wf = { id: 'w', name: 'W', nodes: [], edges: [] };
  it('keeps a draft per workflow and which one was open', () => {
    const s = memory();
    const d = new Drafts('p1', s);
    d.put('w', { workflow: wf, baseVersion: 3, savedAt: 1 });
    d.setOpen('w');
    const again = new Drafts('p1', s);
    expect(again.get('w')?.baseVersion).toBe(3);
    expect(again.lastOpen()).toBe('w');
    expect(new Drafts('p2', s).get('w')).toBeNull();
    again.remove('w');
    expect(again.get('w')).toBeNull();
  });
  it('survives unreadable and failing storage', () => {
    const s = memory();
    s.setItem('flowweaver.drafts.p1', '{not json');
    const d = new Drafts('p1', s);
    expect(d.get('w')).toBeNull();
    const full = { ...s, setItem: () => { throw new Error('QuotaExceededError'); } };
    expect(() => new Drafts('p1', full).put('w', { workflow: wf, baseVersion: 0, savedAt: 1 })).not.toThrow();
    expect(() => new Drafts('p1', null).put('w', { workflow: wf, baseVersion: 0, savedAt: 1 })).not.toThrow();
  });
});
