/**
 * Sharded discovery, the calls: lists one hierarchy level with concurrent DescribeParameters shards
 * and reads what they find with concurrent GetParameters (10 names a call, decrypted). The plan —
 * which shards, when to refine one, how names are batched — is pure and lives in `../discovery`.
 *
 * 1. The first call is the GetParametersByPath page a by-path read starts with (10 names, values
 *    included). A level that fits in it costs that one call, as before.
 * 2. When that page is full and has a NextToken, the level is listed in shards (`initialShards`,
 *    refined by `nextStep`), all concurrently, each page as soon as the previous one answers; the
 *    names found are read with GetParameters as soon as 10 are waiting, the rest when every shard is
 *    done. Each name is read once: the first page's names, and every name already queued, are
 *    never read again (`ReadPlan`).
 * 3. What comes back is exactly what GetParametersByPath would have returned for the level (same
 *    path, same recursion: the level's no-leak rule is unchanged), sorted by name.
 *
 * DescribeParameters is not in the 40 requests/s quota shared by GetParameter, GetParameters and
 * GetParametersByPath (AWS Systems Manager quotas; its own limit is not published), so its calls
 * take their own rate-limit bucket, `ssm-describe` (40/s by default) — unless the caller set
 * `rateLimits.ssm` and not `ssm-describe`: then that limit caps every SSM read, DescribeParameters
 * included. Throttling from a burst of shards makes the adaptive limiter slow the bucket down, and
 * the calls are retried like any other.
 *
 * When DescribeParameters is refused (AccessDenied: a policy that grants only GetParameter* on the
 * path, or a path DescribeParameters will not filter on), or GetParameters is (a policy that grants
 * listing but not reading by name; then only by-path records are kept), or its first page of the level is smaller
 * than asked while more follows (then listing costs as many calls as reading by path, and the reads
 * come on top), the level is read by path from the first page's NextToken, and the backend
 * remembers not to try again. No name has been read by name at that point (reads start only after
 * a usable DescribeParameters page), so none is read twice.
 *
 * moto (the test emulator) gap: moto 5.2.5 pages DescribeParameters at 10 whatever MaxResults says
 * (`moto/ssm/responses.py`: `page_size = 10`), so on moto's own paging discovery falls back to
 * by-path pages; the fault proxy's `awsPages` mode (AWS emulation) merges moto's pages into
 * AWS-sized ones, and the tests and the benchmark run both.
 */
import { DescribeParametersCommand, GetParametersByPathCommand } from '@aws-sdk/client-ssm';
import type { ParameterRecord } from '../backend.js';
import { mergeRecords, ReadPlan } from '../discovery/read-plan.js';
import {
  DESCRIBE_PAGE_MAX,
  GET_BATCH,
  initialShards,
  nextStep,
  relativeName,
  type Shard,
} from '../discovery/shards.js';
import { isStrataError } from '../errors.js';
import { regionOf } from './arn.js';
import type { AwsBackend } from './backend.js';
import { toRecord } from './records.js';
import { arrayField, checkNextToken, checkParameters, stringField } from './shape.js';

/** The calls sharded discovery makes, so the plan can run over AWS or anything that answers like it. */
export interface DiscoveryIo {
  /** One GetParametersByPath page (decrypted). */
  byPathPage(
    path: string,
    recursive: boolean,
    token: string | undefined,
  ): Promise<{ records: ParameterRecord[]; nextToken?: string }>;
  /** One DescribeParameters page: `Path` filter as the level reads, `Name` `BeginsWith` `<path>/<prefix>`. */
  describePage(
    path: string,
    recursive: boolean,
    prefixes: string[],
    token: string | undefined,
    maxResults: number,
  ): Promise<{ names: string[]; nextToken?: string }>;
  /** GetParameters of at most 10 names (decrypted); names that do not exist are left out. */
  getByName(names: string[]): Promise<ParameterRecord[]>;
  /**
   * Set when DescribeParameters was refused, or pages smaller than asked: later levels are read by
   * path at once.
   */
  describeUnavailable?: boolean;
}

export interface ShardedDiscoveryOptions {
  /** MaxResults of each DescribeParameters call. Default 50 (AWS's maximum). */
  pageSize?: number;
}

