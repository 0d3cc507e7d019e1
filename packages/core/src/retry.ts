/**
 * Retries with p-retry: exponential backoff with full jitter (sleep = random(0, min(cap, base·2^n))),
 * only for retryable errors (throttling, 5xx, timeouts, resets). Not found, access denied and
 * validation errors fail at once.
 *
 * The retry budget: `retries` per call, a throttled attempt spending half a retry. Inside a load
 * (`asOneLoad`: a hierarchy, a map of references) the budgets of its calls form one pool: every
 * call the load starts adds its `retries` to the pool, every retry of any of its calls spends from
 * it, and a call gives up when the pool is empty. A page that is throttled for long can thus spend
 * what the load's other calls (the pages before it, the other levels) did not need, so it cannot
 * fail a load that is still making progress; a lone call, or a load of one call, has exactly the
 * per-call budget. A `deadline` bounds a call either way.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import pRetry from 'p-retry';
import { StrataError } from './errors.js';
import { type Runtime, systemRuntime } from './runtime.js';

export interface RetryOptions {
  /** Retries after the first attempt. Default 8. */
  retries?: number;
  /** Backoff base in ms. Default 50. */
  baseMs?: number;
  /** Backoff cap in ms. Default 10,000. */
  capMs?: number;
}

export const DEFAULT_RETRY: Required<RetryOptions> = { retries: 8, baseMs: 50, capMs: 10_000 };

export function fullJitterDelay(attempt: number, opts: Required<RetryOptions>, random: () => number): number {
  const ceiling = Math.min(opts.capMs, opts.baseMs * 2 ** (attempt - 1));
  return Math.floor(random() * ceiling);
}

/** What `onRetry` is told about a failed attempt that will be retried. */
export interface RetryInfo {
  /** The attempt that failed, 1-based. */
  attempt: number;
  /** Retries spent so far, this one included (a throttled attempt counts half, rounded up). */
  retry: number;
  /** The retry budget: `retries` for a lone call; inside a load, this call's retries plus what the load's pool has left. */
  retries: number;
  /** The backoff before the next attempt, ms. */
  delayMs: number;
}

/** A retry budget in half retries (a throttled attempt spends one half, another failure two). */
class RetryPool {
  private halves = 0;
  /** A call joins: its budget of `retries` is added. */
  add(retries: number): void {
    this.halves += 2 * retries;
  }
  /** Spends a retry if any budget is left (the last half may pay for a whole retry). */
  spend(throttled: boolean): boolean {
    if (this.halves <= 0) return false;
    this.halves -= throttled ? 1 : 2;
    return true;
  }
  /** Whole retries left. */
  get left(): number {
    return Math.max(0, Math.floor(this.halves / 2));
  }
}

let loads: AsyncLocalStorage<RetryPool> | undefined;

/**
 * Runs `fn` as one load: the calls it makes (directly, or through the batches and shared in-flight
 * reads it starts) share one retry pool. A nested load joins the outer one.
 */
export function asOneLoad<T>(fn: () => Promise<T>): Promise<T> {
  loads ??= new AsyncLocalStorage<RetryPool>();
  if (loads.getStore()) return fn();
  return loads.run(new RetryPool(), fn);
}

export async function withRetry<T>(
  fn: (attempt: number) => Promise<T>,
  opts: {
    retry?: RetryOptions;
    runtime?: Runtime;
    toError: (err: unknown) => StrataError;
    onRetry?: (err: StrataError, attempt: number, info: RetryInfo) => void;
    /** No retry is started whose backoff would end at or after this time (the runtime's clock). */
    deadline?: number;
    /** Aborted: no more retries, and a backoff sleep ends at once. */
    signal?: AbortSignal;
  },
): Promise<T> {
  const retry = { ...DEFAULT_RETRY, ...opts.retry };
  const rt = opts.runtime ?? systemRuntime;
  // the load's pool, or this call's own
  const pool = loads?.getStore() ?? new RetryPool();
  pool.add(retry.retries);
  let spent = 0; // this call's retries, in halves
  return pRetry(
    async (attempt) => {
      try {
        return await fn(attempt);
      } catch (err) {
        throw opts.toError(err);
      }
    },
    {
      retries: retry.retries,
      // p-retry's own delay is off; the full-jitter sleep happens in shouldRetry (injectable clock).
      minTimeout: 0,
      maxTimeout: 0,
      factor: 1,
      // The budget is counted here, not by p-retry (which only stops at `retries: 0`); anything
      // that is not a StrataError is counted by p-retry and not retried.
      shouldConsumeRetry: ({ error }) => !(error instanceof StrataError),
      shouldRetry: async ({ error, attemptNumber }) => {
        if (!(error instanceof StrataError) || !error.retryable) return false;
        if (opts.signal?.aborted) return false;
        // Throttling is the fleet's signal to slow down, not a fault: the rate limiter already backs
        // off, so a throttled attempt spends only half a retry.
        const throttled = error.code === 'THROTTLED';
        if (!pool.spend(throttled)) return false;
        spent += throttled ? 1 : 2;
        const delayMs = fullJitterDelay(attemptNumber, retry, rt.random);
        if (opts.deadline !== undefined && rt.now() + delayMs >= opts.deadline) return false;
        opts.onRetry?.(error, attemptNumber, {
          attempt: attemptNumber,
          retry: Math.ceil(spent / 2),
          // what this call may reach: its retries so far and what the pool has left
          retries: Math.ceil(spent / 2) + pool.left,
          delayMs,
        });
        await rt.sleep(delayMs, opts.signal);
        return true;
      },
    },
  );
}
