/**
 * A client-side token bucket per service and region, so a fleet stays under AWS quotas.
 * Defaults follow AWS's default quotas: SSM Get* 40 TPS, Secrets Manager 100 TPS
 * (BatchGetSecretValue), KMS 5,500 TPS (cryptographic operations, shared per region); SSM writes
 * (PutParameter) get their own, low bucket (`ssm-write`, 5 TPS).
 *
 * Adaptive: one client cannot see the others of a fleet, so the bucket also listens to AWS.
 * A throttled call halves the rate (at most once per half second, so one throttled burst counts
 * once; never below 1 % of the configured rate) and drops the burst; each successful call raises it again by 5 % up to the configured
 * rate (additive-increase/multiplicative-decrease, as the SDK's adaptive retry mode does).
 * After a decrease the next token comes after a random part of a period, so clients throttled
 * together do not come back in lock-step.
 */
import { type Runtime, systemRuntime } from './runtime.js';

export const DEFAULT_RATE_LIMITS: Record<string, number> = {
  ssm: 40,
  // PutParameter: its own bucket, so a `strata put` never takes the readers' share of the Get* quota
  'ssm-write': 5,
  // DescribeParameters (sharded discovery): outside the 40/s Get* quota, its own limit unpublished; 40 assumed, lowered when AWS throttles
  'ssm-describe': 40,
  secretsmanager: 100,
  kms: 5500,
};

export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Array<() => void> = [];
  private draining = false;
  private current: number;
  private lastDecrease = Number.NEGATIVE_INFINITY;
  readonly minRps: number;

  constructor(
    readonly rps: number,
    private readonly runtime: Runtime = systemRuntime,
    readonly burst: number = Math.max(1, rps),
  ) {
    this.current = rps;
    this.tokens = this.burst;
    this.last = runtime.now();
    // never below 1 % of the configured rate, so a burst of throttling cannot starve a client
    this.minRps = rps / 100;
  }

  /** The rate in force now (requests per second). */
  get rate(): number {
    return this.current;
  }

  private refill(): void {
    const now = this.runtime.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.current);
    this.last = now;
  }

  /** AWS throttled a call: halve the rate and drop the burst. */
  onThrottle(): void {
    if (!Number.isFinite(this.rps)) return;
    const now = this.runtime.now();
    if (now - this.lastDecrease < 500) return;
    this.lastDecrease = now;
    this.refill();
    this.current = Math.max(this.minRps, this.current / 2);
    // jitter the next token so a fleet that was throttled together does not retry together
    this.tokens = Math.min(this.tokens, -this.runtime.random());
  }

  /** A call succeeded: creep back towards the configured rate. */
  onSuccess(): void {
    if (this.current < this.rps) this.current = Math.min(this.rps, this.current * 1.05 + 0.01);
  }

  /**
   * Resolves when a request may be sent. FIFO. With `signal`, an abort takes the waiter out of the
   * queue (it gets no token) and rejects with the signal's reason.
   */
  acquire(signal?: AbortSignal): Promise<void> {
    if (signal?.aborted) return Promise.reject(signal.reason);
    if (!Number.isFinite(this.rps) || this.rps <= 0) return Promise.resolve();
    this.refill();
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => {
      const waiter = () => {
        signal?.removeEventListener('abort', onAbort);
        resolve();
      };
      const onAbort = () => {
        const i = this.queue.indexOf(waiter);
        if (i >= 0) this.queue.splice(i, 1);
        reject(signal?.reason);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.queue.push(waiter);
      this.drain();
    });
  }

  private drain(): void {
    // The flag is set before the loop starts: the loop may finish without awaiting, and must not
    // leave a stale "draining" marker behind (that would strand every later waiter).
    if (this.draining) return;
    this.draining = true;
    void (async () => {
      try {
        while (this.queue.length > 0) {
          this.refill();
          if (this.tokens >= 1) {
            this.tokens -= 1;
            this.queue.shift()!();
            continue;
          }
          await this.runtime.sleep(Math.max(1, Math.ceil(((1 - this.tokens) / this.current) * 1000)));
        }
      } finally {
        this.draining = false;
      }
    })();
  }
}
