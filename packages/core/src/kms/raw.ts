/**
 * Raw KMS: one Encrypt, Decrypt or ReEncrypt call per value (at most 4,096 bytes), through the
 * Strata backend's KMS part. Nothing here loads the Encryption SDK.
 */
import type { KmsBackend } from '../backend.js';
import { StrataError } from '../errors.js';
import { need, rawKmsError } from './errors.js';
import { encodeCiphertext } from './format.js';
import {
  type DecryptResult,
  type EncryptResult,
  KMS_ENCRYPT_MAX_BYTES,
  type ReEncryptOptions,
} from './options.js';

export async function rawEncrypt(
  kms: KmsBackend,
  bytes: Uint8Array,
  keyId: string,
  context: Record<string, string> | undefined,
): Promise<EncryptResult> {
  if (bytes.byteLength > KMS_ENCRYPT_MAX_BYTES) {
    throw new StrataError(
      'VALIDATION',
      `kms: raw KMS Encrypt takes at most ${KMS_ENCRYPT_MAX_BYTES} bytes and this value has ${bytes.byteLength}; use envelope encryption`,
    );
  }
  const out = await need(kms.encrypt, 'Encrypt').call(kms, {
    keyId,
    plaintext: bytes,
    ...(context ? { context } : {}),
  });
  return { ciphertext: encodeCiphertext(out.ciphertext), format: 'kms', keyId: out.keyId };
}

/** KMS Decrypt; KMS checks the context exactly. Reports the key when the backend says which. */
export async function rawDecrypt(
  kms: KmsBackend,
  bytes: Uint8Array,
  context: Record<string, string> | undefined,
): Promise<DecryptResult> {
  try {
    const input = { ciphertext: bytes, ...(context ? { context } : {}) };
    if (kms.decryptWithKey) {
      const out = await kms.decryptWithKey(input);
      return {
        plaintext: Buffer.from(out.plaintext),
        format: 'kms',
        context: context ?? {},
        keyId: out.keyId,
      };
    }
    const plain = await kms.decrypt(bytes, context);
    return { plaintext: Buffer.from(plain), format: 'kms', context: context ?? {} };
  } catch (err) {
    throw rawKmsError(err, 'decrypt');
  }
}

/** KMS ReEncrypt: the plaintext never leaves KMS. */
export async function rawReEncrypt(
  kms: KmsBackend,
  bytes: Uint8Array,
  opts: ReEncryptOptions,
): Promise<EncryptResult> {
  try {
    const out = await need(kms.reEncrypt, 'ReEncrypt').call(kms, {
      ciphertext: bytes,
      toKeyId: opts.toKeyId,
      ...(opts.context ? { context: opts.context } : {}),
      ...(opts.toContext ? { toContext: opts.toContext } : {}),
    });
    return { ciphertext: encodeCiphertext(out.ciphertext), format: 'kms', keyId: out.keyId };
  } catch (err) {
    throw rawKmsError(err, 're-encrypt');
  }
}

/** `bytes` (1 to 1,024) random bytes from KMS GenerateRandom. */
export async function rawRandom(kms: KmsBackend, bytes: number): Promise<Uint8Array> {
  if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) {
    throw new StrataError('INVALID_INPUT', `kms: GenerateRandom takes 1 to 1,024 bytes, not ${bytes}`);
  }
  return need(kms.generateRandom, 'GenerateRandom').call(kms, bytes);
}
