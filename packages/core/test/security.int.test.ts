/**
 * Issue 9 regressions against moto: secret text never appears in errors about a value read from a
 * secret source, references inside hierarchy values obey the no-leak rule, and parameter names
 * that spell object internals neither pollute prototypes nor vanish.
 */
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import type { FaultProxy } from '@strata/test-env/fault-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type StrataError, StrataError as StrataErrorClass } from '../src/index.js';
import { aws, proxy, putParams, resolverFor } from './helpers.js';

const RUN = `sec${Date.now().toString(36)}`;
const CANARY = `CANARY-${RUN}-9f3b7c2e`;
let p: FaultProxy;
let kmsCiphertext: string;

/** Every way the error could be shown: message, JSON (stderr --json), issues. */
function shown(err: unknown): string {
  const e = err as StrataError;
  return [e.message, JSON.stringify(e), String(e.stack ?? '')].join('\n');
}

async function failure(promise: Promise<unknown>): Promise<StrataError> {
  try {
    await promise;
  } catch (err) {
    expect(err).toBeInstanceOf(StrataErrorClass);
    return err as StrataError;
  }
  throw new Error('expected a failure');
}

beforeAll(async () => {
  const malformed = `x<<resolve:ssm:/a:${CANARY}`;
  await putParams({
    [`/${RUN}/secure-malformed`]: { value: malformed, type: 'SecureString' },
    [`/${RUN}/acme/shop/dev/db/password`]: { value: `dev-${CANARY}`, type: 'SecureString' },
    [`/${RUN}/acme/shop/prod/db/password`]: { value: `prod-${CANARY}`, type: 'SecureString' },
    [`/${RUN}/acme/shop/dev/banner`]: `welcome <<resolve:ssm:/${RUN}/acme/shop/prod/db/password>>`,
    [`/${RUN}/shared/pointer`]: `<<resolve:ssm:/${RUN}/acme2/shop/prod/x>>`,
    [`/${RUN}/acme2/shop/dev/via-shared`]: `<<resolve:ssm:/${RUN}/shared/pointer>>`,
    [`/${RUN}/acme2/shop/dev/secret-in-prod`]: `<<resolve:secretsmanager:${RUN}/acme2/shop/prod/db>>`,
    [`/${RUN}/acme2/shop/prod/x`]: 'prod-only',
    [`/${RUN}/acme3/shop/dev/bad`]: { value: `<<resolve:ssm:/x ${CANARY}`, type: 'SecureString' },
    [`/${RUN}/acme4/shop/dev/__proto__/polluted`]: { value: CANARY, type: 'SecureString' },
    [`/${RUN}/acme4/shop/dev/constructor/prototype/polluted`]: 'yes',
    [`/${RUN}/acme4/shop/dev/ok`]: 'fine',
  });
  const sm = aws.secrets();
  await sm.send(new CreateSecretCommand({ Name: `${RUN}/sm-malformed`, SecretString: malformed }));
  await sm.send(
    new CreateSecretCommand({
      Name: `${RUN}/sm-json`,
      SecretString: JSON.stringify({ password: `<<resolve:secretsmanager:${CANARY}:SecretString:a b` }),
    }),
  );
  await sm.send(
    new CreateSecretCommand({ Name: `${RUN}/acme2/shop/prod/db`, SecretString: `prod-${CANARY}` }),
  );
  const kms = aws.kms();
  const key = await kms.send(new CreateKeyCommand({}));
  const enc = await kms.send(
    new EncryptCommand({ KeyId: key.KeyMetadata!.KeyId!, Plaintext: Buffer.from(malformed) }),
  );
  kmsCiphertext = Buffer.from(enc.CiphertextBlob!).toString('base64');
  p = await proxy();
});
afterAll(async () => {
  await p?.stop();
});

