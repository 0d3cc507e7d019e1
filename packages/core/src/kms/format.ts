/**
 * Telling the two ciphertext forms of `<<resolve:kms:…>>` apart, from the bytes. Pure functions.
 *
 * - An AWS Encryption SDK message (https://docs.aws.amazon.com/encryption-sdk/latest/developer-guide/message-format.html)
 *   starts with its version byte:
 *   - version 1 (`0x01`): then the type byte `0x80` (customer authenticated encrypted data) and a
 *     two-byte algorithm suite id from the version 1 list (`0x0014` … `0x0378`), then a 16-byte
 *     message id;
 *   - version 2 (`0x02`): then a two-byte committing suite id (`0x0478`, `0x0578`), then a 32-byte
 *     message id.
 *   In base64 these are the familiar `AYAA…` (to `AYAD…`) and `AgR4…`/`AgV4…` prefixes.
 * - Anything else is taken as a raw KMS ciphertext blob and sent to KMS Decrypt, which knows its
 *   own format. Real KMS blobs of symmetric keys start `0x01 0x02 0x02 0x00 0x78` (`AQICAHh…`), so
 *   they never look like an Encryption SDK header (whose second byte is `0x80`, or whose first
 *   byte is `0x02`). Strata relies only on the Encryption SDK header, never on the KMS blob
 *   layout, which AWS does not document (and which moto, the test emulator, does not imitate: its
 *   blobs start with the key id in ASCII).
 */
import { StrataError } from '../errors.js';

export type CiphertextFormat = 'kms' | 'esdk';

/** Algorithm suites of Encryption SDK message format version 1 (no key commitment). */
const V1_SUITES = new Set([0x0014, 0x0046, 0x0078, 0x0114, 0x0146, 0x0178, 0x0214, 0x0346, 0x0378]);
/** Algorithm suites of message format version 2 (key commitment). */
const V2_SUITES = new Set([0x0478, 0x0578]);

export interface EsdkHeaderInfo {
  version: 1 | 2;
  suiteId: number;
  /** True for the committing suites of version 2: the only ones Strata decrypts (REQUIRE_ENCRYPT_REQUIRE_DECRYPT). */
  committing: boolean;
}

/** The Encryption SDK header's version and suite, or undefined when `bytes` is not an Encryption SDK message. */
export function esdkHeader(bytes: Uint8Array): EsdkHeaderInfo | undefined {
  if (bytes[0] === 0x01 && bytes[1] === 0x80 && bytes.length >= 1 + 1 + 2 + 16) {
    const suiteId = (bytes[2]! << 8) | bytes[3]!;
    return V1_SUITES.has(suiteId) ? { version: 1, suiteId, committing: false } : undefined;
  }
  if (bytes[0] === 0x02 && bytes.length >= 1 + 2 + 32) {
    const suiteId = (bytes[1]! << 8) | bytes[2]!;
    return V2_SUITES.has(suiteId) ? { version: 2, suiteId, committing: true } : undefined;
  }
  return undefined;
}

/** `esdk` for an Encryption SDK message, else `kms` (a raw KMS ciphertext blob). */
export function detectFormat(bytes: Uint8Array): CiphertextFormat {
  return esdkHeader(bytes) ? 'esdk' : 'kms';
}

const BASE64 = /^[A-Za-z0-9+/]*={0,2}$/;
const BASE64URL = /^[A-Za-z0-9_-]*={0,2}$/;

/** Decodes standard base64 or base64url (whitespace ignored). INVALID_INPUT when it is neither. */
export function decodeCiphertext(text: string): Uint8Array {
  const s = text.replace(/\s+/g, '');
  const ok = (BASE64.test(s) || BASE64URL.test(s)) && (!s.includes('=') || s.length % 4 === 0);
  if (s.length === 0 || !ok) {
    throw new StrataError('INVALID_INPUT', 'kms: the ciphertext is not base64 (or base64url)');
  }
  return new Uint8Array(Buffer.from(s.replace(/-/g, '+').replace(/_/g, '/'), 'base64'));
}

export function encodeCiphertext(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/**
 * Checks that every key/value asked for is in the message's encryption context (extra keys in
 * the message are fine: the Encryption SDK adds its own). Returns a message naming the keys that
 * differ — never values — or undefined when the context matches.
 */
export function contextMismatch(
  actual: Readonly<Record<string, string>>,
  expected: Readonly<Record<string, string>> | undefined,
): string | undefined {
  if (!expected) return undefined;
  const missing: string[] = [];
  const different: string[] = [];
  for (const [k, v] of Object.entries(expected)) {
    if (!Object.hasOwn(actual, k)) missing.push(k);
    else if (actual[k] !== v) different.push(k);
  }
  if (missing.length === 0 && different.length === 0) return undefined;
  const parts = [
    missing.length > 0 ? `missing key(s) ${missing.map((k) => `'${k}'`).join(', ')}` : '',
    different.length > 0 ? `different value for key(s) ${different.map((k) => `'${k}'`).join(', ')}` : '',
  ].filter(Boolean);
  return `encryption context does not match: ${parts.join('; ')}`;
}
