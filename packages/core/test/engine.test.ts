import { describe, expect, it } from 'vitest';
import { classifyAwsError, toStrataError } from '../src/aws/errors.js';
import { extractJsonKey } from '../src/engine/references.js';
import {
  formatIssues,
  LocalBackend,
  loadFailed,
  localKmsCiphertext,
  parseLocalTree,
  Resolver,
  type Runtime,
  type StrataError,
} from '../src/index.js';
import { RateLimiter } from '../src/rate-limit.js';
import { fullJitterDelay, withRetry } from '../src/retry.js';

function fakeRuntime(): Runtime & { slept: number[]; t: number } {
  const rt = {
    t: 0,
    slept: [] as number[],
    now: () => rt.t,
    sleep: async (ms: number) => {
      rt.slept.push(ms);
      rt.t += ms;
    },
    random: () => 0.5,
  };
  return rt;
}

describe('AWS error classification', () => {
  it.each([
    [{ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } }, 'THROTTLED'],
    [{ name: 'Whatever', $metadata: { httpStatusCode: 503 } }, 'UNAVAILABLE'],
    [{ name: 'Error', code: 'ECONNRESET', message: 'socket hang up' }, 'UNAVAILABLE'],
    [{ name: 'ParameterNotFound', $metadata: { httpStatusCode: 400 } }, 'NOT_FOUND'],
    [{ name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } }, 'ACCESS_DENIED'],
    [{ name: 'InvalidCiphertextException', $metadata: { httpStatusCode: 400 } }, 'DECRYPT_FAILED'],
    [{ name: 'ValidationException', $metadata: { httpStatusCode: 400 } }, 'VALIDATION'],
  ])('%o -> %s', (err, code) => {
    expect(classifyAwsError(err)).toBe(code);
  });

  it('wraps with operation and source', () => {
    const e = toStrataError({ name: 'ParameterNotFound', message: 'nope' }, 'ssm:GetParameters', '/a/b');
    expect(e.message).toBe('ssm:GetParameters /a/b: ParameterNotFound: nope');
    expect(e.source).toBe('/a/b');
  });
});

describe('retry with full jitter', () => {
  it('retries retryable errors with exponential full-jitter sleeps, then succeeds', async () => {
    const rt = fakeRuntime();
    let n = 0;
    const out = await withRetry(
      async () => {
        n++;
        if (n < 4) throw { name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } };
        return 'ok';
      },
      {
        runtime: rt,
        retry: { retries: 5, baseMs: 100, capMs: 1000 },
        toError: (e) => toStrataError(e, 'op', 'src'),
      },
    );
    expect(out).toBe('ok');
    expect(rt.slept).toEqual([50, 100, 200]); // random 0.5 × 100·2^(n-1)
  });

  it('does not retry not-found or access denied', async () => {
    const rt = fakeRuntime();
    let n = 0;
    const err = await withRetry(
      async () => {
        n++;
        throw { name: 'AccessDeniedException', $metadata: { httpStatusCode: 400 } };
      },
      { runtime: rt, toError: (e) => toStrataError(e, 'op', 'src') },
    ).catch((e: unknown) => e);
    expect(n).toBe(1);
    expect((err as StrataError).code).toBe('ACCESS_DENIED');
  });

  it('gives up after the retry budget with the last error', async () => {
    const rt = fakeRuntime();
    const err = await withRetry(
      async () => {
        throw { name: 'InternalServerError', $metadata: { httpStatusCode: 500 } };
      },
      {
        runtime: rt,
        retry: { retries: 2, baseMs: 10, capMs: 20 },
        toError: (e) => toStrataError(e, 'op', 'src'),
      },
    ).catch((e: unknown) => e);
    expect((err as StrataError).code).toBe('UNAVAILABLE');
    expect(rt.slept).toHaveLength(2);
  });

  it('caps the backoff', () => {
    expect(fullJitterDelay(20, { retries: 1, baseMs: 50, capMs: 5000 }, () => 0.999)).toBeLessThan(5000);
  });
});

describe('rate limiter', () => {
  it('lets a burst through, then spaces requests at the rate', async () => {
    const rt = fakeRuntime();
    const rl = new RateLimiter(2, rt);
    await Promise.all([rl.acquire(), rl.acquire(), rl.acquire(), rl.acquire()]);
    expect(rt.t).toBeGreaterThanOrEqual(1000); // 2 burst + 2 more at 2/s
  });
});

describe('errors', () => {
  it('lists every issue, with key and source, in one error', () => {
    const e = loadFailed([
      { code: 'NOT_FOUND', key: 'db.url', source: '/app/dev/db/url', message: 'parameter not found' },
      { code: 'PARSE_ERROR', key: 'x', message: 'bad reference' },
    ]);
    expect(e.code).toBe('LOAD_FAILED');
    expect(e.message).toBe(`2 problems loading configuration:\n${formatIssues(e.issues)}`);
    expect(e.message).toContain('- db.url (/app/dev/db/url): parameter not found [NOT_FOUND]');
    expect(JSON.parse(JSON.stringify(e))).toMatchObject({
      code: 'LOAD_FAILED',
      issues: [{ key: 'db.url' }, { key: 'x' }],
    });
  });
});

