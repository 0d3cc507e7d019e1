/**
 * Retries with p-retry: exponential backoff with full jitter (sleep = random(0, min(cap, base·2^n))),
 * only for retryable errors (throttling, 5xx, timeouts, resets). Not found, access denied and
 * validation errors fail at once.
 *
 * The retry budget (`retries`; a throttled attempt spends half a retry) is counted per call. Inside
 * a load (`asOneLoad`: a hierarchy, a map of references), it is counted since the load last made
 * progress: whenever any call of the load succeeds, every call of that load starts its count
 * afresh. One page throttled for long therefore cannot fail a load that is still making progress,
 * while a load that makes none gives up exactly as a lone call does. A `deadline` bounds a call
 * either way.
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
  /** The retry budget (`retries`). */
  retries: number;
  /** The backoff before the next attempt, ms. */
  delayMs: number;
}

/** The progress of one load: a counter that every successful call of the load moves on. */
class LoadProgress {
  epoch = 0;
}

let loads: AsyncLocalStorage<LoadProgress> | undefined;

/**
 * Runs `fn` as one load: the calls it makes (directly, or through batches and shared in-flight
 * reads it starts) count their retries since the load's last progress. Nested loads join the outer one.
 */
export function asOneLoad<T>(fn: () => Promise<T>): Promise<T> {
  loads ??= new AsyncLocalStorage<LoadProgress>();
  if (loads.getStore()) return fn();
  return loads.run(new LoadProgress(), fn);
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
  const load = loads?.getStore();
  let epoch = load?.epoch ?? 0;
  let spent = 0; // in half retries, since the load's last progress (a lone call: since it started)
  return pRetry(
    async (attempt) => {
      let out: T;
      try {
        out = await fn(attempt);
      } catch (err) {
        throw opts.toError(err);
      }
      if (load) load.epoch++;
      return out;
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
        if (load && load.epoch !== epoch) {
          // the load made progress since this call last failed: its count starts afresh
          epoch = load.epoch;
          spent = 0;
        }
        if (Math.floor(spent / 2) >= retry.retries) return false;
        // Throttling is the fleet's signal to slow down, not a fault: the rate limiter already backs
        // off, so a throttled attempt spends only half a retry.
        spent += error.code === 'THROTTLED' ? 1 : 2;
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
