/**
 * The resolution engine shared by the loader, the CLI and the operator.
 *
 * - Batching: every fetch of one tick goes through a per-service batcher, so the references of
 *   one depth level become GetParameters (10 names), BatchGetSecretValue (20 ids) and Decrypt
 *   calls, sent concurrently.
 * - Cache: lru-cache keyed by (region, service, id, version selector, decryption); TTL per
 *   source; concurrent requests for one key share one in-flight call (single-flight); stale
 *   values are served while a refresh is in flight and kept when it fails (`onRefreshError`).
 * - References recurse through resolved values up to `maxDepth`; a cycle is reported with
 *   its chain.
 */
import { createHash } from 'node:crypto';
import { LRUCache } from 'lru-cache';
import { parameterName, regionOf, secretName } from './aws/arn.js';
import { AwsBackend, type AwsBackendOptions, queryString } from './aws/backend.js';
import type {
  Backend,
  Outcome,
  ParameterQuery,
  ParameterRecord,
  SecretQuery,
  SecretRecord,
} from './backend.js';
import { type Issue, isStrataError, loadFailed, StrataError } from './errors.js';
import {
  buildLevels,
  type HierarchyInput,
  keyFor,
  type Level,
  type MergedEntry,
  mergeLevels,
  namesForKeys,
  type Origin,
  type ReferenceAllowList,
  referenceBranchProblem,
  shortName,
  toTree,
} from './hierarchy/hierarchy.js';
import { KmsCrypto, type KmsCryptoOptions } from './kms/crypto.js';
import { LocalBackend, type LocalTree } from './local/backend.js';
import {
  formatReference,
  hasReference,
  type ParseOrigin,
  parameterNameProblem,
  parseTemplate,
  type Reference,
  referenceKey,
} from './reference/parser.js';
import { type Runtime, systemRuntime } from './runtime.js';
import { Stats, type StatsSnapshot } from './stats.js';

export type SourceService = 'ssm' | 'secretsmanager' | 'kms';

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

/** Where a resolved value came from. Never holds the value. */
export interface SourceInfo {
  service: SourceService;
  /** Parameter name, secret id, or `kms`. */
  id: string;
  reference?: string;
  version?: string;
}

export interface Resolved {
  value: string;
  /** True when any part came from a SecureString, Secrets Manager or KMS. */
  secret: boolean;
  sources: SourceInfo[];
}

export interface HierarchyEntry {
  key: string;
  value: string;
  secret: boolean;
  origin: Origin;
  /** Set when the parameter's value contained references that were resolved. */
  references?: SourceInfo[];
}

export interface HierarchyResult {
  levels: Level[];
  entries: Map<string, HierarchyEntry>;
  /** Names returned by AWS but excluded by the no-leak rule. */
  ignored: string[];
  /** Nested plain object of the values. */
  tree(): Record<string, unknown>;
  /** The parameter names that supplied or were overridden by the entries: pass them as `parameters` to reload cheaply. */
  parameterNames(): string[];
}

export interface LoadHierarchyOptions {
  /**
   * Keys known in advance (from a schema): fetched directly with GetParameters instead of by
   * path. A key's level is not known, so each key is asked for at every level it could live at.
   */
  keys?: string[];
  /**
   * Full parameter names known in advance, e.g. `previous.parameterNames()` from an earlier load:
   * exactly these are fetched with GetParameters (10 a call, concurrently) — the fewest calls.
   * Names the leak rule rejects are ignored. Parameters created since are not discovered.
   */
  parameters?: string[];
  /** Resolve `<<resolve:…>>` inside parameter values. Default true. */
  resolveReferences?: boolean;
  /**
   * References inside the loaded values (at any depth) may not name a sibling branch of the
   * hierarchy (see `referenceBranchProblem`); these shared parameters and secrets are allowed
   * anyway. Refused references fail with REFERENCE_DENIED and are never fetched.
   */
  allowReferences?: ReferenceAllowList;
  /**
   * A further check for every reference inside the loaded values (at any depth), after the no-leak
   * rule: return why it may not be read (it fails with REFERENCE_DENIED, never fetched), or
   * undefined. The operator checks its SourcePolicy grants here.
   */
  checkReference?: (ref: Reference) => string | undefined;
}

