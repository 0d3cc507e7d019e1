/**
 * Sharded discovery without a network: the pure plan (`src/discovery`) and the orchestration
 * (`discoverLevel`) over an in-memory parameter store that pages and filters the way
 * GetParametersByPath and DescribeParameters are documented to. The same comparison against moto
 * is in discovery.int.test.ts.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { type DiscoveryIo, type DiscoveryReport, discoverLevel } from '../src/aws/discovery.js';
import type { ParameterRecord } from '../src/backend.js';
import { mergeRecords, ReadPlan } from '../src/discovery/read-plan.js';
import {
  countByPrefix,
  firstCharShards,
  groupPrefixes,
  initialShards,
  isCandidateName,
  MAX_FILTER_VALUES,
  NAME_CHARS,
  nextChars,
  nextStep,
  relativeName,
} from '../src/discovery/shards.js';
import { StrataError } from '../src/errors.js';

/** An in-memory Parameter Store: by-path pages of 10, DescribeParameters pages of `describePage`. */
class Store implements DiscoveryIo {
  reads = new Map<string, number>();
  calls = { byPath: 0, describe: 0, get: 0 };
  describeUnavailable?: boolean;
  constructor(
    private readonly names: string[],
    private readonly opts: {
      /** What the service returns at most per DescribeParameters page (AWS 50, moto 10). */
      describePage?: number;
      /** moto: a full page always carries a NextToken, even when nothing follows. */
      trailingToken?: boolean;
      /** AWS "internal limit": every filtered page is cut to this many names (with a NextToken). */
      internalLimit?: number;
      refuseDescribe?: boolean;
      refuseGet?: boolean;
    } = {},
  ) {}
  private under(path: string, recursive: boolean): string[] {
    return this.names.filter((n) => relativeName(path, n, recursive) !== undefined);
  }
  private page<T>(all: T[], size: number, token: string | undefined): { items: T[]; nextToken?: string } {
    const from = token ? Number(token) : 0;
    const items = all.slice(from, from + size);
    const more = from + size < all.length || (this.opts.trailingToken === true && items.length === size);
    return { items, ...(more ? { nextToken: String(from + size) } : {}) };
  }
  private read(name: string): ParameterRecord {
    this.reads.set(name, (this.reads.get(name) ?? 0) + 1);
    return { name, value: `v:${name}`, type: 'String', version: 1 };
  }
  async byPathPage(path: string, recursive: boolean, token: string | undefined) {
    this.calls.byPath++;
    const p = this.page(this.under(path, recursive), 10, token);
    return { records: p.items.map((n) => this.read(n)), ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
  }
  async describePage(
    path: string,
    recursive: boolean,
    prefixes: string[],
    token: string | undefined,
    max: number,
  ) {
    this.calls.describe++;
    if (this.opts.refuseDescribe)
      throw new StrataError('ACCESS_DENIED', 'ssm:DescribeParameters: AccessDenied');
    expect(prefixes.length).toBeLessThanOrEqual(MAX_FILTER_VALUES);
    const matching = this.under(path, recursive).filter(
      (n) => prefixes.length === 0 || prefixes.some((p) => n.startsWith(`${path}/${p}`)),
    );
    const size = Math.min(
      max,
      this.opts.describePage ?? 50,
      this.opts.internalLimit ?? Number.POSITIVE_INFINITY,
    );
    const p = this.page(matching, size, token);
    return { names: p.items, ...(p.nextToken ? { nextToken: p.nextToken } : {}) };
  }
  async getByName(names: string[]) {
    this.calls.get++;
    expect(names.length).toBeLessThanOrEqual(10);
    if (this.opts.refuseGet) throw new StrataError('ACCESS_DENIED', 'ssm:GetParameters: AccessDenied');
    return names.filter((n) => this.names.includes(n)).map((n) => this.read(n));
  }
  /** What a by-path read returns (the reference result). */
  expected(path: string, recursive: boolean): string[] {
    return [...this.under(path, recursive)].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  }
}

const report = (): DiscoveryReport => ({
  mode: 'one-page',
  describeCalls: 0,
  getCalls: 0,
  byPathCalls: 0,
  candidatesMissing: 0,
});

describe('shard plan (pure)', () => {
  it('a level is first listed whole; a full listing is split by first character, every character once', () => {
    expect(initialShards()).toEqual([{ prefixes: [] }]);
    for (const seen of [[], ['db/a', 'db/b', 'api'], ['Zeta', '9x', '_u', '.d', '-m', 'a', 'b']]) {
      const shards = firstCharShards(seen);
      const all = shards.flatMap((s) => s.prefixes);
      expect([...all].sort()).toEqual([...NAME_CHARS].sort());
      for (const s of shards) expect(s.prefixes.length).toBeLessThanOrEqual(MAX_FILTER_VALUES);
    }
    // first characters seen on the page are packed by how many names they showed (at most half a page a shard)
    const dense = Array.from({ length: 30 }, (_, i) => `db/${i}`).concat(
      Array.from({ length: 20 }, (_, i) => `api${i}`),
    );
    expect(firstCharShards(dense)).toEqual(
      expect.arrayContaining([{ prefixes: ['d'] }, { prefixes: ['a'] }]),
    );
    // the whole-level listing is followed once, then split when its second page is full too
    const ten = { names: Array.from({ length: 10 }, (_, i) => `k${i}`), nextToken: 't' };
    const o = { recursive: true, path: '/p', pageSize: 10 };
    expect(nextStep({ prefixes: [] }, ten, o)).toMatchObject({
      kind: 'follow',
      shard: { prefixes: [], pages: 1 },
    });
    expect(nextStep({ prefixes: [], token: 't0', pages: 1 }, ten, o)).toMatchObject({
      kind: 'split',
      exact: [],
    });
  });

  it('relativeName reads what GetParametersByPath would, and nothing of a sibling or a deeper level', () => {
    expect(relativeName('/a/b', '/a/b/x', false)).toBe('x');
    expect(relativeName('/a/b', '/a/b/x/y', false)).toBeUndefined();
    expect(relativeName('/a/b', '/a/b/x/y', true)).toBe('x/y');
    expect(relativeName('/a/b', '/a/bc/x', true)).toBeUndefined();
    expect(relativeName('/a/b', '/a/b', true)).toBeUndefined();
    expect(relativeName('/a/b', '/A/b/x', true)).toBeUndefined(); // names are case-sensitive
  });

  it("'/' may follow a character only in a recursive level, and never another '/'", () => {
    expect(nextChars('db', true)).toContain('/');
    expect(nextChars('db/', true)).not.toContain('/');
    expect(nextChars('db', false)).not.toContain('/');
    expect(isCandidateName('db', false)).toBe(true);
    expect(isCandidateName('db/', true)).toBe(false);
    expect(isCandidateName('db/x', false)).toBe(false);
  });

  it('groupPrefixes partitions the prefixes, at most 50 a group, the dense ones apart', () => {
    const prefixes = [...NAME_CHARS].map((c) => `p${c}`);
    const counts = countByPrefix(prefixes, ['pa1', 'pa2', 'pa3', 'pb1', 'pb2', 'pZ']);
    const groups = groupPrefixes(prefixes, counts, 4); // half a page: 2 names seen a group
    expect(groups.flat().sort()).toEqual([...prefixes].sort());
    for (const g of groups) expect(g.length).toBeLessThanOrEqual(MAX_FILTER_VALUES);
    const groupOf = (p: string) => groups.findIndex((g) => g.includes(p));
    expect(groupOf('pa')).not.toBe(groupOf('pb'));
  });

  it('a full page with a NextToken is refined; a page that is not full is followed; no NextToken is done', () => {
    const opts = { recursive: true, path: '/app', pageSize: 3 };
    expect(nextStep({ prefixes: ['a', 'b'] }, { names: ['a1', 'b2'] }, opts)).toEqual({ kind: 'done' });
    expect(nextStep({ prefixes: ['a'] }, { names: ['a1'], nextToken: 't' }, opts)).toEqual({
      kind: 'follow',
      shard: { prefixes: ['a'], token: 't', pages: 1 },
    });
    const split = nextStep(
      { prefixes: ['a', 'b', 'c'] },
      { names: ['a1', 'a2', 'b1'], nextToken: 't' },
      opts,
    );
    expect(split.kind).toBe('split');
    if (split.kind !== 'split') return;
    expect(split.shards.flatMap((s) => s.prefixes).sort()).toEqual(['a', 'b', 'c']);
    expect(split.shards.every((s) => s.token === undefined)).toBe(true);
    const one = nextStep({ prefixes: ['db'] }, { names: ['db/a', 'db/b', 'dbx'], nextToken: 't' }, opts);
    if (one.kind !== 'split') throw new Error('expected a split');
    // every character that may follow, once; and the name `db` itself is read by name
    expect(one.shards.flatMap((s) => s.prefixes).sort()).toEqual(
      nextChars('db', true)
        .map((c) => `db${c}`)
        .sort(),
    );
    expect(one.exact).toEqual(['db']);
  });

  it('a prefix that would make the filter value longer than 1,024 characters is paged, not refined', () => {
    const path = `/${'p'.repeat(1000)}`;
    const step = nextStep(
      { prefixes: ['x'.repeat(30)] },
      { names: ['a', 'b'], nextToken: 't' },
      {
        recursive: true,
        path,
        pageSize: 2,
      },
    );
    expect(step.kind).toBe('follow');
  });

  it('ReadPlan hands every name out once, in batches of 10, and never a name already read', () => {
    const plan = new ReadPlan();
    plan.markRead(['/a/0']);
    expect(plan.found(['/a/0', '/a/1', '/a/1'])).toBe(1);
    plan.maybe('/a/1');
    plan.maybe('/a/x');
    for (let i = 2; i < 30; i++) plan.found([`/a/${i}`]);
    const first = plan.take(false);
    expect(first.every((b) => b.length === 10)).toBe(true);
    const rest = plan.take(true);
    const all = [...first, ...rest].flat();
    expect(new Set(all).size).toBe(all.length);
    expect(all).not.toContain('/a/0');
    expect(all).toContain('/a/x');
    expect(plan.isSpeculative('/a/x')).toBe(true);
    expect(plan.isSpeculative('/a/1')).toBe(false);
    expect(plan.take(true)).toEqual([]);
  });

  it('mergeRecords keeps one record a name, sorted so that names differing only in case stay apart', () => {
    const r = (name: string) => ({ name });
    expect(mergeRecords([r('/a/b'), r('/a/B')], [r('/a/b'), r('/a/a')]).map((x) => x.name)).toEqual([
      '/a/B',
      '/a/a',
      '/a/b',
    ]);
  });
});

describe('discoverLevel over an in-memory store', () => {
  const big = (n: number, prefix = '/app/dev') =>
    Array.from({ length: n }, (_, i) => `${prefix}/${['db', 'api', 'cache', 'Auth'][i % 4]}/k${i}`);

  it('a level of at most 10 names costs one call', async () => {
    const s = new Store(big(10));
    const rep = report();
    const got = await discoverLevel(s, '/app/dev', { recursive: true }, {}, rep);
    expect(got.map((r) => r.name)).toEqual(s.expected('/app/dev', true));
    expect(s.calls).toEqual({ byPath: 1, describe: 0, get: 0 });
    expect(rep.mode).toBe('one-page');
  });

  it('a large level: every name once, identical to by path, GetParameters close to the minimum', async () => {
    const names = [...big(400), ...big(150, '/app/prod'), '/app/x', '/app/dev']; // siblings and ancestors
    const s = new Store(names);
    const rep = report();
    const got = await discoverLevel(s, '/app/dev', { recursive: true }, {}, rep);
    expect(got.map((r) => r.name)).toEqual(s.expected('/app/dev', true));
    expect(got.every((r) => r.value === `v:${r.name}`)).toBe(true);
    expect([...s.reads.values()].every((n) => n === 1)).toBe(true);
    expect([...s.reads.keys()].some((n) => !n.startsWith('/app/dev/'))).toBe(false);
    expect(rep.mode).toBe('sharded');
    // 400 values: 40 calls of 10 at least (the first by-path page included); at most one partial
    // batch and one batch of guessed names more
    expect(s.calls.get + s.calls.byPath).toBeLessThanOrEqual(42);
    expect(rep.candidatesMissing).toBeLessThanOrEqual(s.calls.describe);
  });

  it('a one-level read (an ancestor) never reads below its direct children', async () => {
    const names = [...Array.from({ length: 60 }, (_, i) => `/app/k${i}`), ...big(100), '/app/dev'];
    const s = new Store(names);
    const got = await discoverLevel(s, '/app', { recursive: false });
    expect(got.map((r) => r.name)).toEqual(s.expected('/app', false));
    expect([...s.reads.keys()].every((n) => !n.slice('/app/'.length).includes('/'))).toBe(true);
  });

  it('DescribeParameters pages smaller than asked (moto: 10; AWS internal limits): read by path, each name once', async () => {
    for (const opts of [{ describePage: 10, trailingToken: true }, { internalLimit: 7 }]) {
      const s = new Store(big(120), opts);
      const rep = report();
      const got = await discoverLevel(s, '/app/dev', { recursive: true }, {}, rep);
      expect(got.map((r) => r.name)).toEqual(s.expected('/app/dev', true));
      expect([...s.reads.values()].every((n) => n === 1)).toBe(true);
      expect(rep.mode).toBe('by-path');
      expect(s.calls).toMatchObject({ describe: 1, get: 0 });
      expect(s.describeUnavailable).toBe(true);
    }
  });

  it('a shard page cut short by AWS after the first (an internal limit) is followed, not refined', async () => {
    const s = new Store(big(300));
    let n = 0;
    const io: DiscoveryIo = {
      byPathPage: s.byPathPage.bind(s),
      getByName: s.getByName.bind(s),
      describePage: async (path, recursive, prefixes, token, max) => {
        // the whole-level page is full; every later page stops at 20 names
        const page = await s.describePage(path, recursive, prefixes, token, n++ === 0 ? max : 20);
        return page;
      },
    };
    const rep = report();
    const got = await discoverLevel(io, '/app/dev', { recursive: true }, {}, rep);
    expect(got.map((r) => r.name)).toEqual(s.expected('/app/dev', true));
    expect([...s.reads.values()].every((x) => x === 1)).toBe(true);
    expect(rep.mode).toBe('sharded');
    expect(rep.candidatesMissing).toBe(0); // nothing refined below the first characters
  });

  it('refused DescribeParameters: read by path from the first NextToken, no name read twice, not tried again', async () => {
    const s = new Store(big(45), { refuseDescribe: true });
    const rep = report();
    const got = await discoverLevel(s, '/app/dev', { recursive: true }, {}, rep);
    expect(got.map((r) => r.name)).toEqual(s.expected('/app/dev', true));
    expect([...s.reads.values()].every((n) => n === 1)).toBe(true);
    expect(s.calls.get).toBe(0);
    expect(rep.mode).toBe('by-path');
    expect(s.describeUnavailable).toBe(true);
    const before = s.calls.describe;
    await discoverLevel(s, '/app/dev', { recursive: true });
    expect(s.calls.describe).toBe(before);
  });

  it('GetParameters refused while listing is allowed: read by path, the result unchanged', async () => {
    const s = new Store(big(200), { refuseGet: true });
    const rep = report();
    const got = await discoverLevel(s, '/app/dev', { recursive: true }, {}, rep);
    expect(got.map((r) => r.name)).toEqual(s.expected('/app/dev', true));
    expect([...s.reads.values()].every((n) => n === 1)).toBe(true);
    expect(rep.mode).toBe('by-path');
    expect(s.describeUnavailable).toBe(true);
  });

  it('a first page that is not full but has a NextToken is paged by path (no guess from a partial page)', async () => {
    const s = new Store(big(30));
    const io: DiscoveryIo = {
      ...s,
      byPathPage: async (path, recursive, token) => {
        const p = await s.byPathPage(path, recursive, token);
        return token === undefined ? { records: p.records.slice(0, 4), nextToken: '4' } : p;
      },
      describePage: s.describePage.bind(s),
      getByName: s.getByName.bind(s),
    };
    const got = await discoverLevel(io, '/app/dev', { recursive: true });
    expect(got.map((r) => r.name)).toEqual(s.expected('/app/dev', true));
    expect(s.calls.describe).toBe(0);
  });

  it('randomized trees: sharded discovery returns exactly what a by-path read does, each name read once', async () => {
    const charsArb = fc.constantFrom(...[...NAME_CHARS]);
    const segment = fc.array(charsArb, { minLength: 1, maxLength: 4 }).map((a) => a.join(''));
    // few distinct segments, so names share prefixes and collide in case-variants
    const nameArb = fc
      .array(fc.oneof(segment, fc.constantFrom('a', 'A', 'ab', 'aB', 'Ab', 'x', 'x.y', 'x-y', 'x_y')), {
        minLength: 1,
        maxLength: 4,
      })
      .map((segs) => segs.join('/'));
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(nameArb, { minLength: 0, maxLength: 300 }),
        fc.boolean(),
        fc.constantFrom(50, 10, 3),
        fc.boolean(),
        async (rel, recursive, describePage, trailingToken) => {
          const names = [...rel.map((r) => `/lvl/${r}`), '/other/x', '/lvlx/y'];
          const s = new Store(names, { describePage, trailingToken });
          const got = await discoverLevel(s, '/lvl', { recursive });
          expect(got.map((r) => r.name)).toEqual(s.expected('/lvl', recursive));
          expect([...s.reads.values()].every((n) => n === 1)).toBe(true);
          if (s.expected('/lvl', recursive).length <= 10 && !trailingToken) {
            expect(s.calls).toEqual({ byPath: 1, describe: 0, get: 0 });
          }
        },
      ),
      { numRuns: 150, seed: 1313 },
    );
  });
});
