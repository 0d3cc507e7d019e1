/**
 * KMS against moto: raw ciphertexts and Encryption SDK messages, contexts, large values,
 * ReEncrypt, interop with the Python Encryption SDK, throttling retries, the data-key cache, and
 * no plaintext or data key in logs.
 *
 * moto gap: moto's KMS is a simulation. Its ciphertext blobs are its own format (the key id in
 * ASCII, then AES-GCM output), not real KMS's (`AQICAH…`), so these tests never depend on the raw
 * blob layout: Strata tells the forms apart by the Encryption SDK header only.
 */
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import type { FaultProxy } from '@strata/test-env/fault-proxy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  AwsBackend,
  createKmsCrypto,
  type KmsBackend,
  type KmsCryptoOptions,
  kmsReference,
  type StrataError,
} from '../src/index.js';
import { aws, proxy, resolverFor } from './helpers.js';
import { ensurePythonEsdk, pythonEsdk } from './kms-python.js';

let p: FaultProxy;
let keyArn: string;
let key2Arn: string;

const awsOpts = (endpoint: string, extra: Record<string, unknown> = {}) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  retry: { retries: 8, baseMs: 5, capMs: 50 },
  ...extra,
});
const cryptoFor = (endpoint: string, opts: Omit<KmsCryptoOptions, 'aws'> = {}) =>
  createKmsCrypto({ aws: awsOpts(endpoint), ...opts });
const fail = (pr: Promise<unknown>) =>
  pr.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as StrataError,
  );

beforeAll(async () => {
  const kms = aws.kms();
  keyArn = (await kms.send(new CreateKeyCommand({ Description: 'strata kms test' }))).KeyMetadata!.Arn!;
  key2Arn = (await kms.send(new CreateKeyCommand({ Description: 'strata kms rotation' }))).KeyMetadata!.Arn!;
  p = await proxy();
});
afterAll(async () => p.stop());
beforeEach(() => p.reset());

