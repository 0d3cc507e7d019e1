/**
 * Every AWS call goes through here: client-side rate limit (per service and region), a
 * per-attempt timeout, p-retry with full-jitter backoff for retryable errors, an optional
 * deadline for the whole call (retries and rate-limit waits included), an optional outer abort
 * signal, progress events, and stats.
 *
 * No call waits without a bound: an attempt is given up after its timeout even when the SDK does
 * not honour its abort signal (e.g. while it resolves credentials), and the retry budget (or the
 * deadline) bounds the attempts.
 */
import type { ErrorCode } from '../errors.js';
import { StrataError } from '../errors.js';
import { RateLimiter } from '../rate-limit.js';
import { DEFAULT_RETRY, type RetryOptions, withRetry } from '../retry.js';
import type { Runtime } from '../runtime.js';
import type { Stats } from '../stats.js';
import { toStrataError } from './errors.js';

/** What a call is waiting for, for a progress line ("SSM throttled, retry 3 of 8"). Never a value. */
export interface CallProgress {
  /** `retry`: an attempt failed and will be retried after `delayMs`. `slow`: an attempt has been running for `slowCallMs`. */
  kind: 'retry' | 'slow';
  /** `ssm`, `secretsmanager`, `kms`. */
  service: string;
  /** The API operation, e.g. `GetParametersByPath`. */
  operation: string;
  /** Parameter name, path, secret id or key: what the call is about. */
  source: string;
  /** The attempt that failed (`retry`) or is running (`slow`), 1-based. */
  attempt: number;
  /** Retries spent so far, this one included; a throttled attempt counts half (rounded up). */
  retry: number;
  /** The retry budget. */
  retries: number;
  /** `retry`: why the attempt failed. */
  code?: ErrorCode;
  /** `retry`: the backoff before the next attempt, ms. */
  delayMs?: number;
  /** Time since the call started (rate-limit waits included), ms. */
  elapsedMs: number;
}

export interface CallerOptions {
  runtime: Runtime;
  stats: Stats;
  retry?: RetryOptions;
  /** Requests per second per bucket and region: `{ ssm: 40, secretsmanager: 100, kms: 5500 }`. */
  rateLimits: Record<string, number>;
  /** Per-attempt timeout in ms. Default 5,000. */
  timeoutMs?: number;
  /** Most time one call may take, retries, backoff and rate-limit waits included, ms. Default: none (the retry budget bounds it). */
  deadlineMs?: number;
  /** Aborts every call in flight and refuses new ones; the reason (a StrataError) is what they fail with. */
  signal?: AbortSignal;
  /** Told about retries and slow attempts. */
  onProgress?: (p: CallProgress) => void;
  /** An attempt running this long is reported as `slow`. Default 2,000 ms. */
  slowCallMs?: number;
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** Settles like `p`, or rejects with the signal's reason as soon as it aborts. */
function untilAborted<T>(p: Promise<T>, signal: AbortSignal): Promise<T> {
  if (signal.aborted) {
    p.catch(() => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => {
      p.catch(() => {}); // the abandoned call may still settle; nobody listens
      reject(signal.reason);
    };
    signal.addEventListener('abort', onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener('abort', onAbort);
        resolve(v);
      },
      (e: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(e);
      },
    );
  });
}

export class Caller {
  private limiters = new Map<string, RateLimiter>();
  constructor(private readonly opts: CallerOptions) {}

  private limiter(bucket: string, region: string): RateLimiter {
    const key = `${bucket}/${region}`;
    let l = this.limiters.get(key);
    if (!l) {
      l = new RateLimiter(this.opts.rateLimits[bucket] ?? Number.POSITIVE_INFINITY, this.opts.runtime);
      this.limiters.set(key, l);
    }
    return l;
  }

