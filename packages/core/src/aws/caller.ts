/**
 * Every AWS call goes through here: client-side rate limit (per service and region), a
 * per-attempt timeout, p-retry with full-jitter backoff for retryable errors, and stats.
 */
import { StrataError } from '../errors.js';
import { RateLimiter } from '../rate-limit.js';
import { type RetryOptions, withRetry } from '../retry.js';
import type { Runtime } from '../runtime.js';
import type { Stats } from '../stats.js';
import { toStrataError } from './errors.js';

export interface CallerOptions {
  runtime: Runtime;
  stats: Stats;
  retry?: RetryOptions;
  /** Requests per second per service and region: `{ ssm: 40, secretsmanager: 100, kms: 5500 }`. */
  rateLimits: Record<string, number>;
  /** Per-attempt timeout in ms. Default 5,000. */
  timeoutMs?: number;
}

export class Caller {
  private limiters = new Map<string, RateLimiter>();
  constructor(private readonly opts: CallerOptions) {}

  private limiter(service: string, region: string): RateLimiter {
    const key = `${service}/${region}`;
    let l = this.limiters.get(key);
    if (!l) {
      l = new RateLimiter(this.opts.rateLimits[service] ?? Number.POSITIVE_INFINITY, this.opts.runtime);
      this.limiters.set(key, l);
    }
    return l;
  }

  /** Runs `send` (one SDK call) with rate limiting, timeout, retries and stats. */
  async call<T>(
    service: string,
    region: string,
    operation: string,
    source: string,
    send: (signal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const op = `${service}:${operation}`;
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    try {
      return await withRetry(
        async () => {
          const limiter = this.limiter(service, region);
          await limiter.acquire();
          this.opts.stats.call(op);
          const ctl = new AbortController();
          const timer = setTimeout(
            () =>
              ctl.abort(new StrataError('UNAVAILABLE', `${op} ${source}: timed out after ${timeoutMs} ms`)),
            timeoutMs,
          );
          try {
            const out = await send(ctl.signal);
            limiter.onSuccess();
            return out;
          } catch (err) {
            if (ctl.signal.aborted && ctl.signal.reason instanceof StrataError) throw ctl.signal.reason;
            if (toStrataError(err, op, source).code === 'THROTTLED') limiter.onThrottle();
            throw err;
          } finally {
            clearTimeout(timer);
          }
        },
        {
          ...(this.opts.retry ? { retry: this.opts.retry } : {}),
          runtime: this.opts.runtime,
          toError: (err) => toStrataError(err, op, source),
          onRetry: (err) => this.opts.stats.retry(err.code === 'THROTTLED'),
        },
      );
    } catch (err) {
      const e = toStrataError(err, op, source);
      this.opts.stats.error(e.code);
      throw e;
    }
  }
}
