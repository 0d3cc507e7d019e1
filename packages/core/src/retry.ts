/**
 * Retries with p-retry: exponential backoff with full jitter (sleep = random(0, min(cap, base·2^n))),
 * only for retryable errors (throttling, 5xx, timeouts, resets). Not found, access denied and
 * validation errors fail at once.
 */
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
  /** The retry budget (`retries`). */
  retries: number;
  /** The backoff before the next attempt, ms. */
  delayMs: number;
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
  let throttles = 0;
  let spent = 0; // in half retries
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
      // Throttling is the fleet's signal to slow down, not a fault: the rate limiter already backs
      // off, so a throttled attempt spends only half a retry (every second one counts).
      shouldConsumeRetry: ({ error }) => {
        const throttled = error instanceof StrataError && error.code === 'THROTTLED';
        spent += throttled ? 1 : 2;
        return !throttled || throttles++ % 2 === 1;
      },
      shouldRetry: async ({ error, attemptNumber }) => {
        if (!(error instanceof StrataError) || !error.retryable) return false;
        if (opts.signal?.aborted) return false;
        const delayMs = fullJitterDelay(attemptNumber, retry, rt.random);
        if (opts.deadline !== undefined && rt.now() + delayMs >= opts.deadline) return false;
        opts.onRetry?.(error, attemptNumber, {
          attempt: attemptNumber,
          retry: Math.ceil(spent / 2),
          retries: retry.retries,
          delayMs,
        });
        await rt.sleep(delayMs, opts.signal);
        return true;
      },
    },
  );
}
