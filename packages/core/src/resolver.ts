/**
 * The resolution engine shared by the loader, the CLI and the operator, as one facade over:
 *
 * - `engine/batcher.ts`: every read of one tick (or `batchWindowMs`) is batched per service, so
 *   the references of one depth level become GetParameters (10 names), BatchGetSecretValue (20
 *   ids) and Decrypt calls, sent concurrently.
 * - `engine/cache.ts` + `engine/cache-key.ts`: lru-cache keyed by typed keys (region, service,
 *   id, version selector); TTL per source; concurrent requests for one key share one in-flight
 *   call (single-flight); stale values are served while a refresh is in flight and kept when it
 *   fails (`onRefreshError`).
 * - `engine/sources.ts`: single parameters, path listings, secrets and kms ciphertexts.
 * - `engine/references.ts`: references recurse through resolved values up to `maxDepth`; a cycle
 *   is reported with its chain.
 * - `hierarchy/load.ts`: the hierarchy fetch strategies, the merge and the no-leak rule.
 * - `engine/freshness.ts`: `invalidate` and `checkForChanges`.
 */
import { AwsBackend, type AwsBackendOptions } from './aws/backend.js';
import type { Backend, ParameterQuery, ParameterRecord, SecretQuery, SecretRecord } from './backend.js';
import { SourceCache } from './engine/cache.js';
import { changedSources } from './engine/freshness.js';
import { References, type ResolveMapOptions } from './engine/references.js';
import { SourceReader } from './engine/sources.js';
import type { Resolved, SourceService } from './engine/types.js';
import type { StrataError } from './errors.js';
import type { HierarchyInput } from './hierarchy/levels.js';
import { type HierarchyResult, type LoadHierarchyOptions, loadHierarchy } from './hierarchy/load.js';
import type { KmsCryptoOptions } from './kms/crypto.js';
import { LocalBackend, type LocalTree } from './local/backend.js';
import type { Reference } from './reference/parser.js';
import { asOneLoad } from './retry.js';
import { type Runtime, systemRuntime } from './runtime.js';
import type { Stats, StatsSnapshot } from './stats.js';

export type { ResolveMapOptions } from './engine/references.js';
export type { Resolved, SourceInfo, SourceService } from './engine/types.js';
export type { HierarchyEntry, HierarchyResult, LoadHierarchyOptions } from './hierarchy/load.js';

export interface ResolverOptions {
  /** A backend to use; default: AWS with `aws` options, or local when `local` is given. */
  backend?: Backend;
  /** Options for the AWS backend (region, endpoint, clients, replicas, rate limits, retry). */
  aws?: AwsBackendOptions;
  /** A local tree (file, directory or parsed) instead of AWS. */
  local?: string | LocalTree;
  /** Time to live per source, ms. Defaults: ssm 5 min, secretsmanager 5 min, kms 1 h. */
  ttlMs?: Partial<Record<SourceService, number>>;
  /** Most entries kept. Default 10,000. */
  maxEntries?: number;
  /**
   * Reference nesting limit: how many times a fetched value may itself be (or contain) a reference
   * that is followed. Default 5: `<<a>>` whose value is `<<b>>`, … through five such values, ending in
   * a plain value, resolves; a sixth nested reference is DEPTH_EXCEEDED. The fetch of the last,
   * plain value is not a level; 0 allows references but no nesting.
   */
  maxDepth?: number;
  /**
   * How keys of a hierarchy level are discovered: `by-path` (GetParametersByPath, 10 a page,
   * fewest calls) or `describe` (DescribeParameters, 50 names a page, then concurrent
   * GetParameters: fewer sequential round trips on large levels). Default `by-path`.
   */
  discovery?: 'by-path' | 'describe';
  /**
   * Serve a stale value at once while it is refreshed in the background (default true). With
   * false, a read after the TTL waits for the fresh value — and still gets the last good value
   * if the refresh fails. The operator uses false so a periodic refresh writes current values.
   */
  staleWhileRevalidate?: boolean;
  /**
   * How long reads are collected into one batch, ms. 0 (default): the current tick only. A
   * server resolving for many callers that arrive a few ms apart (the operator) uses ~10.
   */
  batchWindowMs?: number;
  /**
   * Envelope-encrypted kms references (Encryption SDK messages): data-key cache limits, and which
   * keys may decrypt (default: discovery, like KMS Decrypt). KMS calls go through `backend`.
   */
  kms?: Pick<KmsCryptoOptions, 'cache' | 'decryptKeyIds' | 'discoveryFilter' | 'maxBodySize'>;
  /** Called when a background refresh fails and the last good value is kept. Never gets a value. */
  onRefreshError?: (error: StrataError, source: string) => void;
  runtime?: Runtime;
}

/**
 * Resolves references and loads hierarchies over one backend, with one cache. One resolver may be
 * shared by many callers (the operator shares one across resources): each drops only its own sources
 * with `invalidate(sources)`. Construct it with `createResolver(opts)`.
 */
export class Resolver {
  readonly backend: Backend;
  private readonly stats: Stats;
  private readonly cache: SourceCache;
  private readonly reader: SourceReader;
  private readonly refs: References;

