/**
 * Sharded discovery against moto: on random trees (names that differ only in case, every character
 * a name may hold), a level listed in shards returns exactly what the sequential by-path read
 * returns, reads no name twice and nothing outside the level — on moto's own paging and on AWS-sized
 * pages (the fault proxy's `awsPages` emulation). Small levels cost one call; throttled shards are
 * retried; a refused DescribeParameters falls back to the by-path read.
 *
 * moto gaps (5.2.5, `moto/ssm/models.py` / `responses.py`), named where they matter:
 * - DescribeParameters pages at 10 whatever MaxResults says, and a full page of DescribeParameters
 *   or GetParametersByPath always carries a NextToken, even when nothing follows. The proxy's
 *   `awsPages` mode models AWS's paging (up to 50, no trailing token).
 * - `Name` `BeginsWith` is a case-sensitive `startswith` after normalizing a leading `/`; AWS
 *   documents no case folding for names either (names are case-sensitive), and discovery would
 *   still be exact if it folded (shards may overlap; names are deduplicated, and only names the level
 *   reads, compared case-sensitively, are kept).
 * - moto's IAM denial is XML the SDK cannot parse: AccessDenied comes from the proxy's `deny` rule.
 */
import {
  DescribeParametersCommand,
  GetParametersByPathCommand,
  PutParameterCommand,
} from '@aws-sdk/client-ssm';
import type { FaultProxy, RecordedRequest } from '@strata/test-env/fault-proxy';
import fc from 'fast-check';
import pLimit from 'p-limit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AwsBackend } from '../src/aws/backend.js';
import type { ParameterRecord } from '../src/backend.js';
import { NAME_CHARS, relativeName } from '../src/discovery/shards.js';
import { aws, proxy, resolverFor } from './helpers.js';

const REGION = 'eu-west-3'; // a region of its own: other tests' parameters are not in moto's scans
const RUN = `disc${Date.now().toString(36)}`;
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

let p: FaultProxy;

function backend(endpoint: string, discovery: 'sharded' | 'paged' = 'sharded'): AwsBackend {
  return new AwsBackend({
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    retry: { retries: 8, baseMs: 5, capMs: 50 },
    discovery,
  });
}

async function seed(names: string[]): Promise<void> {
  const ssm = aws.ssm({ region: REGION });
  const limit = pLimit(16);
  await Promise.all(
    names.map((Name, i) =>
      limit(() =>
        ssm.send(
          new PutParameterCommand({
            Name,
            Value: `value of ${Name}`,
            Type: i % 5 === 0 ? 'SecureString' : 'String',
            Overwrite: true,
          }),
        ),
      ),
    ),
  );
  ssm.destroy();
}

const shape = (rs: ParameterRecord[]) =>
  rs.map((r) => ({ name: r.name, value: r.value, type: r.type, version: r.version }));

/** Names asked for by GetParameters in the recorded requests. */
function namesRead(reqs: RecordedRequest[]): string[] {
  return reqs
    .filter((r) => r.operation === 'ssm:GetParameters')
    .flatMap((r) => (r.body as { Names: string[] }).Names);
}

/** A random tree under `root`: shared prefixes, case variants, every character a name may hold. */
function randomTree(root: string, seed: number, size: number): string[] {
  const char = fc.constantFrom(...[...NAME_CHARS]);
  const seg = fc.oneof(
    fc.array(char, { minLength: 1, maxLength: 3 }).map((a) => a.join('')),
    fc.constantFrom('db', 'DB', 'Db', 'api', 'API', 'a', 'A', 'x.y', 'x-y', 'x_y', '0', '9'),
  );
  const rel = fc.array(seg, { minLength: 1, maxLength: 4 }).map((s) => s.join('/'));
  const [names] = fc.sample(fc.uniqueArray(rel, { minLength: size, maxLength: size }), { numRuns: 1, seed });
  // every character at the start of a name and inside one, so each shard boundary is crossed
  const everyChar = [...NAME_CHARS].flatMap((c) => [`${c}`, `k${c}z`, `n/${c}`]);
  return [...new Set([...names!, ...everyChar])].map((r) => `${root}/${r}`);
}

const trees = [
  { root: `/${RUN}/t0`, seed: 11, size: 160 },
  { root: `/${RUN}/t1`, seed: 22, size: 60 },
];

beforeAll(async () => {
  await seed(trees.flatMap((t) => randomTree(t.root, t.seed, t.size)));
  // a sibling of every tree root, and a name that only shares the root's characters
  await seed([`/${RUN}/t0x/leak`, `/${RUN}/t0-sibling/leak`, `/${RUN}/leak`]);
  p = await proxy();
}, 180_000);
afterAll(async () => p.stop());

