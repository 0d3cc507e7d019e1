import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import type { FaultProxy } from '@strata/test-env/fault-proxy';
import { resetMoto } from '@strata/test-env/moto';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import type { StrataError } from '../src/index.js';
import { aws, proxy, putParams, resolverFor } from './helpers.js';

let p: FaultProxy;
const LEVELS = { levels: ['/f/app', '/f/app/dev'] };

beforeAll(async () => {
  await resetMoto(aws.motoEndpoint());
  const params: Record<string, string> = {};
  for (let i = 0; i < 30; i++) params[`/f/app/dev/k${i}`] = `v${i}`;
  for (let i = 0; i < 10; i++) params[`/f/app/s${i}`] = `shared${i}`;
  await putParams(params);
  await aws.secrets().send(new CreateSecretCommand({ Name: 'f/db', SecretString: '{"password":"east-pw"}' }));
  // The replica: same name in us-west-2 (moto keeps regions apart, as AWS replicas are).
  await aws
    .secrets({ region: 'us-west-2' })
    .send(new CreateSecretCommand({ Name: 'f/db', SecretString: '{"password":"west-pw"}' }));
  p = await proxy();
});
afterAll(async () => p.stop());
beforeEach(() => p.reset());

describe('retries and failure handling through the fault proxy', () => {
  it('a load under 50% throttling still succeeds, and the retries are counted', async () => {
    p.configure({ rules: [{ fault: 'throttle', rate: 0.5 }] });
    const r = resolverFor(p.endpoint);
    const h = await r.loadHierarchy(LEVELS);
    expect(h.entries.size).toBe(40);
    expect(h.entries.get('k29')?.value).toBe('v29');
    const s = r.statsSnapshot();
    expect(s.throttles).toBeGreaterThan(0);
    expect(p.counts().faults.throttle).toBe(s.throttles);
  });

  it('5xx and connection resets are retried', async () => {
    p.configure({
      rules: [
        { fault: 'error5xx', status: 503, times: 2 },
        { fault: 'reset', times: 2 },
        { fault: 'error5xx', status: 500, times: 1 },
      ],
    });
    const r = resolverFor(p.endpoint);
    const out = await r.resolveTemplate('<<resolve:ssm:/f/app/dev/k1>>');
    expect(out.value).toBe('v1');
    expect(r.statsSnapshot().retries).toBeGreaterThanOrEqual(3);
  });

  it('access denied fails at once with a clear message and no retry', async () => {
    p.configure({ rules: [{ fault: 'deny', bodyIncludes: '/f/app/dev/k2' }] });
    const r = resolverFor(p.endpoint);
    const err = (await r
      .resolveTemplate('<<resolve:ssm:/f/app/dev/k2>>')
      .catch((e: unknown) => e)) as StrataError;
    expect(err.code).toBe('ACCESS_DENIED');
    expect(err.message).toContain('/f/app/dev/k2');
    expect(err.message).toContain('AccessDeniedException');
    expect(p.counts().calls['ssm:GetParameters']).toBe(1);
  });

  it('an outage after a successful load keeps serving the last good values and reports the failure', async () => {
    const failures: string[] = [];
    const r = resolverFor(p.endpoint, {
      ttlMs: { ssm: 1 },
      onRefreshError: (e, source) => failures.push(`${e.code} ${source}`),
      aws: { retry: { retries: 1, baseMs: 1, capMs: 2 } },
    });
    const first = await r.loadHierarchy(LEVELS);
    expect(first.entries.get('k3')?.value).toBe('v3');
    await new Promise((res) => setTimeout(res, 10));
    p.configure({ rules: [{ fault: 'error5xx', status: 503 }] });
    const again = await r.loadHierarchy(LEVELS);
    expect(again.entries.get('k3')?.value).toBe('v3');
    // the background refresh fails; the value stays, and the hook hears about it (no value in it).
    // Wait for the hook rather than a fixed time: under load the failing refresh takes longer.
    for (let waited = 0; failures.length === 0 && waited < 15_000; waited += 50) {
      await new Promise((res) => setTimeout(res, 50));
    }
    const third = await r.loadHierarchy(LEVELS);
    expect(third.entries.get('k3')?.value).toBe('v3');
    expect(failures.length).toBeGreaterThan(0);
    expect(failures[0]).toMatch(/^UNAVAILABLE \/f\/app/);
    expect(r.statsSnapshot().cache.staleServed).toBeGreaterThan(0);
  });

  it('Secrets Manager reads fail over to a replica region when the primary errors', async () => {
    p.configure({ rules: [{ fault: 'error5xx', status: 503, region: 'us-east-1' }] });
    const r = resolverFor(p.endpoint, {
      aws: { replicaRegions: ['us-west-2'], retry: { retries: 1, baseMs: 1, capMs: 2 } },
    });
    const out = await r.resolveTemplate('<<resolve:secretsmanager:f/db:SecretString:password>>');
    expect(out.value).toBe('west-pw');
  });

  it('invalidate() makes the next read fetch the new value; checkForChanges() finds rotated secrets', async () => {
    const r = resolverFor(p.endpoint);
    expect((await r.resolveTemplate('<<resolve:secretsmanager:f/db:SecretString:password>>')).value).toBe(
      'east-pw',
    );
    await aws
      .secrets()
      .send(new PutSecretValueCommand({ SecretId: 'f/db', SecretString: '{"password":"rotated"}' }));
    expect((await r.resolveTemplate('<<resolve:secretsmanager:f/db:SecretString:password>>')).value).toBe(
      'east-pw',
    );
    p.resetCounts();
    expect(await r.checkForChanges()).toEqual(['f/db']);
    expect(p.counts().calls).toEqual({ 'secretsmanager:DescribeSecret': 1 });
    expect((await r.resolveTemplate('<<resolve:secretsmanager:f/db:SecretString:password>>')).value).toBe(
      'rotated',
    );
    expect(await r.checkForChanges()).toEqual([]);
    await putParams({ '/f/app/dev/k0': 'changed' });
    expect(r.invalidate('/f/app/dev/k0')).toBeGreaterThanOrEqual(0);
    const h = await r.loadHierarchy(LEVELS);
    expect(h.entries.get('k0')?.value).toBe('changed');
  });

  it('a client-side rate limit keeps a burst under the quota with no throttling', async () => {
    p.configure({ rps: 5 });
    // the client stays a little under the quota, as a fleet configured for it would
    const r = resolverFor(p.endpoint, { aws: { rateLimits: { ssm: 4 } } });
    const inputs = Object.fromEntries(
      Array.from({ length: 30 }, (_, i) => [`k${i}`, `<<resolve:ssm:/f/app/dev/k${i}>>`]),
    );
    // 30 names = 3 GetParameters; plus 6 listings: under 5 rps the limiter spaces them out
    await r.resolveMap(inputs);
    await r.loadHierarchy(LEVELS);
    expect(p.counts().faults.quota ?? 0).toBe(0);
    expect(r.statsSnapshot().throttles).toBe(0);
  });
});

