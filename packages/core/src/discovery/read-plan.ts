/**
 * Sharded discovery, the bookkeeping: every name a listing finds is read exactly once, in
 * GetParameters batches of 10, and the records come back in one order whatever order the shards
 * finished in. Pure: no calls here.
 */
import { GET_BATCH } from './shards.js';

/** A parameter as read (the fields discovery needs; the rest is carried along). */
export interface NamedRecord {
  name: string;
}

export class ReadPlan {
  /** Every name listed, read, or queued to be read: the guard against reading a name twice. */
  private readonly known = new Set<string>();
  private readonly speculative = new Set<string>();
  private pending: string[] = [];
  private sent = 0;

  constructor(private readonly batchSize = GET_BATCH) {}

  /** Names already read with their values (the first GetParametersByPath page). */
  markRead(names: Iterable<string>): void {
    for (const n of names) this.known.add(n);
  }

  /** Names a listing found: the ones not known yet are queued. Returns how many were new. */
  found(names: Iterable<string>): number {
    let added = 0;
    for (const n of names) {
      if (this.known.has(n)) continue;
      this.known.add(n);
      this.pending.push(n);
      added++;
    }
    return added;
  }

  /**
   * A name that may or may not exist (an exact candidate of a refined shard): queued unless known.
   * Reading a name that does not exist is not an error.
   */
  maybe(name: string): void {
    if (this.known.has(name)) return;
    this.known.add(name);
    this.speculative.add(name);
    this.pending.push(name);
  }

  /** Was `name` queued only as a candidate (so a "not found" for it is expected)? */
  isSpeculative(name: string): boolean {
    return this.speculative.has(name);
  }

  /** Full batches ready to send; with `final`, the remainder too. Each name is handed out once. */
  take(final: boolean): string[][] {
    const out: string[][] = [];
    while (this.pending.length >= this.batchSize || (final && this.pending.length > 0)) {
      out.push(this.pending.splice(0, this.batchSize));
    }
    this.sent += out.reduce((n, b) => n + b.length, 0);
    return out;
  }

  /** Names handed out in batches so far. */
  get handedOut(): number {
    return this.sent;
  }
}

/**
 * The records of a level from the first page and every batch, each name once, sorted by name (code
 * unit order, so names that differ only in case stay apart and in a fixed order).
 */
export function mergeRecords<R extends NamedRecord>(...parts: R[][]): R[] {
  const byName = new Map<string, R>();
  for (const part of parts) for (const r of part) if (!byName.has(r.name)) byName.set(r.name, r);
  return [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
}
