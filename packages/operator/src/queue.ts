/**
 * A work queue in the manner of controller-runtime: keys are `namespace/name`; a key queued
 * twice is queued once; a key is never processed twice at once (a change while it runs marks it
 * dirty and it runs again after); at most `concurrency` keys run at once.
 *
 * The reconcile contract (as controller-runtime's `Result` and `TerminalError`):
 * - return `done`: the key is up to date; it runs again only when it is added again;
 * - return `requeueAfter(ms)`: run it again after `ms` (sooner if it is added meanwhile);
 * - throw a `TerminalError`: retrying cannot help (invalid spec, access denied, a conflict);
 *   the key is not retried until it is added again (a change to it or to what it depends on);
 * - throw anything else: retried with per-key exponential backoff.
 */
import { type Clock, systemClock, type Timer } from './clock.js';

export type ReconcileResult = { readonly done: true } | { readonly requeueAfterMs: number };

/** The key is up to date. */
export const done: ReconcileResult = Object.freeze({ done: true as const });

/** Run the key again after `ms`. */
export function requeueAfter(ms: number): ReconcileResult {
  return { requeueAfterMs: Math.max(0, ms) };
}

/** A reconcile failure that retrying cannot fix: the key waits until it is added again. */
export class TerminalError extends Error {
  override name = 'TerminalError';
  constructor(
    message: string,
    /** Why, in the Ready condition's words (e.g. `AccessDenied`). */
    readonly reason: string,
  ) {
    super(message);
  }
}

export interface FailureInfo {
  /** Failures of this key in a row (1 for the first). */
  failures: number;
  /** When it runs again; undefined for a terminal failure (not retried). */
  retryInMs?: number;
  terminal: boolean;
}

export interface WorkQueueOptions {
  concurrency: number;
  handler: (key: string) => Promise<ReconcileResult>;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, err: unknown, info: FailureInfo) => void;
  clock?: Clock;
}

export class WorkQueue {
  private ready: string[] = [];
  private readySet = new Set<string>();
  private processing = new Set<string>();
  private dirty = new Set<string>();
  private timers = new Map<string, { at: number; timer: Timer }>();
  private failures = new Map<string, number>();
  private running = 0;
  private stopped = true;
  private idleWaiters: Array<() => void> = [];
  private readonly clock: Clock;

  constructor(private readonly opts: WorkQueueOptions) {
    this.clock = opts.clock ?? systemClock;
  }

  start(): void {
    this.stopped = false;
    this.pump();
  }

  /** Stop taking new work; resolves when in-flight work has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) this.clock.clearTimeout(timer);
    this.timers.clear();
    if (this.running === 0) return;
    await new Promise<void>((resolve) => this.idleWaiters.push(resolve));
  }

  get depth(): number {
    return this.ready.length + this.timers.size;
  }

  get inFlight(): number {
    return this.running;
  }

  add(key: string, delayMs = 0): void {
    if (delayMs > 0) {
      const due = this.clock.now() + delayMs;
      const t = this.timers.get(key);
      if (t && t.at <= due) return; // an earlier run is already scheduled
      if (t) this.clock.clearTimeout(t.timer);
      const timer = this.clock.setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, delayMs);
      this.timers.set(key, { at: due, timer });
      return;
    }
    if (this.processing.has(key)) {
      this.dirty.add(key);
      return;
    }
    if (this.readySet.has(key)) return;
    const t = this.timers.get(key);
    if (t) {
      this.clock.clearTimeout(t.timer);
      this.timers.delete(key);
    }
    this.readySet.add(key);
    this.ready.push(key);
    this.pump();
  }

  private backoff(key: string): number {
    const n = (this.failures.get(key) ?? 0) + 1;
    this.failures.set(key, n);
    const base = this.opts.baseBackoffMs ?? 500;
    const max = this.opts.maxBackoffMs ?? 300_000;
    return Math.min(max, base * 2 ** (n - 1));
  }

  private pump(): void {
    while (!this.stopped && this.running < this.opts.concurrency && this.ready.length > 0) {
      const key = this.ready.shift()!;
      this.readySet.delete(key);
      this.processing.add(key);
      this.running++;
      void this.run(key);
    }
  }

  private async run(key: string): Promise<void> {
    let next: number | undefined;
    try {
      const res = await this.opts.handler(key);
      this.failures.delete(key);
      next = 'requeueAfterMs' in res ? res.requeueAfterMs : undefined;
    } catch (err) {
      if (err instanceof TerminalError) {
        const failures = (this.failures.get(key) ?? 0) + 1;
        this.failures.delete(key);
        this.opts.onError?.(key, err, { failures, terminal: true });
      } else {
        next = this.backoff(key);
        this.opts.onError?.(key, err, {
          failures: this.failures.get(key) ?? 1,
          retryInMs: next,
          terminal: false,
        });
      }
    } finally {
      this.processing.delete(key);
      this.running--;
    }
    if (!this.stopped) {
      if (this.dirty.delete(key)) this.add(key);
      else if (next !== undefined) this.add(key, next);
    }
    if (this.running === 0 && this.stopped) for (const w of this.idleWaiters.splice(0)) w();
    this.pump();
  }
}
