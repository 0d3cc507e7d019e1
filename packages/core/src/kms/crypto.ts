/**
 * KMS encryption for Strata: raw KMS Encrypt/Decrypt for small values, and envelope encryption
 * through the AWS Encryption SDK (`@aws-crypto/client-node`) for anything, with a data-key cache.
 *
 * - Envelope: `buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)`, a `KmsKeyringNode`
 *   whose `clientProvider` hands out a KMS client that sends every call through the Strata backend
 *   (AwsBackend: same endpoint, region and credentials as the rest of Strata, the per-region KMS
 *   rate limit, and p-retry full-jitter retries on ThrottlingException, 5xx and resets), behind a
 *   `NodeCachingMaterialsManager` over `getLocalCryptographicMaterialsCache`. Concurrent cache
 *   misses for the same encryption context (or the same encrypted data key, on decrypt) share one
 *   KMS call; cache hits run concurrently.
 * - Messages are the Encryption SDK's format (version 2, committing suite, ECDSA-signed by
 *   default): every Encryption SDK in every language reads them.
 * - No plaintext or data key is ever logged, put in an error message, or written anywhere; the
 *   SDK zeroes data keys after use, and Strata zeroes the buffers it owns.
 *
 * The Encryption SDK (and its AWS SDK dependencies) is imported on first envelope use, so a
 * process that only reads raw KMS ciphertexts does not pay for loading it.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import { createHash } from 'node:crypto';
import { gunzipSync, gzipSync } from 'node:zlib';
import type {
  KeyringNode,
  KmsNodeClientSupplier,
  NodeDecryptionMaterial,
  NodeEncryptionMaterial,
  NodeMaterialsManager,
} from '@aws-crypto/client-node';
import { AwsBackend, type AwsBackendOptions } from '../aws/backend.js';
import type { Backend, KmsBackend, KmsKeyId } from '../backend.js';
import { isStrataError, StrataError } from '../errors.js';
import { formatReference } from '../reference/parser.js';
import {
  type CiphertextFormat,
  contextMismatch,
  decodeCiphertext,
  detectFormat,
  encodeCiphertext,
  esdkHeader,
} from './format.js';

/** KMS Encrypt's plaintext limit. */
export const KMS_ENCRYPT_MAX_BYTES = 4096;

/** Encryption context key Strata adds when it compressed the plaintext before encrypting. */
export const CONTENT_ENCODING_KEY = 'strata:content-encoding';
/** Key the Encryption SDK adds to the context of signed messages (the verification key). */
const ESDK_PUBLIC_KEY = 'aws-crypto-public-key';

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

type Esdk = typeof import('@aws-crypto/client-node');
/** The KMS client shape the Encryption SDK's keyring calls (generateDataKey, encrypt, decrypt). */
type AwsEsdkKMSInterface = Exclude<ReturnType<KmsNodeClientSupplier>, false>;

interface EsdkRuntime {
  esdk: Esdk;
  client: ReturnType<Esdk['buildClient']>;
  decryptCmm: NodeMaterialsManager;
}

/** Errors KMS calls raised during one envelope decryption (the Encryption SDK folds them into text). */
const kmsErrors = new AsyncLocalStorage<unknown[]>();

