/**
 * Periodic refresh, batched: SecretSyncs with the same refresh interval form one cohort, and a
 * cohort is refreshed as a whole every interval (± jitter): its sources are re-read from AWS in
 * one batch (one GetParameters per 10 names, one BatchGetSecretValue per 20 ids, one listing per
 * path), then its SecretSyncs are reconciled against the fresh values. AWS calls per interval
 * therefore follow the distinct sources, not the number of SecretSyncs. A SecretSync that joins
 * a cohort is refreshed at the cohort's next turn, at most one interval (plus jitter) away.
 *
 * Only the leader runs the timers (`start` / `stop`); membership is kept by every replica, so a
 * new leader starts with the full picture.
 */
import { jittered } from './status.js';

/** setTimeout's largest delay (about 24.8 days); longer intervals refresh this often. */
const MAX_TIMER_MS = 2_147_483_647;

export interface RefreshSchedulerOptions {
  /** Refresh these SecretSyncs now (re-read their sources from AWS, reconcile them). */
  refresh: (keys: string[], intervalMs: number) => Promise<void>;
  /** ± jitter on each interval, as a fraction (0–0.5). */
  jitter: number;
  onError?: (err: unknown, intervalMs: number) => void;
  random?: () => number;
}

interface Cohort {
  keys: Set<string>;
  timer?: NodeJS.Timeout;
  /** When the next turn is due (ms since the epoch), while scheduled. */
  dueAt?: number;
}

export class RefreshScheduler {
  private readonly cohorts = new Map<number, Cohort>();
  private readonly intervalOf = new Map<string, number>();
  private active = false;

  constructor(private readonly o: RefreshSchedulerOptions) {}

  /** Puts a SecretSync in the cohort of its interval (moving it if its interval changed). */
  set(key: string, intervalMs: number): void {
    const ms = Math.min(Math.max(1000, Math.round(intervalMs)), MAX_TIMER_MS);
    const was = this.intervalOf.get(key);
    if (was === ms) return;
    if (was !== undefined) this.leave(key, was);
    this.intervalOf.set(key, ms);
    let c = this.cohorts.get(ms);
    if (!c) {
      c = { keys: new Set() };
      this.cohorts.set(ms, c);
      if (this.active) this.schedule(ms, c);
    }
    c.keys.add(key);
  }

  delete(key: string): void {
    const was = this.intervalOf.get(key);
    if (was === undefined) return;
    this.intervalOf.delete(key);
    this.leave(key, was);
  }

  private leave(key: string, ms: number): void {
    const c = this.cohorts.get(ms);
    if (!c) return;
    c.keys.delete(key);
    if (c.keys.size === 0) {
      if (c.timer) clearTimeout(c.timer);
      this.cohorts.delete(ms);
    }
  }

  /** Starts the timers: each cohort's first turn is one interval (± jitter) from now. */
  start(): void {
    if (this.active) return;
    this.active = true;
    for (const [ms, c] of this.cohorts) this.schedule(ms, c);
  }

  stop(): void {
    this.active = false;
    for (const c of this.cohorts.values()) {
      if (c.timer) clearTimeout(c.timer);
      c.timer = undefined;
      c.dueAt = undefined;
    }
  }

  get running(): boolean {
    return this.active;
  }

  /** Cohorts by interval: how many SecretSyncs each holds and when its next turn is due. */
  snapshot(): Array<{ intervalMs: number; size: number; dueAt?: number }> {
    return [...this.cohorts].map(([intervalMs, c]) => ({
      intervalMs,
      size: c.keys.size,
      ...(c.dueAt !== undefined ? { dueAt: c.dueAt } : {}),
    }));
  }

  private schedule(ms: number, c: Cohort): void {
    if (c.timer) clearTimeout(c.timer);
    const delay = Math.min(MAX_TIMER_MS, Math.max(1000, jittered(ms, this.o.jitter, this.o.random)));
    c.dueAt = Date.now() + delay;
    c.timer = setTimeout(() => void this.turn(ms, c), delay);
    c.timer.unref();
  }

  private async turn(ms: number, c: Cohort): Promise<void> {
    c.timer = undefined;
    c.dueAt = undefined;
    try {
      await this.o.refresh([...c.keys], ms);
    } catch (err) {
      this.o.onError?.(err, ms);
    }
    // the next turn counts from the end of this one; a cohort emptied meanwhile is gone
    if (this.active && this.cohorts.get(ms) === c && !c.timer) this.schedule(ms, c);
  }
}
