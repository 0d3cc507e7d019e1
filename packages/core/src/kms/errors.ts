/**
 * How KMS and Encryption SDK failures become StrataErrors. Messages name the operation, the key
 * and the problem, never a plaintext or a data key: the Encryption SDK's messages describe formats
 * and keys only, and only their first line (capped) is kept.
 */
import type { KmsBackend } from '../backend.js';
import { isStrataError, StrataError } from '../errors.js';

/** The optional KMS operation `fn` of a backend, or INVALID_INPUT naming what is missing. */
export function need<T>(fn: T | undefined, what: string): T {
  if (!fn) throw new StrataError('INVALID_INPUT', `kms: this backend has no ${what}`);
  return fn;
}

/** The KMS part of a backend, given the backend or the KMS part itself. */
export function kmsOf(b: { kms: KmsBackend } | KmsBackend): KmsBackend {
  return 'kms' in b && typeof b.kms === 'object' ? b.kms : (b as KmsBackend);
}

/** A DECRYPT_FAILED from raw KMS Decrypt or ReEncrypt, said in words a user can act on. */
export function rawKmsError(err: unknown, op: 'decrypt' | 're-encrypt'): unknown {
  if (!isStrataError(err) || err.code !== 'DECRYPT_FAILED') return err;
  const causes =
    op === 'decrypt'
      ? 'wrong encryption context, a key this ciphertext was not made with, or a corrupt ciphertext'
      : 'wrong encryption context or a corrupt ciphertext';
  return new StrataError(
    'DECRYPT_FAILED',
    `kms: KMS could not ${op} the ciphertext: ${causes} (${err.message})`,
    {
      cause: err,
    },
  );
}

/** The first line of an Encryption SDK error, capped. Its messages describe formats and keys, never data. */
function esdkReason(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return (m.split('\n')[0] ?? '').trim().slice(0, 200);
}

/**
 * Maps an Encryption SDK failure to a StrataError; a KMS error it hid (recorded in `kmsFailures`
 * while the SDK ran) keeps its own code.
 */
export function envelopeError(
  err: unknown,
  op: 'encrypt' | 'decrypt',
  kmsFailures: unknown[] | undefined,
  maxBodySize: number,
): StrataError {
  if (isStrataError(err)) return err;
  const hidden = kmsFailures?.find(isStrataError);
  if (hidden) {
    return new StrataError(
      hidden.code,
      `kms: the Encryption SDK message's data key could not be decrypted: ${hidden.message}`,
      { cause: hidden },
    );
  }
  const reason = esdkReason(err);
  if (op === 'encrypt') {
    const badKey = /Malformed arn/i.test(reason);
    return new StrataError(
      badKey ? 'INVALID_INPUT' : 'AWS_ERROR',
      `kms: envelope encryption failed: ${badKey ? 'not a valid KMS key id, key ARN, alias or alias ARN' : reason}`,
      { cause: err },
    );
  }
  if (/maxBodySize/i.test(reason)) {
    return new StrataError(
      'VALIDATION',
      `kms: the Encryption SDK message is larger than maxBodySize (${maxBodySize} bytes)`,
      { cause: err },
    );
  }
  return new StrataError(
    'DECRYPT_FAILED',
    `kms: the Encryption SDK message could not be decrypted: ${reason}`,
    {
      cause: err,
    },
  );
}
