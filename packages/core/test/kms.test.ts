/**
 * KMS without a network: ciphertext detection, context checks, and the envelope machinery
 * (Encryption SDK + caching materials manager) over the local backend, whose "KMS" is not
 * encryption but counts calls like AWS would.
 */
import { describe, expect, it } from 'vitest';
import {
  createKmsCrypto,
  createResolver,
  decodeCiphertext,
  detectFormat,
  type KmsBackend,
  kmsReference,
  LocalBackend,
  type StrataError,
} from '../src/index.js';
import { contextMismatch, DEFAULT_KMS_CACHE, esdkHeader } from '../src/kms/index.js';

const local = () => new LocalBackend({ parameters: new Map(), secrets: new Map() });
const calls = (b: LocalBackend, op: string) => b.stats.snapshot().calls[`local:${op}`] ?? 0;
const fail = (p: Promise<unknown>) =>
  p.then(
    () => {
      throw new Error('expected a failure');
    },
    (e: unknown) => e as StrataError,
  );

describe('ciphertext detection', () => {
  const v2 = (suite: number) => new Uint8Array([0x02, suite >> 8, suite & 0xff, ...new Array(40).fill(7)]);
  const v1 = (suite: number) =>
    new Uint8Array([0x01, 0x80, suite >> 8, suite & 0xff, ...new Array(30).fill(7)]);

  it('recognises Encryption SDK messages by version, type and suite', () => {
    expect(esdkHeader(v2(0x0578))).toEqual({ version: 2, suiteId: 0x0578, committing: true });
    expect(esdkHeader(v2(0x0478))?.committing).toBe(true);
    expect(esdkHeader(v1(0x0378))).toEqual({ version: 1, suiteId: 0x0378, committing: false });
    expect(detectFormat(v1(0x0014))).toBe('esdk');
    // base64 prefixes users see
    expect(Buffer.from(v2(0x0578)).toString('base64').startsWith('AgV4')).toBe(true);
    expect(Buffer.from(v1(0x0014)).toString('base64').startsWith('AYAA')).toBe(true);
    expect(Buffer.from(v1(0x0378)).toString('base64').startsWith('AYAD')).toBe(true);
  });

  it('takes everything else as a raw KMS blob', () => {
    // real KMS symmetric blob header (AQICAH…)
    expect(
      detectFormat(decodeCiphertext('AQICAHhY2Xj0mD5Sx3vHZ4f0+AAAAH4wfAYJKoZIhvcNAQcGoG8wbQIBADBo')),
    ).toBe('kms');
    // moto's blobs start with the key id in ASCII
    expect(detectFormat(Buffer.from('4d2a7f6e-5c1b-4a0e-9f3d-8b7c6a5e4d3c and then bytes'))).toBe('kms');
    expect(detectFormat(v2(0x0999))).toBe('kms'); // unknown suite
    expect(detectFormat(new Uint8Array([0x02, 0x05, 0x78]))).toBe('kms'); // too short
    expect(detectFormat(new Uint8Array([0x01, 0x80, 0x03, 0x78]))).toBe('kms'); // too short
  });

  it('decodes base64 and base64url, and rejects anything else without echoing it', () => {
    expect(Buffer.from(decodeCiphertext('-_8=')).toString('hex')).toBe(
      Buffer.from('+/8=', 'base64').toString('hex'),
    );
    const err = (() => {
      try {
        decodeCiphertext('not base64!');
      } catch (e) {
        return e as StrataError;
      }
    })();
    expect(err?.code).toBe('INVALID_INPUT');
    expect(err?.message).not.toContain('not base64!');
  });

  it('context: every requested key/value must be present; extra keys are fine; values never printed', () => {
    const actual = { app: 'shop', env: 'prod', 'aws-crypto-public-key': 'X' };
    expect(contextMismatch(actual, { app: 'shop' })).toBeUndefined();
    expect(contextMismatch(actual, undefined)).toBeUndefined();
    const m = contextMismatch(actual, { app: 'other-value', team: 'pay' });
    expect(m).toContain("'app'");
    expect(m).toContain("'team'");
    expect(m).not.toContain('other-value');
    expect(m).not.toContain('shop');
  });
});