function ctxKey(ctx: Readonly<Record<string, string>>): string {
  return Object.keys(ctx)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(ctx[k]!)}`)
    .join(',');
}

function kmsOf(b: Backend | KmsBackend): KmsBackend {
  return 'kms' in b && typeof (b as Backend).kms === 'object' ? (b as Backend).kms : (b as KmsBackend);
}

function need<T>(fn: T | undefined, what: string): T {
  if (!fn) throw new StrataError('INVALID_INPUT', `kms: this backend has no ${what}`);
  return fn;
}

/** Thrown to a cache miss that waited for another miss of the same entry: ask the cache again. */
const ASK_CACHE_AGAIN = new Error('strata: ask the cache again');

/**
 * Shares cache misses: put between the caching materials manager and its backing manager, the
 * first miss for a cache entry calls KMS and the concurrent ones wait for it, then go back to the
 * cache (where the first one left its materials) instead of calling KMS too. Hits never wait.
 */
class MissDeduper {
  private readonly inflight = new Map<string, Promise<unknown>>();

  /** Wraps a backing call: the leader runs it, followers wait and get ASK_CACHE_AGAIN. */
  backing<A, R>(keyOf: (a: A) => string, call: (a: A) => Promise<R>): (a: A) => Promise<R> {
    return async (a) => {
      const k = keyOf(a);
      const leader = this.inflight.get(k);
      if (leader) {
        await leader.catch(() => undefined);
        throw ASK_CACHE_AGAIN;
      }
      const p = call(a);
      this.inflight.set(k, p);
      try {
        return await p;
      } finally {
        if (this.inflight.get(k) === p) this.inflight.delete(k);
      }
    };
  }

  /** Wraps the caching call: asks again after waiting; after a few rounds goes to the backing call. */
  caching<A, R>(call: (a: A) => Promise<R>, direct: (a: A) => Promise<R>): (a: A) => Promise<R> {
    return async (a) => {
      for (let round = 0; round < 3; round++) {
        try {
          return await call(a);
        } catch (err) {
          if (err !== ASK_CACHE_AGAIN) throw err;
        }
      }
      return direct(a); // the entry never stays cached (e.g. one message over maxBytesEncrypted)
    };
  }
}

/** The first line of an Encryption SDK error, capped. Its messages describe formats and keys, never data. */
function esdkReason(err: unknown): string {
  const m = err instanceof Error ? err.message : String(err);
  return (m.split('\n')[0] ?? '').trim().slice(0, 200);
}

export class KmsCrypto {
  readonly kms: KmsBackend;
  private readonly ownBackend: AwsBackend | undefined;
  private readonly cache: Required<KmsCacheOptions> | false;
  private readonly maxBodySize: number;
  private esdkRuntime: Promise<EsdkRuntime> | undefined;
  private readonly encryptCmms = new Map<string, Promise<NodeMaterialsManager>>();

  constructor(private readonly opts: KmsCryptoOptions = {}) {
    if (opts.backend) this.kms = kmsOf(opts.backend);
    else {
      this.ownBackend = new AwsBackend(opts.aws ?? {});
      this.kms = this.ownBackend.kms;
    }
    this.cache = opts.cache === false ? false : { ...DEFAULT_KMS_CACHE, ...opts.cache };
    this.maxBodySize = opts.maxBodySize ?? 64 * 1024 * 1024;
  }

  /** The cache limits in force (`false`: no cache). */
  get cacheLimits(): Readonly<Required<KmsCacheOptions>> | false {
    return this.cache;
  }

  /** Which form a base64 ciphertext (or its bytes) is: `esdk` (Encryption SDK message) or `kms` (raw). */
  detect(ciphertext: string | Uint8Array): CiphertextFormat {
    return detectFormat(typeof ciphertext === 'string' ? decodeCiphertext(ciphertext) : ciphertext);
  }

  // ----- encryption -----

  async encrypt(plaintext: string | Uint8Array, opts: EncryptOptions): Promise<EncryptResult> {
    const bytes = typeof plaintext === 'string' ? Buffer.from(plaintext, 'utf8') : plaintext;
    const mode = opts.mode ?? 'auto';
    if (!opts.keyId) throw new StrataError('INVALID_INPUT', 'kms: encrypt needs a key id');
    const raw =
      mode === 'raw' || (mode === 'auto' && !opts.compress && bytes.byteLength <= KMS_ENCRYPT_MAX_BYTES);
    if (raw) {
      if (bytes.byteLength > KMS_ENCRYPT_MAX_BYTES) {
        throw new StrataError(
          'VALIDATION',
          `kms: raw KMS Encrypt takes at most ${KMS_ENCRYPT_MAX_BYTES} bytes and this value has ${bytes.byteLength}; use envelope encryption`,
        );
      }
      const out = await need(this.kms.encrypt, 'Encrypt').call(this.kms, {
        keyId: opts.keyId,
        plaintext: bytes,
        ...(opts.context ? { context: opts.context } : {}),
      });
      return { ciphertext: encodeCiphertext(out.ciphertext), format: 'kms', keyId: out.keyId };
    }
    return this.encryptEnvelope(bytes, opts.keyId, opts.context ?? {}, opts.compress === true);
  }

  private async encryptEnvelope(
    bytes: Uint8Array,
    keyId: string,
    context: Record<string, string>,
    compress: boolean,
  ): Promise<EncryptResult> {
    for (const k of Object.keys(context)) {
      if (k.startsWith('aws-crypto-') || k === CONTENT_ENCODING_KEY) {
        throw new StrataError('INVALID_INPUT', `kms: encryption context key '${k}' is reserved`);
      }
    }
    let body: Uint8Array = bytes;
    let ctx = context;
    let zipped: Buffer | undefined;
    if (compress) {
      zipped = gzipSync(bytes, { level: 9 });
      if (zipped.byteLength < bytes.byteLength) {
        body = zipped;
        ctx = { ...context, [CONTENT_ENCODING_KEY]: 'gzip' };
      }
    }
    try {
      const { client, esdk } = await this.runtime();
      const cmm = await this.encryptCmm(keyId);
      const { result, messageHeader } = await client.encrypt(cmm, body, this.encryptInput(esdk, ctx));
      const edk = messageHeader.encryptedDataKeys[0];
      return { ciphertext: result.toString('base64'), format: 'esdk', keyId: edk?.providerInfo ?? keyId };
    } catch (err) {
      throw this.toError(err, 'encrypt', undefined);
    } finally {
      zipped?.fill(0);
    }
  }

  // ----- decryption -----

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
    const header = esdkHeader(bytes);
    if (!header) return this.decryptRaw(bytes, opts.context);
    const out = await this.decryptEsdk(bytes, opts.context);
    const encoding = out.context[CONTENT_ENCODING_KEY];
    if (encoding === undefined) return out;
    if (encoding !== 'gzip') {
      out.plaintext.fill(0);
      throw new StrataError('DECRYPT_FAILED', `kms: unknown ${CONTENT_ENCODING_KEY} '${encoding}'`);
    }
    try {
      return { ...out, plaintext: gunzipSync(out.plaintext, { maxOutputLength: this.maxBodySize }) };
    } catch {
      throw new StrataError('DECRYPT_FAILED', 'kms: the decrypted value is not valid gzip or is too large');
    } finally {
      out.plaintext.fill(0);
    }
  }

  private async decryptRaw(bytes: Uint8Array, context?: Record<string, string>): Promise<DecryptResult> {
    try {
      const input = { ciphertext: bytes, ...(context ? { context } : {}) };
      if (this.kms.decryptWithKey) {
        const out = await this.kms.decryptWithKey(input);
        return {
          plaintext: Buffer.from(out.plaintext),
          format: 'kms',
          context: context ?? {},
          keyId: out.keyId,
        };
      }
      const plain = await this.kms.decrypt(bytes, context);
      return { plaintext: Buffer.from(plain), format: 'kms', context: context ?? {} };
    } catch (err) {
      if (isStrataError(err) && err.code === 'DECRYPT_FAILED') {
        throw new StrataError(
          'DECRYPT_FAILED',
          `kms: KMS could not decrypt the ciphertext: wrong encryption context, a key this ciphertext was not made with, or a corrupt ciphertext (${err.message})`,
          { cause: err },
        );
      }
      throw err;
    }
  }

  private async decryptEsdk(bytes: Uint8Array, expected?: Record<string, string>): Promise<DecryptResult> {
    const header = esdkHeader(bytes)!;
    if (!header.committing) {
      throw new StrataError(
        'DECRYPT_FAILED',
        `kms: this Encryption SDK message (format version 1, suite 0x${header.suiteId.toString(16).padStart(4, '0')}) has no key commitment; Strata's commitment policy is REQUIRE_ENCRYPT_REQUIRE_DECRYPT. Re-encrypt it with an Encryption SDK 2.0 or later default`,
      );
    }
    const { client, decryptCmm } = await this.runtime();
    // Checks the context before the data key is decrypted: a mismatch costs no KMS call.
    const checking: NodeMaterialsManager = {
      getEncryptionMaterials: () => Promise.reject(new Error('decrypt only')),
      decryptMaterials: (request) => {
        const mismatch = contextMismatch(request.encryptionContext, expected);
        if (mismatch) return Promise.reject(new StrataError('DECRYPT_FAILED', `kms: ${mismatch}`));
        return decryptCmm.decryptMaterials(request);
      },
    };
    const errors: unknown[] = [];
    try {
      const { plaintext, messageHeader } = await kmsErrors.run(errors, () =>
        client.decrypt(checking, Buffer.from(bytes), { maxBodySize: this.maxBodySize }),
      );
      const context = { ...messageHeader.encryptionContext };
      const mismatch = contextMismatch(context, expected);
      if (mismatch) {
        plaintext.fill(0);
        throw new StrataError('DECRYPT_FAILED', `kms: ${mismatch}`);
      }
      const keyId = messageHeader.encryptedDataKeys.find((e) => e.providerId === 'aws-kms')?.providerInfo;
      return { plaintext, format: 'esdk', context, ...(keyId ? { keyId } : {}) };
    } catch (err) {
      throw this.toError(err, 'decrypt', errors);
    }
  }

  // ----- re-encryption, random -----

  /**
   * Re-encrypts under another key (key rotation): KMS ReEncrypt for a raw ciphertext (the
   * plaintext never leaves KMS); for an Encryption SDK message, decrypt and encrypt a new message
   * under `toKeyId` with the same context (the plaintext is only in memory, then zeroed).
   */
  async reencrypt(ciphertext: string | Uint8Array, opts: ReEncryptOptions): Promise<EncryptResult> {
    const bytes = typeof ciphertext === 'string' ? decodeCiphertext(ciphertext) : ciphertext;
    if (!opts.toKeyId) throw new StrataError('INVALID_INPUT', 'kms: reencrypt needs a destination key id');
    if (!esdkHeader(bytes)) {
      try {
        const out = await need(this.kms.reEncrypt, 'ReEncrypt').call(this.kms, {
          ciphertext: bytes,
          toKeyId: opts.toKeyId,
          ...(opts.context ? { context: opts.context } : {}),
          ...(opts.toContext ? { toContext: opts.toContext } : {}),
        });
        return { ciphertext: encodeCiphertext(out.ciphertext), format: 'kms', keyId: out.keyId };
      } catch (err) {
        if (isStrataError(err) && err.code === 'DECRYPT_FAILED') {
          throw new StrataError(
            'DECRYPT_FAILED',
            `kms: KMS could not re-encrypt the ciphertext: wrong encryption context or a corrupt ciphertext (${err.message})`,
            { cause: err },
          );
        }
        throw err;
      }
    }
    const out = await this.decryptEsdk(bytes, opts.context);
    try {
      const { [ESDK_PUBLIC_KEY]: _pk, [CONTENT_ENCODING_KEY]: encoding, ...userContext } = out.context;
      const ctx = {
        ...(opts.toContext ?? userContext),
        ...(encoding ? { [CONTENT_ENCODING_KEY]: encoding } : {}),
      };
      // The stored bytes are re-encrypted as they are (still compressed when they were).
      const { result, messageHeader } = await (async () => {
        const { client, esdk } = await this.runtime();
        const cmm = await this.encryptCmm(opts.toKeyId);
        return client.encrypt(cmm, out.plaintext, this.encryptInput(esdk, ctx));
      })().catch((err: unknown) => {
        throw this.toError(err, 'encrypt', undefined);
      });
      const keyId = messageHeader.encryptedDataKeys[0]?.providerInfo ?? opts.toKeyId;
      return { ciphertext: result.toString('base64'), format: 'esdk', keyId };
    } finally {
      out.plaintext.fill(0);
    }
  }

  /** `bytes` (1 to 1,024) random bytes from KMS GenerateRandom. */
  async random(bytes: number): Promise<Uint8Array> {
    if (!Number.isInteger(bytes) || bytes < 1 || bytes > 1024) {
      throw new StrataError('INVALID_INPUT', `kms: GenerateRandom takes 1 to 1,024 bytes, not ${bytes}`);
    }
    return need(this.kms.generateRandom, 'GenerateRandom').call(this.kms, bytes);
  }

  /** Releases the SDK clients of a backend this object created. */
  close(): void {
    this.ownBackend?.destroy();
  }

  // ----- the Encryption SDK -----

  /** A KMS client for the keyring: every call goes through the Strata backend (rate limit, retries). */
  private esdkKmsClient(): AwsEsdkKMSInterface {
    const kms = this.kms;
    const record = <T>(p: Promise<T>): Promise<T> =>
      p.catch((err: unknown) => {
        kmsErrors.getStore()?.push(err);
        throw err;
      });
    return {
      generateDataKey: (req) =>
        record(
          need(kms.generateDataKey, 'GenerateDataKey')
            .call(kms, {
              keyId: req.KeyId,
              bytes: req.NumberOfBytes ?? 32,
              ...(req.EncryptionContext ? { context: { ...req.EncryptionContext } } : {}),
            })
            .then((o) => ({ KeyId: o.keyId, Plaintext: o.plaintext, CiphertextBlob: o.ciphertext })),
        ),
      encrypt: (req) =>
        record(
          need(kms.encrypt, 'Encrypt')
            .call(kms, {
              keyId: req.KeyId,
              plaintext: req.Plaintext,
              ...(req.EncryptionContext ? { context: { ...req.EncryptionContext } } : {}),
            })
            .then((o) => ({ KeyId: o.keyId, CiphertextBlob: o.ciphertext })),
        ),
      decrypt: (req) =>
        record(
          need(kms.decryptWithKey, 'Decrypt with a key id')
            .call(kms, {
              ciphertext: req.CiphertextBlob,
              ...(req.KeyId ? { keyId: req.KeyId } : {}),
              ...(req.EncryptionContext ? { context: { ...req.EncryptionContext } } : {}),
            })
            .then((o) => ({ KeyId: o.keyId, Plaintext: o.plaintext })),
        ),
    };
  }

  private encryptInput(esdk: Esdk, encryptionContext: Record<string, string>) {
    return {
      encryptionContext,
      ...(this.opts.frameLength ? { frameLength: this.opts.frameLength } : {}),
      ...(this.opts.signing === false
        ? { suiteId: esdk.AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY }
        : {}),
    };
  }

  private runtime(): Promise<EsdkRuntime> {
    this.esdkRuntime ??= (async () => {
      const esdk = await import('@aws-crypto/client-node');
      const client = esdk.buildClient(esdk.CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT);
      const kmsClient = this.esdkKmsClient();
      const keyring = new esdk.KmsKeyringNode({
        clientProvider: () => kmsClient,
        ...(this.opts.decryptKeyIds?.length
          ? { keyIds: this.opts.decryptKeyIds }
          : {
              discovery: true,
              ...(this.opts.discoveryFilter ? { discoveryFilter: this.opts.discoveryFilter } : {}),
            }),
      });
      return { esdk, client, decryptCmm: this.materials(esdk, keyring) };
    })();
    return this.esdkRuntime;
  }

  /** A caching materials manager (or the default one, without cache) whose concurrent misses share one KMS call. */
  private materials(esdk: Esdk, keyring: KeyringNode): NodeMaterialsManager {
    const backing = new esdk.NodeDefaultCryptographicMaterialsManager(keyring);
    if (!this.cache) return backing;
    type EncReq = Parameters<NodeMaterialsManager['getEncryptionMaterials']>[0];
    type DecReq = Parameters<NodeMaterialsManager['decryptMaterials']>[0];
    const misses = new MissDeduper();
    const shared: NodeMaterialsManager = {
      getEncryptionMaterials: misses.backing<EncReq, NodeEncryptionMaterial>(
        (r) => `e|${r.suite?.id ?? ''}|${ctxKey(r.encryptionContext)}`,
        (r) => backing.getEncryptionMaterials(r),
      ),
      decryptMaterials: misses.backing<DecReq, NodeDecryptionMaterial>(
        (r) => {
          const h = createHash('sha256').update(`d|${r.suite.id}|${ctxKey(r.encryptionContext)}`);
          for (const e of r.encryptedDataKeys) {
            h.update(`|${e.providerId}|${e.providerInfo}|`).update(e.encryptedDataKey);
          }
          return h.digest('hex');
        },
        (r) => backing.decryptMaterials(r),
      ),
    };
    const caching = new esdk.NodeCachingMaterialsManager({
      backingMaterials: shared,
      cache: esdk.getLocalCryptographicMaterialsCache(this.cache.capacity),
      maxAge: this.cache.maxAgeMs,
      maxMessagesEncrypted: this.cache.maxMessagesEncrypted,
      maxBytesEncrypted: this.cache.maxBytesEncrypted,
    });
    return {
      getEncryptionMaterials: misses.caching<EncReq, NodeEncryptionMaterial>(
        (r) => caching.getEncryptionMaterials(r),
        (r) => backing.getEncryptionMaterials(r),
      ),
      decryptMaterials: misses.caching<DecReq, NodeDecryptionMaterial>(
        (r) => caching.decryptMaterials(r),
        (r) => backing.decryptMaterials(r),
      ),
    };
  }

  private encryptCmm(keyId: string): Promise<NodeMaterialsManager> {
    let cmm = this.encryptCmms.get(keyId);
    if (!cmm) {
      cmm = this.runtime().then(({ esdk }) => {
        const keyring = new esdk.KmsKeyringNode({
          clientProvider: () => this.esdkKmsClient(),
          generatorKeyId: keyId,
        });
        return this.materials(esdk, keyring);
      });
      this.encryptCmms.set(keyId, cmm);
      cmm.catch(() => this.encryptCmms.delete(keyId));
    }
    return cmm;
  }

  /** Maps an Encryption SDK failure to a StrataError; a KMS error it hid keeps its own code. */
  private toError(err: unknown, op: 'encrypt' | 'decrypt', kmsFailures: unknown[] | undefined): StrataError {
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
        `kms: the Encryption SDK message is larger than maxBodySize (${this.maxBodySize} bytes)`,
        {
          cause: err,
        },
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
