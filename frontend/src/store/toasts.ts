import { Store } from './store';

export interface Toast {
  id: number;
  level: 'info' | 'success' | 'warning' | 'error';
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
    const level = (['info', 'success', 'warning', 'error'] as const).includes(t.level as any) ? t.level : 'info';
    this.set((s) => ({ items: [...s.items.slice(-4), { ...t, level, id }] }));
    setTimeout(() => this.dismiss(id), t.ttlMs ?? (t.level === 'error' ? this.ttlMs * 2 : this.ttlMs));
    return id;
  }
  dismiss(id: number): void {
    this.set((s) => ({ items: s.items.filter((t) => t.id !== id) }));
  }
}
