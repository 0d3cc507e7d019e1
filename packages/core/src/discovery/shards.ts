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
 * - The first listing is the whole level (no Name filter): a level of up to 50 names costs one
 *   call; a full page is followed once (WHOLE_PAGES), and when the second page is full too, the
 *   level is split into shards by first character (`NAME_CHARS`), so every name under the level
 *   matches exactly one shard. Prefixes are relative to `<path>/`.
 * - A shard whose page comes back full (as many names as asked for) and with a NextToken is
 *   refined: a set of prefixes is split into smaller sets; a single prefix `p` is replaced by
 *   `p` + each character that may follow it, and the name `p` itself (which no longer matches any
 *   shard) becomes an *exact candidate*, read by name (GetParameters answers "invalid" for a name
 *   that does not exist, so a candidate that is no parameter costs a slot in a batch, nothing more).
 * - A shard whose page has a NextToken but is not full (AWS stops a filtered page at an internal
 *   limit) follows its NextToken instead: splitting it would not make the pages fuller. When the
 *   very first listing of a level is not full (a service that pages DescribeParameters smaller
 *   than asked, as moto does at 10), the caller reads the level by path instead (see
 *   `../aws/discovery.ts`): listing names 10 at a time and then reading them costs twice the calls
 *   of reading them by path.
 *
 * Names found are read once each with GetParameters (10 a call, see `ReadPlan`). Everything in this
 * file is a plain function over data; the calls are made by `../aws/discovery.ts`.
 */

/** Characters an SSM parameter name may hold besides `/` (AWS: `a-zA-Z0-9_.-`, `/` for hierarchies). */
export const NAME_CHARS = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_.-';
/** AWS: a ParameterStringFilter holds at most 50 values. */
export const MAX_FILTER_VALUES = 50;
/** AWS: each filter value is at most 1,024 characters. */
const MAX_FILTER_VALUE_LENGTH = 1024;
/** AWS: DescribeParameters returns at most 50 parameters a page (MaxResults 1–50). */
export const DESCRIBE_PAGE_MAX = 50;
/** AWS: GetParameters takes at most 10 names; GetParametersByPath returns at most 10 a page. */
export const GET_BATCH = 10;
/** At most this many shards of prefixes seen on a page come out of one refinement. */
const MAX_SPLIT = 8;
/** Over how many shards the unseen lower-case first characters of a full listing are spread. */
const SPREAD = 4;
/**
 * Full pages of the whole-level listing followed before it is split: a level of up to this many
 * pages is listed without re-listing anything; a larger one is split after them.
 */
const WHOLE_PAGES = 2;

