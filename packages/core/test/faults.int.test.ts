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
    // the background refresh fails; the value stays, and the hook hears about it (no value in it)
    await new Promise((res) => setTimeout(res, 100));
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
