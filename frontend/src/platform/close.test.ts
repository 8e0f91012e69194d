// @vitest-environment jsdom
import { afterEach, describe, expect, it } from 'vitest';
import { DesktopPlatform, type CloseQuestion } from './platform';

type Handler = (...data: unknown[]) => void;

describe('DesktopPlatform close question', () => {
  afterEach(() => {
    delete (window as { runtime?: unknown }).runtime;
  });

  it('registers the page, acknowledges each question, and passes the answer on', async () => {
    const handlers = new Map<string, Handler>();
    (window as { runtime?: unknown }).runtime = {
      EventsOn: (ev: string, fn: Handler) => {
        handlers.set(ev, fn);
        return () => handlers.delete(ev);
      },
    };
    const calls: string[] = [];
    const p = new DesktopPlatform({
      Session: () => Promise.resolve({ url: 'http://127.0.0.1:1', token: 't', expiresAt: 0 }),
      WatchClose: () => {
        calls.push('watch');
        return Promise.resolve();
      },
      AnswerClose: (c: string, r: boolean) => {
        calls.push(`answer:${c}:${r}`);
        return Promise.resolve();
      },
    });
    const got: CloseQuestion[] = [];
    const off = p.onCloseRequest!((q) => got.push(q));
    expect(calls).toEqual(['watch']); // the shell now asks through the page
    handlers.get('app:close-requested')!({ triggers: 2, runs: 0, message: '2 active triggers…' });
    expect(got).toEqual([{ triggers: 2, runs: 0, message: '2 active triggers…' }]);
    expect(calls).toEqual(['watch', 'watch']); // acknowledged
    await p.answerClose!('background', true);
    expect(calls[2]).toBe('answer:background:true');
    off();
    expect(handlers.has('app:close-requested')).toBe(false);
  });

  it('has no close question without the bindings (an older shell)', () => {
    const p = new DesktopPlatform({ Session: () => Promise.resolve({ url: 'http://x', token: 't', expiresAt: 0 }) });
    expect(p.onCloseRequest).toBeUndefined();
    expect(p.answerClose).toBeUndefined();
  });
});
