/**
 * The engine's rules at the unit tier: single-flight, TTL expiry, stale-while-revalidate, reference
 * depth and cycles, batching, invalidation of one owner's sources, change checks. Over the local
 * backend, wrapped to count (and, where a test needs it, hold or fail) the calls the engine makes;
 * time is a fake clock, so nothing sleeps.
 */
import { describe, expect, it } from 'vitest';
import {
  type Backend,
  LocalBackend,
  type ParameterQuery,
  parseLocalTree,
  Resolver,
  type ResolverOptions,
  type Runtime,
  StrataError,
} from '../src/index.js';

/** A clock that moves only when told; `sleep` resolves when the clock passes its end. */
function fakeClock(): Runtime & { advance(ms: number): Promise<void> } {
  let t = 1_700_000_000_000; // a wall-clock-like start (lru-cache treats a start time of 0 as "no TTL")
  let timers: Array<{ at: number; resolve: () => void }> = [];
  return {
    now: () => t,
    random: () => 0.5,
    sleep: (ms) => new Promise<void>((resolve) => timers.push({ at: t + ms, resolve })),
    async advance(ms) {
      t += ms;
      const due = timers.filter((x) => x.at <= t);
      timers = timers.filter((x) => x.at > t);
      for (const x of due) x.resolve();
      await ticks();
    },
  };
}

/** Lets queued callbacks (promise jobs and `setImmediate`s) run. */
async function ticks(n = 5): Promise<void> {
  for (let i = 0; i < n; i++) await new Promise((r) => setImmediate(r));
}

/** The local backend, with every call the engine makes recorded; calls can be held or failed. */
function counting(doc: unknown) {
  const inner = new LocalBackend(parseLocalTree(doc));
  const calls = {
    /** one entry per GetParameters call: the names it asked for */
    getParameters: [] as string[][],
    getParametersByPath: [] as string[],
    getSecrets: 0,
  };
  const control: { hold?: Promise<void>; fail?: StrataError } = {};
  const gate = async () => {
    if (control.hold) await control.hold;
    if (control.fail) throw control.fail;
  };
  const backend: Backend = {
    kind: 'local',
    stats: inner.stats,
    close: () => inner.close(),
    ssm: {
      region: inner.ssm.region,
      async getParameters(qs: ParameterQuery[]) {
        calls.getParameters.push(qs.map((q) => q.name));
        const out = await inner.ssm.getParameters(qs); // answered now; a hold delays the answer's arrival
        await gate();
        return out;
      },
      async getParametersByPath(path, o) {
        calls.getParametersByPath.push(path);
        const out = await inner.ssm.getParametersByPath(path, o);
        await gate();
        return out;
      },
    },
    secrets: {
      region: inner.secrets.region,
      async getSecrets(qs) {
        calls.getSecrets++;
        const out = await inner.secrets.getSecrets(qs);
        await gate();
        return out;
      },
    },
    kms: inner.kms,
  };
  const put = (name: string, value: string) =>
    inner.ssm.putParameter!({ name, value, type: 'String', overwrite: true });
  const names = () => calls.getParameters.flat();
  return { backend, calls, control, put, names };
}

function resolver(backend: Backend, opts: Omit<ResolverOptions, 'backend'> = {}) {
  return new Resolver({ backend, ...opts });
}

function held() {
  let release!: () => void;
  const hold = new Promise<void>((r) => {
    release = r;
  });
  return { hold, release };
}

