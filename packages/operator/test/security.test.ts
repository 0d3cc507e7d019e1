/** Issue 9 in the operator, pure (local backend): the reference branch rule and its allow-list, JSON keys. */
import { LocalBackend, parseLocalTree, Resolver, type StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { deniedSources } from '../src/policy.js';
import { resolveSources } from '../src/sources.js';
import type { SecretSyncSpec } from '../src/types.js';

const CANARY = 'CANARY-operator-unit-3c9d';
const resolver = () =>
  new Resolver({
    backend: new LocalBackend(
      parseLocalTree({
        parameters: {
          '/app/dev/banner': 'welcome <<resolve:ssm:/app/prod/db-password>>',
          '/app/prod/db-password': { value: CANARY, type: 'SecureString' },
          '/app/dev2/bad': { value: `<<resolve:ssm:/x ${CANARY}`, type: 'SecureString' },
          '/app/dev3/shared': '<<resolve:ssm:/shared/db-host>>',
          '/app/dev3/pointer': '<<resolve:secretsmanager:other/db:SecretString:password>>',
          '/shared/db-host': 'db.internal',
        },
        secrets: {
          'app/json': `{"__proto__": "${CANARY}", "ok": "fine"}`,
          'app/pointer': '<<resolve:secretsmanager:other/db:SecretString:password>>',
          'other/db': { password: CANARY },
        },
      }),
    ),
  });
const spec = (sources: SecretSyncSpec['sources']): SecretSyncSpec => ({ target: { name: 't' }, sources });

async function failure(p: Promise<unknown>): Promise<StrataError> {
  try {
    await p;
  } catch (e) {
    return e as StrataError;
  }
  throw new Error('expected a failure');
}

describe('operator: references inside hierarchy values', () => {
  it('a dev value cannot reach prod, even when the namespace is granted the whole app', async () => {
    const err = await failure(
      resolveSources(spec([{ hierarchy: { levels: ['/app', '/app/dev'] } }]), resolver()),
    );
    expect(err.issues).toEqual([
      expect.objectContaining({ code: 'REFERENCE_DENIED', source: '/app/prod/db-password' }),
    ]);
    expect(JSON.stringify(err) + err.message).not.toContain(CANARY);
  });

  it('the SecretSync allow-list lets a shared source through, and must itself be granted', async () => {
    const s = spec([
      { hierarchy: { levels: ['/app', '/app/dev'], allowReferences: { ssm: ['/app/prod/db-password'] } } },
    ]);
    const out = await resolveSources(s, resolver());
    expect(out.data.banner).toBe(`welcome ${CANARY}`);
    expect(deniedSources(s, { ssmPaths: ['/app/dev', '/app'], secretNames: [], kmsKeys: [] })).toEqual([]);
    expect(deniedSources(s, { ssmPaths: ['/app/dev'], secretNames: [], kmsKeys: [] })).toContain(
      'allowReferences ssm path /app/prod/db-password',
    );
    const sm = spec([
      { hierarchy: { levels: ['/app/dev'], allowReferences: { secretsManager: ['prod/*'] } } },
    ]);
    expect(deniedSources(sm, { ssmPaths: ['/app/dev'], secretNames: ['app/*'], kmsKeys: [] })).toEqual([
      'allowReferences secret prod/*',
    ]);
  });

  it('a malformed reference inside a SecureString names the parameter, never the value', async () => {
    const err = await failure(resolveSources(spec([{ hierarchy: { levels: ['/app/dev2'] } }]), resolver()));
    expect(err.issues[0]).toMatchObject({ code: 'PARSE_ERROR', source: '/app/dev2/bad' });
    expect(JSON.stringify(err) + err.message).not.toContain(CANARY.slice(0, 8));
  });

  it('a secretJSON key named __proto__ is refused by name, not silently dropped', async () => {
    const err = await failure(resolveSources(spec([{ secretJSON: { secretId: 'app/json' } }]), resolver()));
    expect(err.issues[0]).toMatchObject({ code: 'INVALID_INPUT', source: 'app/json' });
    expect(err.message).toContain('"__proto__"');
    expect(JSON.stringify(err) + err.message).not.toContain(CANARY);
  });

  it('with grants, every reference inside a value (any depth) must be granted too', async () => {
    const grants = { ssmPaths: ['/app/dev3'], secretNames: ['app/*'], kmsKeys: [] };
    const err = await failure(
      resolveSources(spec([{ hierarchy: { levels: ['/app/dev3'] } }]), resolver(), grants),
    );
    expect(err.issues.map((i) => [i.code, i.source]).sort()).toEqual([
      ['REFERENCE_DENIED', '/shared/db-host'],
      ['REFERENCE_DENIED', 'other/db'],
    ]);
    const refs = await failure(
      resolveSources(spec([{ refs: { x: '<<resolve:secretsmanager:app/pointer>>' } }]), resolver(), grants),
    );
    expect(refs.issues[0]).toMatchObject({ code: 'REFERENCE_DENIED', source: 'other/db' });
    expect(JSON.stringify(refs) + JSON.stringify(err)).not.toContain(CANARY);
    const granted = { ssmPaths: ['/app/dev3', '/shared'], secretNames: ['app/*', 'other/db'], kmsKeys: [] };
    const ok = await resolveSources(spec([{ hierarchy: { levels: ['/app/dev3'] } }]), resolver(), granted);
    expect(ok.data).toEqual({ shared: 'db.internal', pointer: CANARY });
  });
});
