/**
 * Every AWS call ends: a per-attempt timeout even when the SDK ignores its abort signal, an
 * overall deadline per call (retries and rate-limit waits included), an outer abort signal, and
 * progress events a CLI can print ("SSM throttled, retry 3 of 8"). Pure logic over a fake `send`:
 * the real SDK behind the fault proxy is in faults.int.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { Caller, type CallProgress } from '../src/aws/caller.js';
import { StrataError } from '../src/index.js';
import { RateLimiter } from '../src/rate-limit.js';
import { systemRuntime } from '../src/runtime.js';
import { Stats } from '../src/stats.js';

const never = () => new Promise<never>(() => {});
const throttled = () =>
  Promise.reject(Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' }));

function caller(opts: Partial<ConstructorParameters<typeof Caller>[0]> = {}): Caller {
  return new Caller({
    runtime: systemRuntime,
    stats: new Stats(),
    rateLimits: {},
    retry: { retries: 8, baseMs: 5, capMs: 20 },
    ...opts,
  });
}

async function timed<T>(p: Promise<T>): Promise<{ ms: number; error: unknown }> {
  const t0 = Date.now();
  const error = await p.then(
    () => undefined,
    (e: unknown) => e,
  );
  return { ms: Date.now() - t0, error };
}

describe('deadlines', () => {
  it('an attempt that never answers (and ignores its abort signal) is given up after timeoutMs', async () => {
    const c = caller({ timeoutMs: 50, retry: { retries: 2, baseMs: 1, capMs: 2 } });
    const { ms, error } = await timed(c.call('ssm', 'us-east-1', 'PutParameter', '/a', never));
    expect(error).toBeInstanceOf(StrataError);
    expect((error as StrataError).code).toBe('UNAVAILABLE');
    expect((error as StrataError).message).toMatch(/ssm:PutParameter \/a: .*50 ms/);
    expect(ms).toBeLessThan(3 * 50 + 2_000); // 3 attempts of 50 ms; generous
  });

  it('deadlineMs bounds the whole call, retries included, and names the last error', async () => {
    const c = caller({ timeoutMs: 10_000, deadlineMs: 300, retry: { retries: 100, baseMs: 20, capMs: 50 } });
    const { ms, error } = await timed(c.call('ssm', 'us-east-1', 'GetParameters', '/a', throttled));
    expect((error as StrataError).code).toBe('THROTTLED');
    expect((error as StrataError).message).toMatch(/ThrottlingException/);
    expect((error as StrataError).message).toMatch(
      /gave up after \d+ attempts in 0\.\d s \(deadline 0\.3 s\)/,
    );
    expect(ms).toBeLessThan(300 + 2_000);
  });

  it('deadlineMs cuts a hanging attempt short even when timeoutMs is longer', async () => {
    const c = caller({ timeoutMs: 60_000, deadlineMs: 200 });
    const { ms, error } = await timed(c.call('ssm', 'us-east-1', 'GetParametersByPath', '/a', never));
    expect((error as StrataError).code).toBe('UNAVAILABLE');
    expect(ms).toBeLessThan(200 + 2_000);
  });

  it('an outer abort signal ends calls in flight, in rate-limit queues and in backoff sleeps', async () => {
    const ctl = new AbortController();
    const c = caller({
      signal: ctl.signal,
      rateLimits: { ssm: 1 },
      retry: { retries: 8, baseMs: 5_000, capMs: 5_000 },
    });
    const calls = [
      c.call('ssm', 'us-east-1', 'GetParameters', '/hang', never),
      c.call('ssm', 'us-east-1', 'GetParameters', '/queued', never), // waits ~1 s for a token
      c.call('secretsmanager', 'us-east-1', 'GetSecretValue', 's', throttled), // sleeps in backoff
    ];
    setTimeout(() => ctl.abort(new StrataError('UNAVAILABLE', 'gave up: --timeout 0.1 s passed')), 100);
    const t0 = Date.now();
    const results = await Promise.allSettled(calls);
    expect(Date.now() - t0).toBeLessThan(2_000);
    for (const r of results) {
      expect(r.status).toBe('rejected');
      expect(((r as PromiseRejectedResult).reason as StrataError).code).toMatch(/UNAVAILABLE|THROTTLED/);
    }
    // once aborted, nothing new starts
    const late = await timed(c.call('ssm', 'us-east-1', 'GetParameters', '/late', () => Promise.resolve(1)));
    expect((late.error as StrataError).message).toContain('--timeout');
  });
});

describe('progress', () => {
  it('reports each retry with its number and the budget, and a slow attempt', async () => {
    const events: CallProgress[] = [];
    let n = 0;
    const c = caller({
      timeoutMs: 1_000,
      slowCallMs: 30,
      retry: { retries: 8, baseMs: 1, capMs: 2 },
      onProgress: (e) => events.push(e),
    });
    const out = await c.call('ssm', 'us-east-1', 'GetParametersByPath', '/shop/dev', async () => {
      n++;
      if (n <= 2) throw Object.assign(new Error('boom'), { name: 'InternalServerError' });
      await new Promise((r) => setTimeout(r, 80));
      return 'ok';
    });
    expect(out).toBe('ok');
    const retries = events.filter((e) => e.kind === 'retry');
    expect(retries.map((e) => [e.retry, e.retries, e.code])).toEqual([
      [1, 8, 'UNAVAILABLE'],
      [2, 8, 'UNAVAILABLE'],
    ]);
    expect(retries[0]).toMatchObject({
      service: 'ssm',
      operation: 'GetParametersByPath',
      source: '/shop/dev',
    });
    const slow = events.filter((e) => e.kind === 'slow');
    expect(slow).toHaveLength(1);
    expect(slow[0]).toMatchObject({ attempt: 3 });
    expect(slow[0]!.elapsedMs).toBeGreaterThanOrEqual(0);
  });

  it('throttled attempts spend half a retry, and the count says so', async () => {
    const events: CallProgress[] = [];
    let n = 0;
    const c = caller({ retry: { retries: 8, baseMs: 1, capMs: 2 }, onProgress: (e) => events.push(e) });
    await c.call('ssm', 'us-east-1', 'GetParameters', '/a', async () => {
      if (++n <= 4) return throttled();
      return 'ok';
    });
    expect(events.map((e) => e.retry)).toEqual([1, 1, 2, 2]);
  });
});

describe('rate limiter', () => {
  it('acquire(signal) leaves the queue when the signal aborts', async () => {
    const rl = new RateLimiter(1);
    await rl.acquire(); // the burst
    const ctl = new AbortController();
    const waiting = rl.acquire(ctl.signal);
    ctl.abort(new StrataError('UNAVAILABLE', 'stop'));
    await expect(waiting).rejects.toMatchObject({ message: 'stop' });
  });
});