/** What a listing cost, for tests and benchmarks (never a value). */
export interface DiscoveryReport {
  mode: 'one-page' | 'sharded' | 'by-path';
  describeCalls: number;
  getCalls: number;
  byPathCalls: number;
  /** Exact candidates read that were no parameter. */
  candidatesMissing: number;
}

/**
 * Every parameter of one level (`recursive`: the whole subtree; else direct children only),
 * decrypted, each read once, sorted by name.
 */
export async function discoverLevel(
  io: DiscoveryIo,
  path: string,
  opts: { recursive: boolean },
  options: ShardedDiscoveryOptions = {},
  report?: DiscoveryReport,
): Promise<ParameterRecord[]> {
  const { recursive } = opts;
  const pageSize = Math.min(DESCRIBE_PAGE_MAX, Math.max(1, options.pageSize ?? DESCRIBE_PAGE_MAX));
  const rep = report ?? {
    mode: 'one-page',
    describeCalls: 0,
    getCalls: 0,
    byPathCalls: 0,
    candidatesMissing: 0,
  };

  rep.byPathCalls++;
  const first = await io.byPathPage(path, recursive, undefined);
  rep.mode = 'one-page';
  if (!first.nextToken) return mergeRecords(first.records);

  const byPathFrom = async (token: string): Promise<ParameterRecord[]> => {
    rep.mode = 'by-path';
    const out = [...first.records];
    const seen = new Set([token]);
    let next: string | undefined = token;
    while (next) {
      rep.byPathCalls++;
      const page = await io.byPathPage(path, recursive, next);
      out.push(...page.records);
      next = checkNextToken({ NextToken: page.nextToken }, seen, 'ssm:GetParametersByPath', path);
    }
    return mergeRecords(out);
  };

  // A page that is not full (AWS stops at an internal limit) says nothing about the level's size;
  // a level AWS will not filter (`/aws…`, `/ssm…`) or a refused DescribeParameters: read by path.
  if (first.records.length < GET_BATCH || io.describeUnavailable === true || /^\/(aws|ssm)/i.test(path)) {
    return byPathFrom(first.nextToken);
  }

  rep.mode = 'sharded';
  const plan = new ReadPlan();
  plan.markRead(first.records.map((r) => r.name));
  const read: ParameterRecord[][] = [first.records];
  const tasks: Promise<void>[] = [];
  let failure: unknown;
  let refused = false;
  let smallPages = false;
  let confirmed = false; // a DescribeParameters page succeeded: reading by name may start
  let listing = 0;

  const track = (p: Promise<void>) => {
    tasks.push(
      p.catch((e: unknown) => {
        failure ??= e;
      }),
    );
  };

  const flush = (final: boolean) => {
    if (!confirmed || refused || smallPages || failure !== undefined) return;
    for (const batch of plan.take(final)) {
      rep.getCalls++;
      track(
        io.getByName(batch).then(
          (records) => {
            const got = new Set(records.map((r) => r.name));
            rep.candidatesMissing += batch.filter((n) => !got.has(n) && plan.isSpeculative(n)).length;
            read.push(records);
          },
          (e: unknown) => {
            // a policy that lets the level be listed but not read by name (GetParametersByPath
            // and DescribeParameters granted, GetParameters not): read it by path instead
            if (isStrataError(e) && e.code === 'ACCESS_DENIED') refused = true;
            else throw e;
          },
        ),
      );
    }
  };

  const runShard = (shard: Shard, seenTokens: Set<string>): void => {
    listing++;
    track(
      (async () => {
        try {
          if (refused || smallPages || failure !== undefined) return;
          rep.describeCalls++;
          let page: { names: string[]; nextToken?: string };
          try {
            page = await io.describePage(path, recursive, shard.prefixes, shard.token, pageSize);
          } catch (e) {
            if (!confirmed && isStrataError(e) && (e.code === 'ACCESS_DENIED' || e.code === 'VALIDATION')) {
              refused = true;
              return;
            }
            throw e;
          }
          const relative = page.names
            .map((n) => relativeName(path, n, recursive))
            .filter((n): n is string => n !== undefined);
          if (!confirmed && shard.prefixes.length === 0 && page.nextToken && page.names.length < pageSize) {
            // DescribeParameters pages smaller than asked (moto: 10 whatever MaxResults says; AWS at
            // an internal limit): listing 10 names then reading them costs twice the calls of
            // reading them by path. Nothing has been read by name yet: read by path.
            smallPages = true;
            return;
          }
          confirmed = true;
          plan.found(relative.map((r) => `${path}/${r}`));
          const step = nextStep(
            shard,
            {
              names: relative,
              returned: page.names.length,
              ...(page.nextToken ? { nextToken: page.nextToken } : {}),
            },
            { recursive, path, pageSize },
          );
          if (step.kind === 'follow') {
            checkNextToken({ NextToken: step.shard.token }, seenTokens, 'ssm:DescribeParameters', path);
            runShard(step.shard, seenTokens);
          } else if (step.kind === 'split') {
            for (const e of step.exact) plan.maybe(`${path}/${e}`);
            for (const s of step.shards) runShard(s, new Set());
          }
        } finally {
          listing--;
          flush(listing === 0);
        }
      })(),
    );
  };

  for (const s of initialShards()) runShard(s, new Set());
  for (let i = 0; i < tasks.length; i++) await tasks[i];
  if (failure !== undefined) throw failure;
  if (refused || smallPages) {
    io.describeUnavailable = true;
    return byPathFrom(first.nextToken);
  }
  return mergeRecords(...read);
}

