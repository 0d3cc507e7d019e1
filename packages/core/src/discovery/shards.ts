/**
 * Sharded discovery, the pure part: how the names under one hierarchy level are split into
 * listings that run concurrently, and what to do with each page a listing returns.
 *
 * A level read by path is one chain of GetParametersByPath pages (10 names a page, each page
 * needing the previous page's NextToken), so a large level costs one round trip per 10 names,
 * one after another. Here the level is listed instead with DescribeParameters (up to 50 names a
 * page), split into shards: each shard is the level's `Path` filter (OneLevel or Recursive, as
 * the level is read) plus a `Name` `BeginsWith` filter over a set of name prefixes (at most 50
 * values a filter). The shards partition the names:
 *
 * - Prefixes are relative to `<path>/` and the first shards cover every character a name may start
 *   with (`NAME_CHARS`), so every name under the level matches exactly one shard.
 * - A shard whose page comes back full (as many names as asked for) and with a NextToken is
 *   refined: a set of prefixes is split into smaller sets; a single prefix `p` is replaced by
 *   `p` + each character that may follow it, and the name `p` itself (which no longer matches any
 *   shard) becomes an *exact candidate*, read by name (GetParameters answers "invalid" for a name
 *   that does not exist, so a candidate that is no parameter costs a slot in a batch, nothing more).
 * - A shard whose page has a NextToken but is not full (AWS stops a filtered page at an internal
 *   limit; moto pages at 10 whatever MaxResults says) follows its NextToken instead: splitting
 *   it would not make the pages fuller.
 *
 * Names found are read once each with GetParameters (10 a call, see `ReadPlan`). Everything in this
 * file is a plain function over data; the calls are made by `../aws/discovery.ts`.
 */

/** Characters an SSM parameter name may hold besides `/` (AWS: `a-zA-Z0-9_.-`, `/` for hierarchies). */
export const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-';
/** AWS: a ParameterStringFilter holds at most 50 values. */
export const MAX_FILTER_VALUES = 50;
/** AWS: each filter value is at most 1,024 characters. */
export const MAX_FILTER_VALUE_LENGTH = 1024;
/** AWS: DescribeParameters returns at most 50 parameters a page (MaxResults 1–50). */
export const DESCRIBE_PAGE_MAX = 50;
/** AWS: GetParameters takes at most 10 names; GetParametersByPath returns at most 10 a page. */
export const GET_BATCH = 10;
/** At most this many shards come out of one refinement. */
export const MAX_SPLIT = 8;

/** One listing: the names of the level that begin with one of `prefixes` (no prefixes: every name of the level). */
export interface Shard {
  /** Name prefixes relative to `<path>/`, non-empty, disjoint (none is a prefix of another); empty for the whole level. */
  prefixes: string[];
  /** Continue this listing from a previous page. */
  token?: string;
}

/** One DescribeParameters page of a shard, names relative to `<path>/`. */
export interface ShardPage {
  /** The names the level reads, relative to `<path>/`. */
  names: string[];
  /** How many names the page held before any was set aside (default `names.length`): fullness is judged on it. */
  returned?: number;
  nextToken?: string;
}

export type ShardStep =
  | { kind: 'done' }
  | { kind: 'follow'; shard: Shard }
  | { kind: 'split'; shards: Shard[]; exact: string[] };

export interface ShardOptions {
  /** The level is read recursively (names may hold further `/`). */
  recursive: boolean;
  /** The level's path, normalized (`/a/b`): filter values are `<path>/<prefix>` and must fit 1,024 characters. */
  path: string;
  /** MaxResults asked for: a page with this many names is full. Default 50. */
  pageSize?: number;
}

/** The name relative to the level (`/a/b/x/y` under `/a/b` → `x/y`), or undefined when the level does not read it. */
export function relativeName(path: string, name: string, recursive: boolean): string | undefined {
  if (!name.startsWith(`${path}/`)) return undefined;
  const rest = name.slice(path.length + 1);
  if (rest === '' || rest.startsWith('/') || rest.endsWith('/') || rest.includes('//')) return undefined;
  if (!recursive && rest.includes('/')) return undefined;
  return rest;
}

/** The characters that may follow `prefix` in a name the level reads. */
export function nextChars(prefix: string, recursive: boolean): string[] {
  const chars = [...NAME_CHARS];
  // '/' may separate segments of a recursive level, never twice in a row
  if (recursive && prefix !== '' && !prefix.endsWith('/')) chars.push('/');
  return chars;
}

/** Could `prefix` itself be the relative name of a parameter the level reads? */
export function isCandidateName(prefix: string, recursive: boolean): boolean {
  return prefix !== '' && !prefix.endsWith('/') && (recursive || !prefix.includes('/'));
}

/** How many names of `names` begin with each prefix (prefixes are disjoint, so each name counts once). */
export function countByPrefix(prefixes: string[], names: string[]): Map<string, number> {
  const counts = new Map<string, number>(prefixes.map((p) => [p, 0]));
  for (const n of names) {
    const p = prefixes.find((x) => n.startsWith(x));
    if (p !== undefined) counts.set(p, (counts.get(p) ?? 0) + 1);
  }
  return counts;
}

/**
 * Splits `prefixes` into at most `ways` groups of at most MAX_FILTER_VALUES each: the prefixes the
 * last page showed names for are spread over the groups, the densest first, each to the lightest
 * group; prefixes with no names seen go together into the lightest groups. Deterministic.
 */
