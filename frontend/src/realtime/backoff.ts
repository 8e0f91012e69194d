// Reconnect delays with "full jitter" (AWS architecture blog): the delay is
// drawn uniformly from [min, cap] where cap doubles per attempt up to max.
// Randomising the whole interval keeps a fleet of tabs that lost the same
// server from reconnecting in lock-step when it comes back.

export interface BackoffOptions {
  /** Smallest delay and the first cap, in ms. Default 500. */
  minMs?: number;
  /** Largest cap, in ms. Default 20000. */
  maxMs?: number;
  /** Source of randomness in [0, 1); injected by tests. */
  random?: () => number;
}

export class Backoff {
  private attempt = 0;
  private readonly minMs: number;
  private readonly maxMs: number;
  private readonly random: () => number;

  constructor(opts: BackoffOptions = {}) {
    this.minMs = opts.minMs ?? 500;
    this.maxMs = opts.maxMs ?? 20000;
    this.random = opts.random ?? Math.random;
  }

  /** The cap for the current attempt (exposed for tests and the UI). */
  cap(): number {
    return Math.min(this.maxMs, this.minMs * 2 ** this.attempt);
  }

  /** Returns the next delay and advances the attempt counter. */
  next(): number {
    const cap = this.cap();
    this.attempt = Math.min(this.attempt + 1, 30);
    return Math.round(this.minMs + this.random() * (cap - this.minMs));
  }

  /** Called once a connection is healthy again. */
  reset(): void {
    this.attempt = 0;
  }

  get attempts(): number {
    return this.attempt;
  }
}
