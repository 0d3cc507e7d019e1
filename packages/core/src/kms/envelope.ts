/**
 * Envelope encryption through the AWS Encryption SDK (`@aws-crypto/client-node`), imported with
 * `import()` on first use, so a process that only reads raw KMS ciphertexts never loads it.
 *
 * - `buildClient(CommitmentPolicy.REQUIRE_ENCRYPT_REQUIRE_DECRYPT)`, a `KmsKeyringNode` whose
 *   `clientProvider` hands out a KMS client that sends every call through the Strata backend
 *   (AwsBackend: same endpoint, region and credentials as the rest of Strata, the per-region KMS
 *   rate limit, and p-retry full-jitter retries on ThrottlingException, 5xx and resets), behind a
 *   `NodeCachingMaterialsManager` over `getLocalCryptographicMaterialsCache`. Concurrent cache
 *   misses for the same encryption context (or the same encrypted data key, on decrypt) share one
 *   KMS call (`./dedupe.ts`); cache hits run concurrently.
 * - Messages are the Encryption SDK's format (version 2, committing suite, ECDSA-signed by
 *   default): every Encryption SDK in every language reads them.
 * - No plaintext or data key is ever logged, put in an error message, or written anywhere; the
 *   SDK zeroes data keys after use, and Strata zeroes the buffers it owns.
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
import type { KmsBackend } from '../backend.js';
import { StrataError } from '../errors.js';
import { lazyModule } from '../lazy.js';
import { ctxKey } from './context.js';
import { MissDeduper } from './dedupe.js';
import { envelopeError, need } from './errors.js';
import { contextMismatch, esdkHeader } from './format.js';
import {
  CONTENT_ENCODING_KEY,
  type DecryptResult,
  type EncryptResult,
  ESDK_PUBLIC_KEY,
  type KmsCacheOptions,
  type KmsCryptoOptions,
} from './options.js';

type Esdk = typeof import('@aws-crypto/client-node');
/** The KMS client shape the Encryption SDK's keyring calls (generateDataKey, encrypt, decrypt). */
type AwsEsdkKMSInterface = Exclude<ReturnType<KmsNodeClientSupplier>, false>;

interface EsdkRuntime {
  esdk: Esdk;
  client: ReturnType<Esdk['buildClient']>;
  decryptCmm: NodeMaterialsManager;
}

export type EnvelopeOptions = Pick<
  KmsCryptoOptions,
  'decryptKeyIds' | 'discoveryFilter' | 'frameLength' | 'signing'
> & {
  cache: Required<KmsCacheOptions> | false;
  maxBodySize: number;
};

/** Errors KMS calls raised during one envelope decryption (the Encryption SDK folds them into text). */
const kmsErrors = new AsyncLocalStorage<unknown[]>();

/** The Encryption SDK module, imported on first use (`../lazy.ts`: a failed import is tried again). */
const loadEsdk = lazyModule<Esdk>('kms', '@aws-crypto/client-node', () => import('@aws-crypto/client-node'));

export class Envelope {
  private esdkRuntime: Promise<EsdkRuntime> | undefined;
  private readonly encryptCmms = new Map<string, Promise<NodeMaterialsManager>>();

  constructor(
    private readonly kms: KmsBackend,
    private readonly opts: EnvelopeOptions,
  ) {}