  /**
   * Runs `send` (one SDK call) with rate limiting, timeouts, retries and stats. `bucket` names the
   * rate-limit bucket when it is not the service's own (writes have their own quota).
   */
  async call<T>(
    service: string,
    region: string,
    operation: string,
    source: string,
    send: (signal: AbortSignal) => Promise<T>,
    opts: { bucket?: string } = {},
  ): Promise<T> {
    const op = `${service}:${operation}`;
    const rt = this.opts.runtime;
    const timeoutMs = this.opts.timeoutMs ?? 5000;
    // setTimeout takes at most 2^31-1 ms; a longer deadline is no deadline in practice
    const deadlineMs =
      this.opts.deadlineMs !== undefined && this.opts.deadlineMs < 2 ** 31 - 1
        ? this.opts.deadlineMs
        : undefined;
    const started = rt.now();
    const deadline = deadlineMs === undefined ? undefined : started + deadlineMs;
    const retries = this.opts.retry?.retries ?? DEFAULT_RETRY.retries;

    // One controller for the whole call: the outer signal or the deadline aborts it.
    const callCtl = new AbortController();
    const outer = this.opts.signal;
    const onOuter = () =>
      callCtl.abort(
        outer?.reason instanceof StrataError
          ? outer.reason
          : new StrataError('UNAVAILABLE', `${op} ${source}: aborted`, { source }),
      );
    if (outer?.aborted) onOuter();
    else outer?.addEventListener('abort', onOuter, { once: true });
    const deadlineTimer =
      deadlineMs === undefined
        ? undefined
        : setTimeout(
            () =>
              callCtl.abort(
                new StrataError('UNAVAILABLE', `${op} ${source}: no answer within ${seconds(deadlineMs)}`, {
                  source,
                }),
              ),
            deadlineMs,
          );

    let attempts = 0;
    let last: StrataError | undefined;
    try {
      return await withRetry(
        async (attempt) => {
          attempts = attempt;
          const limiter = this.limiter(opts.bucket ?? service, region);
          await limiter.acquire(callCtl.signal);
          callCtl.signal.throwIfAborted();
          this.opts.stats.call(op);
          const left = deadline === undefined ? timeoutMs : deadline - rt.now();
          const attemptMs = Math.max(1, Math.min(timeoutMs, left));
          const ctl = new AbortController();
          const timer = setTimeout(
            () =>
              ctl.abort(
                new StrataError('UNAVAILABLE', `${op} ${source}: no answer within ${attemptMs} ms`, {
                  source,
                }),
              ),
            attemptMs,
          );
          const onCall = () => ctl.abort(callCtl.signal.reason);
          callCtl.signal.addEventListener('abort', onCall, { once: true });
          const onProgress = this.opts.onProgress;
          const slowMs = this.opts.slowCallMs ?? 2000;
          const slow =
            onProgress && slowMs < attemptMs
              ? setTimeout(
                  () =>
                    onProgress({
                      kind: 'slow',
                      service,
                      operation,
                      source,
                      attempt,
                      retry: attempt - 1,
                      retries,
                      elapsedMs: rt.now() - started,
                    }),
                  slowMs,
                )
              : undefined;
          slow?.unref?.();
          try {
            const out = await untilAborted(send(ctl.signal), ctl.signal);
            limiter.onSuccess();
            return out;
          } catch (err) {
            if (ctl.signal.aborted && ctl.signal.reason instanceof StrataError) {
              last = ctl.signal.reason;
              throw ctl.signal.reason;
            }
            const e = toStrataError(err, op, source);
            if (e.code === 'THROTTLED') limiter.onThrottle();
            last = e;
            throw err;
          } finally {
            clearTimeout(timer);
            if (slow) clearTimeout(slow);
            callCtl.signal.removeEventListener('abort', onCall);
          }
        },
        {
          ...(this.opts.retry ? { retry: this.opts.retry } : {}),
          runtime: rt,
          toError: (err) => toStrataError(err, op, source),
          ...(deadline === undefined ? {} : { deadline }),
          signal: callCtl.signal,
          onRetry: (err, attempt, info) => {
            this.opts.stats.retry(err.code === 'THROTTLED');
            this.opts.onProgress?.({
              kind: 'retry',
              service,
              operation,
              source,
              attempt,
              retry: info.retry,
              retries: info.retries,
              code: err.code,
              delayMs: info.delayMs,
              elapsedMs: rt.now() - started,
            });
          },
        },
      );
    } catch (err) {
      let e = toStrataError(err, op, source);
      const aborted = callCtl.signal.aborted && e === callCtl.signal.reason;
      if (aborted && last && last !== e && last.retryable) {
        // the deadline or the outer signal ended a call that had been failing: say what failed
        e = new StrataError(last.code, `${last.message}; ${e.message.replace(`${op} ${source}: `, '')}`, {
          source,
          cause: last,
        });
      }
      if (e.retryable && attempts > 1) {
        const budget = deadlineMs === undefined ? '' : ` (deadline ${seconds(deadlineMs)})`;
        e = new StrataError(
          e.code,
          `${e.message} (gave up after ${attempts} attempts in ${seconds(rt.now() - started)}${budget})`,
          { source, cause: e.cause ?? e },
        );
      }
      this.opts.stats.error(e.code);
      throw e;
    } finally {
      if (deadlineTimer) clearTimeout(deadlineTimer);
      outer?.removeEventListener('abort', onOuter);
    }
  }
}