export interface ResolveMapOptions {
  /** Checked for every reference, at any depth (see `LoadHierarchyOptions.checkReference`). */
  checkReference?: (ref: Reference) => string | undefined;
}

/** How text being resolved is treated: where it came from (for errors), and which references it may hold. */
interface ResolveContext {
  /** Set for text read from a source: parse errors name it and echo nothing. */
  origin?: ParseOrigin;
  /** Throws for a reference the text may not hold (the hierarchy's no-leak rule). */
  guard?: (ref: Reference) => void;
}

type CacheValue =
  | { kind: 'param'; record: ParameterRecord }
  | { kind: 'path'; records: ParameterRecord[] }
  | { kind: 'secret'; record: SecretRecord }
  | { kind: 'kms'; plaintext: string };

/** Passed with each cache read: what to call on a miss or a refresh, and the source to name in errors. */
interface FetchContext {
  source: string;
  fetcher: () => Promise<CacheValue>;
}

const DEFAULT_TTL: Record<SourceService, number> = { ssm: 300_000, secretsmanager: 300_000, kms: 3_600_000 };

/** Collects requests made in one tick and runs them as one batch. */
class Batcher<Q, R> {
  private pending: Array<{ q: Q; resolve: (o: Outcome<R>) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;
  constructor(
    private readonly run: (qs: Q[]) => Promise<Outcome<R>[]>,
    private readonly windowMs = 0,
  ) {}
  load(q: Q): Promise<R> {
    return new Promise<Outcome<R>>((resolve, reject) => {
      this.pending.push({ q, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        if (this.windowMs > 0) setTimeout(() => this.flush(), this.windowMs);
        else setImmediate(() => this.flush());
      }
    }).then((o) => {
      if (o.ok) return o.value;
      throw o.error;
    });
  }
  private flush(): void {
    const items = this.pending;
    this.pending = [];
    this.scheduled = false;
    this.run(items.map((i) => i.q)).then(
      (outs) => {
        for (const [n, it] of items.entries()) it.resolve(outs[n]!);
      },
      (err) => {
        for (const it of items) it.reject(err);
      },
    );
  }
}

function sha(s: string | Uint8Array): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 32);
}

function ctxKey(ctx?: Record<string, string>): string {
  if (!ctx) return '';
  return Object.keys(ctx)
    .sort()
    .map((k) => `${encodeURIComponent(k)}=${encodeURIComponent(ctx[k]!)}`)
    .join(',');
}

export class Resolver {
  readonly backend: Backend;
  readonly stats: Stats;
  private readonly cache: LRUCache<string, CacheValue, FetchContext>;
  private readonly ttl: Record<SourceService, number>;
  private readonly maxDepth: number;
  private readonly runtime: Runtime;
  private readonly paramBatcher: Batcher<ParameterQuery, ParameterRecord>;
  private readonly secretBatcher: Batcher<SecretQuery, SecretRecord>;
  /** Envelope (Encryption SDK) decryption, created on the first such reference. */
  private kmsCrypto: KmsCrypto | undefined;

  constructor(private readonly opts: ResolverOptions = {}) {
    this.runtime = opts.runtime ?? systemRuntime;
    if (opts.backend) this.backend = opts.backend;
    else if (opts.local !== undefined) this.backend = new LocalBackend(opts.local);
    else this.backend = new AwsBackend({ ...opts.aws, runtime: opts.aws?.runtime ?? this.runtime });
    this.stats = (this.backend as { stats?: Stats }).stats ?? new Stats();
    this.ttl = { ...DEFAULT_TTL, ...opts.ttlMs };
    this.maxDepth = opts.maxDepth ?? 5;
    this.paramBatcher = new Batcher((qs) => this.backend.ssm.getParameters(qs), opts.batchWindowMs);
    this.secretBatcher = new Batcher((qs) => this.backend.secrets.getSecrets(qs), opts.batchWindowMs);
    this.cache = new LRUCache<string, CacheValue, FetchContext>({
      max: opts.maxEntries ?? 10_000,
      ttl: 1, // every set passes its own ttl
      ttlAutopurge: false,
      allowStale: opts.staleWhileRevalidate ?? true,
      allowStaleOnFetchRejection: true,
      noDeleteOnFetchRejection: true,
      noDeleteOnStaleGet: true,
      perf: { now: () => this.runtime.now() },
      fetchMethod: async (_key, stale, { context }) => {
        try {
          return await context.fetcher();
        } catch (err) {
          if (stale !== undefined && isStrataError(err) && err.code !== 'NOT_FOUND') {
            this.stats.refreshFailed();
            this.opts.onRefreshError?.(err, context.source);
          }
          throw err;
        }
      },
    });
  }

