/**
 * Hot reload: a config handle that re-reads on a timer or on `refresh()`, validates before it
 * replaces the current config, and keeps the old one on failure. A refresh drops from the
 * resolver's cache only the sources this config read, never the whole cache of a resolver that
 * may be shared.
 */
import { isStrataError, StrataError } from '@strata/core';
import type { z } from 'zod';
import { type ConfigOptions, type KeySource, type LoadedConfig, loadTracked, resolverOf } from './config.js';

export interface ConfigChange<T> {
  config: T;
  previous: T;
  /** Dotted keys whose value changed (added, removed or different). Never values. */
  changed: string[];
}

/** What `onError` is told besides the error. */
export interface RefreshErrorInfo {
  /** Failed refreshes in a row, this one included: 1 for the first failure since the last success. */
  attempt: number;
}

export interface WatchOptions<S extends z.ZodType> extends ConfigOptions<S> {
  /**
   * Refresh every this many ms (0 or absent: only on `refresh()`). A tick while a refresh is still
   * running is skipped.
   */
  intervalMs?: number;
  /**
   * A refresh (timer or `refresh()`) failed or the new config was invalid: the old config stays.
   * Called once per failed refresh.
   */
  onError?: (err: StrataError, info: RefreshErrorInfo) => void;
}

export interface ConfigHandle<T> {
  /** The current config. */
  readonly current: T;
  readonly sources: Map<string, KeySource>;
  /** Re-reads now (bypassing the cache). Resolves to the change, or undefined if nothing changed. Rejects if invalid (the old config stays). */
  refresh(): Promise<ConfigChange<T> | undefined>;
  subscribe(fn: (change: ConfigChange<T>) => void): () => void;
  close(): void;
}

function flattenLeaves(v: unknown, prefix = '', out = new Map<string, string>()): Map<string, string> {
  if (v !== null && typeof v === 'object') {
    for (const [k, c] of Object.entries(v)) flattenLeaves(c, prefix ? `${prefix}.${k}` : k, out);
  } else out.set(prefix, JSON.stringify(v));
  return out;
}

/** Loads and keeps config fresh: validated before it replaces the old one; failures keep the old one. */
export async function watchConfig<S extends z.ZodType>(
  opts: WatchOptions<S>,
): Promise<ConfigHandle<z.infer<S>>> {
  const resolver = resolverOf(opts.resolver);
  const base = { ...opts, resolver };
  let read = new Set<string>();
  let loaded = await loadTracked(base, read);
  const subs = new Set<(c: ConfigChange<z.infer<S>>) => void>();
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<ConfigChange<z.infer<S>> | undefined> | undefined;
  let failures = 0;

  const refresh = (): Promise<ConfigChange<z.infer<S>> | undefined> => {
    inFlight ??= (async () => {
      try {
        // only what this config read: the resolver may be shared (other configs, the app's own reads)
        resolver.invalidate(read);
        const now = new Set<string>();
        let next: LoadedConfig<z.infer<S>>;
        try {
          next = await loadTracked(base, now);
        } catch (err) {
          // what a failed refresh read is in the cache too: the next refresh re-reads it as well
          for (const s of now) read.add(s);
          // reported here, once per refresh, however many callers or timer ticks wait for it
          failures++;
          const e = isStrataError(err) ? err : new StrataError('AWS_ERROR', 'refresh failed', { cause: err });
          opts.onError?.(e, { attempt: failures });
          throw e;
        }
        failures = 0;
        read = now;
        const a = flattenLeaves(loaded.config);
        const b = flattenLeaves(next.config);
        const changed = [...new Set([...a.keys(), ...b.keys()])].filter((k) => a.get(k) !== b.get(k)).sort();
        if (changed.length === 0) return undefined;
        const change = { config: next.config, previous: loaded.config, changed };
        loaded = next;
        for (const fn of subs) fn(change);
        return change;
      } finally {
        inFlight = undefined;
      }
    })();
    return inFlight;
  };

  if (opts.intervalMs && opts.intervalMs > 0) {
    timer = setInterval(() => {
      if (inFlight) return; // still refreshing: this tick is skipped, not queued
      refresh().catch(() => {}); // already reported to onError
    }, opts.intervalMs);
    timer.unref();
  }
  return {
    get current() {
      return loaded.config;
    },
    get sources() {
      return loaded.sources;
    },
    refresh,
    subscribe(fn) {
      subs.add(fn);
      return () => subs.delete(fn);
    },
    close() {
      if (timer) clearInterval(timer);
      subs.clear();
    },
  };
}
