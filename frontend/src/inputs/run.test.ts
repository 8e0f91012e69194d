// @vitest-environment jsdom
import { beforeEach, describe, expect, it } from 'vitest';
import type { JSONSchema } from '../api/types';
import { lastInputs, rememberInputs, requestRun, submitRun, type RunForm, type RunTarget } from './run';

const schema: JSONSchema = { type: 'object', properties: { who: { type: 'string' }, n: { type: 'integer', default: 2 } }, required: ['who'] };

function target(inputs?: JSONSchema, ok = true) {
  const state = { workflowId: 'greet', inputs, runForm: null as RunForm | null };
  const started: (Record<string, unknown> | undefined)[] = [];
  const t: RunTarget = {
    id: 'p1',
    get: () => state,
    set: (p) => Object.assign(state, p),
    startRun: (v) => {
      started.push(v);
      return Promise.resolve(ok);
    },
  };
  return { t, state, started };
}

describe('Run with declared inputs', () => {
  beforeEach(() => localStorage.clear());

  it('runs at once when the workflow declares nothing, on Run and on Ctrl+Enter', async () => {
    const { t, state, started } = target(undefined);
    await requestRun(t, 'button');
    await requestRun(t, 'shortcut');
    expect(started).toEqual([undefined, undefined]);
    expect(state.runForm).toBeNull();
  });

  it('opens the form on Run, and on Ctrl+Enter while nothing was used before', async () => {
    const { t, state, started } = target(schema);
    await requestRun(t, 'button');
    expect(state.runForm).toEqual({});
    state.runForm = null;
    await requestRun(t, 'shortcut');
    expect(state.runForm).toEqual({});
    expect(started).toEqual([]);
  });

  it('remembers what a started run used, per project and workflow; Ctrl+Enter reuses it', async () => {
    const { t, state, started } = target(schema);
    expect(await submitRun(t, { who: 'Ada', n: 3 })).toBe(true);
    expect(lastInputs('p1', 'greet')).toEqual({ who: 'Ada', n: 3 });
    expect(lastInputs('p1', 'other')).toBeNull();
    expect(lastInputs('p2', 'greet')).toBeNull();
    await requestRun(t, 'shortcut');
    expect(started).toEqual([{ who: 'Ada', n: 3 }, { who: 'Ada', n: 3 }]);
    expect(state.runForm).toBeNull();
    // Run (the button) still asks, pre-filled from the last values.
    await requestRun(t, 'button');
    expect(state.runForm).toEqual({});
  });

  it('does not remember a start that failed, and asks when the last values no longer fit', async () => {
    const failing = target(schema, false);
    failing.t.startRun = () => {
      failing.state.runForm = { errors: { who: 'does not match pattern ^[A-Z]' } }; // what the runs slice does on a refusal
      return Promise.resolve(false);
    };
    expect(await submitRun(failing.t, { who: 'bo' })).toBe(false);
    expect(failing.state.runForm).toEqual({ errors: { who: 'does not match pattern ^[A-Z]' }, values: { who: 'bo' } });
    expect(lastInputs('p1', 'greet')).toBeNull();
    rememberInputs('p1', 'greet', { who: 'Ada', n: 'many' });
    const { t, state, started } = target(schema);
    await requestRun(t, 'shortcut');
    expect(started).toEqual([]);
    expect(state.runForm).toEqual({});
  });

  it('survives garbage in storage', () => {
    localStorage.setItem('flowweaver.runInputs.p1.greet', '{not json');
    expect(lastInputs('p1', 'greet')).toBeNull();
    localStorage.setItem('flowweaver.runInputs.p1.greet', '[1,2]');
    expect(lastInputs('p1', 'greet')).toBeNull();
  });

  it('ignores Run and Ctrl+Enter while the form is open', async () => {
    const { t, state, started } = target(schema);
    rememberInputs('p1', 'greet', { who: 'Ada' });
    state.runForm = {};
    await requestRun(t, 'shortcut');
    expect(started).toEqual([]);
  });
});
