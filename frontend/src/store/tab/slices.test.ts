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
  it('keeps one draft per window of a browser; a window without one takes over the newest', () => {
    const s = memory();
    const w1 = new Drafts('p1', s, 1);
    const w2 = new Drafts('p1', s, 2);
    w1.put('w', { workflow: { ...wf, name: 'one' }, baseVersion: 3, savedAt: 10 });
    w2.put('w', { workflow: { ...wf, name: 'two' }, baseVersion: 3, savedAt: 20 });
    w1.setOpen('w');
    w2.setOpen('other');
    expect(w1.get('w')?.workflow.name).toBe('one');
    expect(w2.get('w')?.workflow.name).toBe('two');
    expect(new Drafts('p1', s, 1).lastOpen()).toBe('w');
    expect(new Drafts('p1', s, 2).lastOpen()).toBe('other');
    // Saved in window 1: window 2's unsaved edits stay.
    w1.remove('w');
    expect(w1.get('w')?.workflow.name).toBe('two');
    expect(w2.get('w')?.workflow.name).toBe('two');
    // A new window (a reopened browser) takes over the newest draft, once.
    w1.put('w', { workflow: { ...wf, name: 'one again' }, baseVersion: 3, savedAt: 30 });
    const w3 = new Drafts('p1', s, 3);
    expect(w3.lastOpen()).toBe('other');
    expect(w3.take('w')?.workflow.name).toBe('one again');
    expect(w2.get('w')?.workflow.name).toBe('two');
    expect(Object.keys((JSON.parse(s.getItem('flowweaver.drafts.p1')!) as { drafts: object }).drafts).sort()).toEqual(['w#2', 'w#3']);
    expect(w3.get('w')?.workflow.name).toBe('one again');
    // Reloading because another window saved takes only the window's own draft.
    const w5 = new Drafts('p1', s, 5);
    expect(w5.take('w', false)).toBeNull();
    expect(w2.get('w')?.workflow.name).toBe('two');
    // A draft stored before windows counted is found and replaced by the window's own.
    s.setItem('flowweaver.drafts.p9', JSON.stringify({ open: 'w', drafts: { w: { workflow: wf, baseVersion: 1, savedAt: 1 } } }));
    const legacy = new Drafts('p9', s, 4);
    expect(legacy.lastOpen()).toBe('w');
    expect(legacy.get('w')?.baseVersion).toBe(1);
    legacy.put('w', { workflow: wf, baseVersion: 2, savedAt: 2 });
    expect(Object.keys((JSON.parse(s.getItem('flowweaver.drafts.p9')!) as { drafts: object }).drafts)).toEqual(['w#4']);
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
