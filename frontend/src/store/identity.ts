/**
 * How this window calls itself in other windows' presence chips: a name the
 * user set once (kept in localStorage for the whole browser) or the
 * browser's name, plus a window number kept per tab (sessionStorage), so
 * two windows of one browser can be told apart. Never an id.
 */

type KV = Pick<Storage, 'getItem' | 'setItem' | 'removeItem'>;

const NAME_KEY = 'flowweaver.displayName';
const SEQ_KEY = 'flowweaver.windowSeq';
const WINDOW_KEY = 'flowweaver.window';
export const MAX_NAME = 40;

/** The program this page runs in, from the user agent ("Firefox", "Chromium", "Desktop app"). */
export function clientLabel(ua: string, desktop = false): string {
  if (desktop) return 'Desktop app';
  if (/Firefox\//.test(ua)) return 'Firefox';
  if (/Edg\//.test(ua)) return 'Edge';
  if (/OPR\//.test(ua)) return 'Opera';
  if (/Chromium\/|HeadlessChrome\//.test(ua)) return 'Chromium';
  if (/Chrome\//.test(ua)) return 'Chrome';
  if (/Safari\//.test(ua)) return 'Safari';
  return 'Browser';
}

/** A name the user typed: trimmed, one line, at most MAX_NAME characters ("" clears it). */
export function cleanName(s: string): string {
  return [...s.replace(/[\p{Cc}\s]+/gu, ' ').trim()].slice(0, MAX_NAME).join('');
}

export class Identity {
  private listeners = new Set<() => void>();
  readonly client: string;
  readonly window: number;

  constructor(
    private local: KV | null = safe(() => localStorage),
    session: KV | null = safe(() => sessionStorage),
    ua = typeof navigator !== 'undefined' ? navigator.userAgent : '',
    desktop = typeof window !== 'undefined' && !!(window as unknown as { go?: unknown }).go,
  ) {
    this.client = clientLabel(ua, desktop);
    let n = Number(read(session, WINDOW_KEY));
    if (!Number.isInteger(n) || n < 1) {
      n = (Number(read(local, SEQ_KEY)) || 0) + 1;
      write(local, SEQ_KEY, String(n));
      write(session, WINDOW_KEY, String(n));
    }
    this.window = n;
    if (typeof window !== 'undefined' && typeof window.addEventListener === 'function') {
      // Another window of this browser set the name: it is ours too.
      window.addEventListener('storage', (e) => e.key === NAME_KEY && this.emit());
    }
  }

  /** The name the user set, or "". */
  get userName(): string {
    return cleanName(read(this.local, NAME_KEY) ?? '');
  }

  /** What other windows read: "Ana · window 2" or "Firefox · window 2". */
  get name(): string {
    return `${this.userName || this.client} · window ${this.window}`;
  }

  setUserName(name: string): void {
    const n = cleanName(name);
    if (n) write(this.local, NAME_KEY, n);
    else
      try {
        this.local?.removeItem(NAME_KEY);
      } catch {
        /* blocked storage */
      }
    this.emit();
  }

  onChange(f: () => void): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  private emit(): void {
    for (const f of [...this.listeners]) f();
  }
}

function safe<T>(f: () => T): T | null {
  try {
    return f();
  } catch {
    return null;
  }
}
function read(s: KV | null, k: string): string | null {
  return safe(() => s?.getItem(k) ?? null);
}
function write(s: KV | null, k: string, v: string): void {
  safe(() => s?.setItem(k, v));
}

let shared: Identity | null = null;
/** The window's one identity (all project tabs share it). */
export function windowIdentity(): Identity {
  return (shared ??= new Identity());
}