describe('round trips against moto KMS', () => {
  it('raw and envelope, with and without context; the form is detected from the bytes', async () => {
    const k = cryptoFor(aws.motoEndpoint());
    for (const mode of ['raw', 'envelope'] as const) {
      for (const context of [undefined, { app: 'shop', env: 'dev' }]) {
        const value = `value-${mode}-${context ? 'ctx' : 'none'}`;
        const enc = await k.encrypt(value, { keyId: keyArn, mode, ...(context ? { context } : {}) });
        expect(enc.format).toBe(mode === 'raw' ? 'kms' : 'esdk');
        expect(k.detect(enc.ciphertext)).toBe(enc.format);
        expect(enc.keyId).toBe(keyArn);
        const out = await k.decrypt(enc.ciphertext, context ? { context } : {});
        expect(out.plaintext.toString()).toBe(value);
        expect(out.format).toBe(enc.format);
        // and through the resolver, as a <<resolve:kms:…>> reference
        const r = resolverFor(aws.motoEndpoint());
        expect((await r.resolveTemplate(kmsReference(enc.ciphertext, context))).value).toBe(value);
        r.close();
      }
    }
    k.close();
  });

  it('a wrong context fails with DECRYPT_FAILED and a clear message, for both forms, without the value', async () => {
    const k = cryptoFor(aws.motoEndpoint());
    const r = resolverFor(aws.motoEndpoint());
    for (const mode of ['raw', 'envelope'] as const) {
      const enc = await k.encrypt('never-print-me', { keyId: keyArn, mode, context: { app: 'shop' } });
      const err = await fail(r.resolveTemplate(kmsReference(enc.ciphertext, { app: 'pay' })));
      expect(err.code).toBe('DECRYPT_FAILED');
      expect(err.message).toMatch(
        mode === 'raw' ? /wrong encryption context/ : /encryption context does not match.*'app'/,
      );
      expect(err.message).not.toContain('never-print-me');
      // the envelope's context is checked by Strata before KMS: a missing key fails too
      if (mode === 'envelope') {
        const missing = await fail(k.decrypt(enc.ciphertext, { context: { team: 'x' } }));
        expect(missing.message).toContain("missing key(s) 'team'");
      }
    }
    r.close();
    k.close();
  });

  it('5 KB and 1 MB values (envelope; auto picks it above 4 KB)', async () => {
    const k = cryptoFor(aws.motoEndpoint());
    const r = resolverFor(aws.motoEndpoint());
    for (const size of [5 * 1024, 1024 * 1024]) {
      const value = Buffer.alloc(size, 'abcdefghijklmnopqrstuvwxyz0123456789').toString();
      const enc = await k.encrypt(value, { keyId: keyArn, context: { size: String(size) } });
      expect(enc.format).toBe('esdk');
      expect(
        (await k.decrypt(enc.ciphertext, { context: { size: String(size) } })).plaintext.toString(),
      ).toBe(value);
      expect((await r.resolveTemplate(kmsReference(enc.ciphertext, { size: String(size) }))).value).toBe(
        value,
      );
    }
    const raw = await fail(k.encrypt('x'.repeat(5 * 1024), { keyId: keyArn, mode: 'raw' }));
    expect(raw.code).toBe('VALIDATION');
    expect(raw.message).toContain('4096');
    r.close();
    k.close();
  });

  it('ReEncrypt to a new key, then decrypt (raw: KMS ReEncrypt; envelope: re-wrapped)', async () => {
    const k = cryptoFor(p.endpoint);
    const raw = await k.encrypt('rotate-me', { keyId: keyArn, context: { app: 'shop' } });
    const raw2 = await k.reencrypt(raw.ciphertext, { toKeyId: key2Arn, context: { app: 'shop' } });
    expect(raw2).toMatchObject({ format: 'kms', keyId: key2Arn });
    expect(p.counts().calls['kms:ReEncrypt']).toBe(1);
    const out = await k.decrypt(raw2.ciphertext, { context: { app: 'shop' } });
    expect(out.plaintext.toString()).toBe('rotate-me');
    expect(out.keyId).toBe(key2Arn);

    const env = await k.encrypt('e'.repeat(6000), { keyId: keyArn, context: { app: 'shop' } });
    const env2 = await k.reencrypt(env.ciphertext, { toKeyId: key2Arn });
    expect(env2).toMatchObject({ format: 'esdk', keyId: key2Arn });
    const out2 = await k.decrypt(env2.ciphertext, { context: { app: 'shop' } });
    expect(out2.plaintext.toString()).toBe('e'.repeat(6000));
    expect(out2.keyId).toBe(key2Arn);
    // the new message is only readable with the new key (strict decrypt to the old key fails)
    const oldOnly = cryptoFor(aws.motoEndpoint(), { decryptKeyIds: [keyArn] });
    expect((await fail(oldOnly.decrypt(env2.ciphertext))).code).toBe('DECRYPT_FAILED');
    k.close();
    oldOnly.close();
  });

  it('GenerateRandom', async () => {
    const k = cryptoFor(aws.motoEndpoint());
    const a = await k.random(32);
    const b = await k.random(32);
    expect(a.byteLength).toBe(32);
    expect(Buffer.from(a).equals(Buffer.from(b))).toBe(false);
    k.close();
  });
});