  /** Fetch through the cache: single-flight, TTL, stale-while-revalidate. */
  private async cached(
    key: string,
    service: SourceService,
    source: string,
    fetcher: () => Promise<CacheValue>,
  ): Promise<CacheValue> {
    const status: LRUCache.Status<string, CacheValue, FetchContext> = {};
    const v = await this.cache.fetch(key, { context: { source, fetcher }, ttl: this.ttl[service], status });
    if (status.fetch === 'hit') this.stats.hit();
    else if (status.returnedStale) this.stats.stale();
    else this.stats.miss();
    if (v === undefined) {
      // lru-cache resolves undefined when the fetch failed with nothing stale to serve
      if (status.fetchError) throw status.fetchError;
      throw new StrataError('NOT_FOUND', `${source} not found`, { source });
    }
    return v;
  }

  // ----- single sources -----

  /** One parameter by name (or ARN), optionally a version or label. Decrypted. */
  async getParameter(q: ParameterQuery): Promise<ParameterRecord> {
    // a name AWS would refuse is refused here, before any call, and never echoed in full
    const problem = typeof q.name === 'string' ? parameterNameProblem(parameterName(q.name)) : 'not a string';
    if (problem) {
      throw new StrataError('INVALID_INPUT', `parameter ${shortName(String(q.name))}: ${problem}`, {
        source: shortName(String(q.name)),
      });
    }
    const region = regionOf(q.name, this.backend.ssm.region);
    const key = `ssm|${region}|${queryString(q)}|dec`;
    const v = await this.cached(key, 'ssm', queryString(q), async () => ({
      kind: 'param',
      record: await this.paramBatcher.load(q),
    }));
    return (v as { record: ParameterRecord }).record;
  }

  /** Every parameter under a path (decrypted). */
  async getParametersByPath(path: string, recursive: boolean): Promise<ParameterRecord[]> {
    const region = regionOf(path, this.backend.ssm.region);
    const key = `ssm-path|${region}|${path}|${recursive ? 'r' : '1'}|dec`;
    const v = await this.cached(key, 'ssm', path, async () => ({
      kind: 'path',
      records: await this.listPath(path, recursive),
    }));
    return (v as { records: ParameterRecord[] }).records;
  }

  private async listPath(path: string, recursive: boolean): Promise<ParameterRecord[]> {
    const describe = this.backend.ssm.describeByPath;
    if (this.opts.discovery === 'describe' && describe) {
      const names = await describe.call(this.backend.ssm, path, { recursive });
      const outs = await this.backend.ssm.getParameters(names.map((n) => ({ name: n.name })));
      return outs.flatMap((o) => (o.ok ? [o.value] : []));
    }
    return this.backend.ssm.getParametersByPath(path, { recursive });
  }

  async getSecret(q: SecretQuery): Promise<SecretRecord> {
    const region = regionOf(q.secretId, this.backend.secrets.region);
    const key = `sm|${region}|${q.secretId}|${q.versionStage ?? ''}|${q.versionId ?? ''}`;
    const v = await this.cached(key, 'secretsmanager', q.secretId, async () => ({
      kind: 'secret',
      record: await this.secretBatcher.load(q),
    }));
    return (v as { record: SecretRecord }).record;
  }

