/**
 * A client-side token bucket per service and region, so a fleet stays under AWS quotas.
 * Defaults follow AWS's default quotas: SSM Get* 40 TPS, Secrets Manager 100 TPS
 * (BatchGetSecretValue), KMS 5,500 TPS (cryptographic operations, shared per region).
 */
import { type Runtime, systemRuntime } from './runtime.js';

export const DEFAULT_RATE_LIMITS: Record<string, number> = { ssm: 40, secretsmanager: 100, kms: 5500 };

export class RateLimiter {
  private tokens: number;
  private last: number;
  private queue: Array<() => void> = [];
  private timer: Promise<void> | undefined;

  constructor(
    readonly rps: number,
    private readonly runtime: Runtime = systemRuntime,
    readonly burst: number = Math.max(1, rps),
  ) {
    this.tokens = this.burst;
    this.last = runtime.now();
  }

  private refill(): void {
    const now = this.runtime.now();
    this.tokens = Math.min(this.burst, this.tokens + ((now - this.last) / 1000) * this.rps);
    this.last = now;
  }

  /** Resolves when a request may be sent. FIFO. */
  acquire(): Promise<void> {
    if (!Number.isFinite(this.rps) || this.rps <= 0) return Promise.resolve();
    this.refill();
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      return Promise.resolve();
    }
    return new Promise((resolve) => {
      this.queue.push(resolve);
      this.drain();
    });
  }

  private drain(): void {
    if (this.timer) return;
    this.timer = (async () => {
      while (this.queue.length > 0) {
        this.refill();
        if (this.tokens >= 1) {
          this.tokens -= 1;
          this.queue.shift()!();
          continue;
        }
        await this.runtime.sleep(Math.ceil(((1 - this.tokens) / this.rps) * 1000));
      }
      this.timer = undefined;
    })();
  }
}
