/**
 * Cache-miss de-duplication for the Encryption SDK's caching materials manager. The SDK's cache
 * lets every concurrent miss for the same entry call KMS; this makes them share one call.
 */

/** Thrown to a cache miss that waited for another miss of the same entry: ask the cache again. */
const ASK_CACHE_AGAIN = new Error('strata: ask the cache again');

/**
 * Shares cache misses: put between the caching materials manager and its backing manager, the
 * first miss for a cache entry calls KMS and the concurrent ones wait for it, then go back to the
 * cache (where the first one left its materials) instead of calling KMS too. Hits never wait.
 */
export class MissDeduper {
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