// ----- the calls, over the AWS backend's SSM client, rate limiter, retries and timeouts -----

/** The rate-limit bucket of DescribeParameters (its own AWS quota). */
const DESCRIBE_BUCKET = 'ssm-describe';

/** DiscoveryIo over an AwsBackend: every call through its caller (rate limit, timeouts, retries, stats). */
export function awsDiscoveryIo(b: AwsBackend): DiscoveryIo {
  return {
    async byPathPage(path, recursive, token) {
      const region = regionOf(path, b.region);
      const res = await b.run('ssm', region, 'GetParametersByPath', path, async (abortSignal) => {
        const out = await b.ssmClient(region).send(
          new GetParametersByPathCommand({
            Path: path,
            Recursive: recursive,
            WithDecryption: true,
            MaxResults: GET_BATCH,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal },
        );
        checkParameters(out, 'ssm:GetParametersByPath', path);
        return out;
      });
      const next = checkNextToken(res, new Set(token ? [token] : []), 'ssm:GetParametersByPath', path);
      return { records: (res.Parameters ?? []).map(toRecord), ...(next ? { nextToken: next } : {}) };
    },

    async describePage(path, recursive, prefixes, token, maxResults) {
      const region = regionOf(path, b.region);
      const source =
        prefixes.length === 0
          ? path
          : `${path} (${prefixes.length === 1 ? `${prefixes[0]}…` : `${prefixes.length} prefixes`})`;
      const res = await b.run(
        'ssm',
        region,
        'DescribeParameters',
        source,
        async (abortSignal) => {
          const out = await b.ssmClient(region).send(
            new DescribeParametersCommand({
              ParameterFilters: [
                { Key: 'Path', Option: recursive ? 'Recursive' : 'OneLevel', Values: [path] },
                ...(prefixes.length > 0
                  ? [{ Key: 'Name', Option: 'BeginsWith', Values: prefixes.map((p) => `${path}/${p}`) }]
                  : []),
              ],
              MaxResults: maxResults,
              ...(token ? { NextToken: token } : {}),
            }),
            { abortSignal },
          );
          arrayField(out, 'Parameters', 'ssm:DescribeParameters', path).forEach((p, i) => {
            stringField(p, 'Name', `Parameters[${i}]`, 'ssm:DescribeParameters', path);
          });
          return out;
        },
        { bucket: b.describeBucket ?? DESCRIBE_BUCKET },
      );
      const next = checkNextToken(res, new Set(token ? [token] : []), 'ssm:DescribeParameters', path);
      return { names: (res.Parameters ?? []).map((p) => p.Name!), ...(next ? { nextToken: next } : {}) };
    },

    async getByName(names) {
      const outs = await b.ssm.getParameters(names.map((name) => ({ name })));
      const records: ParameterRecord[] = [];
      for (const o of outs) {
        if (o.ok) records.push(o.value);
        else if (o.error.code !== 'NOT_FOUND') throw o.error;
      }
      return records;
    },
  };
}
