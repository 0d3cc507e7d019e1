/**
 * A work queue in the manner of controller-runtime: keys are `namespace/name`; a key queued
 * twice is queued once; a key is never processed twice at once (a change while it runs marks it
 * dirty and it runs again after); failures back off per key exponentially; at most
 * `concurrency` keys run at once.
 */
export interface QueueResult {
  /** Run this key again after this many ms (periodic refresh). */
  requeueAfterMs?: number;
}

export interface WorkQueueOptions {
  concurrency: number;
  handler: (key: string) => Promise<QueueResult | undefined>;
  baseBackoffMs?: number;
  maxBackoffMs?: number;
  onError?: (key: string, err: unknown, failures: number) => void;
}

export class WorkQueue {
  private ready: string[] = [];
  private readySet = new Set<string>();
  private processing = new Set<string>();
  private dirty = new Set<string>();
  private timers = new Map<string, { at: number; timer: NodeJS.Timeout }>();
  private failures = new Map<string, number>();
  private running = 0;
  private stopped = true;
  private idleWaiters: Array<() => void> = [];

  constructor(private readonly opts: WorkQueueOptions) {}

  start(): void {
    this.stopped = false;
    this.pump();
  }

  /** Stop taking new work; resolves when in-flight work has finished. */
  async stop(): Promise<void> {
    this.stopped = true;
    for (const { timer } of this.timers.values()) clearTimeout(timer);
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
      const due = Date.now() + delayMs;
      const t = this.timers.get(key);
      if (t && t.at <= due) return; // an earlier run is already scheduled
      if (t) clearTimeout(t.timer);
      const timer = setTimeout(() => {
        this.timers.delete(key);
        this.add(key);
      }, delayMs);
      timer.unref();
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
      clearTimeout(t.timer);
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
      next = res?.requeueAfterMs;
    } catch (err) {
      const delay = this.backoff(key);
      this.opts.onError?.(key, err, this.failures.get(key) ?? 1);
      next = delay;
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