describe('sharded discovery against moto', () => {
  const levels = (root: string) => [
    { path: root, recursive: true },
    { path: root, recursive: false },
    { path: `${root}/n`, recursive: true },
    { path: `${root}/db`, recursive: true },
    { path: `${root}/A`, recursive: false },
  ];

  for (const awsPages of [false, true]) {
    it(`returns exactly what by-path discovery does, reads each name once and nothing outside the level (${awsPages ? 'AWS-sized pages' : "moto's own paging"})`, async () => {
      const reference = backend(aws.motoEndpoint(), 'paged');
      let sharded = 0;
      for (const t of trees) {
        for (const l of levels(t.root)) {
          const expected = await reference.ssm.getParametersByPath(l.path, { recursive: l.recursive });
          p.configure({ record: true, awsPages });
          p.resetCounts();
          const b = backend(p.endpoint);
          const got = await b.ssm.getParametersByPath(l.path, { recursive: l.recursive });
          const reqs = p.requests();
          void b.close();
          expect(shape(got)).toEqual(shape([...expected].sort((a, b) => (a.name < b.name ? -1 : 1))));
          // no name read twice: not by two GetParameters, not by GetParameters after the first page
          const read = namesRead(reqs);
          expect(new Set(read).size).toBe(read.length);
          const firstPage = new Set(
            (await reference.ssm.getParametersByPath(l.path, { recursive: l.recursive }))
              .slice(0, 10)
              .map((r) => r.name),
          );
          expect(read.filter((n) => firstPage.has(n))).toEqual([]);
          // the no-leak rule: nothing read by name outside what the level reads, every listing scoped to the level
          expect(read.filter((n) => relativeName(l.path, n, l.recursive) === undefined)).toEqual([]);
          for (const r of reqs.filter((x) => x.operation === 'ssm:DescribeParameters')) {
            const filters = (
              r.body as { ParameterFilters: Array<{ Key: string; Option: string; Values: string[] }> }
            ).ParameterFilters;
            expect(filters.find((f) => f.Key === 'Path')).toEqual({
              Key: 'Path',
              Option: l.recursive ? 'Recursive' : 'OneLevel',
              Values: [l.path],
            });
            const name = filters.find((f) => f.Key === 'Name');
            if (name) {
              expect(name.Option).toBe('BeginsWith');
              expect(name.Values.length).toBeLessThanOrEqual(50);
              expect(name.Values.every((v) => v.startsWith(`${l.path}/`))).toBe(true);
            }
          }
          for (const r of reqs.filter((x) => x.operation === 'ssm:GetParametersByPath')) {
            expect(r.body).toMatchObject({ Path: l.path, Recursive: l.recursive });
          }
          if (read.length > 0) sharded++;
          // on moto's own paging (10 a DescribeParameters page), the first listing shows it and the level is read by path
          if (!awsPages) expect(read).toEqual([]);
        }
      }
      void reference.close();
      if (awsPages) expect(sharded).toBeGreaterThan(0);
    });
  }

  it('the proxy models AWS paging: DescribeParameters up to 50 a page, no NextToken before an empty page, one call', async () => {
    const root = `/${RUN}/pages`;
    await seed(Array.from({ length: 50 }, (_, i) => `${root}/k${String(i).padStart(2, '0')}`));
    p.configure({ awsPages: true });
    p.resetCounts();
    const ssm = aws.ssm({ endpoint: p.endpoint, region: REGION });
    const filters = [{ Key: 'Path', Option: 'OneLevel', Values: [root] }];
    const all = await ssm.send(new DescribeParametersCommand({ ParameterFilters: filters, MaxResults: 50 }));
    expect(all.Parameters).toHaveLength(50);
    expect(all.NextToken).toBeUndefined();
    expect(p.counts().total).toBe(1);
    const names: string[] = [];
    let token: string | undefined;
    do {
      const page = await ssm.send(
        new DescribeParametersCommand({ ParameterFilters: filters, MaxResults: 15, NextToken: token }),
      );
      expect(page.Parameters!.length).toBeLessThanOrEqual(15);
      names.push(...page.Parameters!.map((x) => x.Name!));
      token = page.NextToken;
    } while (token);
    expect(names).toEqual(all.Parameters!.map((x) => x.Name!));
    const byPath = await ssm.send(new GetParametersByPathCommand({ Path: `${root}`, MaxResults: 10 }));
    expect(byPath.Parameters).toHaveLength(10);
    expect(byPath.NextToken).toBeDefined();
    ssm.destroy();
  });

  it('a level of at most 10 names costs one call', async () => {
    const root = `/${RUN}/small`;
    await seed(Array.from({ length: 7 }, (_, i) => `${root}/k${i}`));
    p.configure({ awsPages: true });
    p.resetCounts();
    const b = backend(p.endpoint);
    const got = await b.ssm.getParametersByPath(root, { recursive: true });
    void b.close();
    expect(got).toHaveLength(7);
    expect(p.counts().total).toBe(1);
  });

  it('throttled shards are retried and slow the limiter; the result is unchanged', async () => {
    const reference = backend(aws.motoEndpoint(), 'paged');
    const expected = shape(
      [...(await reference.ssm.getParametersByPath(trees[0]!.root, { recursive: true }))].sort((a, b) =>
        a.name < b.name ? -1 : 1,
      ),
    );
    void reference.close();
    p.configure({
      awsPages: true,
      // the first calls of the burst are throttled, as AWS does when a burst goes over the quota
      rules: [
        { fault: 'throttle', ops: ['DescribeParameters'], times: 3 },
        { fault: 'throttle', ops: ['GetParameters'], times: 3 },
      ],
    });
    p.resetCounts();
    const b = backend(p.endpoint);
    const got = await b.ssm.getParametersByPath(trees[0]!.root, { recursive: true });
    expect(shape(got)).toEqual(expected);
    expect(p.counts().faults.throttle).toBe(6);
    expect(b.stats.snapshot().throttles).toBeGreaterThan(0);
    void b.close();
  });

  it('DescribeParameters refused (AccessDenied): read by path, no name read twice, not asked again', async () => {
    const reference = backend(aws.motoEndpoint(), 'paged');
    const expected = shape(
      [...(await reference.ssm.getParametersByPath(trees[0]!.root, { recursive: true }))].sort((a, b) =>
        a.name < b.name ? -1 : 1,
      ),
    );
    void reference.close();
    p.configure({ awsPages: true, rules: [{ fault: 'deny', ops: ['DescribeParameters'] }] });
    p.resetCounts();
    const b = backend(p.endpoint);
    expect(shape(await b.ssm.getParametersByPath(trees[0]!.root, { recursive: true }))).toEqual(expected);
    expect(p.counts().calls['ssm:GetParameters'] ?? 0).toBe(0);
    const denied = p.counts().calls['ssm:DescribeParameters'] ?? 0;
    expect(denied).toBeGreaterThan(0);
    await b.ssm.getParametersByPath(trees[1]!.root, { recursive: true });
    expect(p.counts().calls['ssm:DescribeParameters']).toBe(denied);
    await b.close();
  });

  it('is what a resolver uses by default: a hierarchy loads the same entries as with paged discovery', async () => {
    const root = `/${RUN}/h`;
    await seed([
      ...Array.from({ length: 25 }, (_, i) => `${root}/o${i}`),
      ...Array.from({ length: 25 }, (_, i) => `${root}/app/o${i}`),
      ...Array.from(
        { length: 130 },
        (_, i) => `${root}/app/dev/${['db', 'api', 'Auth', 'cache'][i % 4]}/k${i}`,
      ),
      ...Array.from({ length: 12 }, (_, i) => `${root}/app/dev/o${i}`),
      ...Array.from({ length: 40 }, (_, i) => `${root}/app/prod/db/k${i}`),
    ]);
    p.configure({ awsPages: true });
    p.resetCounts();
    const levels = { levels: [root, `${root}/app`, `${root}/app/dev`] };
    const opts = { aws: { region: REGION } };
    const sharded = resolverFor(p.endpoint, opts);
    const paged = resolverFor(aws.motoEndpoint(), { aws: { region: REGION, discovery: 'paged' } });
    const a = await sharded.loadHierarchy(levels, { resolveReferences: false });
    expect(p.counts().calls['ssm:DescribeParameters'] ?? 0).toBeGreaterThan(0);
    const b = await paged.loadHierarchy(levels, { resolveReferences: false });
    expect(a.entries.size).toBe(25 + 130);
    expect([...a.entries.values()].some((e) => e.origin.parameter.includes('/prod/'))).toBe(false);
    const view = (h: typeof a) =>
      [...h.entries.values()].map((e) => [e.key, e.value, e.origin.parameter, e.origin.version]);
    expect(view(a)).toEqual(view(b));
    expect(a.ignored.sort()).toEqual(b.ignored.sort());
    sharded.close();
    paged.close();
  });
});
