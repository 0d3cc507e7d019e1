/**
 * The AWS backend: SSM Parameter Store, Secrets Manager and KMS over the AWS SDK v3 clients.
 * Clients are injectable; otherwise they are created lazily per region with the SDK's own
 * retries off (Strata retries), honouring the standard environment (AWS_REGION, AWS_PROFILE,
 * AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SSM, …) through the SDK's default providers.
 */
import {
  DecryptCommand,
  EncryptCommand,
  GenerateDataKeyCommand,
  GenerateRandomCommand,
  KMSClient,
  ReEncryptCommand,
} from '@aws-sdk/client-kms';
import {
  BatchGetSecretValueCommand,
  DescribeSecretCommand,
  GetSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import {
  DescribeParametersCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  type Parameter,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import pLimit from 'p-limit';
import type {
  Backend,
  KmsBackend,
  KmsDataKeyInput,
  KmsDecryptInput,
  KmsEncryptInput,
  KmsReEncryptInput,
  Outcome,
  ParameterBackend,
  ParameterQuery,
  ParameterRecord,
  ParameterType,
  PutParameterInput,
  PutParameterResult,
  SecretBackend,
  SecretQuery,
  SecretRecord,
} from '../backend.js';
import { StrataError } from '../errors.js';
import { DEFAULT_RATE_LIMITS } from '../rate-limit.js';
import type { RetryOptions } from '../retry.js';
import { type Runtime, systemRuntime } from '../runtime.js';
import { Stats } from '../stats.js';
import { parameterName, parseArn, regionOf } from './arn.js';
import { Caller, type CallProgress } from './caller.js';
import { awsDiscoveryIo, type DiscoveryIo, discoverLevel } from './discovery.js';
import {
  arrayField,
  asParameterType,
  badResponse,
  checkNextToken,
  checkParameters,
  checkSecretValue,
  stringField,
} from './shape.js';

type AnyClient = SSMClient | SecretsManagerClient | KMSClient;

export interface AwsBackendOptions {
  /** Default region; else the SDK's (AWS_REGION, profile). */
  region?: string;
  /** Endpoint override for every service (tests, moto, VPC endpoints); else AWS_ENDPOINT_URL*. */
  endpoint?: string;
  /** Static credentials; else the SDK's default chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Your own configured clients (used for their region; other regions get clients like them). */
  clients?: { ssm?: SSMClient; secretsManager?: SecretsManagerClient; kms?: KMSClient };
  /** Secrets Manager replica regions to read from, in order, when the primary region fails. */
  replicaRegions?: string[];
  /**
   * Requests per second per service and region. `ssm-write` is PutParameter's own bucket (default
   * 5), so writes never eat the readers' share of the Get* quota.
   */
  rateLimits?: Partial<Record<'ssm' | 'ssm-write' | 'ssm-describe' | 'secretsmanager' | 'kms', number>>;
  /**
   * How a level larger than one GetParametersByPath page is listed: `sharded` (default: concurrent
   * DescribeParameters shards, then concurrent GetParameters; see `./discovery.ts`) or `paged` (one
   * sequential chain of GetParametersByPath pages). A level of at most 10 names costs one call either way.
   */
  discovery?: 'sharded' | 'paged';
  retry?: RetryOptions;
  /** Per-attempt timeout, ms: an attempt with no answer by then is aborted and retried. Default 5,000. */
  timeoutMs?: number;
  /** TCP connect timeout of the clients Strata creates, ms. Default 3,000. */
  connectTimeoutMs?: number;
  /**
   * Most time one backend call may take, retries, backoff and rate-limit waits included, ms; then
   * it fails with the last error (THROTTLED or UNAVAILABLE). Default: none (the retry budget
   * bounds it: 9 attempts of at most `timeoutMs` plus backoff). The CLI sets it from `--timeout`.
   */
  deadlineMs?: number;
  /**
   * Aborting it fails every call in flight or queued, and every later one, with the signal's
   * reason (give a StrataError) — an overall deadline: `signal: AbortSignal.timeout(30_000)`.
   */
  signal?: AbortSignal;
  /** Told when a call is retried or an attempt is slow (for progress lines). Never gets a value. */
  onProgress?: (p: CallProgress) => void;
  /** An attempt running this long is reported to `onProgress` as `slow`. Default 2,000 ms. */
  slowCallMs?: number;
  /** Independent calls in flight at once. Default 16. */
  concurrency?: number;
  runtime?: Runtime;
  stats?: Stats;
}

const SSM_BATCH = 10;
const SM_BATCH = 20;

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** A parameter the shape check passed (Name and Value are strings). */
function toRecord(p: Parameter): ParameterRecord {
  return {
    name: p.Name!,
    value: p.Value ?? '',
    type: asParameterType(p.Type) as ParameterType,
    version: p.Version ?? 0,
    ...(p.LastModifiedDate ? { lastModifiedDate: p.LastModifiedDate } : {}),
    ...(p.ARN ? { arn: p.ARN } : {}),
    ...(p.SourceResult ? { fromSecretsManager: true } : {}),
  };
}

const SM_REFERENCE = '/aws/reference/secretsmanager/';

/**
 * Does a returned parameter answer this query? AWS echoes the selector (`:3`, `:label`) in
 * `Selector`; moto does not, so a version is checked against `Version`, and a label is accepted
 * on the name alone (moto gap). `/aws/reference/secretsmanager/ID` comes back named `ID` in moto.
 */
function matchesQuery(p: Parameter, q: ParameterQuery): boolean {
  const sel = q.version !== undefined ? `:${q.version}` : q.label !== undefined ? `:${q.label}` : '';
  const wantName = parameterName(q.name);
  const nameOk =
    p.Name === q.name ||
    p.ARN === q.name ||
    p.Name === wantName ||
    p.Name === wantName.slice(1) ||
    (q.name.startsWith(SM_REFERENCE) && p.Name === q.name.slice(SM_REFERENCE.length));
  if (!nameOk) return false;
  if (p.Selector !== undefined && p.Selector !== '') return p.Selector === sel;
  if (q.version !== undefined) return p.Version === q.version;
  return true;
}

/** A Secrets Manager value (from BatchGetSecretValue or GetSecretValue) as a record for the id asked. */
function toSecretRecord(
  id: string,
  sv: {
    Name?: string;
    ARN?: string;
    VersionId?: string;
    VersionStages?: string[];
    SecretString?: string;
    SecretBinary?: Uint8Array;
  },
): SecretRecord {
  return {
    id,
    name: sv.Name!,
    arn: sv.ARN!,
    versionId: sv.VersionId ?? '',
    stages: sv.VersionStages ?? [],
    ...(sv.SecretString !== undefined ? { secretString: sv.SecretString } : {}),
    ...(sv.SecretBinary !== undefined ? { secretBinary: sv.SecretBinary } : {}),
  };
}

export function queryString(q: ParameterQuery): string {
  if (q.version !== undefined) return `${q.name}:${q.version}`;
  if (q.label !== undefined) return `${q.name}:${q.label}`;
  return q.name;
}

export class AwsBackend implements Backend {
  readonly kind = 'aws' as const;
  readonly stats: Stats;
  readonly region: string;
  private readonly caller: Caller;
  private readonly limit: ReturnType<typeof pLimit>;
  private readonly clients = new Map<string, AnyClient>();
  readonly ssm: ParameterBackend;
  readonly secrets: SecretBackend;
  readonly kms: KmsBackend;
  /** @internal sharded discovery's calls (and whether DescribeParameters was refused) */
  readonly discoveryIo: DiscoveryIo;

  constructor(private readonly opts: AwsBackendOptions = {}) {
    this.stats = opts.stats ?? new Stats();
    const runtime = opts.runtime ?? systemRuntime;
    this.caller = new Caller({
      runtime,
      stats: this.stats,
      rateLimits: { ...DEFAULT_RATE_LIMITS, ...opts.rateLimits },
      ...(opts.retry ? { retry: opts.retry } : {}),
      ...(opts.timeoutMs ? { timeoutMs: opts.timeoutMs } : {}),
      ...(opts.deadlineMs !== undefined ? { deadlineMs: opts.deadlineMs } : {}),
      ...(opts.signal ? { signal: opts.signal } : {}),
      ...(opts.onProgress ? { onProgress: opts.onProgress } : {}),
      ...(opts.slowCallMs !== undefined ? { slowCallMs: opts.slowCallMs } : {}),
    });
    this.limit = pLimit(opts.concurrency ?? 16);
    this.region = opts.region ?? process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? 'us-east-1';
    this.ssm = new SsmApi(this);
    this.secrets = new SecretsApi(this);
    this.kms = new KmsApi(this);
    this.discoveryIo = awsDiscoveryIo(this);
  }

  /** @internal */
  run<T>(
    service: 'ssm' | 'secretsmanager' | 'kms',
    region: string,
    op: string,
    source: string,
    send: (signal: AbortSignal) => Promise<T>,
    opts: { bucket?: string } = {},
  ): Promise<T> {
    return this.limit(() => this.caller.call(service, region, op, source, send, opts));
  }

  /** @internal */
  client<C extends AnyClient>(service: 'ssm' | 'secretsmanager' | 'kms', region: string): C {
    const key = `${service}/${region}`;
    const existing = this.clients.get(key);
    if (existing) return existing as C;
    const given =
      service === 'ssm'
        ? this.opts.clients?.ssm
        : service === 'secretsmanager'
          ? this.opts.clients?.secretsManager
          : this.opts.clients?.kms;
    let client: AnyClient;
    if (given && region === this.region) client = given;
    else {
      const config = {
        region,
        maxAttempts: 1, // Strata retries (p-retry, full jitter); the SDK's own retries are off.
        // Bounded sockets: a connect that hangs, or a request with no answer, fails on its own too
        // (the caller also aborts each attempt after timeoutMs, whatever the handler does).
        requestHandler: {
          connectionTimeout: this.opts.connectTimeoutMs ?? 3000,
          requestTimeout: this.opts.timeoutMs ?? 5000,
          throwOnRequestTimeout: true,
        },
        ...(this.opts.endpoint ? { endpoint: this.opts.endpoint } : {}),
        ...(this.opts.credentials
          ? { credentials: this.opts.credentials }
          : given
            ? { credentials: given.config.credentials }
            : {}),
      };
      client =
        service === 'ssm'
          ? new SSMClient(config)
          : service === 'secretsmanager'
            ? new SecretsManagerClient(config)
            : new KMSClient(config);
    }
    this.clients.set(key, client);
    return client as C;
  }

  get discovery(): 'sharded' | 'paged' {
    return this.opts.discovery ?? 'sharded';
  }

  /** @internal DescribeParameters' bucket: its own, unless `rateLimits.ssm` is set alone (then it caps every SSM read). */
  get describeBucket(): string {
    const r = this.opts.rateLimits;
    return r?.ssm !== undefined && r['ssm-describe'] === undefined ? 'ssm' : 'ssm-describe';
  }

  get replicaRegions(): string[] {
    return this.opts.replicaRegions ?? [];
  }

  destroy(): void {
    for (const [key, c] of this.clients) {
      const given = Object.values(this.opts.clients ?? {}).includes(c);
      if (!given) c.destroy();
      this.clients.delete(key);
    }
  }
}

class SsmApi implements ParameterBackend {
  constructor(private readonly b: AwsBackend) {}
  get region(): string {
    return this.b.region;
  }

  async getParameters(queries: ParameterQuery[]): Promise<Outcome<ParameterRecord>[]> {
    const results = new Map<ParameterQuery, Outcome<ParameterRecord>>();
    const byRegion = groupBy(queries, (q) => regionOf(q.name, this.b.region));
    const jobs: Promise<void>[] = [];
    for (const [region, qs] of byRegion) {
      for (const batch of chunk(qs, SSM_BATCH)) {
        const names = batch.map(queryString);
        jobs.push(
          this.b
            .run('ssm', region, 'GetParameters', names.join(','), async (abortSignal) => {
              const out = await this.b
                .client<SSMClient>('ssm', region)
                .send(new GetParametersCommand({ Names: names, WithDecryption: true }), { abortSignal });
              checkParameters(out, 'ssm:GetParameters', names.join(','));
              return out;
            })
            .then(
              (out) => {
                const returned = [...(out.Parameters ?? [])];
                for (const q of batch) {
                  const i = returned.findIndex((p) => matchesQuery(p, q));
                  const p = i >= 0 ? returned.splice(i, 1)[0] : undefined;
                  results.set(
                    q,
                    p
                      ? { ok: true, value: { ...toRecord(p), name: parseArn(q.name) ? p.Name! : q.name } }
                      : {
                          ok: false,
                          error: new StrataError(
                            'NOT_FOUND',
                            `parameter ${queryString(q)} not found${q.version !== undefined ? ' (no such version)' : q.label !== undefined ? ' (no such label)' : ''}`,
                            { source: queryString(q) },
                          ),
                        },
                  );
                }
              },
              (error: StrataError) => {
                for (const q of batch) results.set(q, { ok: false, error });
              },
            ),
        );
      }
    }
    await Promise.all(jobs);
    return queries.map((q) => results.get(q)!);
  }

  async getParametersByPath(path: string, opts: { recursive: boolean }): Promise<ParameterRecord[]> {
    if (this.b.discovery !== 'paged') return discoverLevel(this.b.discoveryIo, path, opts);
    const region = regionOf(path, this.b.region);
    const out: ParameterRecord[] = [];
    const seen = new Set<string>();
    let next: string | undefined;
    do {
      const token = next;
      const page = await this.b.run('ssm', region, 'GetParametersByPath', path, async (abortSignal) => {
        const res = await this.b.client<SSMClient>('ssm', region).send(
          new GetParametersByPathCommand({
            Path: path,
            Recursive: opts.recursive,
            WithDecryption: true,
            MaxResults: 10,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal },
        );
        checkParameters(res, 'ssm:GetParametersByPath', path);
        return res;
      });
      for (const p of page.Parameters ?? []) out.push(toRecord(p));
      next = checkNextToken(page, seen, 'ssm:GetParametersByPath', path);
    } while (next);
    return out;
  }

  async describeByPath(
    path: string,
    opts: { recursive: boolean },
  ): Promise<Array<{ name: string; version: number }>> {
    const region = regionOf(path, this.b.region);
    const out: Array<{ name: string; version: number }> = [];
    const seen = new Set<string>();
    let next: string | undefined;
    do {
      const token = next;
      const page = await this.b.run('ssm', region, 'DescribeParameters', path, async (abortSignal) => {
        const res = await this.b.client<SSMClient>('ssm', region).send(
          new DescribeParametersCommand({
            ParameterFilters: [
              { Key: 'Path', Option: opts.recursive ? 'Recursive' : 'OneLevel', Values: [path] },
            ],
            MaxResults: 50,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal },
        );
        arrayField(res, 'Parameters', 'ssm:DescribeParameters', path).forEach((p, i) => {
          stringField(p, 'Name', `Parameters[${i}]`, 'ssm:DescribeParameters', path);
        });
        return res;
      });
      for (const p of page.Parameters ?? []) out.push({ name: p.Name!, version: p.Version ?? 0 });
      next = checkNextToken(page, seen, 'ssm:DescribeParameters', path);
    } while (next);
    return out;
  }

  /**
   * PutParameter (Overwrite unless `overwrite: false`), with the same timeouts and retries as
   * reads, but its own rate-limit bucket (`ssm-write`). Retrying is safe: the same value written
   * twice only adds a version.
   */
  async putParameter(input: PutParameterInput): Promise<PutParameterResult> {
    const region = regionOf(input.name, this.b.region);
    const op = 'ssm:PutParameter';
    const out = await this.b.run(
      'ssm',
      region,
      'PutParameter',
      input.name,
      async (abortSignal) => {
        const res = await this.b.client<SSMClient>('ssm', region).send(
          new PutParameterCommand({
            Name: input.name,
            Value: input.value,
            Type: input.type,
            Overwrite: input.overwrite ?? true,
            ...(input.tier ? { Tier: input.tier } : {}),
            ...(input.type === 'SecureString' && input.keyId ? { KeyId: input.keyId } : {}),
          }),
          { abortSignal },
        );
        if (typeof res?.Version !== 'number') throw badResponse(op, input.name, 'Version is missing');
        return res;
      },
      { bucket: 'ssm-write' },
    );
    return { name: input.name, version: out.Version!, ...(out.Tier ? { tier: out.Tier } : {}) };
  }
}

class SecretsApi implements SecretBackend {
  constructor(private readonly b: AwsBackend) {}
  get region(): string {
    return this.b.region;
  }

  /** Tries the secret's own region, then each replica region, for errors worth failing over. */
  private async withFailover<T>(id: string, fn: (region: string) => Promise<T>): Promise<T> {
    const primary = regionOf(id, this.b.region);
    const regions = [primary, ...this.b.replicaRegions.filter((r) => r !== primary)];
    let last: unknown;
    for (const region of regions) {
      try {
        return await fn(region);
      } catch (err) {
        last = err;
        if (!(err instanceof StrataError) || !err.retryable) throw err;
      }
    }
    throw last;
  }

  /** An ARN for the primary region, rewritten for a replica region (same account, same name). */
  private idIn(id: string, region: string): string {
    const arn = parseArn(id);
    if (!arn || arn.region === region) return id;
    return `arn:${arn.partition}:${arn.service}:${region}:${arn.account}:${arn.resource}`;
  }

  async getSecrets(queries: SecretQuery[]): Promise<Outcome<SecretRecord>[]> {
    const results = new Map<SecretQuery, Outcome<SecretRecord>>();
    const latest = queries.filter(
      (q) => !q.versionId && (!q.versionStage || q.versionStage === 'AWSCURRENT'),
    );
    const pinned = queries.filter((q) => !latest.includes(q));
    const jobs: Promise<void>[] = [];
    const byRegion = groupBy(latest, (q) => regionOf(q.secretId, this.b.region));
    for (const [, qs] of byRegion) {
      for (const batch of chunk(qs, SM_BATCH)) {
        const ids = [...new Set(batch.map((q) => q.secretId))];
        jobs.push(
          this.withFailover(ids[0]!, (region) =>
            this.b.run(
              'secretsmanager',
              region,
              'BatchGetSecretValue',
              ids.join(','),
              async (abortSignal) => {
                const res = await this.b
                  .client<SecretsManagerClient>('secretsmanager', region)
                  .send(
                    new BatchGetSecretValueCommand({ SecretIdList: ids.map((id) => this.idIn(id, region)) }),
                    {
                      abortSignal,
                    },
                  );
                const op = 'secretsmanager:BatchGetSecretValue';
                arrayField(res, 'SecretValues', op, ids.join(',')).forEach((sv, i) => {
                  checkSecretValue(sv, `SecretValues[${i}]`, op, ids.join(','));
                });
                arrayField(res, 'Errors', op, ids.join(','), false).forEach((e, i) => {
                  stringField(e, 'SecretId', `Errors[${i}]`, op, ids.join(','), true);
                  stringField(e, 'ErrorCode', `Errors[${i}]`, op, ids.join(','), true);
                });
                return res;
              },
            ),
          ).then(
            (out) => {
              for (const q of batch) {
                const sv = (out.SecretValues ?? []).find(
                  (s) =>
                    s.Name === q.secretId ||
                    s.ARN === q.secretId ||
                    (q.secretId.startsWith('arn:') && s.ARN?.startsWith(q.secretId)) ||
                    (s.ARN && parseArn(s.ARN)?.resource === parseArn(q.secretId)?.resource),
                );
                if (sv) {
                  results.set(q, { ok: true, value: toSecretRecord(q.secretId, sv) });
                  continue;
                }
                const e = (out.Errors ?? []).find(
                  (x) => x.SecretId === q.secretId || q.secretId.endsWith(`:${x.SecretId}`),
                );
                const code = e?.ErrorCode ?? 'ResourceNotFoundException';
                results.set(q, {
                  ok: false,
                  error: new StrataError(
                    code.includes('NotFound')
                      ? 'NOT_FOUND'
                      : code.includes('AccessDenied')
                        ? 'ACCESS_DENIED'
                        : code.includes('Decryption')
                          ? 'DECRYPT_FAILED'
                          : 'AWS_ERROR',
                    `secretsmanager:BatchGetSecretValue ${q.secretId}: ${code}`,
                    { source: q.secretId },
                  ),
                });
              }
            },
            (error: StrataError) => {
              for (const q of batch) results.set(q, { ok: false, error });
            },
          ),
        );
      }
    }
    for (const q of pinned) {
      jobs.push(
        this.withFailover(q.secretId, (region) =>
          this.b.run('secretsmanager', region, 'GetSecretValue', q.secretId, async (abortSignal) => {
            const res = await this.b.client<SecretsManagerClient>('secretsmanager', region).send(
              new GetSecretValueCommand({
                SecretId: this.idIn(q.secretId, region),
                ...(q.versionId ? { VersionId: q.versionId } : {}),
                ...(q.versionStage ? { VersionStage: q.versionStage } : {}),
              }),
              { abortSignal },
            );
            if (res === null || typeof res !== 'object')
              throw badResponse('secretsmanager:GetSecretValue', q.secretId, 'no response body');
            checkSecretValue(
              res as unknown as Record<string, unknown>,
              'response',
              'secretsmanager:GetSecretValue',
              q.secretId,
            );
            return res;
          }),
        ).then(
          (sv) => {
            results.set(q, { ok: true, value: toSecretRecord(q.secretId, sv) });
          },
          (error: StrataError) => {
            results.set(q, { ok: false, error });
          },
        ),
      );
    }
    await Promise.all(jobs);
    return queries.map((q) => results.get(q)!);
  }

  async currentVersionId(secretId: string): Promise<string | undefined> {
    const out = await this.withFailover(secretId, (region) =>
      this.b.run('secretsmanager', region, 'DescribeSecret', secretId, async (abortSignal) => {
        const res = await this.b
          .client<SecretsManagerClient>('secretsmanager', region)
          .send(new DescribeSecretCommand({ SecretId: this.idIn(secretId, region) }), { abortSignal });
        const stages = (res as { VersionIdsToStages?: unknown } | undefined)?.VersionIdsToStages;
        if (
          stages !== undefined &&
          (stages === null ||
            typeof stages !== 'object' ||
            !Object.values(stages).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string')))
        )
          throw badResponse(
            'secretsmanager:DescribeSecret',
            secretId,
            'VersionIdsToStages is not a map of stage lists',
          );
        return res;
      }),
    );
    for (const [id, stages] of Object.entries(out.VersionIdsToStages ?? {})) {
      if (stages.includes('AWSCURRENT')) return id;
    }
    return undefined;
  }
}

/**
 * KMS through the same rate limiter (one bucket per region for every KMS operation, as AWS shares
 * one quota), timeout and full-jitter retries as every other call: a ThrottlingException from
 * Decrypt, Encrypt, GenerateDataKey or ReEncrypt is retried. The region is the key ARN's, else the
 * backend's. Error messages name the operation and the key, never a plaintext.
 */
class KmsApi implements KmsBackend {
  constructor(private readonly b: AwsBackend) {}
  get region(): string {
    return this.b.region;
  }

  private send<T>(
    op: string,
    keyId: string | undefined,
    call: (client: KMSClient, abortSignal: AbortSignal) => Promise<T>,
  ): Promise<T> {
    const region = keyId ? regionOf(keyId, this.b.region) : this.b.region;
    return this.b.run('kms', region, op, keyId ?? 'kms ciphertext', (abortSignal) =>
      call(this.b.client<KMSClient>('kms', region), abortSignal),
    );
  }

  async decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array> {
    return (await this.decryptWithKey({ ciphertext, ...(context ? { context } : {}) })).plaintext;
  }

  async decryptWithKey(input: KmsDecryptInput): Promise<{ keyId: string; plaintext: Uint8Array }> {
    const out = await this.send('Decrypt', input.keyId, (c, abortSignal) =>
      c.send(
        new DecryptCommand({
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
    const out = await this.send('Encrypt', input.keyId, (c, abortSignal) =>
      c.send(
        new EncryptCommand({
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
    const out = await this.send('GenerateDataKey', input.keyId, (c, abortSignal) =>
      c.send(
        new GenerateDataKeyCommand({
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
    const out = await this.send('ReEncrypt', input.toKeyId, (c, abortSignal) =>
      c.send(
        new ReEncryptCommand({
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
    const out = await this.send('GenerateRandom', undefined, (c, abortSignal) =>
      c.send(new GenerateRandomCommand({ NumberOfBytes: bytes }), { abortSignal }),
    );
    if (!(out?.Plaintext instanceof Uint8Array))
      throw badResponse('kms:GenerateRandom', 'random', 'Plaintext is missing');
    return out.Plaintext;
  }
}
