/**
 * The retry budget inside a load: one pool that every call of the load adds its budget to, so a
 * call throttled for long can spend what the load's other calls did not need and does not fail a
 * load that is making progress; a lone call, or a load of one call, keeps the per-call budget. Over `withRetry` and the AWS `Caller` with a fake `send`; sleeps
 * are a turn of the event loop, never real time.
 */
import { describe, expect, it } from 'vitest';
import { Caller } from '../src/aws/caller.js';
import { type Backend, LocalBackend, parseLocalTree, Resolver, StrataError } from '../src/index.js';
import { asOneLoad, withRetry } from '../src/retry.js';
import type { Runtime } from '../src/runtime.js';
import { Stats } from '../src/stats.js';

const turn = () => new Promise<void>((r) => setImmediate(r));
const rt: Runtime = { now: () => 0, sleep: () => turn(), random: () => 0.5 };
const retry = { retries: 8, baseMs: 1, capMs: 1 };
const toError = (e: unknown) =>
  e instanceof StrataError ? e : new StrataError('AWS_ERROR', String(e), { source: 'test' });
const throttled = () =>
  new StrataError('THROTTLED', 'ssm:GetParametersByPath /a: Rate exceeded', { source: '/a' });
const unavailable = () => new StrataError('UNAVAILABLE', 'ssm:GetParameters /a: 503', { source: '/a' });

/** A call that fails with `error()` until attempt `okAt`; records its attempts. */
function flaky(okAt: number, error: () => StrataError) {
  const c = {
    attempts: 0,
    run: () =>
      withRetry(
        async (attempt) => {
          c.attempts = attempt;
          if (attempt < okAt) throw error();
          return 'ok';
        },
        { retry, runtime: rt, toError },
      ),
  };
  return c;
}

/** `n` calls that succeed at once, one per turn of the event loop: a load making progress. */
async function progress(n: number): Promise<void> {
  for (let i = 0; i < n; i++) {
    await withRetry(async () => 'page', { retry, runtime: rt, toError });
    await turn();
  }
}

describe('retry budget', () => {
  it('a lone call gives up after its budget: 16 throttled retries (a throttle spends half a retry)', async () => {
    const c = flaky(1000, throttled);
    await expect(c.run()).rejects.toMatchObject({ code: 'THROTTLED' });
    expect(c.attempts).toBe(17);
  });

  it('a lone call gives up after 8 retries of other retryable errors', async () => {
    const c = flaky(1000, unavailable);
    await expect(c.run()).rejects.toMatchObject({ code: 'UNAVAILABLE' });
    expect(c.attempts).toBe(9);
  });

  it('in a load that keeps making progress, a call throttled 40 times still succeeds', async () => {
    const c = flaky(41, throttled);
    const [out] = await asOneLoad(() => Promise.all([c.run(), progress(80)]));
    expect(out).toBe('ok');
    expect(c.attempts).toBe(41);
  });

  it("a load's calls that all fail share their budgets: together they spend both, then give up", async () => {
    const a = flaky(1000, unavailable);
    const b = flaky(1000, throttled);
    const results = await asOneLoad(() => Promise.allSettled([a.run(), b.run()]));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    // 2 × 8 retries = 32 halves; an UNAVAILABLE retry spends two, a throttled one one; the last
    // retry may be paid for by the last half
    expect([32, 33]).toContain(2 * (a.attempts - 1) + (b.attempts - 1));
  });

  it('a sequential chain: a late page throttled 20 times spends what the earlier pages did not need', async () => {
    const chain = async (throttledPage: number) => {
      const pages = Array.from({ length: 10 }, (_, i) => flaky(i === throttledPage ? 21 : 1, throttled));
      for (const p of pages) await p.run();
      return pages[throttledPage]!.attempts;
    };
    expect(await asOneLoad(() => chain(9))).toBe(21);
    // the same page first: nothing spared yet, its own budget (16 throttled retries) runs out
    await expect(asOneLoad(() => chain(0))).rejects.toMatchObject({ code: 'THROTTLED' });
  });

  it("another load's progress does not count", async () => {
    const c = flaky(41, throttled);
    const [mine] = await Promise.allSettled([asOneLoad(() => c.run()), asOneLoad(() => progress(80))]);
    expect(mine.status).toBe('rejected');
    expect(c.attempts).toBe(17);
  });

  it('through the AWS caller: a page throttled 30 times in a progressing load succeeds', async () => {
    const caller = new Caller({ runtime: rt, stats: new Stats(), rateLimits: {}, retry });
    let attempts = 0;
    const page = () =>
      caller.call('ssm', 'us-east-1', 'GetParametersByPath', '/a', async () => {
        attempts++;
        if (attempts <= 30) throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
        return 'page';
      });
    const others = async () => {
      for (let i = 0; i < 60; i++) {
        await caller.call('ssm', 'us-east-1', 'GetParameters', '/b', async () => 'ok');
        await turn();
      }
    };
    const [out] = await asOneLoad(() => Promise.all([page(), others()]));
    expect(out).toBe('page');
    expect(attempts).toBe(31);
    // the same page alone fails after its budget
    attempts = 0;
    await expect(page()).rejects.toMatchObject({ code: 'THROTTLED' });
    expect(attempts).toBe(17);
  });

  it('through the resolver: a hierarchy level throttled 30 times loads while another level pages on', async () => {
    const local = new LocalBackend(
      parseLocalTree({
        parameters: { '/h/region': 'eu', '/h/app/dev/url': 'u', '/h/app/dev/db/host': 'db' },
      }),
    );
    /** The local backend, each listing sent through the AWS caller as `pages` calls; `/h` is throttled 30 times first. */
    function backend(pages: number): { backend: Backend; throttles: () => number } {
      const caller = new Caller({ runtime: rt, stats: new Stats(), rateLimits: {}, retry });
      let throttles = 0;
      return {
        throttles: () => throttles,
        backend: {
          kind: 'local',
          stats: local.stats,
          close: () => local.close(),
          secrets: local.secrets,
          kms: local.kms,
          ssm: {
            region: local.ssm.region,
            getParameters: (qs) => local.ssm.getParameters(qs),
            async getParametersByPath(path, o) {
              if (path === '/h')
                return caller.call('ssm', 'local', 'GetParametersByPath', path, async () => {
                  if (throttles < 30) {
                    throttles++;
                    throw Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException' });
                  }
                  return local.ssm.getParametersByPath(path, o);
                });
              for (let p = 1; p < pages; p++) {
                await caller.call('ssm', 'local', 'GetParametersByPath', path, async () => []);
                await turn();
              }
              return local.ssm.getParametersByPath(path, o);
            },
          },
        },
      };
    }
    const paging = backend(60);
    const h = await new Resolver({ backend: paging.backend }).loadHierarchy({ levels: ['/h', '/h/app/dev'] });
    expect(h.tree()).toEqual({ region: 'eu', url: 'u', db: { host: 'db' } });
    expect(paging.throttles()).toBe(30);
    // the leaf answers at once: no progress while /h is throttled, which then fails the load
    const still = backend(1);
    const err = await new Resolver({ backend: still.backend })
      .loadHierarchy({ levels: ['/h', '/h/app/dev'] })
      .catch((e: unknown) => e);
    expect((err as StrataError).code).toBe('LOAD_FAILED');
    expect((err as StrataError).issues.map((i) => [i.source, i.code])).toEqual([['/h', 'THROTTLED']]);
    expect(still.throttles()).toBe(17);
  });
});