describe('KmsCrypto over the local backend', () => {
  it('auto: raw KMS Encrypt up to 4,096 bytes, envelope above; both decrypt', async () => {
    const b = local();
    const k = createKmsCrypto({ backend: b });
    const small = await k.encrypt('s'.repeat(4096), { keyId: 'k1' });
    expect(small.format).toBe('kms');
    const big = await k.encrypt('b'.repeat(4097), { keyId: 'k1', context: { app: 'shop' } });
    expect(big.format).toBe('esdk');
    expect(big.ciphertext.startsWith('AgV4')).toBe(true);
    expect(k.detect(big.ciphertext)).toBe('esdk');
    expect((await k.decrypt(small.ciphertext)).plaintext.toString()).toBe('s'.repeat(4096));
    const out = await k.decrypt(big.ciphertext, { context: { app: 'shop' } });
    expect(out.plaintext.toString()).toBe('b'.repeat(4097));
    expect(out.context.app).toBe('shop');
    expect(out.keyId).toContain('k1');
  });

  it('raw refuses more than 4,096 bytes; bad options are INVALID_INPUT', async () => {
    const k = createKmsCrypto({ backend: local() });
    expect((await fail(k.encrypt('x'.repeat(4097), { keyId: 'k', mode: 'raw' }))).code).toBe('VALIDATION');
    expect((await fail(k.encrypt('x', { keyId: '' }))).code).toBe('INVALID_INPUT');
    expect((await fail(k.random(0))).code).toBe('INVALID_INPUT');
    expect((await fail(k.random(1025))).code).toBe('INVALID_INPUT');
    expect((await k.random(1024)).byteLength).toBe(1024);
    const badKey = await fail(k.encrypt('x'.repeat(5000), { keyId: 'arn:aws:kms:nope' }));
    expect(badKey.code).toBe('INVALID_INPUT');
    expect(badKey.message).toContain('not a valid KMS key');
    const reserved = await fail(
      k.encrypt('x', { keyId: 'k', mode: 'envelope', context: { 'aws-crypto-x': '1' } }),
    );
    expect(reserved.code).toBe('INVALID_INPUT');
  });

  it('a wrong context fails before any KMS call, and never shows the plaintext', async () => {
    const b = local();
    const k = createKmsCrypto({ backend: b });
    const enc = await k.encrypt('top-secret-value', {
      keyId: 'k',
      mode: 'envelope',
      context: { app: 'shop' },
    });
    const fresh = createKmsCrypto({ backend: b });
    const before = calls(b, 'Decrypt');
    const err = await fail(fresh.decrypt(enc.ciphertext, { context: { app: 'other' } }));
    expect(err.code).toBe('DECRYPT_FAILED');
    expect(err.message).toMatch(/encryption context does not match: different value for key\(s\) 'app'/);
    expect(err.message).not.toContain('top-secret-value');
    expect(calls(b, 'Decrypt')).toBe(before);
    const missing = await fail(fresh.decrypt(enc.ciphertext, { context: { team: 'x' } }));
    expect(missing.message).toContain("missing key(s) 'team'");
  });

  it('the cache: one GenerateDataKey for many messages, also when they start concurrently', async () => {
    const b = local();
    const k = createKmsCrypto({ backend: b });
    await Promise.all(
      Array.from({ length: 50 }, (_, i) =>
        k.encrypt(`m${i}`, { keyId: 'k', mode: 'envelope', context: { a: '1' } }),
      ),
    );
    expect(calls(b, 'GenerateDataKey')).toBe(1);
    await k.encrypt('other context', { keyId: 'k', mode: 'envelope', context: { a: '2' } });
    expect(calls(b, 'GenerateDataKey')).toBe(2); // one data key per encryption context
    await k.encrypt('other key', { keyId: 'k2', mode: 'envelope', context: { a: '1' } });
    expect(calls(b, 'GenerateDataKey')).toBe(3);
  });

  it('maxMessagesEncrypted bounds how many messages one data key encrypts', async () => {
    const b = local();
    const k = createKmsCrypto({ backend: b, cache: { maxMessagesEncrypted: 10 } });
    for (let i = 0; i < 35; i++) await k.encrypt('x', { keyId: 'k', mode: 'envelope' });
    expect(calls(b, 'GenerateDataKey')).toBe(4);
    expect(k.cacheLimits).toEqual({ ...DEFAULT_KMS_CACHE, maxMessagesEncrypted: 10 });
  });

  it('without a cache, every message has its own data key', async () => {
    const b = local();
    const k = createKmsCrypto({ backend: b, cache: false });
    for (let i = 0; i < 5; i++) await k.encrypt('x', { keyId: 'k', mode: 'envelope' });
    expect(calls(b, 'GenerateDataKey')).toBe(5);
  });

  it('messages sharing a cached data key decrypt with one KMS Decrypt (a sealed file loads with one call)', async () => {
    const b = local();
    const enc = createKmsCrypto({ backend: b });
    const msgs = await Promise.all(
      Array.from({ length: 20 }, (_, i) => enc.encrypt(`secret-${i}`, { keyId: 'k', mode: 'envelope' })),
    );
    const dec = createKmsCrypto({ backend: b });
    const before = calls(b, 'Decrypt');
    const out = await Promise.all(msgs.map((m) => dec.decrypt(m.ciphertext)));
    expect(out.map((o) => o.plaintext.toString())).toEqual(msgs.map((_, i) => `secret-${i}`));
    expect(calls(b, 'Decrypt') - before).toBe(1);
  });

  it('compress: gzip when smaller, marked in the context, transparent on decrypt', async () => {
    const k = createKmsCrypto({ backend: local() });
    const value = JSON.stringify({ cert: 'A'.repeat(20_000) });
    const enc = await k.encrypt(value, { keyId: 'k', compress: true, context: { parameter: '/p' } });
    expect(enc.format).toBe('esdk');
    expect(enc.ciphertext.length).toBeLessThan(2_000);
    const out = await k.decrypt(enc.ciphertext, { context: { parameter: '/p' } });
    expect(out.plaintext.toString()).toBe(value);
    expect(out.context['strata:content-encoding']).toBe('gzip');
  });

  it('reencrypt: raw through ReEncrypt, envelope re-wrapped under the new key with its context', async () => {
    const b = local();
    const k = createKmsCrypto({ backend: b });
    const raw = await k.encrypt('r', { keyId: 'old', context: { a: '1' } });
    const raw2 = await k.reencrypt(raw.ciphertext, { toKeyId: 'new', context: { a: '1' } });
    expect(raw2.format).toBe('kms');
    expect(calls(b, 'ReEncrypt')).toBe(1);
    const env = await k.encrypt('e'.repeat(5000), { keyId: 'old', context: { a: '1' } });
    const env2 = await k.reencrypt(env.ciphertext, { toKeyId: 'new' });
    expect(env2.format).toBe('esdk');
    expect(env2.keyId).toContain('key/new');
    const out = await k.decrypt(env2.ciphertext, { context: { a: '1' } });
    expect(out.plaintext.toString()).toBe('e'.repeat(5000));
    expect(out.keyId).toContain('key/new');
  });

  it('signing: false uses the committing suite without a signature (0x0478, AgR4…)', async () => {
    const b = local();
    const k = createKmsCrypto({ backend: b, signing: false });
    const enc = await k.encrypt('unsigned', { keyId: 'k', mode: 'envelope', context: { a: '1' } });
    expect(enc.ciphertext.startsWith('AgR4')).toBe(true);
    const out = await createKmsCrypto({ backend: b }).decrypt(enc.ciphertext, { context: { a: '1' } });
    expect(out.plaintext.toString()).toBe('unsigned');
    expect(out.context['aws-crypto-public-key']).toBeUndefined();
  });

  it('refuses version 1 (non-committing) messages with a clear error', async () => {
    const k = createKmsCrypto({ backend: local() });
    const v1 = Buffer.from([0x01, 0x80, 0x03, 0x78, ...new Array(60).fill(1)]).toString('base64');
    const err = await fail(k.decrypt(v1));
    expect(err.code).toBe('DECRYPT_FAILED');
    expect(err.message).toContain('REQUIRE_ENCRYPT_REQUIRE_DECRYPT');
  });

  it('a corrupt message fails as DECRYPT_FAILED', async () => {
    const k = createKmsCrypto({ backend: local() });
    const enc = await k.encrypt('v'.repeat(5000), { keyId: 'k' });
    const bytes = Buffer.from(enc.ciphertext, 'base64');
    bytes[bytes.length - 200]! ^= 0xff;
    expect((await fail(k.decrypt(bytes.toString('base64')))).code).toBe('DECRYPT_FAILED');
  });

  it('a backend without the optional KMS operations says what is missing', async () => {
    const minimal: KmsBackend = { region: 'r', decrypt: async (c) => c };
    const k = createKmsCrypto({ backend: minimal });
    const err = await fail(k.encrypt('x', { keyId: 'k' }));
    expect(err.message).toContain('Encrypt');
  });
});

