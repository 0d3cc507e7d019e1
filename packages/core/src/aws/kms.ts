/**
 * KMS for the AWS backend. `@aws-sdk/client-kms` is loaded with `import()` on the first KMS call,
 * not when Strata is imported: a process that never meets a kms reference never loads it.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type {
  KmsBackend,
  KmsDataKeyInput,
  KmsDecryptInput,
  KmsEncryptInput,
  KmsReEncryptInput,
} from '../backend.js';
import { lazyModule } from '../lazy.js';
import { regionOf } from './arn.js';
import type { AwsBackend } from './backend.js';
import { badResponse } from './shape.js';

export type KmsSdk = typeof import('@aws-sdk/client-kms');

/** The KMS client module, imported on first use. */
const loadKmsSdk = lazyModule('kms', '@aws-sdk/client-kms', () => import('@aws-sdk/client-kms'));

/**
 * KMS through the same rate limiter (one bucket per region for every KMS operation, as AWS shares
 * one quota), timeout and full-jitter retries as every other call: a ThrottlingException from
 * Decrypt, Encrypt, GenerateDataKey or ReEncrypt is retried. The region is the key ARN's, else the
 * backend's. Error messages name the operation and the key, never a plaintext.
 */
export class KmsApi implements KmsBackend {
  constructor(private readonly b: AwsBackend) {}
  get region(): string {
    return this.b.region;
  }

  /** Loads the KMS client module (first use only), then runs `call` through the backend. */
  private async send<T>(
    op: string,
    keyId: string | undefined,
    call: (sdk: KmsSdk, client: KMSClient, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const region = keyId ? regionOf(keyId, this.b.region) : this.b.region;
    const sdk = await loadKmsSdk();
    return this.b.run('kms', region, op, keyId ?? 'kms ciphertext', (abortSignal) =>
      call(sdk, this.b.kmsClient(sdk, region), abortSignal),
    );
  }

  async decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    return (await this.decryptWithKey({ ciphertext, ...(context ? { context } : {}) })).plaintext;
  }

  async decryptWithKey(input: KmsDecryptInput): Promise<{ keyId: string; plaintext: Uint8Array }> {
    const out = await this.send('Decrypt', input.keyId, (sdk, c, abortSignal) =>
      c.send(
        new sdk.DecryptCommand({
          CiphertextBlob: input.ciphertext,
          ...(input.keyId ? { KeyId: input.keyId } : {}),
          ...(input.context ? { EncryptionContext: input.context } : {}),
        }),
        { abortSignal },
      ),
    );
    if (!(out?.Plaintext instanceof Uint8Array))
      throw badResponse('kms:Decrypt', input.keyId ?? 'kms ciphertext', 'Plaintext is missing');
    return { keyId: out.KeyId ?? input.keyId ?? '', plaintext: out.Plaintext };
  }

  async encrypt(input: KmsEncryptInput): Promise<{ keyId: string; ciphertext: Uint8Array }> {
    const out = await this.send('Encrypt', input.keyId, (sdk, c, abortSignal) =>
      c.send(
        new sdk.EncryptCommand({
          KeyId: input.keyId,
          Plaintext: input.plaintext,
          ...(input.context ? { EncryptionContext: input.context } : {}),
        }),
        { abortSignal },
      ),
    );
    if (!(out?.CiphertextBlob instanceof Uint8Array))
      throw badResponse('kms:Encrypt', input.keyId, 'CiphertextBlob is missing');
    return { keyId: out.KeyId ?? input.keyId, ciphertext: out.CiphertextBlob };
  }

  async generateDataKey(
    input: KmsDataKeyInput,
  ): Promise<{ keyId: string; plaintext: Uint8Array; ciphertext: Uint8Array }> {
    const out = await this.send('GenerateDataKey', input.keyId, (sdk, c, abortSignal) =>
      c.send(
        new sdk.GenerateDataKeyCommand({
          KeyId: input.keyId,
          NumberOfBytes: input.bytes,
          ...(input.context ? { EncryptionContext: input.context } : {}),
        }),
        { abortSignal },
      ),
    );
    if (!(out?.Plaintext instanceof Uint8Array) || !(out.CiphertextBlob instanceof Uint8Array))
      throw badResponse('kms:GenerateDataKey', input.keyId, 'Plaintext or CiphertextBlob is missing');
    return { keyId: out.KeyId ?? input.keyId, plaintext: out.Plaintext, ciphertext: out.CiphertextBlob };
  }

  async reEncrypt(input: KmsReEncryptInput): Promise<{ keyId: string; ciphertext: Uint8Array }> {
    const toContext = input.toContext ?? input.context;
    const out = await this.send('ReEncrypt', input.toKeyId, (sdk, c, abortSignal) =>
      c.send(
        new sdk.ReEncryptCommand({
          CiphertextBlob: input.ciphertext,
          DestinationKeyId: input.toKeyId,
          ...(input.context ? { SourceEncryptionContext: input.context } : {}),
          ...(toContext ? { DestinationEncryptionContext: toContext } : {}),
        }),
        { abortSignal },
      ),
    );
    if (!(out?.CiphertextBlob instanceof Uint8Array))
      throw badResponse('kms:ReEncrypt', input.toKeyId, 'CiphertextBlob is missing');
    return { keyId: out.KeyId ?? input.toKeyId, ciphertext: out.CiphertextBlob };
  }

  async generateRandom(bytes: number): Promise<Uint8Array> {
    const out = await this.send('GenerateRandom', undefined, (sdk, c, abortSignal) =>
      c.send(new sdk.GenerateRandomCommand({ NumberOfBytes: bytes }), { abortSignal }),
    );
    if (!(out?.Plaintext instanceof Uint8Array))
      throw badResponse('kms:GenerateRandom', 'random', 'Plaintext is missing');
    return out.Plaintext;
  }
}
