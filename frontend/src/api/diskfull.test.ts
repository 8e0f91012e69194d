import { describe, expect, it } from 'vitest';
import { Api, ApiError } from './client';

describe('disk_full', () => {
  it('a 507 disk_full answer reaches onDiskFull with its message and still rejects the call', async () => {
    const seen: string[] = [];
    const api = new Api({
      baseUrl: '',
      auth: { token: () => Promise.resolve('t'), refresh: () => Promise.resolve('t'), expired: () => undefined },
      fetch: () =>
        Promise.resolve(
          new Response(JSON.stringify({ error: 'disk_full', message: 'the disk is full: free some disk space and try again' }), {
            status: 507,
            headers: { 'Content-Type': 'application/json' },
          }),
        ),
      onDiskFull: (m) => seen.push(m),
    });
    const err = await api.call('POST', '/api/projects/p/notifications', { level: 'info', message: 'x' }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(507);
    expect((err as ApiError).code).toBe('disk_full');
    expect(seen).toEqual(['the disk is full: free some disk space and try again']);
  });

  it('other errors do not', async () => {
    const seen: string[] = [];
    const api = new Api({
      baseUrl: '',
      auth: { token: () => Promise.resolve('t'), refresh: () => Promise.resolve('t'), expired: () => undefined },
      fetch: () => Promise.resolve(new Response(JSON.stringify({ error: 'not_found', message: 'no' }), { status: 404 })),
      onDiskFull: (m) => seen.push(m),
    });
    await api.call('GET', '/api/projects/x').catch(() => undefined);
    expect(seen).toEqual([]);
  });
});