describe('resolver: kms references in both forms', () => {
  it('resolves an Encryption SDK message and a raw ciphertext, with and without context', async () => {
    const b = local();
    const k = createKmsCrypto({ backend: b });
    const big = 'z'.repeat(6000);
    const env = await k.encrypt(big, { keyId: 'k', context: { app: 'shop', env: 'dev' } });
    const raw = await k.encrypt('small', { keyId: 'k' });
    const r = createResolver({ backend: b });
    expect((await r.resolveTemplate(kmsReference(env.ciphertext, { app: 'shop' }))).value).toBe(big);
    expect((await r.resolveTemplate(kmsReference(env.ciphertext))).value).toBe(big);
    const res = await r.resolveTemplate(`a=${kmsReference(raw.ciphertext)};`);
    expect(res).toMatchObject({ value: 'a=small;', secret: true });
    const err = await fail(r.resolveTemplate(kmsReference(env.ciphertext, { app: 'pay' })));
    expect(err.code).toBe('DECRYPT_FAILED');
    expect(err.message).not.toContain('zzz');
  });

  it('kmsReference drops the Encryption SDK keys and percent-encodes the context', () => {
    expect(
      kmsReference('AAAA', { 'aws-crypto-public-key': 'x', 'strata:content-encoding': 'gzip', k: 'a,b' }),
    ).toBe('<<resolve:kms:AAAA:k=a%2Cb>>');
    expect(kmsReference('AAAA')).toBe('<<resolve:kms:AAAA>>');
  });
});
