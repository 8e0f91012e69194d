import { useRef, useSyncExternalStore } from 'react';

/**
 * A minimal external store: immutable state, shallow-merge updates, and a
 * hook with a selector. Each project tab owns its own instances, so tabs
 * never share state by accident.
 */
export class Store<S extends object> {
  private state: S;
  private listeners = new Set<() => void>();

  constructor(initial: S) {
    this.state = initial;
  }

  get(): S {
    return this.state;
  }

  set(update: Partial<S> | ((s: S) => Partial<S>)): void {
    const patch = typeof update === 'function' ? update(this.state) : update;
    this.state = { ...this.state, ...patch };
    for (const fn of [...this.listeners]) fn();
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };
}

/**
 * Reads a slice of a store; re-renders only when the selected value changes (Object.is).
 * The selected value is cached per (state, selector): useSyncExternalStore
 * needs the same value back while the state is unchanged, and selectors
 * such as `s => s.problems.filter(...)` build a new array on every call
 * (without the cache React loops: "Maximum update depth exceeded", #185).
 */
export function useStore<S extends object, T>(store: Store<S>, select: (s: S) => T): T {
  const cache = useRef<{ state: S; select: (s: S) => T; value: T } | null>(null);
  const get = () => {
    const state = store.get();
    const c = cache.current;
    if (c && c.state === state && c.select === select) return c.value;
    const value = select(state);
    cache.current = { state, select, value };
    return value;
  };
  return useSyncExternalStore(store.subscribe, get, get);
}
