/**
 * Reads of single sources through the cache and the batchers: one parameter, one path listing,
 * one secret, one kms ciphertext. Names AWS would refuse are refused here, before any call.
 */
import { parameterName, regionOf } from '../aws/arn.js';
import { queryString } from '../aws/backend.js';
import type { Backend, ParameterQuery, ParameterRecord, SecretQuery, SecretRecord } from '../backend.js';
import { StrataError } from '../errors.js';
import { shortName } from '../hierarchy/names.js';
import { createKmsCrypto, type KmsCrypto, type KmsCryptoOptions } from '../kms/crypto.js';
import { parameterNameProblem } from '../reference/parser.js';
import type { Runtime } from '../runtime.js';
import { Batcher } from './batcher.js';
import type { SourceCache } from './cache.js';
import { kmsKey, parameterKey, pathKey, secretKey } from './cache-key.js';

/** GetParameters takes at most 10 names. */
const SSM_BATCH = 10;

export interface SourceReaderOptions {
  /** How keys under a path are discovered (see `ResolverOptions.discovery`). */
  discovery?: 'by-path' | 'describe';
  /** How long reads are collected into one batch, ms. */
  batchWindowMs?: number;
  kms?: Pick<KmsCryptoOptions, 'cache' | 'decryptKeyIds' | 'discoveryFilter' | 'maxBodySize'>;
  runtime: Runtime;
}

export class SourceReader {
  private readonly params: Batcher<ParameterQuery, ParameterRecord>;
  private readonly secrets: Batcher<SecretQuery, SecretRecord>;
  /** Envelope (Encryption SDK) decryption, created on the first such reference. */
  private kmsCrypto: KmsCrypto | undefined;

  constructor(
    private readonly backend: Backend,
    private readonly cache: SourceCache,
    private readonly opts: SourceReaderOptions,
  ) {
    const sleep = (ms: number) => opts.runtime.sleep(ms);
    const windowMs = opts.batchWindowMs ?? 0;
    this.params = new Batcher((qs) => backend.ssm.getParameters(qs), {
      windowMs,
      sleep,
      groupOf: (q) => regionOf(q.name, backend.ssm.region),
      maxBatch: SSM_BATCH,
    });
    // Secrets: the backend splits latest (BatchGetSecretValue, 20 ids) from pinned (GetSecretValue)
    this.secrets = new Batcher((qs) => backend.secrets.getSecrets(qs), { windowMs, sleep });
  }

  /** One parameter by name (or ARN), optionally a version or label. Decrypted. */
  async getParameter(q: ParameterQuery): Promise<ParameterRecord> {
    // a name AWS would refuse is refused here, before any call, and never echoed in full
    const problem = typeof q.name === 'string' ? parameterNameProblem(parameterName(q.name)) : 'not a string';
    if (problem) {
      throw new StrataError('INVALID_INPUT', `parameter ${shortName(String(q.name))}: ${problem}`, {
        source: shortName(String(q.name)),
      });
    }
    const key = parameterKey(q, this.backend.ssm.region);
    const e = await this.cache.get(key, queryString(q), async () => ({
      key,
      record: await this.params.load(q),
    }));
    return e.record;
  }

  /** Every parameter under a path (decrypted). */
  async getParametersByPath(path: string, recursive: boolean): Promise<ParameterRecord[]> {
    const key = pathKey(path, recursive, this.backend.ssm.region);
    const e = await this.cache.get(key, path, async () => ({
      key,
      records: await this.listPath(path, recursive),
    }));
    return e.records;
  }

  private async listPath(path: string, recursive: boolean): Promise<ParameterRecord[]> {
    const { ssm } = this.backend;
    if (this.opts.discovery === 'describe' && ssm.describeByPath) {
      const names = await ssm.describeByPath(path, { recursive });
      const outs = await ssm.getParameters(names.map((n) => ({ name: n.name })));
      return outs.flatMap((o) => (o.ok ? [o.value] : []));
    }
    return ssm.getParametersByPath(path, { recursive });
  }

  async getSecret(q: SecretQuery): Promise<SecretRecord> {
    const key = secretKey(q, this.backend.secrets.region);
    const e = await this.cache.get(key, q.secretId, async () => ({
      key,
      record: await this.secrets.load(q),
    }));
    return e.record;
  }

  /**
   * Decrypts a `<<resolve:kms:…>>` ciphertext: an AWS Encryption SDK message (detected from its
   * header; every key/value of `context` must be in the message's context) through the Encryption
   * SDK and its data-key cache, anything else with KMS Decrypt (KMS checks `context` exactly).
   */
  async decrypt(ciphertextBase64: string, context?: Record<string, string>): Promise<string> {
    const key = kmsKey(this.backend.kms.region, ciphertextBase64, context);
    const e = await this.cache.get(key, 'kms ciphertext', async () => {
      this.kmsCrypto ??= createKmsCrypto({ ...this.opts.kms, backend: this.backend });
      const out = await this.kmsCrypto.decrypt(ciphertextBase64, context ? { context } : {});
      const plaintext = out.plaintext.toString('utf8');
      out.plaintext.fill(0);
      return { key, plaintext };
    });
    return e.plaintext;
  }
}