describe('interop with the Python AWS Encryption SDK (same moto)', () => {
  let python: string;
  beforeAll(() => {
    python = ensurePythonEsdk((m) => console.log(`[kms interop] ${m}`));
  }, 300_000);

  it('Strata encrypts, Python decrypts', async () => {
    const k = cryptoFor(aws.motoEndpoint());
    const value = `from-strata-${'s'.repeat(5000)}`;
    const enc = await k.encrypt(value, { keyId: keyArn, mode: 'envelope', context: { app: 'shop' } });
    const plain = await pythonEsdk(python, 'decrypt', {
      keyArn,
      context: { app: 'shop' },
      input: enc.ciphertext,
      kmsEndpoint: aws.motoEndpoint(),
    });
    expect(plain.toString()).toBe(value);
    // and the Python side checks the context too
    await expect(
      pythonEsdk(python, 'decrypt', {
        keyArn,
        context: { app: 'x' },
        input: enc.ciphertext,
        kmsEndpoint: aws.motoEndpoint(),
      }),
    ).rejects.toThrow(/context mismatch/);
    k.close();
  });

  it('Python encrypts, Strata decrypts (resolver and KmsCrypto)', async () => {
    const value = `from-python-${'p'.repeat(5000)}`;
    const b64 = (
      await pythonEsdk(python, 'encrypt', {
        keyArn,
        context: { app: 'shop', env: 'prod' },
        input: value,
        kmsEndpoint: aws.motoEndpoint(),
      })
    ).toString();
    const k = cryptoFor(aws.motoEndpoint());
    expect(k.detect(b64)).toBe('esdk');
    const out = await k.decrypt(b64, { context: { env: 'prod' } });
    expect(out.plaintext.toString()).toBe(value);
    expect(out.context).toMatchObject({ app: 'shop', env: 'prod' });
    const r = resolverFor(aws.motoEndpoint());
    expect((await r.resolveTemplate(kmsReference(b64, { app: 'shop' }))).value).toBe(value);
    expect((await fail(r.resolveTemplate(kmsReference(b64, { app: 'pay' })))).code).toBe('DECRYPT_FAILED');
    r.close();
    k.close();
  });
});