  /** Prefer `createResolver(opts)`; the class is exported for types and `instanceof`. */
  constructor(opts: ResolverOptions = {}) {
    const runtime = opts.runtime ?? systemRuntime;
    if (opts.backend) this.backend = opts.backend;
    else if (opts.local !== undefined) this.backend = new LocalBackend(opts.local);
    else this.backend = new AwsBackend({ ...opts.aws, runtime: opts.aws?.runtime ?? runtime });
    this.stats = this.backend.stats;
    this.cache = new SourceCache({
      ...(opts.ttlMs ? { ttlMs: opts.ttlMs } : {}),
      ...(opts.maxEntries !== undefined ? { maxEntries: opts.maxEntries } : {}),
      ...(opts.staleWhileRevalidate !== undefined ? { staleWhileRevalidate: opts.staleWhileRevalidate } : {}),
      ...(opts.onRefreshError ? { onRefreshError: opts.onRefreshError } : {}),
      runtime,
      stats: this.stats,
    });
    this.reader = new SourceReader(this.backend, this.cache, {
      ...(opts.discovery ? { discovery: opts.discovery } : {}),
      ...(opts.batchWindowMs !== undefined ? { batchWindowMs: opts.batchWindowMs } : {}),
      ...(opts.kms ? { kms: opts.kms } : {}),
      runtime,
    });
    this.refs = new References(this.reader, opts.maxDepth ?? 5);
  }

  // ----- single sources -----

  /** One parameter by name (or ARN), optionally a version or label. Decrypted. */
  getParameter(q: ParameterQuery): Promise<ParameterRecord> {
    return this.reader.getParameter(q);
  }

  /** Every parameter under a path (decrypted). */
  getParametersByPath(path: string, recursive: boolean): Promise<ParameterRecord[]> {
    return this.reader.getParametersByPath(path, recursive);
  }

  /** One secret by name or ARN, optionally a stage or version id. */
  getSecret(q: SecretQuery): Promise<SecretRecord> {
    return this.reader.getSecret(q);
  }

  /**
   * Decrypts a `<<resolve:kms:…>>` ciphertext: an AWS Encryption SDK message (detected from its
   * header; every key/value of `context` must be in the message's context) through the Encryption
   * SDK and its data-key cache, anything else with KMS Decrypt (KMS checks `context` exactly).
   */
  decrypt(ciphertextBase64: string, context?: Record<string, string>): Promise<string> {
    return this.reader.decrypt(ciphertextBase64, context);
  }

  // ----- references -----
  // A load (a reference, a template, a map, a hierarchy) counts AWS retries since it last made
  // progress, not per call: see `asOneLoad` in retry.ts.

  /** Resolves one reference to its value (recursing through references inside that value). */
  resolveReference(ref: Reference, chain: string[] = []): Promise<Resolved> {
    return asOneLoad(() => this.refs.resolveReference(ref, chain));
  }

  /** Resolves every reference in a string (`postgres://u:<<resolve:…>>@h/db`). */
  resolveTemplate(input: string, chain: string[] = []): Promise<Resolved> {
    return asOneLoad(() => this.refs.resolveTemplate(input, chain));
  }

  /**
   * Resolves a map of strings that may contain references. Fails with one LOAD_FAILED error
   * listing every key that failed (never a value).
   */
  resolveMap(
    inputs: Record<string, string>,
    opts: ResolveMapOptions = {},
  ): Promise<Record<string, Resolved>> {
    return asOneLoad(() => this.refs.resolveMap(inputs, opts));
  }

  // ----- hierarchies -----

  /** Loads a hierarchy: levels merged by precedence, the no-leak rule, references resolved. */
  loadHierarchy(input: HierarchyInput, opts: LoadHierarchyOptions = {}): Promise<HierarchyResult> {
    return asOneLoad(() => loadHierarchy({ reader: this.reader, refs: this.refs }, input, opts));
  }

  // ----- freshness -----

  /**
   * Drops cached values for sources so the next read fetches them: parameter names or ARNs,
   * secret names or ARNs, or paths (everything under them, and listings that contain them). One
   * pass over the cache for any number of sources; entries of other sources stay, so an owner of
   * a shared resolver drops only its own. Returns how many entries were dropped.
   */
  invalidate(source: string | Iterable<string>): number {
    return this.cache.invalidate(typeof source === 'string' ? [source] : source);
  }

  /** Drops every cached value — of every user of this resolver. Prefer `invalidate(sources)`. */
  clear(): void {
    this.cache.clear();
  }

  /**
   * Checks the cached sources for changes where AWS can tell without fetching values:
   * DescribeSecret's current version id for secrets, DescribeParameters versions for paths.
   * Changed sources are invalidated; their ids are returned (never values).
   */
  async checkForChanges(): Promise<string[]> {
    const changed = await changedSources(this.cache.entries(), this.backend);
    this.cache.invalidate(changed);
    return changed;
  }

  statsSnapshot(): StatsSnapshot {
    return this.stats.snapshot();
  }

  /** Releases what the backend holds (the SDK clients Strata created). */
  close(): Promise<void> {
    return this.backend.close();
  }
}

/** Creates a resolver: the one way to construct one. */
export function createResolver(opts: ResolverOptions = {}): Resolver {
  return new Resolver(opts);
}
