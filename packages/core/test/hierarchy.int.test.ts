import type { FaultProxy } from '@strata/test-env/fault-proxy';
import { resetMoto } from '@strata/test-env/moto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { aws, proxy, putParams, resolverFor } from './helpers.js';

let p: FaultProxy;

beforeAll(async () => {
  await resetMoto(aws.motoEndpoint());
  await putParams({
    '/acme/log-level': 'warn',
    '/acme/region': 'eu-west-1',
    '/acme/shop/log-level': 'info',
    '/acme/shop/db/url': 'postgres://shop-shared',
    '/acme/shop/feature': 'off',
    '/acme/shop/dev/log-level': 'debug',
    '/acme/shop/dev/db/url': 'postgres://dev',
    '/acme/shop/dev/db/password': { value: 'dev-pw', type: 'SecureString' },
    '/acme/shop/dev/list': { value: 'a,b,c', type: 'StringList' },
    // siblings that must never surface when loading dev
    '/acme/shop/prod/log-level': 'error',
    '/acme/shop/prod/db/password': { value: 'PROD-PW', type: 'SecureString' },
    '/acme/other-app/token': 'other',
  });
  p = await proxy();
});
afterAll(async () => p.stop());

describe('hierarchy loading against SSM (moto)', () => {
  it('most specific level wins, sub-paths become nested keys, secrets are flagged', async () => {
    const r = resolverFor(aws.motoEndpoint());
    const h = await r.loadHierarchy({
      template: '/{dept}/{app}/{env}',
      vars: { dept: 'acme', app: 'shop', env: 'dev' },
    });
    expect(h.tree()).toEqual({
      'log-level': 'debug',
      region: 'eu-west-1',
      feature: 'off',
      db: { url: 'postgres://dev', password: 'dev-pw' },
      list: 'a,b,c',
    });
    expect(h.entries.get('db.password')?.secret).toBe(true);
    expect(h.entries.get('db.url')?.secret).toBe(false);
  });

  it('never leaks a sibling environment or a sibling app', async () => {
    const r = resolverFor(aws.motoEndpoint());
    const h = await r.loadHierarchy({ levels: ['/acme', '/acme/shop', '/acme/shop/dev'] });
    const values = [...h.entries.values()].map((e) => e.value);
    expect(values).not.toContain('PROD-PW');
    expect(values).not.toContain('error');
    expect(values).not.toContain('other');
    expect([...h.entries.keys()].some((k) => k.startsWith('prod') || k.startsWith('other-app'))).toBe(false);
  });

  it('explains where each key came from and what it overrides', async () => {
    const r = resolverFor(aws.motoEndpoint());
    const h = await r.loadHierarchy({ levels: ['/acme', '/acme/shop', '/acme/shop/dev'] });
    const origin = h.entries.get('log-level')!.origin;
    expect(origin).toMatchObject({
      level: 2,
      levelPath: '/acme/shop/dev',
      parameter: '/acme/shop/dev/log-level',
      type: 'String',
    });
    expect(origin.version).toBeGreaterThanOrEqual(1);
    expect(origin.overrides.map((o) => o.parameter)).toEqual(['/acme/shop/log-level', '/acme/log-level']);
  });

  it('with known keys fetches them directly with GetParameters, no listing', async () => {
    p.reset();
    const r = resolverFor(p.endpoint);
    const h = await r.loadHierarchy(
      { levels: ['/acme', '/acme/shop', '/acme/shop/dev'] },
      { keys: ['log-level', 'db.url', 'db.password', 'region'] },
    );
    expect(Object.fromEntries([...h.entries].map(([k, e]) => [k, e.value]))).toEqual({
      'log-level': 'debug',
      'db.url': 'postgres://dev',
      'db.password': 'dev-pw',
      region: 'eu-west-1',
    });
    const calls = p.counts().calls;
    expect(calls['ssm:GetParametersByPath']).toBeUndefined();
    expect(calls['ssm:GetParameters']).toBeLessThanOrEqual(2);
  });

  it("reloads from a previous load's parameter names with exactly the GetParameters calls needed", async () => {
    const first = await resolverFor(aws.motoEndpoint()).loadHierarchy({
      levels: ['/acme', '/acme/shop', '/acme/shop/dev'],
    });
    p.reset();
    const names = first.parameterNames();
    expect(names).not.toContain('/acme/shop/prod/log-level');
    const again = await resolverFor(p.endpoint).loadHierarchy(
      { levels: ['/acme', '/acme/shop', '/acme/shop/dev'] },
      { parameters: [...names, '/acme/shop/prod/db/password'] },
    );
    expect(again.tree()).toEqual(first.tree());
    expect(again.entries.get('log-level')?.origin.overrides).toHaveLength(2);
    // the prod name is refused by the leak rule before any call
    expect(p.counts().calls).toEqual({ 'ssm:GetParameters': Math.ceil(names.length / 10) });
  });

  it('describe discovery gives the same result as by-path', async () => {
    const a = await resolverFor(aws.motoEndpoint()).loadHierarchy({
      levels: ['/acme', '/acme/shop', '/acme/shop/dev'],
    });
    const b = await resolverFor(aws.motoEndpoint(), { discovery: 'describe' }).loadHierarchy({
      levels: ['/acme', '/acme/shop', '/acme/shop/dev'],
    });
    expect(b.tree()).toEqual(a.tree());
  });

  it('an unfilled template variable is a clear error naming it', async () => {
    const r = resolverFor(aws.motoEndpoint());
    await expect(
      r.loadHierarchy({ template: '/{dept}/{app}/{env}', vars: { dept: 'acme', app: 'shop' } }),
    ).rejects.toThrow(/env/);
  });
});
