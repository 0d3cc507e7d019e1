/** Options, results and limits of `KmsCrypto` (types and constants only). */
import type { AwsBackendOptions } from '../aws/backend.js';
import type { Backend, KmsBackend, KmsKeyId } from '../backend.js';
import type { CiphertextFormat } from './format.js';

/** KMS Encrypt's plaintext limit. */
export const KMS_ENCRYPT_MAX_BYTES = 4096;

/** Encryption context key Strata adds when it compressed the plaintext before encrypting. */
export const CONTENT_ENCODING_KEY = 'strata:content-encoding';
/** Key the Encryption SDK adds to the context of signed messages (the verification key). */
export const ESDK_PUBLIC_KEY = 'aws-crypto-public-key';

/**
 * Limits of the data-key cache (see the core README for the security trade-off). A cached data
 * key encrypts more than one message: fewer KMS calls, but more data under one key, and a key
 * disabled or a grant revoked in KMS stops new encryptions (and cached decryptions) only once
 * the entry expires.
 */
export interface KmsCacheOptions {
  /** How long a data key is reused, ms. Default 300,000 (5 minutes). */
  maxAgeMs?: number;
  /** Messages one data key may encrypt. Default 1,000. */
  maxMessagesEncrypted?: number;
  /** Plaintext bytes one data key may encrypt. Default 104,857,600 (100 MiB). */
  maxBytesEncrypted?: number;
  /** Entries the local cache keeps (one per key, encryption context and data key). Default 100. */
  capacity?: number;
}

export const DEFAULT_KMS_CACHE: Required<KmsCacheOptions> = {
  maxAgeMs: 5 * 60_000,
  maxMessagesEncrypted: 1_000,
  maxBytesEncrypted: 100 * 1024 * 1024,
  capacity: 100,
};

export interface KmsCryptoOptions {
  /** A Strata backend (or only its KMS part) to send KMS calls through. Default: a new AwsBackend from `aws`. */
  backend?: Backend | KmsBackend;
  /** Options for the AwsBackend created when `backend` is not given. */
  aws?: AwsBackendOptions;
  /** Data-key cache limits, or `false` for one GenerateDataKey per message. */
  cache?: KmsCacheOptions | false;
  /**
   * Envelope decryption only with these key ARNs (the Encryption SDK's strict mode). Default:
   * discovery — any key the credentials may use, as raw KMS Decrypt does; narrow it with
   * `discoveryFilter`.
   */
  decryptKeyIds?: string[];
  /** Discovery mode: only keys of these accounts in this partition. */
  discoveryFilter?: { accountIDs: string[]; partition: string };
  /** Largest envelope message body decrypted (and largest decompressed size), bytes. Default 64 MiB. */
  maxBodySize?: number;
  /** Encryption SDK frame length, bytes. Default 4,096. */
  frameLength?: number;
  /**
   * Sign envelope messages (ECDSA P-384, the Encryption SDK's default suite). Default true. Without
   * a signature (suite 0x0478) encryption is several times faster and messages ~200 bytes smaller,
   * but anyone who can decrypt a message can also forge one under the same data key: turn it off
   * only when every reader is also trusted to write.
   */
  signing?: boolean;
}

export type EncryptMode = 'auto' | 'raw' | 'envelope';

export interface EncryptOptions {
  keyId: KmsKeyId;
  /** Encryption context: authenticated, not secret (it appears in CloudTrail and in the message). */
  context?: Record<string, string>;
  /** `auto` (default): raw KMS Encrypt up to 4,096 bytes, envelope above. */
  mode?: EncryptMode;
  /**
   * Envelope only: gzip the plaintext first when that makes it smaller, and mark it in the
   * encryption context (`strata:content-encoding=gzip`). For values at rest (`strata put`); do
   * not compress secrets mixed with attacker-chosen data (compression leaks length).
   */
  compress?: boolean;
}

export interface EncryptResult {
  /** Base64 of the KMS ciphertext blob or the Encryption SDK message. */
  ciphertext: string;
  format: CiphertextFormat;
  /** The key ARN KMS reports. */
  keyId: string;
}

export interface DecryptResult {
  plaintext: Buffer;
  format: CiphertextFormat;
  /**
   * Raw: the context given. Envelope: the message's context (the Encryption SDK's own keys,
   * `aws-crypto-public-key`, and Strata's `strata:content-encoding` included).
   */
  context: Record<string, string>;
  /** The key that decrypted, when KMS or the message says. */
  keyId?: string;
}

export interface ReEncryptOptions {
  toKeyId: KmsKeyId;
  /** The context the ciphertext was encrypted with (raw: must match exactly; envelope: must be contained). */
  context?: Record<string, string>;
  /** The new ciphertext's context. Default: the old one. */
  toContext?: Record<string, string>;
}
