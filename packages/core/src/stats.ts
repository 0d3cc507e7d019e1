/** Counters the CLI and the operator expose. Never holds values. */
export interface StatsSnapshot {
  /** AWS (or local) calls per `service:Operation`. */
  calls: Record<string, number>;
  cache: { hits: number; misses: number; staleServed: number; refreshFailures: number };
  retries: number;
  throttles: number;
  errors: Record<string, number>;
}

export class Stats {
  private s: StatsSnapshot = {
    calls: {},
    cache: { hits: 0, misses: 0, staleServed: 0, refreshFailures: 0 },
    retries: 0,
    throttles: 0,
    errors: {},
  };

  call(op: string): void {
    this.s.calls[op] = (this.s.calls[op] ?? 0) + 1;
  }
  hit(): void {
    this.s.cache.hits++;
  }
  miss(): void {
    this.s.cache.misses++;
  }
  stale(): void {
    this.s.cache.staleServed++;
  }
  refreshFailed(): void {
    this.s.cache.refreshFailures++;
  }
  retry(throttled: boolean): void {
    this.s.retries++;
    if (throttled) this.s.throttles++;
  }
  error(code: string): void {
    this.s.errors[code] = (this.s.errors[code] ?? 0) + 1;
  }
  totalCalls(prefix = ''): number {
    return Object.entries(this.s.calls)
      .filter(([k]) => k.startsWith(prefix))
      .reduce((n, [, v]) => n + v, 0);
  }
  snapshot(): StatsSnapshot {
    return structuredClone(this.s);
  }
}