describe('errors about a value from a secret source name the source, never the value', () => {
  const cases: Array<[string, () => string, string]> = [
    [
      'a SecureString',
      () => `<<resolve:ssm:/${RUN}/secure-malformed>>`,
      `ssm parameter /${RUN}/secure-malformed`,
    ],
    [
      'a Secrets Manager string',
      () => `<<resolve:secretsmanager:${RUN}/sm-malformed>>`,
      `secret ${RUN}/sm-malformed`,
    ],
    [
      'a Secrets Manager JSON key',
      () => `<<resolve:secretsmanager:${RUN}/sm-json:SecretString:password>>`,
      `secret ${RUN}/sm-json (JSON key password)`,
    ],
    ['a KMS plaintext', () => `<<resolve:kms:${kmsCiphertext}>>`, 'the plaintext of a kms reference'],
  ];
  for (const [what, ref, named] of cases) {
    it(`${what}`, async () => {
      const r = resolverFor(aws.motoEndpoint());
      const err = await failure(r.resolveTemplate(`pre ${ref()} post`));
      expect(err.code).toBe('PARSE_ERROR');
      expect(err.message).toContain(named);
      expect(shown(err)).not.toContain(CANARY.slice(0, 8));
      expect(shown(err)).not.toContain(`${RUN}-`);
      const failed = await failure(r.resolveMap({ KEY: ref() }));
      expect(failed.issues[0]).toMatchObject({ key: 'KEY', code: 'PARSE_ERROR' });
      expect(shown(failed)).not.toContain(CANARY.slice(0, 8));
      r.close();
    });
  }

  it('a malformed reference inside a SecureString of a hierarchy', async () => {
    const r = resolverFor(aws.motoEndpoint());
    const err = await failure(r.loadHierarchy({ levels: [`/${RUN}/acme3`, `/${RUN}/acme3/shop/dev`] }));
    expect(err.issues[0]).toMatchObject({
      code: 'PARSE_ERROR',
      key: 'bad',
      source: `/${RUN}/acme3/shop/dev/bad`,
    });
    expect(shown(err)).not.toContain(CANARY.slice(0, 8));
    r.close();
  });
});

describe('references inside hierarchy values obey the no-leak rule', () => {
  const dev = (root = 'acme') => ({
    levels: [`/${RUN}/${root}`, `/${RUN}/${root}/shop`, `/${RUN}/${root}/shop/dev`],
  });

  it('a dev value cannot reference the prod password; it is never fetched', async () => {
    p.reset();
    const r = resolverFor(p.endpoint);
    const err = await failure(r.loadHierarchy(dev()));
    expect(err.code).toBe('LOAD_FAILED');
    expect(err.issues).toEqual([
      expect.objectContaining({
        code: 'REFERENCE_DENIED',
        key: 'banner',
        source: `/${RUN}/acme/shop/prod/db/password`,
        message: expect.stringContaining(
          `ssm parameter /${RUN}/acme/shop/prod/db/password is in a sibling branch`,
        ),
      }),
    ]);
    expect(shown(err)).not.toContain('prod-CANARY');
    expect(shown(err)).not.toContain(CANARY.slice(0, 8));
    // only the listing calls: the prod parameter was never asked for by name
    expect(p.counts().calls['ssm:GetParameters'] ?? 0).toBe(0);
    r.close();
  });

  it('the allow-list lets a shared source through', async () => {
    const r = resolverFor(aws.motoEndpoint());
    const h = await r.loadHierarchy(dev(), {
      allowReferences: { ssm: [`/${RUN}/acme/shop/prod/db/password`] },
    });
    expect(h.entries.get('banner')?.value).toBe(`welcome prod-${CANARY}`);
    r.close();
  });

  it('binds references at every depth, and secrets named by the path convention', async () => {
    const r = resolverFor(aws.motoEndpoint());
    const err = await failure(r.loadHierarchy(dev('acme2')));
    const byKey = Object.fromEntries(err.issues.map((i) => [i.key, i]));
    expect(byKey['via-shared']).toMatchObject({
      code: 'REFERENCE_DENIED',
      source: `/${RUN}/acme2/shop/prod/x`,
    });
    expect(byKey['secret-in-prod']).toMatchObject({
      code: 'REFERENCE_DENIED',
      source: `${RUN}/acme2/shop/prod/db`,
    });
    expect(shown(err)).not.toContain(CANARY.slice(0, 8));
    r.close();
  });

  it('references given by the caller are not restricted (they are not hierarchy values)', async () => {
    const r = resolverFor(aws.motoEndpoint());
    const v = await r.resolveTemplate(`<<resolve:ssm:/${RUN}/acme/shop/prod/db/password>>`);
    expect(v.value).toBe(`prod-${CANARY}`);
    r.close();
  });
});

describe('parameter names that spell object internals', () => {
  it('fail the load naming the parameters; nothing reaches Object.prototype', async () => {
    const r = resolverFor(aws.motoEndpoint());
    const err = await failure(r.loadHierarchy({ levels: [`/${RUN}/acme4`, `/${RUN}/acme4/shop/dev`] }));
    expect(err.issues.map((i) => i.source).sort()).toEqual([
      `/${RUN}/acme4/shop/dev/__proto__/polluted`,
      `/${RUN}/acme4/shop/dev/constructor/prototype/polluted`,
    ]);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(shown(err)).not.toContain(CANARY.slice(0, 8));
    r.close();
  });
});