export function groupPrefixes(prefixes: string[], counts: Map<string, number>, ways: number): string[][] {
  const n = Math.max(1, Math.min(prefixes.length, ways, MAX_SPLIT));
  const groupsNeeded = Math.max(n, Math.ceil(prefixes.length / MAX_FILTER_VALUES));
  const groups = Array.from({ length: groupsNeeded }, () => ({ load: 0, prefixes: [] as string[] }));
  const seen = prefixes.filter((p) => (counts.get(p) ?? 0) > 0);
  const unseen = prefixes.filter((p) => (counts.get(p) ?? 0) === 0);
  seen.sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || (a < b ? -1 : 1));
  const lightest = () =>
    groups
      .filter((g) => g.prefixes.length < MAX_FILTER_VALUES)
      .reduce((best, g) =>
        g.load < best.load || (g.load === best.load && g.prefixes.length < best.prefixes.length) ? g : best,
      );
  for (const p of seen) {
    const g = lightest();
    g.load += counts.get(p) ?? 0;
    g.prefixes.push(p);
  }
  // the unseen prefixes are probably sparse: keep them together, in as few groups as the value limit allows
  for (const p of unseen) {
    const open = groups.filter((g) => g.prefixes.length < MAX_FILTER_VALUES);
    const g = open.reduce((best, x) => (x.load < best.load ? x : best));
    g.prefixes.push(p);
  }
  return groups.filter((g) => g.prefixes.length > 0).map((g) => g.prefixes);
}

/**
 * The first shards: one listing of the whole level (no Name filter), so a level of up to 50 names
 * costs one DescribeParameters call. It is split by first character only if it comes back full.
 */
export function initialShards(): Shard[] {
  return [{ prefixes: [] }];
}

/** Split `items` into `n` contiguous chunks of near-equal size (no empty chunk). */
function chunks<T>(items: T[], n: number): T[][] {
  const out: T[][] = [];
  const k = Math.max(1, Math.min(n, items.length));
  for (let i = 0; i < k; i++) {
    const part = items.slice(Math.floor((i * items.length) / k), Math.floor(((i + 1) * items.length) / k));
    if (part.length > 0) out.push(part);
  }
  return out;
}

/** How many shards the lower-case first characters not seen yet are spread over. */
export const FIRST_CHAR_GROUPS = 5;

/**
 * Every character a name may start with, grouped for the shards that replace the whole-level
 * listing: each first character seen on its page gets a shard of its own (the densest eight); the
 * lower-case letters not seen are spread over FIRST_CHAR_GROUPS shards (names mostly start with
 * one); upper case, digits and `_.-` not seen share one shard.
 */
export function firstCharShards(seen: string[]): Shard[] {
  const counts = countByPrefix([...NAME_CHARS], seen);
  const dense = [...NAME_CHARS]
    .filter((c) => (counts.get(c) ?? 0) > 0)
    .sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || (a < b ? -1 : 1))
    .slice(0, MAX_SPLIT);
  const rest = [...NAME_CHARS].filter((c) => !dense.includes(c));
  const lower = rest.filter((c) => c >= 'a' && c <= 'z');
  const other = rest.filter((c) => !(c >= 'a' && c <= 'z'));
  return [
    ...dense.map((c) => [c]),
    ...chunks(lower, FIRST_CHAR_GROUPS),
    ...(other.length > 0 ? [other] : []),
  ].map((prefixes) => ({ prefixes }));
}

/** What to do after a shard's page came back. */
export function nextStep(shard: Shard, page: ShardPage, opts: ShardOptions): ShardStep {
  if (!page.nextToken) return { kind: 'done' };
  const pageSize = opts.pageSize ?? DESCRIBE_PAGE_MAX;
  const follow: ShardStep = { kind: 'follow', shard: { prefixes: shard.prefixes, token: page.nextToken } };
  const returned = page.returned ?? page.names.length;
  // The whole-level listing is split by first character once it has 10 names and more to come, even
  // when it was not full (a service that pages at 10, as moto does, would otherwise make it one long
  // chain); any other shard is refined only when full, and else paged through.
  if (shard.prefixes.length === 0 && returned >= Math.min(pageSize, GET_BATCH))
    return { kind: 'split', shards: firstCharShards(page.names), exact: [] };
  if (returned < pageSize || shard.prefixes.length === 0) return follow;
  if (shard.prefixes.length > 1) {
    const counts = countByPrefix(shard.prefixes, page.names);
    const dense = shard.prefixes.filter((p) => (counts.get(p) ?? 0) > 0).length;
    const groups = groupPrefixes(shard.prefixes, counts, Math.max(2, dense + 1));
    return { kind: 'split', shards: groups.map((prefixes) => ({ prefixes })), exact: [] };
  }
  const p = shard.prefixes[0]!;
  // a filter value is `<path>/<prefix>` and at most 1,024 characters: past that, page through
  if (opts.path.length + 1 + p.length + 1 > MAX_FILTER_VALUE_LENGTH) return follow;
  const children = nextChars(p, opts.recursive).map((c) => p + c);
  const counts = countByPrefix(children, page.names);
  const dense = children.filter((c) => (counts.get(c) ?? 0) > 0).length;
  const groups = groupPrefixes(children, counts, Math.max(2, dense + 1));
  return {
    kind: 'split',
    shards: groups.map((prefixes) => ({ prefixes })),
    exact: isCandidateName(p, opts.recursive) ? [p] : [],
  };
}
