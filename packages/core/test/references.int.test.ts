import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { LabelParameterVersionCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import type { FaultProxy } from '@strata/test-env/fault-proxy';
import { resetMoto } from '@strata/test-env/moto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { StrataError } from '../src/index.js';
import { aws, proxy, putParams, resolverFor } from './helpers.js';

let p: FaultProxy;
let keyId: string;
let ciphertext: string;
let dbArn: string;
let firstVersionId: string;

beforeAll(async () => {
  await resetMoto(aws.motoEndpoint());
  const ssm = aws.ssm();
  await putParams({
    '/ref/plain': 'plain-value',
    '/ref/secure': { value: 'secure-value', type: 'SecureString' },
    '/ref/nested': 'host=<<resolve:ssm:/ref/plain>>',
    '/ref/deeper': 'x-<<resolve:ssm:/ref/nested>>',
    '/ref/cycle-a': '<<resolve:ssm:/ref/cycle-b>>',
    '/ref/cycle-b': '<<resolve:ssm:/ref/cycle-a>>',
    '/ref/self': 'me=<<resolve:ssm:/ref/self>>',
    '/ref/d1': '<<resolve:ssm:/ref/d2>>',
    '/ref/d2': '<<resolve:ssm:/ref/d3>>',
    '/ref/d3': '<<resolve:ssm:/ref/d4>>',
    '/ref/d4': 'bottom',
  });
  await ssm.send(new PutParameterCommand({ Name: '/ref/versioned', Value: 'v1', Type: 'String' }));
  await ssm.send(
    new PutParameterCommand({ Name: '/ref/versioned', Value: 'v2', Type: 'String', Overwrite: true }),
  );
  await ssm.send(
    new LabelParameterVersionCommand({ Name: '/ref/versioned', ParameterVersion: 1, Labels: ['stable'] }),
  );
  for (let i = 0; i < 25; i++) {
    await ssm.send(new PutParameterCommand({ Name: `/ref/many/p${i}`, Value: `value-${i}`, Type: 'String' }));
  }
  const sm = aws.secrets();
  const db = await sm.send(
    new CreateSecretCommand({
      Name: 'prod/db',
      SecretString: JSON.stringify({ username: 'app', password: 'pw-1', port: 5432, nested: { a: 'deep' } }),
    }),
  );
  dbArn = db.ARN!;
  firstVersionId = db.VersionId!;
  await sm.send(
    new PutSecretValueCommand({
      SecretId: 'prod/db',
      SecretString: JSON.stringify({ username: 'app', password: 'pw-2', port: 5432 }),
    }),
  );
  await sm.send(new CreateSecretCommand({ Name: 'plain-token', SecretString: 'tok-123' }));
  await sm.send(new CreateSecretCommand({ Name: 'binary-blob', SecretBinary: Buffer.from([1, 2, 3, 250]) }));
  await sm.send(new CreateSecretCommand({ Name: 'not-json', SecretString: 'just text' }));
  const kms = aws.kms();
  keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.KeyId!;
  const enc = await kms.send(
    new EncryptCommand({
      KeyId: keyId,
      Plaintext: Buffer.from('kms-plain'),
      EncryptionContext: { app: 'shop', env: 'dev' },
    }),
  );
  ciphertext = Buffer.from(enc.CiphertextBlob!).toString('base64');
  p = await proxy();
});
afterAll(async () => p.stop());

const r = () => resolverFor(aws.motoEndpoint());

describe('every reference form resolves against moto', () => {
  it('ssm: latest, version number, label', async () => {
    const res = r();
    expect((await res.resolveTemplate('<<resolve:ssm:/ref/plain>>')).value).toBe('plain-value');
    expect((await res.resolveTemplate('<<resolve:ssm:/ref/versioned>>')).value).toBe('v2');
    expect((await res.resolveTemplate('<<resolve:ssm:/ref/versioned:1>>')).value).toBe('v1');
    expect((await res.resolveTemplate('<<resolve:ssm:/ref/versioned:stable>>')).value).toBe('v1');
  });

  it('ssm by ARN', async () => {
    const out = await r().resolveTemplate(
      '<<resolve:ssm:arn:aws:ssm:us-east-1:123456789012:parameter/ref/plain>>',
    );
    expect(out.value).toBe('plain-value');
  });

  it('ssm-secure requires a SecureString and marks the value secret', async () => {
    const ok = await r().resolveTemplate('<<resolve:ssm-secure:/ref/secure>>');
    expect(ok).toMatchObject({ value: 'secure-value', secret: true });
    const err = await r()
      .resolveTemplate('<<resolve:ssm-secure:/ref/plain>>')
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(StrataError);
    expect((err as StrataError).code).toBe('TYPE_MISMATCH');
    expect((err as StrataError).message).toContain('/ref/plain');
  });

  it('/aws/reference/secretsmanager/ID goes through SSM', async () => {
    const out = await r().resolveTemplate('<<resolve:ssm:/aws/reference/secretsmanager/plain-token>>');
    expect(out).toMatchObject({ value: 'tok-123', secret: true });
  });

  it('secretsmanager: whole secret, JSON key, nested key, stage, version id, ARN, binary', async () => {
    const res = r();
    expect((await res.resolveTemplate('<<resolve:secretsmanager:plain-token>>')).value).toBe('tok-123');
    expect(
      (await res.resolveTemplate('<<resolve:secretsmanager:prod/db:SecretString:password>>')).value,
    ).toBe('pw-2');
    expect((await res.resolveTemplate('<<resolve:secretsmanager:prod/db:SecretString:port>>')).value).toBe(
      '5432',
    );
    expect(
      (await res.resolveTemplate(`<<resolve:secretsmanager:${dbArn}:SecretString:password>>`)).value,
    ).toBe('pw-2');
    expect(
      (await res.resolveTemplate('<<resolve:secretsmanager:prod/db:SecretString:password:AWSPREVIOUS>>'))
        .value,
    ).toBe('pw-1');
    expect(
      (
        await res.resolveTemplate(
          `<<resolve:secretsmanager:prod/db:SecretString:nested.a::${firstVersionId}>>`,
        )
      ).value,
    ).toBe('deep');
    expect((await res.resolveTemplate('<<resolve:secretsmanager:binary-blob>>')).value).toBe(
      Buffer.from([1, 2, 3, 250]).toString('base64'),
    );
  });

  it('kms: decrypts with the encryption context; a wrong context fails clearly', async () => {
    const ctx = `app=shop,env=dev`;
    expect((await r().resolveTemplate(`<<resolve:kms:${ciphertext}:${ctx}>>`)).value).toBe('kms-plain');
    const err = (await r()
      .resolveTemplate(`<<resolve:kms:${ciphertext}:app=other>>`)
      .catch((e: unknown) => e)) as StrataError;
    expect(err.code).toBe('DECRYPT_FAILED');
  });

  it('references embedded in a string, several at once', async () => {
    const out = await r().resolveTemplate(
      'postgres://<<resolve:secretsmanager:prod/db:SecretString:username>>:<<resolve:secretsmanager:prod/db:SecretString:password>>@db/<<resolve:ssm:/ref/plain>>',
    );
    expect(out.value).toBe('postgres://app:pw-2@db/plain-value');
    expect(out.secret).toBe(true);
  });

  it('recurses through values that contain references', async () => {
    expect((await r().resolveTemplate('<<resolve:ssm:/ref/deeper>>')).value).toBe('x-host=plain-value');
  });

  it('names the chain on a cycle', async () => {
    const err = (await r()
      .resolveTemplate('<<resolve:ssm:/ref/cycle-a>>')
      .catch((e: unknown) => e)) as StrataError;
    expect(err.code).toBe('CYCLE');
    expect(err.message).toContain('/ref/cycle-a');
    expect(err.message).toContain('/ref/cycle-b');
    const self = (await r()
      .resolveTemplate('<<resolve:ssm:/ref/self>>')
      .catch((e: unknown) => e)) as StrataError;
    expect(self.code).toBe('CYCLE');
  });

  it('stops at the depth limit and names the chain', async () => {
    expect((await r().resolveTemplate('<<resolve:ssm:/ref/d1>>')).value).toBe('bottom');
    const shallow = resolverFor(aws.motoEndpoint(), { maxDepth: 2 });
    const err = (await shallow
      .resolveTemplate('<<resolve:ssm:/ref/d1>>')
      .catch((e: unknown) => e)) as StrataError;
    expect(err.code).toBe('DEPTH_EXCEEDED');
    expect(err.message).toContain('/ref/d1');
    expect(err.message).toContain('/ref/d3');
  });

  it('fails with every problem at once, naming keys and sources, never values', async () => {
    const err = (await r()
      .resolveMap({
        ok: '<<resolve:ssm:/ref/plain>>',
        missing: '<<resolve:ssm:/ref/nope>>',
        badKey: '<<resolve:secretsmanager:prod/db:SecretString:nokey>>',
        notJson: '<<resolve:secretsmanager:not-json:SecretString:k>>',
        malformed: '<<resolve:ssm:>>',
      })
      .catch((e: unknown) => e)) as StrataError;
    expect(err.code).toBe('LOAD_FAILED');
    expect(err.issues.map((i) => i.key).sort()).toEqual(['badKey', 'malformed', 'missing', 'notJson']);
    expect(err.issues.find((i) => i.key === 'missing')?.code).toBe('NOT_FOUND');
    expect(err.issues.find((i) => i.key === 'malformed')?.code).toBe('PARSE_ERROR');
    expect(err.message).toContain('/ref/nope');
    for (const secret of ['pw-1', 'pw-2', 'just text', 'plain-value'])
      expect(err.message).not.toContain(secret);
  });

  it('batches one depth level: 25 references, 3 GetParameters calls', async () => {
    p.reset();
    const res = resolverFor(p.endpoint);
    const inputs = Object.fromEntries(
      Array.from({ length: 25 }, (_, i) => [`k${i}`, `<<resolve:ssm:/ref/many/p${i}>>`]),
    );
    const out = await res.resolveMap(inputs);
    expect(out.k24?.value).toBe('value-24');
    expect(p.counts().calls).toEqual({ 'ssm:GetParameters': 3 });
  });

  it('single-flight: 50 concurrent reads of one secret make one call; later reads hit the cache', async () => {
    p.reset();
    p.configure({ latencyMs: 30 });
    const res = resolverFor(p.endpoint);
    const outs = await Promise.all(
      Array.from({ length: 50 }, () =>
        res.resolveTemplate('<<resolve:secretsmanager:prod/db:SecretString:password>>'),
      ),
    );
    expect(new Set(outs.map((o) => o.value))).toEqual(new Set(['pw-2']));
    await res.resolveTemplate('<<resolve:secretsmanager:prod/db:SecretString:username>>');
    expect(p.counts().calls).toEqual({ 'secretsmanager:BatchGetSecretValue': 1 });
    expect(res.statsSnapshot().cache.hits).toBeGreaterThanOrEqual(1);
  });
});