  /**
   * Decrypts a `<<resolve:kms:…>>` ciphertext: an AWS Encryption SDK message (detected from its
   * header; every key/value of `context` must be in the message's context) through the Encryption
   * SDK and its data-key cache, anything else with KMS Decrypt (KMS checks `context` exactly).
   */
  async decrypt(ciphertextBase64: string, context?: Record<string, string>): Promise<string> {
    const key = `kms|${this.backend.kms.region}|${sha(ciphertextBase64)}|${sha(ctxKey(context))}`;
    const v = await this.cached(key, 'kms', 'kms ciphertext', async () => {
      this.kmsCrypto ??= new KmsCrypto({ ...this.opts.kms, backend: this.backend });
      const out = await this.kmsCrypto.decrypt(ciphertextBase64, context ? { context } : {});
      const plaintext = out.plaintext.toString('utf8');
      out.plaintext.fill(0);
      return { kind: 'kms', plaintext };
    });
    return (v as { plaintext: string }).plaintext;
  }

  // ----- references -----

  /** Resolves one reference to its value (recursing through references inside that value). */
  async resolveReference(ref: Reference, chain: string[] = []): Promise<Resolved> {
    return this.resolveRef(ref, chain, {});
  }

  private async resolveRef(ref: Reference, chain: string[], ctx: ResolveContext): Promise<Resolved> {
    ctx.guard?.(ref);
    const printed = formatReference(ref);
    const id = referenceKey(ref);
    if (chain.includes(id)) {
      const names = [...chain.slice(chain.indexOf(id)), id].map((k) => k);
      throw new StrataError('CYCLE', `reference cycle: ${names.join(' -> ')}`, {
        source: printed,
        chain: names,
      });
    }
    const own = await this.fetchReference(ref, printed);
    if (!hasReference(own.value)) return own;
    // The value is itself a reference: one more hop. Fetching a plain value is not a level.
    const origin = valueOrigin(ref, own);
    if (chain.length >= this.maxDepth) {
      const next = parseTemplate(own.value, { origin }).flatMap((p) =>
        p.kind === 'ref' ? [referenceKey(p.ref)] : [],
      );
      const names = [...chain, id, ...next.slice(0, 1)];
      throw new StrataError(
        'DEPTH_EXCEEDED',
        `references nest deeper than ${this.maxDepth}: ${names.join(' -> ')}`,
        { source: printed, chain: names },
      );
    }
    const inner = await this.resolveIn(own.value, [...chain, id], {
      ...(ctx.guard ? { guard: ctx.guard } : {}),
      origin,
    });
    return {
      value: inner.value,
      secret: own.secret || inner.secret,
      sources: [...own.sources, ...inner.sources],
    };
  }

  private async fetchReference(ref: Reference, printed: string): Promise<Resolved> {
    switch (ref.service) {
      case 'ssm': {
        const rec = await this.getParameter({
          name: ref.name,
          ...(ref.version !== undefined ? { version: ref.version } : {}),
          ...(ref.label !== undefined ? { label: ref.label } : {}),
        });
        if (ref.secure && rec.type !== 'SecureString') {
          throw new StrataError(
            'TYPE_MISMATCH',
            `${printed}: ssm-secure needs a SecureString, but ${rec.name} is a ${rec.type}`,
            {
              source: printed,
            },
          );
        }
        return {
          value: rec.value,
          secret: rec.type === 'SecureString' || rec.fromSecretsManager === true,
          sources: [{ service: 'ssm', id: rec.name, reference: printed, version: String(rec.version) }],
        };
      }
      case 'secretsmanager': {
        const rec = await this.getSecret({
          secretId: ref.secretId,
          ...(ref.versionStage ? { versionStage: ref.versionStage } : {}),
          ...(ref.versionId ? { versionId: ref.versionId } : {}),
        });
        const raw =
          rec.secretString ?? (rec.secretBinary ? Buffer.from(rec.secretBinary).toString('base64') : '');
        const value =
          ref.jsonKey === undefined ? raw : extractJsonKey(raw, ref.jsonKey, ref.secretId, printed);
        return {
          value,
          secret: true,
          sources: [{ service: 'secretsmanager', id: rec.name, reference: printed, version: rec.versionId }],
        };
      }
      case 'kms': {
        const value = await this.decrypt(ref.ciphertext, ref.context);
        return { value, secret: true, sources: [{ service: 'kms', id: 'kms', reference: printed }] };
      }
      default:
        throw new StrataError('INVALID_INPUT', `${printed}: unsupported reference`, { source: printed });
    }
  }

