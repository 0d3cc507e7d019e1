/**
 * The AWS backend: SSM Parameter Store (`./ssm.ts`, `./describe.ts`), Secrets Manager
 * (`./secrets.ts`) and KMS (`./kms.ts`) over the AWS SDK v3 clients. This file holds what they
 * share: options, the per-region client pool and the call path (concurrency limit, then
 * `./caller.ts`: rate limit, timeouts, retries). Clients are injectable; otherwise they are created
 * lazily per region with the SDK's own retries off (Strata retries), honouring the standard
 * environment (AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL, AWS_ENDPOINT_URL_SSM, …) through the
 * SDK's default providers.
 */
import type { KMSClient } from '@aws-sdk/client-kms';
import type { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import pLimit from 'p-limit';
import type { Backend, KmsBackend, ParameterBackend, SecretBackend } from '../backend.js';
import { DEFAULT_RATE_LIMITS } from '../rate-limit.js';
import type { RetryOptions } from '../retry.js';
import { type Runtime, systemRuntime } from '../runtime.js';
import { Stats } from '../stats.js';
import { Caller, type CallProgress } from './caller.js';
import { KmsApi, type KmsSdk } from './kms.js';
import { SecretsApi, type SecretsSdk } from './secrets.js';
import { SsmApi } from './ssm.js';

export { queryString } from './records.js';

type Service = 'ssm' | 'secretsmanager' | 'kms';
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
  }

  /** @internal One AWS call: concurrency limit, then rate limit, per-attempt timeout and retries. */
  run<T>(
    service: Service,
    region: string,
    op: string,
    source: string,
    send: (signal: AbortSignal) => Promise<T>,
    opts: { bucket?: string } = {},
  ): Promise<T> {
    return this.limit(() => this.caller.call(service, region, op, source, send, opts));
  }

  /** @internal */
  ssmClient(region: string): SSMClient {
    return this.client('ssm', region, this.opts.clients?.ssm, (c) => new SSMClient(c));
  }

  /** @internal The Secrets Manager client module is passed in: it is loaded on first use (`./secrets.ts`). */
  secretsClient(sdk: SecretsSdk, region: string): SecretsManagerClient {
    return this.client(
      'secretsmanager',
      region,
      this.opts.clients?.secretsManager,
      (c) => new sdk.SecretsManagerClient(c),
    );
  }

  /** @internal The KMS client module is passed in: it is loaded on first use (`./kms.ts`). */
  kmsClient(sdk: KmsSdk, region: string): KMSClient {
    return this.client('kms', region, this.opts.clients?.kms, (c) => new sdk.KMSClient(c));
  }

  /** The client for a service and region: the one given for the default region, else one made like it. */
  private client<C extends AnyClient>(
    service: Service,
    region: string,
    given: C | undefined,
    create: (config: ReturnType<AwsBackend['clientConfig']>) => C,
  ): C {
    const key = `${service}/${region}`;
    const existing = this.clients.get(key);
    if (existing) return existing as C;
    const client = given && region === this.region ? given : create(this.clientConfig(region, given));
    this.clients.set(key, client);
    return client;
  }

  private clientConfig(region: string, given: AnyClient | undefined) {
    return {
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

  /**
   * Destroys the SDK clients this backend created (their sockets); clients passed in `clients`
   * are left open. A call after it creates fresh clients.
   */
  async close(): Promise<void> {
    const given = new Set<unknown>(Object.values(this.opts.clients ?? {}));
    for (const [key, c] of this.clients) {
      if (!given.has(c)) c.destroy();
      this.clients.delete(key);
    }
  }
}
