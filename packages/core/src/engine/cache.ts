/**
 * The source cache: lru-cache keyed by typed `CacheKey`s. TTL per service; concurrent reads of one
 * key share one in-flight fetch (single-flight); a stale value is served while it is refreshed
 * (`staleWhileRevalidate`) and kept when the refresh fails (`onRefreshError` is told, with no
 * value). Negative results (not found) are not cached. Time comes from the injected runtime.
 */
import { LRUCache } from 'lru-cache';
import type { ParameterRecord, SecretRecord } from '../backend.js';
import { isStrataError, StrataError } from '../errors.js';
import type { Runtime } from '../runtime.js';
import type { Stats } from '../stats.js';
import {
  type CacheKey,
  cacheId,
  type KmsKey,
  type ParameterKey,
  type PathKey,
  type SecretKey,
  serviceOf,
} from './cache-key.js';
import { SourceSet } from './freshness.js';
import type { SourceService } from './types.js';

/** A cached read, carrying its typed key. */
export type CacheEntry =
  | { key: ParameterKey; record: ParameterRecord }
  | { key: PathKey; records: ParameterRecord[] }
  | { key: SecretKey; record: SecretRecord }
  | { key: KmsKey; plaintext: string };

/** Passed with each cache read: what to call on a miss or a refresh, and the source to name in errors. */
interface FetchContext {
  key: CacheKey;
  source: string;
  fetcher: () => Promise<CacheEntry>;
}

const DEFAULT_TTL: Record<SourceService, number> = {
  ssm: 300_000,
  secretsmanager: 300_000,
  kms: 3_600_000,
};

export interface SourceCacheOptions {
  ttlMs?: Partial<Record<SourceService, number>>;
  maxEntries?: number;
  staleWhileRevalidate?: boolean;
  onRefreshError?: (error: StrataError, source: string) => void;
  runtime: Runtime;
  stats: Stats;
}

export class SourceCache {
  private readonly lru: LRUCache<string, CacheEntry, FetchContext>;
  private readonly ttl: Record<SourceService, number>;
  private readonly stats: Stats;
  /** Fetches running now, by cache id: `invalidate` marks those it matches so they fetch again. */
  private readonly inflight = new Map<string, { key: CacheKey; invalidated: boolean }>();

  constructor(opts: SourceCacheOptions) {
    this.ttl = { ...DEFAULT_TTL, ...opts.ttlMs };
    this.stats = opts.stats;
    const { runtime, onRefreshError } = opts;
    this.lru = new LRUCache<string, CacheEntry, FetchContext>({
      max: opts.maxEntries ?? 10_000,
      ttl: 1, // every set passes its own ttl
      ttlAutopurge: false,
      // ask the injected clock every time (lru-cache would otherwise reuse a reading for 1 ms of real time)
      ttlResolution: 0,
      allowStale: opts.staleWhileRevalidate ?? true,
      allowStaleOnFetchRejection: true,
      noDeleteOnFetchRejection: true,
      noDeleteOnStaleGet: true,
      perf: { now: () => runtime.now() },
      fetchMethod: async (id, stale, { context }) => {
        const flight = { key: context.key, invalidated: false };
        this.inflight.set(id, flight);
        try {
          const first = await context.fetcher();
          if (!flight.invalidated) return first;
          // invalidated while it ran: the answer may predate the change, so ask once more
          return await context.fetcher();
        } catch (err) {
          if (stale !== undefined && isStrataError(err) && err.code !== 'NOT_FOUND') {
            this.stats.refreshFailed();
            onRefreshError?.(err, context.source);
          }
          throw err;
        } finally {
          if (this.inflight.get(id) === flight) this.inflight.delete(id);
        }
      },
    });
  }

  /** Reads `key` through the cache; `fetcher` runs on a miss or a refresh. `source` names it in errors. */
  async get<E extends CacheEntry>(key: E['key'], source: string, fetcher: () => Promise<E>): Promise<E> {
    const status: LRUCache.Status<string, CacheEntry, FetchContext> = {};
    const v = await this.lru.fetch(cacheId(key), {
      context: { key, source, fetcher },
      ttl: this.ttl[serviceOf(key)],
      status,
    });
    if (status.fetch === 'hit') this.stats.hit();
    else if (status.returnedStale) this.stats.stale();
    else this.stats.miss();
    if (v === undefined) {
      // lru-cache resolves undefined when the fetch failed with nothing stale to serve
      if (status.fetchError) throw status.fetchError;
      throw new StrataError('NOT_FOUND', `${source} not found`, { source });
    }
    return v as E;
  }

  /** The cached entries (not those whose first fetch is still in flight). */
  entries(): CacheEntry[] {
    return [...this.lru.values()];
  }

  /**
   * Drops the entries that read any of `sources` (see `SourceSet`); a matching fetch still running
   * fetches again when it ends, so its readers never get an answer from before the change.
   * Returns how many entries were dropped.
   */
  invalidate(sources: Iterable<string>): number {
    const set = new SourceSet(sources);
    if (set.empty) return 0;
    for (const flight of this.inflight.values()) if (set.matches(flight.key)) flight.invalidated = true;
    let n = 0;
    for (const [id, entry] of [...this.lru.entries()]) {
      if (set.matches(entry.key)) {
        this.lru.delete(id);
        n++;
      }
    }
    return n;
  }

  clear(): void {
    this.lru.clear();
  }
}