describe('bounded calls and checked responses (fault proxy)', () => {
  it('a black-holed AWS fails within the deadline, and says what it waited for', async () => {
    p.configure({ rules: [{ fault: 'blackhole' }] });
    const events: string[] = [];
    const r = resolverFor(p.endpoint, {
      aws: {
        timeoutMs: 300,
        deadlineMs: 1_000,
        slowCallMs: 100,
        onProgress: (e) => events.push(`${e.kind} ${e.operation} ${e.retry}/${e.retries}`),
      },
    });
    const t0 = Date.now();
    const err = (await r.loadHierarchy(LEVELS).catch((e: unknown) => e)) as StrataError;
    expect(Date.now() - t0).toBeLessThan(1_000 + 3_000); // generous, relative to the deadline
    expect(err.issues[0]!.code).toBe('UNAVAILABLE');
    expect(err.message).toMatch(/no answer within/);
    expect(events).toContain('slow GetParametersByPath 0/8');
    expect(events.some((e) => e.startsWith('retry GetParametersByPath'))).toBe(true);
    r.close();
  });

  it('a 200 with a parameter that has no name is a coded BAD_RESPONSE, not a crash', async () => {
    p.configure({
      rules: [
        {
          fault: 'respond',
          body: JSON.stringify({ Parameters: [{ Name: null, Value: 'v', Type: 'String' }] }),
        },
      ],
    });
    const r = resolverFor(p.endpoint);
    const err = (await r.loadHierarchy(LEVELS).catch((e: unknown) => e)) as StrataError;
    expect(err.issues[0]!.code).toBe('BAD_RESPONSE');
    expect(err.message).toContain('Parameters[0].Name is missing');
    const one = (await r
      .resolveTemplate('<<resolve:ssm:/f/app/dev/k1>>')
      .catch((e: unknown) => e)) as StrataError;
    expect(one.code).toBe('BAD_RESPONSE');
    expect(p.counts().calls['ssm:GetParameters']).toBe(1); // not retried
  });

  it('an empty 200, or one whose list is not a list, is BAD_RESPONSE (not an empty level)', async () => {
    for (const body of ['', '{"Parameters":"x"}', '{"SecretValues":null}']) {
      p.configure({ rules: [{ fault: 'respond', body }] });
      const r = resolverFor(p.endpoint);
      const err = (await r.loadHierarchy(LEVELS).catch((e: unknown) => e)) as StrataError;
      expect(err.issues?.[0]?.code, body).toBe('BAD_RESPONSE');
    }
  });

  it('an HTML page with 200 is BAD_RESPONSE; with 503 it is retried, then UNAVAILABLE; the body is never quoted', async () => {
    p.configure({ rules: [{ fault: 'html', status: 200 }] });
    const r = resolverFor(p.endpoint, { aws: { retry: { retries: 2, baseMs: 1, capMs: 2 } } });
    const ok200 = (await r
      .resolveTemplate('<<resolve:ssm:/f/app/dev/k1>>')
      .catch((e: unknown) => e)) as StrataError;
    expect(ok200.code).toBe('BAD_RESPONSE');
    expect(ok200.message).toContain('text/html');
    expect(ok200.message).not.toContain('<html');
    p.reset();
    p.configure({ rules: [{ fault: 'html', status: 503 }] });
    const e503 = (await r
      .resolveTemplate('<<resolve:ssm:/f/app/dev/k2>>')
      .catch((e: unknown) => e)) as StrataError;
    expect(e503.code).toBe('UNAVAILABLE');
    expect(e503.message).not.toContain('<html');
    expect(p.counts().calls['ssm:GetParameters']).toBe(3);
  });

  it('a secret value of a truncated JSON body never appears in the error', async () => {
    p.configure({
      rules: [{ fault: 'respond', body: '{"Parameters":[{"Name":"/f/app/dev/k1","Value":"s3cr3t-part' }],
    });
    const r = resolverFor(p.endpoint);
    const err = (await r
      .resolveTemplate('<<resolve:ssm:/f/app/dev/k1>>')
      .catch((e: unknown) => e)) as StrataError;
    expect(err.code).toBe('BAD_RESPONSE');
    expect(JSON.stringify(err)).not.toContain('s3cr3t');
    expect(String(err.cause ?? '')).not.toContain('s3cr3t');
  });

  it('a NextToken that repeats is BAD_RESPONSE, not an endless listing', async () => {
    p.configure({
      rules: [
        { fault: 'respond', ops: ['GetParametersByPath'], body: '{"Parameters":[],"NextToken":"same"}' },
      ],
    });
    const r = resolverFor(p.endpoint);
    const err = (await r.loadHierarchy(LEVELS).catch((e: unknown) => e)) as StrataError;
    expect(err.issues[0]!.code).toBe('BAD_RESPONSE');
    expect(err.message).toContain('NextToken repeats');
  });
});