  /** Resolves every reference in a string (`postgres://u:<<resolve:…>>@h/db`). */
  async resolveTemplate(input: string, chain: string[] = []): Promise<Resolved> {
    return this.resolveIn(input, chain, {});
  }

  private async resolveIn(input: string, chain: string[], ctx: ResolveContext): Promise<Resolved> {
    const parts = parseTemplate(input, ctx.origin ? { origin: ctx.origin } : {});
    const resolved = await Promise.all(
      parts.map(async (p) =>
        p.kind === 'text'
          ? { value: p.text, secret: false, sources: [] as SourceInfo[] }
          : this.resolveRef(p.ref, chain, ctx),
      ),
    );
    return {
      value: resolved.map((r) => r.value).join(''),
      secret: resolved.some((r) => r.secret),
      sources: resolved.flatMap((r) => r.sources),
    };
  }

  /**
   * Resolves a map of strings that may contain references. Fails with one LOAD_FAILED error
   * listing every key that failed (never a value).
   */
  async resolveMap(
    inputs: Record<string, string>,
    opts: ResolveMapOptions = {},
  ): Promise<Record<string, Resolved>> {
    const entries = Object.entries(inputs);
    const check = opts.checkReference;
    const guard = check
      ? (ref: Reference): void => {
          const problem = check(ref);
          if (problem) throw new StrataError('REFERENCE_DENIED', problem, { source: referenceSource(ref) });
        }
      : undefined;
    const settled = await Promise.allSettled(
      entries.map(([, v]) => this.resolveIn(v, [], guard ? { guard } : {})),
    );
    const issues: Issue[] = [];
    // null prototype: a key named `__proto__` stays an own entry
    const out: Record<string, Resolved> = Object.create(null);
    settled.forEach((s, i) => {
      const key = entries[i]![0];
      if (s.status === 'fulfilled') out[key] = s.value;
      else issues.push(toIssue(s.reason, key));
    });
    if (issues.length > 0) throw loadFailed(issues, 'resolving references');
    return out;
  }

  // ----- hierarchies -----

  async loadHierarchy(input: HierarchyInput, opts: LoadHierarchyOptions = {}): Promise<HierarchyResult> {
    const levels = buildLevels(input);
    const recordsByLevel: ParameterRecord[][] = levels.map(() => []);
    const issues: Issue[] = [];
    if (opts.parameters && opts.parameters.length > 0) {
      // the most specific level that may read a name owns it; names no level may read are never fetched
      const owned: Array<{ name: string; level: number }> = [];
      for (const name of new Set(opts.parameters)) {
        for (let l = levels.length - 1; l >= 0; l--) {
          if (keyFor(levels, l, name) !== undefined) {
            owned.push({ name, level: l });
            break;
          }
        }
      }
      const got = await Promise.allSettled(owned.map((o) => this.getParameter({ name: o.name })));
      got.forEach((g, i) => {
        const o = owned[i]!;
        if (g.status === 'fulfilled') recordsByLevel[o.level]!.push(g.value);
        else if (!(isStrataError(g.reason) && g.reason.code === 'NOT_FOUND'))
          issues.push(toIssue(g.reason, undefined, o.name));
      });
    } else if (opts.keys && opts.keys.length > 0) {
      const wanted = namesForKeys(levels, opts.keys);
      const got = await Promise.allSettled(wanted.map((w) => this.getParameter({ name: w.name })));
      got.forEach((g, i) => {
        const w = wanted[i]!;
        if (g.status === 'fulfilled') recordsByLevel[w.level]!.push(g.value);
        else if (!(isStrataError(g.reason) && g.reason.code === 'NOT_FOUND'))
          issues.push(toIssue(g.reason, w.key));
      });
    } else {
      const got = await Promise.allSettled(levels.map((l) => this.getParametersByPath(l.path, l.recursive)));
      got.forEach((g, i) => {
        if (g.status === 'fulfilled') recordsByLevel[i]!.push(...g.value);
        else issues.push(toIssue(g.reason, undefined, levels[i]!.path));
      });
    }
    if (issues.length > 0) throw loadFailed(issues, 'loading the hierarchy');
    const merged = mergeLevels(levels, recordsByLevel);
    const entries = new Map<string, HierarchyEntry>();
    const withRefs: MergedEntry[] = [];
    for (const [key, e] of merged.entries) {
      entries.set(key, { key, value: e.value, secret: e.secret, origin: e.origin });
      if (opts.resolveReferences !== false && hasReference(e.value)) withRefs.push(e);
    }
    if (withRefs.length > 0) {
      // the no-leak rule binds references too: a value may not reach a sibling branch
      const guard = (ref: Reference): void => {
        const problem =
          referenceBranchProblem(levels, ref, opts.allowReferences) ?? opts.checkReference?.(ref);
        if (problem) throw new StrataError('REFERENCE_DENIED', problem, { source: referenceSource(ref) });
      };
      const settled = await Promise.allSettled(
        withRefs.map((e) =>
          this.resolveIn(e.value, [], {
            guard,
            origin: {
              what: `the value of ssm parameter ${shortName(e.origin.parameter)}`,
              source: e.origin.parameter,
            },
          }),
        ),
      );
      settled.forEach((s, i) => {
        const e = withRefs[i]!;
        if (s.status === 'fulfilled') {
          entries.set(e.key, {
            key: e.key,
            value: s.value.value,
            secret: e.secret || s.value.secret,
            origin: e.origin,
            references: s.value.sources,
          });
        } else issues.push(toIssue(s.reason, e.key, e.origin.parameter));
      });
      if (issues.length > 0) throw loadFailed(issues, 'resolving references in the hierarchy');
    }
    return {
      levels,
      entries,
      ignored: merged.ignored,
      tree: () => toTree([...entries.values()].map((e) => ({ key: e.key, value: e.value }))),
      parameterNames: () =>
        [
          ...new Set(
            [...entries.values()].flatMap((e) => [
              e.origin.parameter,
              ...e.origin.overrides.map((o) => o.parameter),
            ]),
          ),
        ].sort(),
    };
  }

