import { describe, expect, it, vi } from 'vitest';
import { ApiError } from '../../api/client';
import type { TrustReview } from '../../api/types';
import { Store } from '../store';
import { Toasts } from '../toasts';
import { initialTabState, type TabDeps, type TabState } from './state';
import { Trust } from './trust';

function setup(trusted = false) {
  const tab = new Store<TabState>(initialTabState({ id: 'p1', name: 'P', path: '/p', trusted }));
  const api = {
    setTrust: vi.fn((_id: string, t: boolean) => Promise.resolve({ id: 'p1', name: 'P', path: '/p', trusted: t })),
    approveMcpEntry: vi.fn(() => Promise.resolve({} as TrustReview)),
    trustReview: vi.fn(),
  };
  const toasts = new Toasts();
  const reload = vi.fn(() => Promise.resolve());
  const trust = new Trust(tab, 'p1', { api, toasts } as unknown as TabDeps, reload);
  return { tab, api, toasts, reload, trust };
}

const review = (fps: string[]): TrustReview => ({
  projectId: 'p1',
  path: '/p',
  trusted: false,
  workflows: [],
  mcpServers: fps.map((f, i) => ({ server: `s${i}`, file: '.mcp.json', fingerprint: f, approval: 'new' })),
});

describe('Trust slice', () => {
  it('trusts with exactly the fingerprints that were shown and revokes', async () => {
    const { tab, api, trust } = setup();
    await trust.trust(review(['sha256:a', 'sha256:b']));
    expect(api.setTrust).toHaveBeenCalledWith('p1', true, ['sha256:a', 'sha256:b']);
    expect(tab.get().project.trusted).toBe(true);
    await trust.revoke();
    expect(api.setTrust).toHaveBeenLastCalledWith('p1', false);
    expect(tab.get().project.trusted).toBe(false);
  });

  it('follows project.trust events and tools.status of known and unknown servers', () => {
    const { tab, reload, trust } = setup();
    trust.setServers([{ server: 'a', file: '.mcp.json', status: 'untrusted' }]);
    trust.onTrustEvent({ event: 'project.trust', payload: { trusted: true } });
    expect(tab.get().project.trusted).toBe(true);
    expect(reload).toHaveBeenCalledTimes(1);
    trust.onStatus({ event: 'tools.status', payload: { server: 'a', file: '.mcp.json', status: 'starting' } });
    expect(tab.get().servers[0].status).toBe('starting');
    expect(reload).toHaveBeenCalledTimes(1);
    trust.onStatus({ event: 'tools.status', payload: { server: 'b', file: '.mcp.json', status: 'pending_approval', fingerprint: 'x' } });
    expect(reload).toHaveBeenCalledTimes(2);
    trust.onStatus({ event: 'tools.status', payload: { file: '.mcp.json', status: 'failed' } });
    expect(reload).toHaveBeenCalledTimes(2);
  });

  it('an approval of an entry that changed again answers false with a warning, and reloads', async () => {
    const { api, toasts, reload, trust } = setup(true);
    api.approveMcpEntry.mockRejectedValueOnce(new ApiError(409, 'conflict', 'changed'));
    expect(await trust.approve('sha256:old')).toBe(false);
    expect(toasts.get().items.at(-1)?.title).toBe('The entry changed again');
    expect(reload).toHaveBeenCalledTimes(1);
    expect(await trust.approve('sha256:new')).toBe(true);
    expect(reload).toHaveBeenCalledTimes(2);
  });
});