describe('single-flight', () => {
  it('concurrent reads of one source make one backend call; a pinned version is its own source', async () => {
    const b = counting({
      parameters: { '/app/url': 'u1', '/app/key': { value: 'k', type: 'SecureString' } },
    });
    const r = resolver(b.backend);
    const reads = await Promise.all([
      ...Array.from({ length: 20 }, () => r.getParameter({ name: '/app/url' })),
      ...Array.from({ length: 5 }, () => r.resolveTemplate('x=<<resolve:ssm:/app/url>>')),
      r.getParameter({ name: '/app/url', version: 1 }),
    ]);
    expect(b.names().sort()).toEqual(['/app/url', '/app/url']); // latest, and version 1
    expect(reads.slice(0, 20).every((p) => (p as { value: string }).value === 'u1')).toBe(true);
    expect(reads.slice(20, 25).every((p) => (p as { value: string }).value === 'x=u1')).toBe(true);
  });

  it('concurrent loads of one hierarchy list each level once', async () => {
    const b = counting({ parameters: { '/acme/region': 'eu', '/acme/shop/dev/db/url': 'u' } });
    const r = resolver(b.backend);
    const loads = await Promise.all(
      Array.from({ length: 10 }, () => r.loadHierarchy({ levels: ['/acme', '/acme/shop/dev'] })),
    );
    expect(b.calls.getParametersByPath.sort()).toEqual(['/acme', '/acme/shop/dev']);
    for (const h of loads) expect(h.tree()).toEqual({ region: 'eu', db: { url: 'u' } });
  });
});

describe('TTL', () => {
  it('a value is served from the cache until its TTL ends, then read again', async () => {
    const clock = fakeClock();
    const b = counting({ parameters: { '/app/url': 'u1' } });
    const r = resolver(b.backend, { runtime: clock, ttlMs: { ssm: 1000 }, staleWhileRevalidate: false });
    expect((await r.getParameter({ name: '/app/url' })).value).toBe('u1');
    await b.put('/app/url', 'u2');
    await clock.advance(999);
    expect((await r.getParameter({ name: '/app/url' })).value).toBe('u1');
    expect(b.calls.getParameters).toHaveLength(1);
    await clock.advance(2);
    // without stale-while-revalidate the read after the TTL waits for the fresh value
    expect((await r.getParameter({ name: '/app/url' })).value).toBe('u2');
    expect(b.calls.getParameters).toHaveLength(2);
  });

  it('each service has its own TTL', async () => {
    const clock = fakeClock();
    const b = counting({ parameters: { '/app/url': 'u' }, secrets: { 'prod/db': 'p' } });
    const r = resolver(b.backend, {
      runtime: clock,
      ttlMs: { ssm: 1000, secretsmanager: 5000 },
      staleWhileRevalidate: false,
    });
    await r.resolveMap({ a: '<<resolve:ssm:/app/url>>', b: '<<resolve:secretsmanager:prod/db>>' });
    await clock.advance(2000);
    await r.resolveMap({ a: '<<resolve:ssm:/app/url>>', b: '<<resolve:secretsmanager:prod/db>>' });
    expect(b.calls.getParameters).toHaveLength(2);
    expect(b.calls.getSecrets).toBe(1);
  });
});