describe('writes through the backend (fault proxy)', () => {
  it('putParameter gets the rate limit, retries on 500 and throttling, and fails at once on AccessDenied', async () => {
    p.configure({
      rules: [
        { fault: 'error5xx', ops: ['PutParameter'], times: 2 },
        { fault: 'throttle', ops: ['PutParameter'], times: 1 },
      ],
    });
    const r = resolverFor(p.endpoint);
    const put = (i: Parameters<NonNullable<typeof r.backend.ssm.putParameter>>[0]) =>
      r.backend.ssm.putParameter!(i);
    const out = await put({ name: '/f/w/one', value: 'v1', type: 'String' });
    expect(out.version).toBe(1);
    expect(p.counts().calls['ssm:PutParameter']).toBe(4);
    p.reset();
    p.configure({ rules: [{ fault: 'deny', ops: ['PutParameter'] }] });
    const denied = (await put({ name: '/f/w/two', value: 'v2', type: 'String' }).catch(
      (e: unknown) => e,
    )) as StrataError;
    expect(denied.code).toBe('ACCESS_DENIED');
    expect(p.counts().calls['ssm:PutParameter']).toBe(1);
  });

  it('a black-holed PutParameter ends within the deadline and writes nothing', async () => {
    p.configure({ rules: [{ fault: 'blackhole', ops: ['PutParameter'] }] });
    const r = resolverFor(p.endpoint, { aws: { timeoutMs: 200, deadlineMs: 800 } });
    const t0 = Date.now();
    const err = (await r.backend.ssm.putParameter!({ name: '/f/w/hole', value: 'x', type: 'String' }).catch(
      (e: unknown) => e,
    )) as StrataError;
    expect(err.code).toBe('UNAVAILABLE');
    expect(Date.now() - t0).toBeLessThan(800 + 3_000);
    p.reset();
    const after = await resolverFor(aws.motoEndpoint()).backend.ssm.getParameters([{ name: '/f/w/hole' }]);
    expect(after[0]!.ok).toBe(false);
    r.close();
  });
});
