import type { NodeLogPayload } from '../api/types';

export interface LogLine {
  nodeId: string;
  /** 'marker': a line of the app's own, e.g. where a re-run attempt begins. */
  stream: 'stdout' | 'stderr' | 'marker';
  text: string;
}

/**
 * The log lines of the run shown in a tab. An append-only array with a
 * version number, not immutable state: copying 100k lines per frame would
 * be the opposite of smooth. Listeners are told at most every `throttleMs`.
 */
export class LogBuffer {
  lines: LogLine[] = [];
  version = 0;
  private listeners = new Set<() => void>();
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(private throttleMs = 50) {}

  append(p: NodeLogPayload): void {
    const stream = p.stream === 'stderr' ? 'stderr' : 'stdout';
    for (const raw of p.lines ?? []) {
      // A frame may carry multi-line strings; the viewer wants one row each.
      const parts = String(raw).split('\n');
      if (parts.length > 1 && parts[parts.length - 1] === '') parts.pop();
      for (const text of parts) this.lines.push({ nodeId: p.nodeId, stream, text });
    }
    this.changed();
  }

  /** Adds a line of the app's own (not output of the node), e.g. "attempt 2 — server restarted". */
  mark(nodeId: string, text: string): void {
    this.lines.push({ nodeId, stream: 'marker', text });
    this.changed();
  }

  clear(): void {
    this.lines = [];
    this.changed(true);
  }

  subscribe = (fn: () => void): (() => void) => {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  };

  getVersion = (): number => this.version;

  private changed(now = false): void {
    if (now) {
      if (this.timer) clearTimeout(this.timer);
      this.timer = null;
      this.emit();
      return;
    }
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.emit();
    }, this.throttleMs);
  }

  private emit(): void {
    this.version++;
    for (const fn of [...this.listeners]) fn();
  }
}

/** Indices of lines containing `query` (case-insensitive), optionally of one node. */
export function searchLines(lines: LogLine[], query: string, nodeId?: string): number[] {
  const q = query.toLowerCase();
  const out: number[] = [];
  if (!q) return out;
  for (let i = 0; i < lines.length; i++) {
    const l = lines[i];
    if (nodeId && l.nodeId !== nodeId) continue;
    if (l.text.toLowerCase().includes(q)) out.push(i);
  }
  return out;
}
