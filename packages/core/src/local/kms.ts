/**
 * The local backend's KMS: NOT encryption. A "ciphertext" is `strata-local:` + the plaintext, so
 * `<<resolve:kms:…>>` examples and tests run offline. Encrypt, GenerateDataKey (a random data key
 * "wrapped" the same way), ReEncrypt and GenerateRandom are answered too, so `createKmsCrypto` and
 * `strata encrypt`/`seal` work offline: Encryption SDK messages made against it are real AES-GCM,
 * but their data key is readable by anyone.
 */
import { randomBytes } from 'node:crypto';
import type { KmsBackend } from '../backend.js';
import { StrataError } from '../errors.js';
import type { Stats } from '../stats.js';

const LOCAL_KMS_PREFIX = 'strata-local:';

/** Base64 "ciphertext" for the local backend's kms references (not encryption). */
export function localKmsCiphertext(plaintext: string): string {
  return Buffer.from(LOCAL_KMS_PREFIX + plaintext, 'utf8').toString('base64');
}

/** The local KMS for a region; every call is counted in `stats` as `local:<Operation>`. */
export function localKms(region: string, stats: Stats): KmsBackend {
  const localKeyArn = (keyId?: string) =>
    keyId?.startsWith('arn:') ? keyId : `arn:aws:kms:${region}:000000000000:key/${keyId ?? 'local'}`;
  const prefix = Buffer.from(LOCAL_KMS_PREFIX, 'utf8');
  const wrap = (plaintext: Uint8Array) => new Uint8Array(Buffer.concat([prefix, plaintext]));
  const unwrap = (ciphertext: Uint8Array): Uint8Array => {
    const buf = Buffer.from(ciphertext);
    if (buf.length < prefix.length || !buf.subarray(0, prefix.length).equals(prefix)) {
      throw new StrataError(
        'DECRYPT_FAILED',
        'local kms: ciphertext was not made by localKmsCiphertext() or the local backend',
      );
    }
    return new Uint8Array(buf.subarray(prefix.length));
  };
  return {
    region,
    async decrypt(ciphertext: Uint8Array) {
      stats.call('local:Decrypt');
      return unwrap(ciphertext);
    },
    async decryptWithKey(input) {
      stats.call('local:Decrypt');
      return { keyId: input.keyId ?? localKeyArn(), plaintext: unwrap(input.ciphertext) };
    },
    async encrypt(input) {
      stats.call('local:Encrypt');
      return { keyId: localKeyArn(input.keyId), ciphertext: wrap(input.plaintext) };
    },
    async generateDataKey(input) {
      stats.call('local:GenerateDataKey');
      const plaintext = new Uint8Array(randomBytes(input.bytes));
      return { keyId: localKeyArn(input.keyId), plaintext, ciphertext: wrap(plaintext) };
    },
    async reEncrypt(input) {
      stats.call('local:ReEncrypt');
      return { keyId: localKeyArn(input.toKeyId), ciphertext: wrap(unwrap(input.ciphertext)) };
    },
    async generateRandom(bytes: number) {
      stats.call('local:GenerateRandom');
      return new Uint8Array(randomBytes(bytes));
    },
  };
}