describe('JSON key extraction', () => {
  const raw = JSON.stringify({ password: 'p', port: 5432, nested: { a: 'b' }, 'dotted.key': 'd' });
  it('reads keys, nested paths and literal dotted keys', () => {
    expect(extractJsonKey(raw, 'password', 's', 'ref')).toBe('p');
    expect(extractJsonKey(raw, 'port', 's', 'ref')).toBe('5432');
    expect(extractJsonKey(raw, 'nested.a', 's', 'ref')).toBe('b');
    expect(extractJsonKey(raw, 'nested', 's', 'ref')).toBe('{"a":"b"}');
    expect(extractJsonKey(raw, 'dotted.key', 's', 'ref')).toBe('d');
  });
  it('names the key and the secret, never the value', () => {
    const e = (() => {
      try {
        extractJsonKey(raw, 'nope', 'prod/db', '<<resolve:secretsmanager:prod/db:SecretString:nope>>');
      } catch (err) {
        return err as StrataError;
      }
    })()!;
    expect(e.code).toBe('NOT_FOUND');
    expect(e.message).toContain("'nope'");
    expect(e.message).toContain('prod/db');
    expect(e.message).not.toContain('5432');
  });
});

describe('local backend', () => {
  const tree = parseLocalTree({
    parameters: {
      '/acme/log-level': 'info',
      '/acme/shop': { feature: true, dev: { 'db/url': 'pg://dev' } },
      '/acme/shop/dev/db/password': { value: 'pw', type: 'SecureString', version: 3, labels: ['stable'] },
    },
    secrets: { 'prod/db': { password: 'x' }, token: 'abc' },
  });

  it('has the same semantics as SSM for names, versions, labels and paths', async () => {
    const b = new LocalBackend(tree);
    const [a, v, l, missing] = await b.ssm.getParameters([
      { name: '/acme/log-level' },
      { name: '/acme/shop/dev/db/password', version: 3 },
      { name: '/acme/shop/dev/db/password', label: 'stable' },
      { name: '/acme/shop/dev/db/password', version: 2 },
    ]);
    expect(a).toMatchObject({ ok: true, value: { value: 'info', type: 'String' } });
    expect(v).toMatchObject({ ok: true, value: { type: 'SecureString', version: 3 } });
    expect(l?.ok).toBe(true);
    expect(missing?.ok).toBe(false);
    const flat = await b.ssm.getParametersByPath('/acme/shop', { recursive: false });
    expect(flat.map((p) => p.name)).toEqual(['/acme/shop/feature']);
    const deep = await b.ssm.getParametersByPath('/acme/shop/dev', { recursive: true });
    expect(deep.map((p) => p.name)).toEqual(['/acme/shop/dev/db/password', '/acme/shop/dev/db/url']);
  });

  it('serves secrets, /aws/reference/secretsmanager and local kms', async () => {
    const b = new LocalBackend(tree);
    const [s] = await b.secrets.getSecrets([{ secretId: 'prod/db' }]);
    expect(s).toMatchObject({ ok: true, value: { secretString: '{"password":"x"}' } });
    const [ref] = await b.ssm.getParameters([{ name: '/aws/reference/secretsmanager/token' }]);
    expect(ref).toMatchObject({ ok: true, value: { value: 'abc', type: 'SecureString' } });
    const plain = await b.kms.decrypt(new Uint8Array(Buffer.from(localKmsCiphertext('hi'), 'base64')));
    expect(Buffer.from(plain).toString()).toBe('hi');
  });

  it('invalidates many sources in one call: names, secrets and the listings that hold them', async () => {
    const b = new LocalBackend(tree);
    const r = new Resolver({ backend: b });
    await r.getParameter({ name: '/acme/log-level' });
    await r.getParameter({ name: '/acme/shop/dev/db/password', version: 3 });
    await r.getParametersByPath('/acme/shop', true);
    await r.getParametersByPath('/acme/shop/dev/db', false);
    await r.getSecret({ secretId: 'prod/db' });
    await r.getSecret({ secretId: 'token' });
    expect(r.invalidate([])).toBe(0);
    // the parameter (any version), both listings that contain it, and one secret; not the others
    expect(r.invalidate(['/acme/shop/dev/db/password', 'prod/db'])).toBe(4);
    const before = r.statsSnapshot().cache.misses;
    await r.getParameter({ name: '/acme/log-level' });
    await r.getSecret({ secretId: 'token' });
    expect(r.statsSnapshot().cache.misses).toBe(before);
    // a path drops listings under it and above it
    await r.getParametersByPath('/acme/shop', true);
    await r.getParametersByPath('/acme/shop/dev/db', false);
    expect(r.invalidate(['/acme/shop/dev'])).toBe(2);
  });

  it('rejects a malformed tree with a message naming the entry', () => {
    expect(() => parseLocalTree({ parameters: { '/x': { value: 'v', type: 'Nope' } } })).toThrow(
      /\/x: type must be/,
    );
    expect(() => parseLocalTree({ params: {} })).toThrow(/unknown top-level key/);
  });
});

describe('rate limiter under throttling', () => {
  it('never strands a waiter, even when the drain loop finishes without waiting', {
    timeout: 5000,
  }, async () => {
    // every clock read moves time on by 1 ms (half a token at 500/s): the drain loop then finds a
    // token without waiting, which once left it marked as running forever
    let t = 0;
    const rt: Runtime = {
      now: () => {
        t += 1;
        return t;
      },
      sleep: async (ms: number) => {
        t += ms;
      },
      random: () => 0.5,
    };
    const rl = new RateLimiter(500, rt, 1);
    for (let i = 0; i < 50; i++) await Promise.all([rl.acquire(), rl.acquire(), rl.acquire()]);
    expect(rl.rate).toBe(500);
  });

  it('halves the rate on throttling (once per half second) and recovers on success', () => {
    let t = 0;
    const rl = new RateLimiter(40, { now: () => t, sleep: async () => {}, random: () => 0.5 });
    rl.onThrottle();
    rl.onThrottle(); // same burst: counted once
    expect(rl.rate).toBe(20);
    t += 600;
    rl.onThrottle();
    expect(rl.rate).toBe(10);
    for (let i = 0; i < 100; i++) rl.onSuccess();
    expect(rl.rate).toBe(40);
  });
});