  /**
   * Encrypts into an Encryption SDK message under `keyId`. With `compress`, gzips first when that
   * makes it smaller and marks it in the context (`strata:content-encoding=gzip`).
   */
  async encrypt(
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
      return await this.encryptMessage(body, keyId, ctx);
    } finally {
      zipped?.fill(0);
    }
  }

  /** Decrypts a message and undoes Strata's compression, if the context says there was some. */
  async decrypt(bytes: Uint8Array, expected?: Record<string, string>): Promise<DecryptResult> {
    const out = await this.decryptMessage(bytes, expected);
    const encoding = out.context[CONTENT_ENCODING_KEY];
    if (encoding === undefined) return out;
    if (encoding !== 'gzip') {
      out.plaintext.fill(0);
      throw new StrataError('DECRYPT_FAILED', `kms: unknown ${CONTENT_ENCODING_KEY} '${encoding}'`);
    }
    try {
      return { ...out, plaintext: gunzipSync(out.plaintext, { maxOutputLength: this.opts.maxBodySize }) };
    } catch {
      throw new StrataError('DECRYPT_FAILED', 'kms: the decrypted value is not valid gzip or is too large');
    } finally {
      out.plaintext.fill(0);
    }
  }

  /**
   * Decrypts a message and encrypts a new one under `toKeyId` with the same context (or
   * `toContext`); the stored bytes are re-encrypted as they are (still compressed when they were).
   * The plaintext is only in memory, then zeroed.
   */
  async reencrypt(
    bytes: Uint8Array,
    toKeyId: string,
    context: Record<string, string> | undefined,
    toContext: Record<string, string> | undefined,
  ): Promise<EncryptResult> {
    const out = await this.decryptMessage(bytes, context);
    try {
      const { [ESDK_PUBLIC_KEY]: _pk, [CONTENT_ENCODING_KEY]: encoding, ...userContext } = out.context;
      const ctx = {
        ...(toContext ?? userContext),
        ...(encoding ? { [CONTENT_ENCODING_KEY]: encoding } : {}),
      };
      return await this.encryptMessage(out.plaintext, toKeyId, ctx);
    } finally {
      out.plaintext.fill(0);
    }
  }

  private async encryptMessage(
    body: Uint8Array,
    keyId: string,
    encryptionContext: Record<string, string>,
  ): Promise<EncryptResult> {
    try {
      const { client, esdk } = await this.runtime();
      const cmm = await this.encryptCmm(keyId);
      const { result, messageHeader } = await client.encrypt(cmm, body, {
        encryptionContext,
        ...(this.opts.frameLength ? { frameLength: this.opts.frameLength } : {}),
        ...(this.opts.signing === false
          ? { suiteId: esdk.AlgorithmSuiteIdentifier.ALG_AES256_GCM_IV12_TAG16_HKDF_SHA512_COMMIT_KEY }
          : {}),
      });
      const edk = messageHeader.encryptedDataKeys[0];
      return { ciphertext: result.toString('base64'), format: 'esdk', keyId: edk?.providerInfo ?? keyId };
    } catch (err) {
      throw envelopeError(err, 'encrypt', undefined, this.opts.maxBodySize);
    }
  }

  /**
   * Every key/value of `expected` must be in the message's context, checked before any KMS call.
   * Only committing messages (format version 2) are decrypted.
   */
  private async decryptMessage(bytes: Uint8Array, expected?: Record<string, string>): Promise<DecryptResult> {
    const header = esdkHeader(bytes)!;
    if (!header.committing) {
      throw new StrataError(
        'DECRYPT_FAILED',
        `kms: this Encryption SDK message (format version 1, suite 0x${header.suiteId.toString(16).padStart(4, '0')}) has no key commitment; Strata's commitment policy is REQUIRE_ENCRYPT_REQUIRE_DECRYPT. Re-encrypt it with an Encryption SDK 2.0 or later default`,
      );
    }
    const { client, decryptCmm } = await this.runtime().catch((err: unknown) => {
      throw envelopeError(err, 'decrypt', undefined, this.opts.maxBodySize);
    });
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
        client.decrypt(checking, Buffer.from(bytes), { maxBodySize: this.opts.maxBodySize }),
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
      throw envelopeError(err, 'decrypt', errors, this.opts.maxBodySize);
    }
  }

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

  /** The Encryption SDK client and decrypting materials, built once; a failure is not kept (the next call tries again). */
  private runtime(): Promise<EsdkRuntime> {
    this.esdkRuntime ??= (async () => {
      const esdk = await loadEsdk();
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
    })().catch((err: unknown) => {
      this.esdkRuntime = undefined;
      throw err;
    });
    return this.esdkRuntime;
  }

  /** A caching materials manager (or the default one, without cache) whose concurrent misses share one KMS call. */
  private materials(esdk: Esdk, keyring: KeyringNode): NodeMaterialsManager {
    const backing = new esdk.NodeDefaultCryptographicMaterialsManager(keyring);
    const cache = this.opts.cache;
    if (!cache) return backing;
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
      cache: esdk.getLocalCryptographicMaterialsCache(cache.capacity),
      maxAge: cache.maxAgeMs,
      maxMessagesEncrypted: cache.maxMessagesEncrypted,
      maxBytesEncrypted: cache.maxBytesEncrypted,
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
}