/** One listing: the names of the level that begin with one of `prefixes` (no prefixes: every name of the level). */
export interface Shard {
  /** Name prefixes relative to `<path>/`, non-empty, disjoint (none is a prefix of another); empty for the whole level. */
  prefixes: string[];
  /** Continue this listing from a previous page. */
  token?: string;
  /** Pages of this listing already read (0 for a new one). */
  pages?: number;
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
 * Splits a full shard's prefixes into groups of at most MAX_FILTER_VALUES values: the prefixes the
 * page showed names for are packed, densest first, into groups of at most half a page of names
 * seen (a prefix denser than that stays alone), so each new shard is likely to fit one page; the
 * prefixes with no name seen go together, in as few groups as the value limit allows (or, with
 * `spread`, the lower-case ones over `spread` groups). At most MAX_SPLIT groups of seen prefixes
 * (the rest join the lightest). Deterministic.
 */
export function groupPrefixes(
  prefixes: string[],
  counts: Map<string, number>,
  pageSize = DESCRIBE_PAGE_MAX,
  spread = 1,
): string[][] {
  const cap = Math.max(1, Math.floor(pageSize / 2));
  const seen = prefixes
    .filter((p) => (counts.get(p) ?? 0) > 0)
    .sort((a, b) => (counts.get(b) ?? 0) - (counts.get(a) ?? 0) || (a < b ? -1 : 1));
  const unseen = prefixes.filter((p) => (counts.get(p) ?? 0) === 0);
  const groups: Array<{ load: number; prefixes: string[] }> = [];
  for (const p of seen) {
    const c = counts.get(p) ?? 0;
    const fit = groups.find((g) => g.load + c <= cap && g.prefixes.length < MAX_FILTER_VALUES);
    if (fit) {
      fit.load += c;
      fit.prefixes.push(p);
    } else if (groups.length < MAX_SPLIT) groups.push({ load: c, prefixes: [p] });
    else {
      const lightest = groups
        .filter((g) => g.prefixes.length < MAX_FILTER_VALUES)
        .reduce((a, b) => (b.load < a.load ? b : a));
      lightest.load += c;
      lightest.prefixes.push(p);
    }
  }
  const out = groups.map((g) => g.prefixes);
  // `spread` > 1: the unseen lower-case prefixes are likely to hold the rest of a full listing, so
  // they are spread over that many groups (a page peels off only its densest prefixes otherwise)
  const lower = spread > 1 ? unseen.filter((p) => /[a-z]$/.test(p)) : [];
  const other = unseen.filter((p) => !lower.includes(p));
  // at least three prefixes a group: a few unseen prefixes are not worth a call each
  const ways = Math.min(spread, Math.ceil(lower.length / 3));
  for (let i = 0; i < ways; i++) {
    const part = lower.slice(
      Math.floor((i * lower.length) / ways),
      Math.floor(((i + 1) * lower.length) / ways),
    );
    if (part.length > 0) out.push(part);
  }
  for (let i = 0; i < other.length; i += MAX_FILTER_VALUES) out.push(other.slice(i, i + MAX_FILTER_VALUES));
  return out;
}

/**
 * The first shards: one listing of the whole level (no Name filter), so a level of up to 50 names
 * costs one DescribeParameters call. It is split by first character only if it comes back full.
 */
export function initialShards(): Shard[] {
  return [{ prefixes: [] }];
}

/** Every character a name may start with, grouped (see `groupPrefixes`) by the names a full whole-level page showed. */
export function firstCharShards(seen: string[], pageSize = DESCRIBE_PAGE_MAX): Shard[] {
  const firsts = [...NAME_CHARS];
  return groupPrefixes(firsts, countByPrefix(firsts, seen), pageSize, SPREAD).map((prefixes) => ({
    prefixes,
  }));
}

/** What to do after a shard's page came back. */
export function nextStep(shard: Shard, page: ShardPage, opts: ShardOptions): ShardStep {
  if (!page.nextToken) return { kind: 'done' };
  const pageSize = opts.pageSize ?? DESCRIBE_PAGE_MAX;
  const follow: ShardStep = {
    kind: 'follow',
    shard: { prefixes: shard.prefixes, token: page.nextToken, pages: (shard.pages ?? 0) + 1 },
  };
  const returned = page.returned ?? page.names.length;
  if (returned < pageSize) return follow;
  if (shard.prefixes.length === 0) {
    // a level of a page or two is cheapest paged through; only a larger one is split
    if ((shard.pages ?? 0) + 1 < WHOLE_PAGES) return follow;
    return { kind: 'split', shards: firstCharShards(page.names, pageSize), exact: [] };
  }
  if (shard.prefixes.length > 1) {
    const groups = groupPrefixes(shard.prefixes, countByPrefix(shard.prefixes, page.names), pageSize, SPREAD);
    return { kind: 'split', shards: groups.map((prefixes) => ({ prefixes })), exact: [] };
  }
  const p = shard.prefixes[0]!;
  // a filter value is `<path>/<prefix>` and at most 1,024 characters: past that, page through
  if (opts.path.length + 1 + p.length + 1 > MAX_FILTER_VALUE_LENGTH) return follow;
  const children = nextChars(p, opts.recursive).map((c) => p + c);
  const groups = groupPrefixes(children, countByPrefix(children, page.names), pageSize);
  return {
    kind: 'split',
    shards: groups.map((prefixes) => ({ prefixes })),
    exact: isCandidateName(p, opts.recursive) ? [p] : [],
  };
}