describe('throttling, the data-key cache, and secrecy', () => {
  it('ThrottlingException on GenerateDataKey and Decrypt is retried (full jitter) through the Strata backend', async () => {
    p.configure({
      rules: [{ fault: 'throttle', ops: ['GenerateDataKey', 'Decrypt', 'Encrypt'], rate: 0.5 }],
    });
    // many retries, tiny delays: 50% throttling must not fail the test by chance (0.5^21 per call)
    const backend = new AwsBackend(awsOpts(p.endpoint, { retry: { retries: 20, baseMs: 1, capMs: 20 } }));
    const k = createKmsCrypto({ backend, cache: false });
    const msgs = [];
    for (let i = 0; i < 20; i++) msgs.push(await k.encrypt(`t-${i}`, { keyId: keyArn, mode: 'envelope' }));
    for (let i = 0; i < 5; i++) msgs.push(await k.encrypt(`t-raw-${i}`, { keyId: keyArn, mode: 'raw' }));
    const plain = [];
    for (const m of msgs) plain.push((await k.decrypt(m.ciphertext)).plaintext.toString());
    expect(plain.slice(0, 2)).toEqual(['t-0', 't-1']);
    expect(plain.at(-1)).toBe('t-raw-4');
    const counts = p.counts();
    expect(counts.faults.throttle).toBeGreaterThan(0);
    expect(counts.calls['kms:GenerateDataKey']).toBeGreaterThan(20); // 20 messages + retries
    const stats = backend.stats.snapshot();
    expect(stats.throttles).toBe(counts.faults.throttle);
    expect(stats.calls['kms:GenerateDataKey']).toBe(counts.calls['kms:GenerateDataKey']);
    await backend.close();
  });

  it('out of retries, an envelope decrypt reports THROTTLED (not a generic failure)', async () => {
    const k = cryptoFor(aws.motoEndpoint());
    const enc = await k.encrypt('x', { keyId: keyArn, mode: 'envelope' });
    p.configure({ rules: [{ fault: 'throttle', ops: ['Decrypt'] }] });
    const throttled = createKmsCrypto({
      aws: awsOpts(p.endpoint, { retry: { retries: 2, baseMs: 1, capMs: 2 } }),
    });
    const err = await fail(throttled.decrypt(enc.ciphertext));
    expect(err.code).toBe('THROTTLED');
    // retries: 2, and a throttled attempt spends half a retry: 1 + 4 attempts
    expect(p.counts().calls['kms:Decrypt']).toBe(5);
    throttled.close();
    k.close();
  });

  it('the cache: 300 envelope encryptions (20 at a time) cost one GenerateDataKey; decrypting them one Decrypt', async () => {
    const k = cryptoFor(p.endpoint);
    const msgs: string[] = [];
    for (let batch = 0; batch < 15; batch++) {
      const out = await Promise.all(
        Array.from({ length: 20 }, (_, i) =>
          k.encrypt(`m-${batch}-${i}`, { keyId: keyArn, mode: 'envelope', context: { app: 'shop' } }),
        ),
      );
      msgs.push(...out.map((o) => o.ciphertext));
    }
    expect(p.counts().calls['kms:GenerateDataKey']).toBe(1);
    const reader = cryptoFor(p.endpoint);
    const plain = await Promise.all(msgs.map((m) => reader.decrypt(m, { context: { app: 'shop' } })));
    expect(plain[299]?.plaintext.toString()).toBe('m-14-19');
    expect(p.counts().calls['kms:Decrypt']).toBe(1);
    k.close();
    reader.close();
  });

  it('no plaintext or data key reaches stdout, stderr, console or error messages', async () => {
    const dataKeys: Buffer[] = [];
    const backend = new AwsBackend(awsOpts(p.endpoint));
    const kms = backend.kms;
    // records the data keys KMS hands out, to look for them afterwards
    const recording: KmsBackend = {
      region: kms.region,
      decrypt: (c, ctx) => kms.decrypt(c, ctx),
      decryptWithKey: async (i) => {
        const o = await kms.decryptWithKey!(i);
        dataKeys.push(Buffer.from(o.plaintext));
        return o;
      },
      encrypt: (i) => kms.encrypt!(i),
      reEncrypt: (i) => kms.reEncrypt!(i),
      generateRandom: (n) => kms.generateRandom!(n),
      generateDataKey: async (i) => {
        const o = await kms.generateDataKey!(i);
        dataKeys.push(Buffer.from(o.plaintext));
        return o;
      },
    };
    const written: string[] = [];
    const spies = [process.stdout, process.stderr].map((stream) => {
      const orig = stream.write.bind(stream);
      stream.write = ((chunk: unknown, ...rest: unknown[]) => {
        written.push(String(chunk));
        return (orig as (...a: unknown[]) => boolean)(chunk, ...rest);
      }) as typeof stream.write;
      return () => {
        stream.write = orig;
      };
    });
    const errors: string[] = [];
    const SECRET = 'S3cr3t-Plaintext-Value-0042';
    try {
      p.configure({ rules: [{ fault: 'throttle', ops: ['GenerateDataKey'], rate: 0.3 }] });
      const k = createKmsCrypto({ backend: recording, cache: false });
      const enc = await k.encrypt(SECRET.repeat(300), { keyId: keyArn, context: { app: 'shop' } });
      await k.decrypt(enc.ciphertext, { context: { app: 'shop' } });
      errors.push((await fail(k.decrypt(enc.ciphertext, { context: { app: 'x' } }))).message);
      const broken = Buffer.from(enc.ciphertext, 'base64');
      broken[broken.length - 300]! ^= 1;
      const e2 = await fail(k.decrypt(broken.toString('base64')));
      errors.push(e2.message, String(e2.stack), JSON.stringify(e2));
      const r = resolverFor(p.endpoint);
      errors.push((await fail(r.resolveMap({ a: kmsReference(enc.ciphertext, { app: 'no' }) }))).message);
      r.close();
    } finally {
      for (const restore of spies) restore();
      await backend.close();
    }
    expect(dataKeys.length).toBeGreaterThanOrEqual(2);
    const haystack = [...written, ...errors].join('\n');
    expect(haystack).not.toContain(SECRET);
    for (const dk of dataKeys) {
      for (const form of [dk.toString('base64'), dk.toString('hex'), dk.toString('latin1')]) {
        expect(haystack).not.toContain(form);
      }
    }
  });
});
