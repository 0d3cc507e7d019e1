/**
 * KMS encryption for Strata, one facade over two ways: raw KMS Encrypt/Decrypt/ReEncrypt for
 * small values (`./raw.ts`), and envelope encryption through the AWS Encryption SDK for anything,
 * with a data-key cache (`./envelope.ts`, which imports the Encryption SDK on first use). Both
 * modules are imported on first use, not with Strata: a process that never meets a kms reference
 * never loads them. Which
 * one a ciphertext needs is read from its bytes (`./format.ts`); errors are mapped in
 * `./errors.ts`. No plaintext or data key is ever logged, put in an error message, or written
 * anywhere.
 */
import { AwsBackend } from '../aws/backend.js';
import type { KmsBackend } from '../backend.js';
import { StrataError } from '../errors.js';
import { formatReference } from '../reference/parser.js';
import type { Envelope } from './envelope.js';
import { kmsOf } from './errors.js';
import { type CiphertextFormat, decodeCiphertext, detectFormat, esdkHeader } from './format.js';
import {
  CONTENT_ENCODING_KEY,
  DEFAULT_KMS_CACHE,
  type DecryptResult,
  type EncryptOptions,
  type EncryptResult,
  ESDK_PUBLIC_KEY,
  KMS_ENCRYPT_MAX_BYTES,
  type KmsCacheOptions,
  type KmsCryptoOptions,
  type ReEncryptOptions,
} from './options.js';

type RawModule = typeof import('./raw.js');
type EnvelopeModule = typeof import('./envelope.js');

/** `./raw.js` and `./envelope.js` (the Encryption SDK), imported on first use. */
const loadRaw = lazyModule<RawModule>('kms', '@strata/core kms/raw', () => import('./raw.js'));
const loadEnvelope = lazyModule<EnvelopeModule>(
  'kms',
  '@strata/core kms/envelope',
  () => import('./envelope.js'),
);

export {
  DEFAULT_KMS_CACHE,
  type DecryptResult,
  type EncryptMode,
  type EncryptOptions,
  type EncryptResult,
  type KmsCacheOptions,
  type KmsCryptoOptions,
  type ReEncryptOptions,
} from './options.js';

import { lazyModule } from '../lazy.js';

export class KmsCrypto {
  readonly kms: KmsBackend;
  private readonly ownBackend: AwsBackend | undefined;
  private readonly cache: Required<KmsCacheOptions> | false;
  private readonly envelopeOptions: ConstructorParameters<EnvelopeModule['Envelope']>[1];
  private envelopeInstance: Envelope | undefined;

  constructor(opts: KmsCryptoOptions = {}) {
    if (opts.backend) this.kms = kmsOf(opts.backend);
    else {
      this.ownBackend = new AwsBackend(opts.aws ?? {});
      this.kms = this.ownBackend.kms;
    }
    this.cache = opts.cache === false ? false : { ...DEFAULT_KMS_CACHE, ...opts.cache };
    this.envelopeOptions = {
      cache: this.cache,
      maxBodySize: opts.maxBodySize ?? 64 * 1024 * 1024,
      ...(opts.decryptKeyIds ? { decryptKeyIds: opts.decryptKeyIds } : {}),
      ...(opts.discoveryFilter ? { discoveryFilter: opts.discoveryFilter } : {}),
      ...(opts.frameLength ? { frameLength: opts.frameLength } : {}),
      ...(opts.signing !== undefined ? { signing: opts.signing } : {}),
    };
  }

  /** The envelope half (one per KmsCrypto: it holds the data-key cache), made on first use. */
  private async envelope(): Promise<Envelope> {
    const { Envelope } = await loadEnvelope();
    this.envelopeInstance ??= new Envelope(this.kms, this.envelopeOptions);
    return this.envelopeInstance;
  }

  /** The cache limits in force (`false`: no cache). */
  get cacheLimits(): Readonly<Required<KmsCacheOptions>> | false {
    return this.cache;
  }