  // ----- freshness -----

  /**
   * Drops cached values for sources so the next read fetches them: parameter names or ARNs,
   * secret names or ARNs, or paths (everything under them, and listings that contain them). One
   * pass over the cache for any number of sources. Returns how many entries were dropped.
   */
  invalidate(source: string | Iterable<string>): number {
    const sources = typeof source === 'string' ? [source] : [...source];
    if (sources.length === 0) return 0;
    const params = new Set(sources.map((s) => parameterName(s)));
    const secrets = new Set(sources.map((s) => secretName(s)));
    // every ancestor path of an invalidated name: a listing of one of them contains it
    const ancestors = new Set<string>();
    for (const p of params)
      for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1)) ancestors.add(p.slice(0, i));
    const underInvalidated = (path: string) => {
      for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1))
        if (params.has(path.slice(0, i))) return true;
      return false;
    };
    let n = 0;
    for (const key of [...this.cache.keys()]) {
      const [kind, , id = ''] = key.split('|');
      const hit =
        (kind === 'ssm' && params.has(parameterName(withoutSelector(id)))) ||
        (kind === 'ssm-path' && (params.has(id) || ancestors.has(id) || underInvalidated(id))) ||
        (kind === 'sm' && secrets.has(secretName(id)));
      if (hit) {
        this.cache.delete(key);
        n++;
      }
    }
    return n;
  }

  /** Drops every cached value. */
  clear(): void {
    this.cache.clear();
  }

  /**
   * Checks the cached sources for changes where AWS can tell without fetching values:
   * DescribeSecret's current version id for secrets, DescribeParameters versions for paths.
   * Changed sources are invalidated; their ids are returned (never values).
   */
  async checkForChanges(): Promise<string[]> {
    const changed: string[] = [];
    const jobs: Promise<void>[] = [];
    for (const [key, v] of this.cache.entries()) {
      if (v.kind === 'secret' && !key.endsWith('||')) continue; // pinned versions never change
      if (v.kind === 'secret' && this.backend.secrets.currentVersionId) {
        jobs.push(
          this.backend.secrets.currentVersionId(v.record.id).then((cur) => {
            if (cur !== v.record.versionId) changed.push(v.record.id);
          }),
        );
      } else if (v.kind === 'path' && this.backend.ssm.describeByPath) {
        const [, , path = '', rec] = key.split('|');
        jobs.push(
          this.backend.ssm.describeByPath(path, { recursive: rec === 'r' }).then((now) => {
            const before = new Map(v.records.map((r) => [r.name, r.version]));
            const same = now.length === before.size && now.every((p) => before.get(p.name) === p.version);
            if (!same) changed.push(path);
          }),
        );
      } else if (v.kind === 'param') {
        const [, , q = ''] = key.split('|');
        if (q.includes(':') && !q.startsWith('arn:')) continue; // pinned version or label
        jobs.push(
          this.backend.ssm.getParameters([{ name: v.record.name }]).then(([o]) => {
            if (!o?.ok || o.value.version !== v.record.version) changed.push(v.record.name);
          }),
        );
      }
    }
    await Promise.allSettled(jobs);
    for (const id of changed) this.invalidate(id);
    return [...new Set(changed)].sort();
  }

  statsSnapshot(): StatsSnapshot {
    return this.stats.snapshot();
  }

  /** Releases SDK clients created by Strata. */
  close(): void {
    (this.backend as { destroy?: () => void }).destroy?.();
  }
}

