import { Store } from './store';

const levels = ['info', 'success', 'warning', 'error'] as const;
export type ToastLevel = (typeof levels)[number];

/** A level that came over the wire, where anything may arrive: unknown ones read as info. */
export function toastLevel(v: unknown): ToastLevel {
  return levels.find((l) => l === v) ?? 'info';
}

export interface Toast {
  id: number;
  level: ToastLevel;
  title: string;
  message?: string;
  /** Label of the project tab it came from, if any. */
  source?: string;
  /** A button on the toast (e.g. Undo); clicking it runs `run` and dismisses the toast. */
  action?: { label: string; run: () => void };
  /** How long it stays (ms); default 6 s, errors twice as long. */
  ttlMs?: number;
}

/** Toast queue of the whole window; each toast dismisses itself. */
export class Toasts extends Store<{ items: Toast[] }> {
  private next = 1;
  constructor(private ttlMs = 6000) {
    super({ items: [] });
  }
  push(t: Omit<Toast, 'id'>): number {
    const id = this.next++;
    const level = toastLevel(t.level);
    this.set((s) => ({ items: [...s.items.slice(-4), { ...t, level, id }] }));
    setTimeout(() => this.dismiss(id), t.ttlMs ?? (t.level === 'error' ? this.ttlMs * 2 : this.ttlMs));
    return id;
  }
  dismiss(id: number): void {
    this.set((s) => ({ items: s.items.filter((t) => t.id !== id) }));
  }
}