describe('stale-while-revalidate', () => {
  it('after the TTL the stale value is served at once while one refresh runs', async () => {
    const clock = fakeClock();
    const b = counting({ parameters: { '/app/url': 'u1' } });
    const r = resolver(b.backend, { runtime: clock, ttlMs: { ssm: 1000 } });
    await r.getParameter({ name: '/app/url' });
    await b.put('/app/url', 'u2');
    await clock.advance(1001);
    const gate = held();
    b.control.hold = gate.hold;
    // the refresh is held in the backend: both reads still answer, with the stale value
    expect((await r.getParameter({ name: '/app/url' })).value).toBe('u1');
    expect((await r.getParameter({ name: '/app/url' })).value).toBe('u1');
    await ticks();
    expect(b.calls.getParameters).toHaveLength(2); // one refresh for both reads
    expect(r.statsSnapshot().cache.staleServed).toBe(2);
    gate.release();
    await ticks();
    expect((await r.getParameter({ name: '/app/url' })).value).toBe('u2');
    expect(b.calls.getParameters).toHaveLength(2);
  });

  it('a failed refresh keeps the last good value and reports the source, never the value', async () => {
    const clock = fakeClock();
    const b = counting({ parameters: { '/app/url': 'secret-u1' } });
    const reported: Array<{ code: string; source: string; message: string }> = [];
    const r = resolver(b.backend, {
      runtime: clock,
      ttlMs: { ssm: 1000 },
      onRefreshError: (e, source) => reported.push({ code: e.code, source, message: e.message }),
    });
    await r.getParameter({ name: '/app/url' });
    await clock.advance(1001);
    b.control.fail = new StrataError('UNAVAILABLE', 'ssm:GetParameters /app/url: injected outage', {
      source: '/app/url',
    });
    expect((await r.getParameter({ name: '/app/url' })).value).toBe('secret-u1');
    await ticks();
    expect(reported).toEqual([
      { code: 'UNAVAILABLE', source: '/app/url', message: 'ssm:GetParameters /app/url: injected outage' },
    ]);
    // also without stale-while-revalidate: the read waits for the refresh, which fails, and gets the last good value
    const strict = resolver(b.backend, { runtime: clock, ttlMs: { ssm: 1000 }, staleWhileRevalidate: false });
    b.control.fail = undefined;
    await strict.getParameter({ name: '/app/url' });
    await clock.advance(1001);
    b.control.fail = new StrataError('UNAVAILABLE', 'injected outage', { source: '/app/url' });
    expect((await strict.getParameter({ name: '/app/url' })).value).toBe('secret-u1');
    expect(r.statsSnapshot().cache.refreshFailures).toBe(2);
  });

  it('a source that is gone is not served stale from a failed first read', async () => {
    const b = counting({ parameters: {} });
    const r = resolver(b.backend);
    await expect(r.getParameter({ name: '/app/missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    await expect(r.getParameter({ name: '/app/missing' })).rejects.toMatchObject({ code: 'NOT_FOUND' });
    expect(b.calls.getParameters).toHaveLength(2); // not found is not cached
  });
});

describe('references: depth and cycles', () => {
  const chain = {
    parameters: {
      '/r/a': '<<resolve:ssm:/r/b>>',
      '/r/b': '<<resolve:ssm:/r/c>>',
      '/r/c': '<<resolve:ssm:/r/d>>',
      '/r/d': 'plain',
    },
  };

  it('stops at maxDepth naming the chain, and never fetches past the limit', async () => {
    const b = counting(chain);
    const r = resolver(b.backend, { maxDepth: 2 });
    const err = await r.resolveTemplate('<<resolve:ssm:/r/a>>').catch((e: StrataError) => e);
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe('DEPTH_EXCEEDED');
    expect((err as StrataError).message).toBe(
      'references nest deeper than 2: <<resolve:ssm:/r/a>> -> <<resolve:ssm:/r/b>> -> <<resolve:ssm:/r/c>> -> <<resolve:ssm:/r/d>>',
    );
    expect(b.names()).toEqual(['/r/a', '/r/b', '/r/c']);
    // one more level of depth resolves the same chain
    expect((await resolver(b.backend, { maxDepth: 3 }).resolveTemplate('<<resolve:ssm:/r/a>>')).value).toBe(
      'plain',
    );
  });

  it('reports a cycle with its chain, after fetching each member once', async () => {
    const b = counting({
      parameters: {
        '/c/a': 'x <<resolve:ssm:/c/b>>',
        '/c/b': '<<resolve:ssm:/c/c>>',
        '/c/c': '<<resolve:ssm:/c/b>>',
      },
    });
    const r = resolver(b.backend);
    const err = (await r.resolveTemplate('<<resolve:ssm:/c/a>>').catch((e: unknown) => e)) as StrataError;
    expect(err.code).toBe('CYCLE');
    expect(err.message).toBe(
      'reference cycle: <<resolve:ssm:/c/b>> -> <<resolve:ssm:/c/c>> -> <<resolve:ssm:/c/b>>',
    );
    expect(b.names().sort()).toEqual(['/c/a', '/c/b', '/c/c']);
  });

  it('a failing key in a map is listed with the others, and the good keys are not lost', async () => {
    const b = counting({ parameters: { '/m/ok': 'v', '/m/loop': '<<resolve:ssm:/m/loop>>' } });
    const r = resolver(b.backend);
    const err = (await r
      .resolveMap({
        ok: '<<resolve:ssm:/m/ok>>',
        loop: '<<resolve:ssm:/m/loop>>',
        gone: '<<resolve:ssm:/m/gone>>',
      })
      .catch((e: unknown) => e)) as StrataError;
    expect(err.code).toBe('LOAD_FAILED');
    expect(err.issues.map((i) => [i.key, i.code]).sort()).toEqual([
      ['gone', 'NOT_FOUND'],
      ['loop', 'CYCLE'],
    ]);
  });
});

describe('batching', () => {
  const params = Object.fromEntries(Array.from({ length: 25 }, (_, i) => [`/b/p${i}`, `v${i}`]));

  it('the reads of one tick become ceil(N/10) GetParameters calls of at most 10 names', async () => {
    const b = counting({ parameters: params });
    const r = resolver(b.backend);
    const out = await r.resolveMap(
      Object.fromEntries(Object.keys(params).map((n) => [n, `<<resolve:ssm:${n}>>`])),
    );
    expect(b.calls.getParameters.map((c) => c.length)).toEqual([10, 10, 5]);
    expect(new Set(b.names()).size).toBe(25);
    expect(out['/b/p7']!.value).toBe('v7');
  });

  it('with a window, reads arriving within it share the batch; a later read starts the next one', async () => {
    const clock = fakeClock();
    const b = counting({ parameters: params });
    const r = resolver(b.backend, { runtime: clock, batchWindowMs: 10 });
    const names = Object.keys(params);
    const first = names.slice(0, 12).map((name) => r.getParameter({ name }));
    await clock.advance(4);
    const second = names.slice(12, 23).map((name) => r.getParameter({ name }));
    await ticks();
    expect(b.calls.getParameters).toHaveLength(0); // the window is still open
    await clock.advance(6);
    await Promise.all([...first, ...second]);
    expect(b.calls.getParameters.map((c) => c.length)).toEqual([10, 10, 3]);
    const late = names.slice(23).map((name) => r.getParameter({ name }));
    await clock.advance(10);
    await Promise.all(late);
    expect(b.calls.getParameters.map((c) => c.length)).toEqual([10, 10, 3, 2]);
  });

  it('names in another region (ARNs) never share a call with the default region', async () => {
    const b = counting({ parameters: { '/g/a': '1', '/g/b': '2' } });
    const r = resolver(b.backend);
    await Promise.all([
      r.getParameter({ name: '/g/a' }),
      r.getParameter({ name: 'arn:aws:ssm:eu-west-1:123456789012:parameter/g/b' }),
    ]);
    expect(b.calls.getParameters).toEqual([['/g/a'], ['arn:aws:ssm:eu-west-1:123456789012:parameter/g/b']]);
  });

  it('each read gets its own outcome: a missing name fails only its own key', async () => {
    const b = counting({ parameters: { '/o/a': 'a' } });
    const r = resolver(b.backend);
    const [a, missing] = await Promise.allSettled([
      r.getParameter({ name: '/o/a' }),
      r.getParameter({ name: '/o/missing' }),
    ]);
    expect(b.calls.getParameters).toHaveLength(1);
    expect(a).toMatchObject({ status: 'fulfilled', value: { value: 'a' } });
    expect(missing).toMatchObject({ status: 'rejected', reason: { code: 'NOT_FOUND' } });
  });
});

describe('invalidate: one owner of a shared resolver drops only its own sources', () => {
  const doc = {
    parameters: {
      '/a/app/region': 'eu',
      '/a/app/dev/url': 'a1',
      '/b/app/url': 'b1',
      '/b/app/token': '<<resolve:secretsmanager:b/token>>',
    },
    secrets: { 'b/token': 't' },
  };
  const A = { levels: ['/a/app', '/a/app/dev'] };
  const B = { levels: ['/b/app'] };

  it('invalidating the paths of one hierarchy refetches it and leaves the other cached', async () => {
    const b = counting(doc);
    const r = resolver(b.backend);
    await r.loadHierarchy(A);
    await r.loadHierarchy(B);
    await b.put('/a/app/dev/url', 'a2');
    await b.put('/b/app/url', 'b2');
    const before = { paths: b.calls.getParametersByPath.length, secrets: b.calls.getSecrets };
    const dropped = r.invalidate(A.levels);
    expect(dropped).toBe(2);
    expect((await r.loadHierarchy(B)).tree()).toEqual({ url: 'b1', token: 't' }); // still cached
    expect(b.calls.getParametersByPath.length).toBe(before.paths);
    expect((await r.loadHierarchy(A)).tree()).toEqual({ region: 'eu', url: 'a2' });
    expect(b.calls.getParametersByPath.slice(before.paths).sort()).toEqual(['/a/app', '/a/app/dev']);
    expect(b.calls.getSecrets).toBe(before.secrets);
  });

  it('a read in flight when its source is invalidated is answered with the value after the change', async () => {
    const b = counting(doc);
    const r = resolver(b.backend);
    const gate = held();
    b.control.hold = gate.hold;
    const reading = r.loadHierarchy(B); // its listing is answered with b1, the answer held in transit
    await ticks();
    await b.put('/b/app/url', 'b2');
    expect(r.invalidate(B.levels)).toBe(0); // nothing cached yet: the listing is in flight
    gate.release();
    expect((await reading).tree()).toEqual({ url: 'b2', token: 't' });
    expect(b.calls.getParametersByPath).toEqual(['/b/app', '/b/app']);
    // what is cached is the value after the change
    expect((await r.loadHierarchy(B)).tree()).toEqual({ url: 'b2', token: 't' });
    expect(b.calls.getParametersByPath).toHaveLength(2);
  });

  it('invalidating a secret drops that secret only; clear() drops everything', async () => {
    const b = counting(doc);
    const r = resolver(b.backend);
    await r.loadHierarchy(A);
    await r.loadHierarchy(B);
    expect(r.invalidate('b/token')).toBe(1);
    await r.loadHierarchy(B);
    expect(b.calls.getSecrets).toBe(2);
    expect(b.calls.getParametersByPath).toHaveLength(3);
    r.clear();
    await r.loadHierarchy(A);
    expect(b.calls.getParametersByPath).toHaveLength(5);
  });
});

describe('checkForChanges', () => {
  it('asks about unpinned parameters only, and invalidates what changed', async () => {
    const b = counting({ parameters: { '/k/x': 'x1', '/k/y': 'y1' } });
    const r = resolver(b.backend);
    await r.getParameter({ name: '/k/x' });
    await r.getParameter({ name: '/k/y' });
    await r.getParameter({ name: '/k/x', version: 1 });
    await r.getParameter({ name: 'arn:aws:ssm:local:123456789012:parameter/k/y', version: 1 });
    await b.put('/k/x', 'x2');
    const before = b.calls.getParameters.length;
    expect(await r.checkForChanges()).toEqual(['/k/x']);
    expect(b.calls.getParameters.slice(before).flat().sort()).toEqual(['/k/x', '/k/y']);
    expect((await r.getParameter({ name: '/k/x' })).value).toBe('x2');
    // the unchanged parameter stays cached
    const calls = b.calls.getParameters.length;
    expect((await r.getParameter({ name: '/k/y' })).value).toBe('y1');
    expect(b.calls.getParameters).toHaveLength(calls);
  });
});