/** Reads `key` (or a dotted path `a.b`) from a JSON secret. Non-string values are JSON-encoded. */
export function extractJsonKey(raw: string, jsonKey: string, secretId: string, printed: string): string {
  let doc: unknown;
  try {
    doc = JSON.parse(raw);
  } catch {
    throw new StrataError(
      'VALIDATION',
      `${printed}: secret ${secretId} is not a JSON object, so it has no key '${jsonKey}'`,
      {
        source: printed,
      },
    );
  }
  const pick = (obj: unknown, k: string): unknown =>
    obj !== null && typeof obj === 'object' && Object.hasOwn(obj, k)
      ? (obj as Record<string, unknown>)[k]
      : undefined;
  let v = pick(doc, jsonKey);
  if (v === undefined && jsonKey.includes('.')) {
    v = jsonKey.split('.').reduce<unknown>((o, k) => pick(o, k), doc);
  }
  if (v === undefined) {
    throw new StrataError('NOT_FOUND', `${printed}: JSON key '${jsonKey}' not found in secret ${secretId}`, {
      source: printed,
    });
  }
  return typeof v === 'string' ? v : JSON.stringify(v);
}

function toIssue(err: unknown, key?: string, source?: string): Issue {
  if (isStrataError(err)) {
    const first = err.issues[0];
    return {
      code: err.code === 'LOAD_FAILED' ? (first?.code ?? 'AWS_ERROR') : err.code,
      message: err.message,
      ...(key !== undefined ? { key } : {}),
      ...((err.source ?? source) !== undefined ? { source: err.source ?? source } : {}),
    };
  }
  return {
    code: 'AWS_ERROR',
    message: err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : 'unknown error',
    ...(key !== undefined ? { key } : {}),
    ...(source !== undefined ? { source } : {}),
  };
}

/** How to name a fetched value in an error about its text (never the text itself). */
function valueOrigin(ref: Reference, own: Resolved): ParseOrigin {
  const src = own.sources[0];
  if (ref.service === 'ssm') {
    const name = src?.id ?? ref.name;
    return { what: `the value of ssm parameter ${shortName(name)}`, source: name };
  }
  if (ref.service === 'secretsmanager') {
    const key = ref.jsonKey === undefined ? '' : ` (JSON key ${shortName(ref.jsonKey, 40)})`;
    return { what: `the value of secret ${shortName(ref.secretId)}${key}`, source: ref.secretId };
  }
  return { what: 'the plaintext of a kms reference', source: 'kms' };
}

/** The parameter name or secret id a reference names (for an error's `source`). */
function referenceSource(ref: Reference): string {
  if (ref.service === 'ssm') return ref.name;
  if (ref.service === 'secretsmanager') return ref.secretId;
  return 'kms';
}

/** `name:3` / `name:label` / `arn:…:parameter/x:3` → the name or ARN without its selector. */
function withoutSelector(id: string): string {
  return id.startsWith('arn:') ? id.split(':').slice(0, 6).join(':') : id.split(':')[0]!;
}

export function createResolver(opts: ResolverOptions = {}): Resolver {
  return new Resolver(opts);
}