  /** Which form a base64 ciphertext (or its bytes) is: `esdk` (Encryption SDK message) or `kms` (raw). */
  detect(ciphertext: string | Uint8Array): CiphertextFormat {
    return detectFormat(typeof ciphertext === 'string' ? decodeCiphertext(ciphertext) : ciphertext);
  }

  /** `auto` mode: raw KMS Encrypt up to 4,096 bytes (and without `compress`), envelope above. */
  async encrypt(plaintext: string | Uint8Array, opts: EncryptOptions): Promise<EncryptResult> {
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const mode = opts.mode ?? 'auto';
    if (!opts.keyId) throw new StrataError('INVALID_INPUT', 'kms: encrypt needs a key id');
    const raw =
      mode === 'raw' || (mode === 'auto' && !opts.compress && bytes.byteLength <= KMS_ENCRYPT_MAX_BYTES);
    if (raw) return (await loadRaw()).rawEncrypt(this.kms, bytes, opts.keyId, opts.context);
    return (await this.envelope()).encrypt(bytes, opts.keyId, opts.context ?? {}, opts.compress === true);
  }

  /**
   * Decrypts a raw KMS ciphertext or an Encryption SDK message (detected from the bytes). For a
   * raw ciphertext KMS checks the context exactly; for a message every key/value of `context` must
   * be in the message's context, checked before any KMS call. Fails with DECRYPT_FAILED.
   */
  async decrypt(
    ciphertext: string | Uint8Array,
    opts: { context?: Record<string, string> } = {},
  ): Promise<DecryptResult> {
    const bytes = typeof ciphertext === 'string' ? decodeCiphertext(ciphertext) : ciphertext;
    if (!esdkHeader(bytes)) return (await loadRaw()).rawDecrypt(this.kms, bytes, opts.context);
    return (await this.envelope()).decrypt(bytes, opts.context);
  }

  /**
   * Re-encrypts under another key (key rotation): KMS ReEncrypt for a raw ciphertext (the
   * plaintext never leaves KMS); for an Encryption SDK message, decrypt and encrypt a new message
   * under `toKeyId` with the same context (the plaintext is only in memory, then zeroed).
   */
  async reencrypt(ciphertext: string | Uint8Array, opts: ReEncryptOptions): Promise<EncryptResult> {
    const bytes = typeof ciphertext === 'string' ? decodeCiphertext(ciphertext) : ciphertext;
    if (!opts.toKeyId) throw new StrataError('INVALID_INPUT', 'kms: reencrypt needs a destination key id');
    if (!esdkHeader(bytes)) return (await loadRaw()).rawReEncrypt(this.kms, bytes, opts);
    return (await this.envelope()).reencrypt(bytes, opts.toKeyId, opts.context, opts.toContext);
  }

  /** `bytes` (1 to 1,024) random bytes from KMS GenerateRandom. */
  async random(bytes: number): Promise<Uint8Array> {
    return (await loadRaw()).rawRandom(this.kms, bytes);
  }

  /** Releases the SDK clients of a backend this object created (a backend passed in is left open). */
  async close(): Promise<void> {
    await this.ownBackend?.close();
  }
}

export function createKmsCrypto(opts: KmsCryptoOptions = {}): KmsCrypto {
  return new KmsCrypto(opts);
}

/** A `<<resolve:kms:…>>` reference for a base64 ciphertext, with its encryption context (percent-encoded). */
export function kmsReference(ciphertext: string, context?: Record<string, string>): string {
  const user = context
    ? Object.fromEntries(
        Object.entries(context).filter(([k]) => k !== ESDK_PUBLIC_KEY && k !== CONTENT_ENCODING_KEY),
      )
    : undefined;
  return formatReference({
    service: 'kms',
    ciphertext,
    ...(user && Object.keys(user).length > 0 ? { context: user } : {}),
  });
}
