/**
 * @strata/core benchmark (issue 3). Starts its own moto, puts the fault proxy in front of it,
 * and measures Strata, Powertools Parameters and a hand-written floor on the same work in the
 * same run. Prints the figures and writes the `## Core (issue 3)` section of bench/RESULTS.md.
 * No timing assertions: nothing here fails because a number is bad.
 *
 *   npx tsx --conditions=strata-source bench/core.ts      (from the repository root)
 *
 * Environment: BENCH_REPS (scenario 1, default 5), BENCH_REPS_QUOTA (scenario 2, default 3),
 * BENCH_FLEET (scenario 3 clients, default 100), BENCH_FLEET_VARIANTS=1 (two more fleet rows when the
 * default one fails; ~4 more minutes), BENCH_SCENARIOS (e.g. "1,2", default all),
 * BENCH_NO_WRITE=1 (print only).
 */

import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type LoadHierarchyOptions, Resolver, type StatsSnapshot } from '@strata/core';
// internals measured by the bench, not part of @strata/core's API
import { RateLimiter } from '../packages/core/src/rate-limit.js';
import { DEFAULT_RETRY } from '../packages/core/src/retry.js';
import { type FaultProxy, startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, startEnv, stopEnv } from '../test/env/index.js';
import { MOTO_VERSION, motoVenv } from '../test/env/moto.js';
import {
  batchGetSecretsAllAtOnce,
  getParametersAllAtOnce,
  getParametersAllSettled,
  type RefFetchers,
  resolveRefsByHand,
} from './lib/by-hand.js';
import { machine, median, ms, opsText, ratio, table, total, writeSection } from './lib/report.js';
import {
  BULK_LEVEL,
  bulkParams,
  CREDENTIALS,
  LEAK_MARKER,
  LEVELS,
  PROD_PATH,
  prodParams,
  REGION,
  references,
  refParams,
  secrets,
  seedParams,
  seedSecrets,
  treeParams,
} from './lib/workload.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HERE = dirname(fileURLToPath(import.meta.url));
const REPS = Number(process.env.BENCH_REPS ?? 5);
const REPS_QUOTA = Number(process.env.BENCH_REPS_QUOTA ?? 3);
const FLEET = Number(process.env.BENCH_FLEET ?? 100);
const SCENARIOS = new Set((process.env.BENCH_SCENARIOS ?? '1,2,3').split(',').map((s) => s.trim()));
const LATENCY_MS = 20;
/** A run that has not settled by then is recorded as BENCH_TIMEOUT (a hung load must not hang the benchmark). */
const RUN_TIMEOUT_MS = Number(process.env.BENCH_RUN_TIMEOUT_MS ?? 60_000);
const FLEET_TIMEOUT_MS = Number(process.env.BENCH_FLEET_TIMEOUT_MS ?? 240_000);

/** The most a call can sleep in backoff before it gives up, with the core's default retry policy. */
const MAX_BACKOFF_MS = Array.from({ length: DEFAULT_RETRY.retries }, (_, n) =>
  Math.min(DEFAULT_RETRY.capMs, DEFAULT_RETRY.baseMs * 2 ** n),
).reduce((a, b) => a + b, 0);
/** Whether this core's limiter adapts to throttling (AIMD), rather than a fixed token bucket. */
const ADAPTIVE_LIMITER = typeof (RateLimiter.prototype as { onThrottle?: unknown }).onThrottle === 'function';
const DEFAULT_POLICY =
  `default (${DEFAULT_RETRY.retries} retries, full jitter, base ${DEFAULT_RETRY.baseMs} ms, cap ${DEFAULT_RETRY.capMs / 1000} s; ` +
  `${ADAPTIVE_LIMITER ? 'adaptive' : 'fixed'} SSM limiter 40/s)`;

class BenchTimeout extends Error {
  readonly code = 'BENCH_TIMEOUT';
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new BenchTimeout(`${what} had not settled after ${ms} ms`)), ms);
  });
  return Promise.race([p, deadline]).finally(() => clearTimeout(timer));
}
const QUOTA_RPS = 40;

const LOAD_AT_START = loadavg()[0]!;

/** The commit measured, and whether packages/core had uncommitted changes when the run started. */
function coreRevision(): string {
  try {
    const git = (args: string[]) =>
      execFileSync('git', args, { cwd: HERE, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
    const sha = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', '../packages/core']) !== '';
    return `commit ${sha}${dirty ? ' with uncommitted changes in packages/core' : ''}`;
  } catch {
    return 'commit unknown';
  }
}
const CORE_REVISION = coreRevision();
const log = (msg: string) => process.stderr.write(`[bench:core] ${msg}\n`);
const now = () => performance.now();

// ---------------------------------------------------------------------------------------------
// the work

const TREE = treeParams();
const PROD = prodParams();
const REFS = references();
const SECRETS = secrets();
const REF_MAP = Object.fromEntries(REFS.map((r) => [r.key, r.ref]));
const TREE_NAMES = TREE.map((p) => p.name);
const TREE_KEYS = TREE.map((p) => p.key!);
const BULK = bulkParams();

/** What a correct load returns: parameter name -> value, and `ref:rNN` -> value. */
function expected(withRefs: boolean): Map<string, string> {
  const m = new Map(TREE.map((p) => [p.name, p.value]));
  if (withRefs) for (const r of REFS) m.set(`ref:${r.key}`, r.expected);
  return m;
}

/**
 * Lower bound on AWS calls, from the API limits alone:
 * - the 200 tree keys: ceil(200/10) = 20 GetParameters (keys known), or 2 + 6 + 12 = 20
 *   GetParametersByPath pages of 10 (/acme 20 direct children, /acme/shop 60, /acme/shop/dev 120);
 * - the 50 references: 1 BatchGetSecretValue (20 secrets), plus GetParameters per depth:
 *   ceil(15/10) = 2 at depth 1 (10 outer + 5 tokens) and ceil(10/10) = 1 at depth 2 (inner).
 */
const LOWER_BOUND = { tree: 20, refs: 4 };
const lowerBound = (withRefs: boolean) => LOWER_BOUND.tree + (withRefs ? LOWER_BOUND.refs : 0);

// ---------------------------------------------------------------------------------------------
// contenders

interface RunOut {
  /** Canonical result: full parameter name (or `ref:rNN`) -> value. */
  values: Map<string, string>;
  /** Values handed back by the API used, before any merge. */
  raw: number;
  /** Strata: names AWS returned that the no-leak rule dropped. */
  ignored?: number;
  stats?: StatsSnapshot;
}

interface Contender {
  id: string;
  label: string;
  strata: boolean;
  run(endpoint: string, withRefs: boolean): Promise<RunOut>;
}

/** Diagnostic knob: Strata's `aws.concurrency` (calls in flight per resolver); unset = the core's default. */
const STRATA_CONCURRENCY = process.env.BENCH_STRATA_CONCURRENCY
  ? Number(process.env.BENCH_STRATA_CONCURRENCY)
  : undefined;
const strataOptions = (endpoint: string) => ({
  aws: {
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    ...(STRATA_CONCURRENCY ? { concurrency: STRATA_CONCURRENCY } : {}),
  },
});

function strataContender(
  id: string,
  label: string,
  mode: 'by-path' | 'describe' | 'keys' | 'names' | 'parameters',
): Contender {
  return {
    id,
    label,
    strata: true,
    async run(endpoint, withRefs) {
      const r = new Resolver({
        ...strataOptions(endpoint),
        discovery: mode === 'describe' ? 'describe' : 'by-path',
      });
      try {
        const values = new Map<string, string>();
        let raw = 0;
        let ignored = 0;
        if (mode === 'names') {
          // keys known as full parameter names (e.g. the origins of a previous load)
          const map: Record<string, string> = Object.fromEntries(
            TREE_NAMES.map((n) => [`tree:${n}`, `<<resolve:ssm:${n}>>`]),
          );
          if (withRefs) Object.assign(map, REF_MAP);
          const out = await r.resolveMap(map);
          for (const [k, v] of Object.entries(out)) {
            values.set(k.startsWith('tree:') ? k.slice(5) : `ref:${k}`, v.value);
            raw++;
          }
        } else {
          const [h, refs] = await Promise.all([
            r.loadHierarchy(
              { levels: [...LEVELS] },
              mode === 'keys'
                ? { keys: [...TREE_KEYS] }
                : mode === 'parameters'
                  ? // newer cores: full names from a previous load (`previous.parameterNames()`)
                    ({ parameters: [...TREE_NAMES] } as LoadHierarchyOptions)
                  : {},
            ),
            withRefs ? r.resolveMap(REF_MAP) : undefined,
          ]);
          for (const e of h.entries.values()) values.set(e.origin.parameter, e.value);
          for (const [k, v] of Object.entries(refs ?? {})) values.set(`ref:${k}`, v.value);
          raw = values.size;
          ignored = h.ignored.length;
          if (mode === 'parameters' && !('parameterNames' in h)) {
            throw new Error(
              'this @strata/core has no loadHierarchy({ parameters }) (it fell back to by-path)',
            );
          }
        }
        return { values, raw, ignored, stats: r.statsSnapshot() };
      } finally {
        r.close();
      }
    },
  };
}

function powertools(endpoint: string) {
  const clientConfig = { endpoint, region: REGION, credentials: CREDENTIALS };
  const ssm = new SSMProvider({ clientConfig });
  const sm = new SecretsProvider({ clientConfig });
  const fetchers: RefFetchers = {
    async ssm(names) {
      const got = await ssm.getParametersByName<string>(Object.fromEntries(names.map((n) => [n, {}])), {
        decrypt: true,
      });
      return new Map(Object.entries(got).filter(([k]) => k !== '_errors') as Array<[string, string]>);
    },
    async secrets(ids) {
      const got = await Promise.all(ids.map((id) => sm.get(id)));
      return new Map(ids.map((id, i) => [id, String(got[i])]));
    },
  };
  const close = () => {
    ssm.client.destroy();
    sm.client.destroy();
  };
  return { ssm, fetchers, close };
}

const powertoolsByName: Contender = {
  id: 'pt-names',
  label: 'Powertools `getParametersByName` (200 names, decrypt)',
  strata: false,
  async run(endpoint, withRefs) {
    const pt = powertools(endpoint);
    try {
      const [got, refs] = await Promise.all([
        pt.ssm.getParametersByName<string>(Object.fromEntries(TREE_NAMES.map((n) => [n, {}])), {
          decrypt: true,
        }),
        withRefs ? resolveRefsByHand(REF_MAP, pt.fetchers) : undefined,
      ]);
      const values = new Map<string, string>();
      for (const [k, v] of Object.entries(got)) if (k !== '_errors') values.set(k, v as string);
      for (const [k, v] of refs ?? []) values.set(`ref:${k}`, v);
      return { values, raw: values.size };
    } finally {
      pt.close();
    }
  },
};

const powertoolsByPath: Contender = {
  id: 'pt-path',
  label: 'Powertools `getMultiple` by path ×3 levels (recursive, decrypt)',
  strata: false,
  async run(endpoint, withRefs) {
    const pt = powertools(endpoint);
    try {
      const [levels, refs] = await Promise.all([
        Promise.all(LEVELS.map((path) => pt.ssm.getMultiple(path, { recursive: true, decrypt: true }))),
        withRefs ? resolveRefsByHand(REF_MAP, pt.fetchers) : undefined,
      ]);
      const values = new Map<string, string>();
      let raw = 0;
      levels.forEach((got, i) => {
        for (const [rel, v] of Object.entries(got ?? {})) {
          values.set(`${LEVELS[i]}/${rel}`, v as string);
          raw++;
        }
      });
      for (const [k, v] of refs ?? []) values.set(`ref:${k}`, v);
      return { values, raw: raw + (refs?.size ?? 0) };
    } finally {
      pt.close();
    }
  },
};

const floor: Contender = {
  id: 'floor',
  label: 'Floor: raw `SSMClient`, all 20 GetParameters(10) at once',
  strata: false,
  async run(endpoint, withRefs) {
    const cfg = { endpoint, region: REGION, credentials: CREDENTIALS };
    const ssm = new SSMClient(cfg);
    const sm = new SecretsManagerClient(cfg);
    try {
      const [got, refs] = await Promise.all([
        getParametersAllAtOnce(ssm, TREE_NAMES),
        withRefs
          ? resolveRefsByHand(REF_MAP, {
              ssm: (names) => getParametersAllAtOnce(ssm, names),
              secrets: (ids) => batchGetSecretsAllAtOnce(sm, ids),
            })
          : undefined,
      ]);
      const values = new Map(got);
      for (const [k, v] of refs ?? []) values.set(`ref:${k}`, v);
      return { values, raw: values.size };
    } finally {
      ssm.destroy();
      sm.destroy();
    }
  },
};

const CONTENDERS: Contender[] = [
  strataContender('strata-path', 'a. Strata, discovery by path (`by-path`)', 'by-path'),
  strataContender('strata-describe', 'b. Strata, discovery `describe`', 'describe'),
  strataContender(
    'strata-keys',
    'c. Strata, known keys (`loadHierarchy(h, { keys })`, 200 relative keys)',
    'keys',
  ),
  strataContender(
    'strata-parameters',
    'c3. Strata, known parameter names (`loadHierarchy(h, { parameters })`, the 200 full names)',
    'parameters',
  ),
  strataContender(
    'strata-names',
    'c2. Strata, known full names (`resolveMap` of 200 `ssm:` refs; diagnostic)',
    'names',
  ),
  { ...powertoolsByName, label: `d. ${powertoolsByName.label}` },
  { ...powertoolsByPath, label: `e. ${powertoolsByPath.label}` },
  { ...floor, label: `f. ${floor.label}` },
];

// ---------------------------------------------------------------------------------------------
// scenario 1

interface Sample {
  wall: number;
  calls: Record<string, number>;
  strataCalls?: Record<string, number>;
  values: number;
  raw: number;
  correct: number;
  leaked: number;
  ignored: number;
  error?: string;
}

function score(out: RunOut, want: Map<string, string>) {
  let correct = 0;
  for (const [k, v] of want) if (out.values.get(k) === v) correct++;
  const leakedNames = new Set<string>();
  for (const [k, v] of out.values) {
    if (k.startsWith(`${PROD_PATH}/`) || v.includes(LEAK_MARKER)) leakedNames.add(k);
  }
  return { correct, leaked: leakedNames.size };
}

async function measure(
  proxy: FaultProxy,
  c: Contender,
  withRefs: boolean,
  config: Parameters<FaultProxy['configure']>[0],
  want: Map<string, string>,
): Promise<Sample> {
  proxy.configure(config);
  proxy.resetCounts();
  const t0 = now();
  try {
    const out = await withTimeout(c.run(proxy.endpoint, withRefs), RUN_TIMEOUT_MS, c.id);
    const wall = now() - t0;
    const s = score(out, want);
    return {
      wall,
      calls: proxy.counts().calls,
      ...(out.stats ? { strataCalls: out.stats.calls } : {}),
      values: out.values.size,
      raw: out.raw,
      correct: s.correct,
      leaked: s.leaked,
      ignored: out.ignored ?? 0,
    };
  } catch (err) {
    await assertMotoAlive(undefined, c.id); // a dead moto aborts the benchmark instead of measuring errors
    return {
      wall: now() - t0,
      calls: proxy.counts().calls,
      values: 0,
      raw: 0,
      correct: 0,
      leaked: 0,
      ignored: 0,
      error: `${(err as { code?: string }).code ?? (err as Error).name}: ${(err as Error).message.slice(0, 160)}`,
    };
  }
}

interface Summary {
  c: Contender;
  withRefs: boolean;
  samples: Sample[];
  wall: number;
  min: number;
  max: number;
  calls: number;
  callsRange: string;
  ops: string;
}

/** The sample whose measure is closest to `target` (the median), to show its per-operation counts. */
function closestTo<T>(samples: T[], target: number, measure: (t: T) => number): T {
  return samples.reduce((best, x) =>
    Math.abs(measure(x) - target) < Math.abs(measure(best) - target) ? x : best,
  );
}

function summarize(c: Contender, withRefs: boolean, samples: Sample[]): Summary {
  // failed or timed-out runs are reported in the errors column, not mixed into the times
  const ok = samples.filter((s) => !s.error);
  const walls = ok.length > 0 ? ok.map((s) => s.wall) : [Number.NaN];
  const totals = samples.map((s) => total(s.calls));
  const lo = Math.min(...totals);
  const hi = Math.max(...totals);
  return {
    c,
    withRefs,
    samples,
    wall: median(walls),
    min: Math.min(...walls),
    max: Math.max(...walls),
    calls: median(totals),
    callsRange: lo === hi ? String(lo) : `${median(totals)} (${lo}–${hi})`,
    ops: opsText(closestTo(samples, median(totals), (x) => total(x.calls)).calls),
  };
}

async function scenario1(proxy: FaultProxy) {
  log(`scenario 1: ${CONTENDERS.length} contenders × 2 variants × ${REPS} repetitions (+1 warm-up)`);
  const config = { latencyMs: LATENCY_MS };
  for (const c of CONTENDERS) await measure(proxy, c, true, config, expected(true)); // warm-up, discarded
  const samples = new Map<string, Sample[]>();
  for (let rep = 0; rep < REPS; rep++) {
    for (const withRefs of [false, true]) {
      // interleaved, so drift in moto or the machine spreads over every contender
      for (const c of CONTENDERS) {
        const s = await measure(proxy, c, withRefs, config, expected(withRefs));
        const key = `${c.id}|${withRefs}`;
        samples.set(key, [...(samples.get(key) ?? []), s]);
        if (s.error) log(`  ${c.id}${withRefs ? '+refs' : ''}: ERROR ${s.error}`);
        if (s.strataCalls && total(s.strataCalls) !== total(s.calls)) {
          log(`  ${c.id}: Strata counted ${total(s.strataCalls)} calls, the proxy ${total(s.calls)}`);
        }
      }
    }
    log(`  repetition ${rep + 1}/${REPS} done`);
  }
  const out: Summary[] = [];
  for (const withRefs of [false, true]) {
    for (const c of CONTENDERS) out.push(summarize(c, withRefs, samples.get(`${c.id}|${withRefs}`)!));
  }
  return out;
}

function scenario1Tables(sums: Summary[]) {
  const get = (id: string, withRefs: boolean) => sums.find((s) => s.c.id === id && s.withRefs === withRefs)!;
  const rows = (withRefs: boolean) =>
    sums
      .filter((s) => s.withRefs === withRefs)
      .map((s) => {
        const last = s.samples[s.samples.length - 1]!;
        const errors = s.samples.filter((x) => x.error).length;
        return [
          s.c.label,
          Number.isFinite(s.wall) ? `${ms(s.wall)} (${Math.round(s.min)}–${Math.round(s.max)})` : '–',
          s.callsRange,
          s.ops,
          ratio(s.calls / lowerBound(withRefs)),
          last.raw,
          `${last.correct}/${expected(withRefs).size}`,
          `${last.leaked}${s.c.strata ? ` (ignored ${last.ignored})` : ''}`,
          errors ? `${errors}/${s.samples.length}: ${s.samples.find((x) => x.error)!.error}` : '0',
        ];
      });
  const header = [
    'contender',
    'wall, median (min–max ms)',
    'AWS calls',
    'calls per operation',
    'calls / lower bound',
    'values returned',
    'correct',
    'leaked prod keys',
    'errors',
  ];
  /** Rows of [ratio, value, target, verdict] for one variant. */
  const ratios = (withRefs: boolean): string[][] => {
    const path = get('strata-path', withRefs);
    const desc = get('strata-describe', withRefs);
    const keys = get('strata-keys', withRefs);
    const names = get('strata-names', withRefs);
    const params = get('strata-parameters', withRefs);
    const ptPath = get('pt-path', withRefs);
    const ptNames = get('pt-names', withRefs);
    const fl = get('floor', withRefs);
    const lb = lowerBound(withRefs);
    const leaks = sums
      .filter((s) => s.c.strata && s.withRefs === withRefs)
      .reduce((n, s) => n + Math.max(...s.samples.map((x) => x.leaked)), 0);
    const verdict = (ok: boolean) => (ok ? 'met' : '**missed**');
    const row = (label: string, value: number, target: string, ok?: boolean) => [
      label,
      ratio(value),
      target,
      ok === undefined ? '' : verdict(ok),
    ];
    const lbText = `${lowerBound(false)} / ${lowerBound(true)}`;
    return [
      row(
        'Strata known keys (c) / floor (f), wall',
        keys.wall / fl.wall,
        '≤ 1.25×',
        keys.wall / fl.wall <= 1.25,
      ),
      row(
        'Strata known parameter names (c3) / floor (f), wall',
        params.wall / fl.wall,
        '≤ 1.25×',
        params.wall / fl.wall <= 1.25,
      ),
      row('Strata known full names (c2) / floor (f), wall (diagnostic)', names.wall / fl.wall, '≤ 1.25×'),
      row(
        'Powertools by path (e) / Strata by path (a), wall',
        ptPath.wall / path.wall,
        '≥ 3×',
        ptPath.wall / path.wall >= 3,
      ),
      row(
        'Powertools by path (e) / Strata describe (b), wall',
        ptPath.wall / desc.wall,
        '≥ 3×',
        ptPath.wall / desc.wall >= 3,
      ),
      row('Powertools by name (d) / Strata by path (a), wall', ptNames.wall / path.wall, '–'),
      row(
        `Strata by path (a) calls / lower bound (${lbText})`,
        path.calls / lb,
        '≤ 1.2×',
        path.calls / lb <= 1.2,
      ),
      row(
        `Strata describe (b) calls / lower bound (${lbText})`,
        desc.calls / lb,
        '≤ 1.2×',
        desc.calls / lb <= 1.2,
      ),
      row(
        `Strata known keys (c) calls / lower bound (${lbText})`,
        keys.calls / lb,
        '≤ 1.2×',
        keys.calls / lb <= 1.2,
      ),
      row(
        `Strata known parameter names (c3) calls / lower bound (${lbText})`,
        params.calls / lb,
        '≤ 1.2×',
        params.calls / lb <= 1.2,
      ),
      row(`Strata known full names (c2) calls / lower bound (${lbText})`, names.calls / lb, '≤ 1.2×'),
      ['leaked prod keys, all Strata contenders', String(leaks), '0', verdict(leaks === 0)],
    ];
  };
  return { header, rows, ratios, get };
}

// ---------------------------------------------------------------------------------------------
// scenario 2: 1,000 keys through a 40 requests/s quota

interface QuotaSample {
  wall: number;
  calls: number;
  ops: Record<string, number>;
  throttled: number;
  failures: number;
  retries?: number;
  error?: string;
}

const bulkWant = new Map(BULK.map((p) => [p.name, p.value]));

interface QuotaContender {
  id: string;
  label: string;
  run(endpoint: string): Promise<{ values: Map<string, string>; stats?: StatsSnapshot; error?: string }>;
}

function strataBulk(id: string, label: string, mode: 'keys' | 'by-path' | 'describe'): QuotaContender {
  return {
    id,
    label,
    async run(endpoint) {
      const r = new Resolver({
        ...strataOptions(endpoint),
        discovery: mode === 'describe' ? 'describe' : 'by-path',
      });
      try {
        const h = await r.loadHierarchy(
          { levels: [BULK_LEVEL] },
          mode === 'keys' ? { keys: BULK.map((p) => p.key!) } : {},
        );
        const values = new Map([...h.entries.values()].map((e) => [e.origin.parameter, e.value]));
        return { values, stats: r.statsSnapshot() };
      } finally {
        r.close();
      }
    },
  };
}

const QUOTA_CONTENDERS: QuotaContender[] = [
  strataBulk('strata-keys', 'Strata, known keys (default rate limit SSM 40/s)', 'keys'),
  strataBulk('strata-path', 'Strata, discovery by path', 'by-path'),
  // `describe` is left out here: moto pages DescribeParameters at 10, so it only adds 100 sequential pages.
  {
    id: 'pt-names',
    label: 'Powertools `getParametersByName` (1,000 names; SDK default retries)',
    async run(endpoint) {
      const pt = powertools(endpoint);
      try {
        const got = await pt.ssm.getParametersByName<string>(
          Object.fromEntries(BULK.map((p) => [p.name, {}])),
          { decrypt: true },
        );
        return {
          values: new Map(Object.entries(got).filter(([k]) => k !== '_errors') as Array<[string, string]>),
        };
      } finally {
        pt.close();
      }
    },
  },
  {
    id: 'raw-all',
    label: 'Raw `SSMClient`, all 100 GetParameters at once, no limiter (SDK default retries)',
    async run(endpoint) {
      const ssm = new SSMClient({ endpoint, region: REGION, credentials: CREDENTIALS });
      try {
        const out = await getParametersAllSettled(ssm, [...bulkWant.keys()]);
        return {
          values: out.values,
          ...(out.firstError ? { error: `${out.failedCalls} calls failed; ${out.firstError}` } : {}),
        };
      } finally {
        ssm.destroy();
      }
    },
  },
];

async function scenario2(proxy: FaultProxy) {
  log(
    `scenario 2: ${QUOTA_CONTENDERS.length} contenders × ${REPS_QUOTA} repetitions, 1,000 keys, ${QUOTA_RPS} rps quota`,
  );
  const samples = new Map<string, QuotaSample[]>();
  for (let rep = 0; rep < REPS_QUOTA; rep++) {
    for (const c of QUOTA_CONTENDERS) {
      proxy.configure({ latencyMs: LATENCY_MS, rps: QUOTA_RPS }); // a full bucket for everyone
      proxy.resetCounts();
      const t0 = now();
      let s: QuotaSample;
      try {
        const out = await withTimeout(c.run(proxy.endpoint), 2 * RUN_TIMEOUT_MS, c.id);
        let correct = 0;
        for (const [k, v] of bulkWant) if (out.values.get(k) === v) correct++;
        const counts = proxy.counts();
        s = {
          wall: now() - t0,
          calls: counts.total,
          ops: counts.calls,
          throttled: counts.faults.quota ?? 0,
          failures: bulkWant.size - correct,
          ...(out.stats ? { retries: out.stats.retries } : {}),
          ...(out.error ? { error: out.error } : {}),
        };
      } catch (err) {
        await assertMotoAlive(undefined, c.id);
        const counts = proxy.counts();
        s = {
          wall: now() - t0,
          calls: counts.total,
          ops: counts.calls,
          throttled: counts.faults.quota ?? 0,
          failures: bulkWant.size,
          error: `${(err as { code?: string }).code ?? (err as Error).name}: ${(err as Error).message.slice(0, 160)}`,
        };
      }
      samples.set(c.id, [...(samples.get(c.id) ?? []), s]);
      log(
        `  ${c.id}: ${ms(s.wall)}, ${s.calls} calls, ${s.throttled} throttled, ${s.failures} failures${s.error ? ` (${s.error})` : ''}`,
      );
    }
  }
  return QUOTA_CONTENDERS.map((c) => ({ c, samples: samples.get(c.id)! }));
}

// ---------------------------------------------------------------------------------------------
// scenario 3: a fleet of clients starting at once

interface FleetResult {
  label: string;
  /** For the per-client share row: spread (ms) of the second token grant across the clients' limiters. */
  limiterSpreadMs?: number;
  clients: number;
  ok: number;
  failed: number;
  failureCodes: Record<string, number>;
  allReady: number;
  p50Ready: number;
  lastSettled: number;
  calls: number;
  ops: Record<string, number>;
  throttled: number;
  strataRetries: number;
  strataThrottles: number;
  leaked: number;
}

async function fleet(
  proxy: FaultProxy,
  label: string,
  opts: { retry?: { retries?: number; baseMs?: number; capMs?: number }; ssmRate?: number },
): Promise<FleetResult> {
  log(`scenario 3: ${FLEET} clients at once, ${QUOTA_RPS} rps quota (${label})`);
  proxy.configure({ latencyMs: LATENCY_MS, rps: QUOTA_RPS });
  proxy.resetCounts();
  const want = expected(false);
  const resolvers = Array.from(
    { length: FLEET },
    () =>
      new Resolver({
        aws: {
          ...strataOptions(proxy.endpoint).aws,
          ...(opts.retry ? { retry: opts.retry } : {}),
          ...(opts.ssmRate ? { rateLimits: { ssm: opts.ssmRate } } : {}),
        },
      }),
  );
  const t0 = now();
  const results = await Promise.all(
    resolvers.map(async (r) => {
      try {
        const h = await withTimeout(
          r.loadHierarchy({ levels: [...LEVELS] }),
          FLEET_TIMEOUT_MS,
          'fleet client',
        );
        const values = new Map([...h.entries.values()].map((e) => [e.origin.parameter, e.value]));
        const s = score({ values, raw: values.size }, want);
        return {
          ok: s.correct === want.size,
          t: now() - t0,
          leaked: s.leaked,
          code: s.correct === want.size ? '' : 'INCOMPLETE',
        };
      } catch (err) {
        const e = err as { code?: string; issues?: Array<{ code: string }> };
        const code = e.issues?.[0]?.code ?? e.code ?? 'ERROR';
        return { ok: false, t: now() - t0, leaked: 0, code };
      }
    }),
  );
  const counts = proxy.counts();
  const stats = resolvers.map((r) => r.statsSnapshot());
  for (const r of resolvers) r.close();
  const okTimes = results.filter((x) => x.ok).map((x) => x.t);
  const failureCodes: Record<string, number> = {};
  for (const x of results) if (!x.ok) failureCodes[x.code] = (failureCodes[x.code] ?? 0) + 1;
  const res: FleetResult = {
    label,
    clients: FLEET,
    ok: okTimes.length,
    failed: FLEET - okTimes.length,
    failureCodes,
    allReady: okTimes.length === FLEET ? Math.max(...okTimes) : Number.NaN,
    p50Ready: median(okTimes),
    lastSettled: Math.max(...results.map((x) => x.t)),
    calls: counts.total,
    ops: counts.calls,
    throttled: counts.faults.quota ?? 0,
    strataRetries: stats.reduce((n, s) => n + s.retries, 0),
    strataThrottles: stats.reduce((n, s) => n + s.throttles, 0),
    leaked: results.reduce((n, x) => n + x.leaked, 0),
  };
  log(
    `  ${res.ok}/${FLEET} ready, all ready ${ms(res.allReady)}, last settled ${ms(res.lastSettled)}, ${res.calls} calls, ${res.throttled} throttled`,
  );
  return res;
}

/**
 * Creates `n` of Strata's RateLimiters at once (as a fleet starting together does) and returns how
 * far apart, in ms, they grant their second token: near 0 means they fire in lock-step.
 */
async function limiterSpread(n: number, rps: number): Promise<number> {
  const t0 = now();
  const limiters = Array.from({ length: n }, () => new RateLimiter(rps));
  const second = await Promise.all(
    limiters.map(async (l) => {
      await l.acquire();
      await l.acquire();
      return now() - t0;
    }),
  );
  return Math.max(...second) - Math.min(...second);
}

// ---------------------------------------------------------------------------------------------

/**
 * Fails the run (and so skips writing RESULTS.md) when moto stopped answering: a run against a
 * dead moto measures the proxy's error path, not the contenders.
 */
async function assertMotoAlive(env: EnvState | undefined = ENV, after = 'the run'): Promise<void> {
  if (!env) return;
  let ok = false;
  try {
    ok = (await fetch(`${env.aws!.endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(10_000) })).ok;
  } catch {
    /* not answering */
  }
  if (ok) return;
  const pid = env.pids.moto;
  let alive = false;
  try {
    if (pid !== undefined) process.kill(pid, 0);
    alive = pid !== undefined;
  } catch {
    /* gone */
  }
  const logFile = join(env.workDir, 'moto.log');
  const tail = existsSync(logFile)
    ? readFileSync(logFile, 'utf8').split('\n').slice(-15).join('\n')
    : '(no log)';
  throw new Error(
    `moto (pid ${pid}) stopped answering during ${after} (${alive ? 'the process is still there' : 'the process is gone: killed from outside?'}); ` +
      `the figures are void and RESULTS.md was not written. Last lines of moto.log:\n${tail}`,
  );
}

/** The environment of this run, for the moto health check after a failed run. */
let ENV: EnvState | undefined;

async function main() {
  let env: EnvState | undefined;
  let proxy: FaultProxy | undefined;
  const started = now();
  try {
    log('starting moto');
    env = await startEnv({ components: ['aws'], log: (m) => log(`  ${m}`) });
    ENV = env;
    const moto = env.aws!.endpoint;
    const tSeed = now();
    await Promise.all([seedParams(moto, [...TREE, ...PROD, ...refParams()]), seedSecrets(moto, SECRETS)]);
    log(
      `seeded ${TREE.length + PROD.length + refParams().length} parameters and ${SECRETS.length} secrets in ${ms(now() - tSeed)}`,
    );
    proxy = await startFaultProxy(moto);

    const s1 = SCENARIOS.has('1') ? await scenario1(proxy) : undefined;
    await assertMotoAlive(env, 'scenario 1');
    let s2: Awaited<ReturnType<typeof scenario2>> | undefined;
    if (SCENARIOS.has('2')) {
      const t = now();
      await seedParams(moto, BULK);
      log(`seeded ${BULK.length} parameters in ${ms(now() - t)}`);
      s2 = await scenario2(proxy);
      await assertMotoAlive(env, 'scenario 2');
    }
    const s3: FleetResult[] = [];
    if (SCENARIOS.has('3')) {
      s3.push(await fleet(proxy, DEFAULT_POLICY, {}));
      await assertMotoAlive(env, 'scenario 3');
      if (s3[0]!.failed > 0 && process.env.BENCH_FLEET_VARIANTS === '1') {
        // what a user can configure today: a bigger retry budget, or a per-client share of the quota
        s3.push(
          await fleet(proxy, 'patient retry (`retry: { retries: 12, capMs: 10000 }`)', {
            retry: { retries: 12, capMs: 10_000 },
          }),
        );
        const share = Math.round(((QUOTA_RPS * 0.9) / FLEET) * 1000) / 1000;
        const spread = await limiterSpread(FLEET, share);
        s3.push(
          await fleet(
            proxy,
            `per-client share of the quota (\`rateLimits: { ssm: ${share} }\` = 90% of ${QUOTA_RPS}/${FLEET}), default retry`,
            {
              ssmRate: share,
            },
          ),
        );
        s3[2]!.limiterSpreadMs = spread;
        await assertMotoAlive(env, 'scenario 3 (variants)');
      }
    }
    const body = render(s1, s2, s3, now() - started);
    process.stdout.write(`\n${body}\n`);
    if (process.env.BENCH_NO_WRITE !== '1') log(`wrote ${writeSection(HERE, 'Core (issue 3)', body)}`);
  } finally {
    await proxy?.stop();
    if (env) {
      log('stopping moto');
      await stopEnv(env);
    }
  }
}

function render(
  s1: Summary[] | undefined,
  s2: Awaited<ReturnType<typeof scenario2>> | undefined,
  s3: FleetResult[],
  elapsed: number,
): string {
  const m = machine(`${motoVenv()}/bin/python`, MOTO_VERSION);
  const parts: string[] = [];
  parts.push(
    `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB, ` +
      `Node ${m.node}, moto ${m.moto} (one server process), \`@aws-lambda-powertools/parameters\` 2.35.0; Strata at ${CORE_REVISION}. ` +
      `The fault proxy runs in the benchmark's own process and adds ${LATENCY_MS} ms to every call. ` +
      `1-minute load average ${LOAD_AT_START.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end ` +
      '(moto and the benchmark alone account for about 1–2; more means other work shared the machine and inflated the wall times). ' +
      `Every repetition uses fresh resolvers, providers and SDK clients (no warm cache). Whole run: ${ms(elapsed)}. ` +
      'Produced by `bench/core.ts`; no timing assertions.',
  );
  if (s1) {
    const t = scenario1Tables(s1);
    parts.push(
      `### Scenario 1: the 200-key tree (+ 50 references), ${LATENCY_MS} ms per call\n\n` +
        `200 keys: \`/acme\` 20 (flat), \`/acme/shop\` 60 (flat), \`/acme/shop/dev\` 120 (nested one level, \`db/k00\`), ` +
        `40 of them SecureStrings; 120 keys under \`${PROD_PATH}\` that must not appear. ` +
        '50 references: 35 Secrets Manager JSON keys over 20 secrets, 10 nested two deep ' +
        '(`ssm` → `ssm` → `secretsmanager`), 5 `ssm-secure`. ' +
        `Median of ${REPS} repetitions (min–max), interleaved, after one discarded warm-up; calls counted by the proxy. ` +
        `**Lower bound** on calls, from the API limits: the tree needs ceil(200/10) = 20 GetParameters, or 2 + 6 + 12 = 20 ` +
        'GetParametersByPath pages of 10; the references need 1 BatchGetSecretValue (20 secrets) + 2 GetParameters at depth 1 ' +
        `(15 names) + 1 at depth 2 (10 names) = 4. So ${lowerBound(false)} for the tree, ${lowerBound(true)} with the references. ` +
        'Powertools has no reference grammar: its reference rows use a small hand-written loop over ' +
        '`getParametersByName` and `SecretsProvider.get` (concurrently per depth, JSON parsed by hand); ' +
        'the floor uses the same loop over raw `GetParameters`/`BatchGetSecretValue` sent all at once. ' +
        `Two moto ${MOTO_VERSION} behaviours differ from AWS and show in the counts: GetParametersByPath returns a NextToken whenever ` +
        'a page is full, so a level whose size is a multiple of 10 costs one trailing empty page (23 pages for the tree, not 20); and ' +
        'DescribeParameters ignores `MaxResults` and always pages at 10 (`moto/ssm/responses.py`: `page_size = 10`), so `describe` ' +
        'discovery pays as many sequential pages as `by-path` plus the GetParameters, and its 50-a-page advantage cannot show here.',
    );
    parts.push(`#### 200 keys\n\n${table(t.header, t.rows(false))}`);
    parts.push(`#### 200 keys + 50 references\n\n${table(t.header, t.rows(true))}`);
    parts.push(
      `#### Targets\n\n${table(
        ['ratio', 'target', '200 keys', '', '+ 50 references', ''],
        t.ratios(false).map((row, i) => {
          const withRefs = t.ratios(true)[i]!;
          return [row[0]!, row[2]!, row[1]!, row[3]!, withRefs[1]!, withRefs[3]!];
        }),
      )}`,
    );
  }
  if (s2) {
    parts.push(
      `### Scenario 2: 1,000 keys through a ${QUOTA_RPS} requests/s quota\n\n` +
        `One level \`${BULK_LEVEL}\` with 1,000 String keys; the proxy allows ${QUOTA_RPS} requests/s (token bucket, burst ${QUOTA_RPS}; ` +
        `over it: ThrottlingException) and adds ${LATENCY_MS} ms per call. Lower bound: 100 calls; at ${QUOTA_RPS}/s with a burst of ${QUOTA_RPS} ` +
        `the last of them cannot start before ~1.5 s. Median of ${REPS_QUOTA} repetitions; the proxy's bucket is refilled before each run. ` +
        '"throttled" = requests the proxy rejected (they are included in "calls"); "failures" = keys not loaded ' +
        '(the raw contender waits for every call to settle and counts the keys of the calls that ran out of SDK attempts). ' +
        'Per-repetition values are joined with " / ".\n\n' +
        table(
          [
            'contender',
            'wall, median (min–max ms)',
            'calls (incl. throttled)',
            'calls per operation',
            'throttled',
            'Strata retries',
            'failures',
          ],
          s2.map(({ c, samples }) => {
            const walls = samples.map((x) => x.wall);
            const err = samples.find((x) => x.error)?.error;
            return [
              c.label,
              `${ms(median(walls))} (${Math.round(Math.min(...walls))}–${Math.round(Math.max(...walls))})`,
              median(samples.map((x) => x.calls)),
              opsText(closestTo(samples, median(samples.map((x) => x.calls)), (x) => x.calls).ops),
              samples.map((x) => x.throttled).join(' / '),
              samples[0]!.retries === undefined ? '–' : samples.map((x) => x.retries).join(' / '),
              `${samples.map((x) => x.failures).join(' / ')}${err ? ` (${err})` : ''}`,
            ];
          }),
        ),
    );
  }
  if (s3.length > 0) {
    parts.push(
      `### Scenario 3: ${FLEET} clients at once against the ${QUOTA_RPS} requests/s quota\n\n` +
        `${FLEET} separate \`Resolver\`s (own SDK clients, own rate limiter) start at the same moment and each loads the 200-key tree by path ` +
        `(20 GetParametersByPath pages per client). Lower bound: ${FLEET * 20} calls, so ≥ ${((FLEET * 20 - QUOTA_RPS) / QUOTA_RPS).toFixed(0)} s at ${QUOTA_RPS}/s. ` +
        "Each client's limiter (SSM 40/s" +
        (ADAPTIVE_LIMITER ? ', adaptive: it halves its rate when throttled and creeps back on success' : '') +
        ') cannot see the other clients; the retries (full jitter) and the limiter are all that spread the fleet out. ' +
        'One run per row.\n\n' +
        table(
          [
            'retry policy',
            'clients ready',
            'failed (code)',
            'all ready',
            'median ready',
            'last settled',
            'calls (incl. throttled)',
            'throttled by the proxy',
            'Strata retries (throttles)',
            'leaked',
          ],
          s3.map((f) => [
            f.label,
            `${f.ok}/${f.clients}`,
            f.failed
              ? `${f.failed} (${Object.entries(f.failureCodes)
                  .map(([k, v]) => `${k} ${v}`)
                  .join(', ')})`
              : '0',
            f.failed ? 'never (some failed)' : ms(f.allReady),
            ms(f.p50Ready),
            ms(f.lastSettled),
            f.calls,
            f.throttled,
            `${f.strataRetries} (${f.strataThrottles})`,
            f.leaked,
          ]),
        ),
    );
  }
  parts.push(`### Interpretation\n\n${interpret(s1, s2, s3)}`);
  return parts.join('\n\n');
}

function interpret(
  s1: Summary[] | undefined,
  s2: Awaited<ReturnType<typeof scenario2>> | undefined,
  s3: FleetResult[],
): string {
  const out: string[] = [];
  const met = (ok: boolean) => (ok ? 'met' : 'missed');
  if (s1) {
    const t = scenario1Tables(s1);
    const g = (id: string, withRefs: boolean) => t.get(id, withRefs);
    const k0 = g('strata-keys', false);
    const k1 = g('strata-keys', true);
    const f0 = g('floor', false);
    const f1 = g('floor', true);
    const n0 = g('strata-names', false);
    const n1 = g('strata-names', true);
    const c0 = g('strata-parameters', false);
    const c1 = g('strata-parameters', true);
    const cOk = Number.isFinite(c0.wall) && Number.isFinite(c1.wall);
    const within = (x: Summary, f: Summary) => x.wall / f.wall <= 1.25;
    out.push(
      `**Known keys (target ≤ 1.25× the floor): relative keys (c) ${met(within(k0, f0) && within(k1, f1))}` +
        (cOk ? `; parameter names from a previous load (c3) ${met(within(c0, f0) && within(c1, f1))}` : '') +
        '.** ' +
        `With \`keys\` Strata took ${ms(k0.wall)} against the floor's ${ms(f0.wall)} for the 200 keys (${ratio(k0.wall / f0.wall)}) and ` +
        `${ms(k1.wall)} against ${ms(f1.wall)} with the references (${ratio(k1.wall / f1.wall)}), making ${k0.calls} and ${k1.calls} calls ` +
        `against the floor's ${f0.calls} and ${f1.calls}. The time goes to the extra calls, not to the engine: ` +
        '`loadHierarchy(h, { keys })` takes relative keys and cannot know which level holds each one, so it asks every level a key ' +
        'could live at: the 80 flat keys at all three levels, the 120 nested ones at the leaf only (ancestors are non-recursive) — ' +
        `360 names, 160 of them not found, ${k0.calls} GetParameters instead of 20; moto serves requests one at a time, so each extra ` +
        'call adds its service time to the wall. ' +
        (cOk
          ? `Given the full names (\`{ parameters }\`, c3), Strata made ${c0.calls} and ${c1.calls} calls and took ${ms(c0.wall)} and ` +
            `${ms(c1.wall)} (${ratio(c0.wall / f0.wall)} and ${ratio(c1.wall / f1.wall)} of the floor); `
          : 'This core has no `loadHierarchy(h, { parameters })` (c3 failed). ') +
        `the engine alone (c2, \`resolveMap\` of the 200 names) made ${n0.calls} and ${n1.calls} calls in ${ms(n0.wall)} and ` +
        `${ms(n1.wall)} (${ratio(n0.wall / f0.wall)} and ${ratio(n1.wall / f1.wall)}). Differences of a few tens of ms between ` +
        'c2, c3 and the floor are within the run-to-run spread shown in the tables.',
    );
    const p0 = g('strata-path', false);
    const p1 = g('strata-path', true);
    const e0 = g('pt-path', false);
    const e1 = g('pt-path', true);
    const d1 = g('strata-describe', true);
    out.push(
      `**Discovery by path (target ≥ 3× faster than Powertools): ${met(e0.wall / p0.wall >= 3 && e1.wall / p1.wall >= 3)}.** ` +
        `Powertools \`getMultiple\` took ${ms(e0.wall)} / ${ms(e1.wall)} (200 keys / with references) with ${e0.calls} / ${e1.calls} calls ` +
        `and returned ${e0.samples.at(-1)!.raw} values, ${e0.samples.at(-1)!.leaked} of them distinct prod keys; Strata by path took ` +
        `${ms(p0.wall)} / ${ms(p1.wall)} with ${p0.calls} / ${p1.calls} calls and leaked nothing: ${ratio(e0.wall / p0.wall)} / ` +
        `${ratio(e1.wall / p1.wall)}. Both are bound by their longest chain of sequential GetParametersByPath pages (a path's pages ` +
        "cannot be fetched in parallel): Strata's leaf level is 12 pages of 10 (13 with moto's trailing empty page), Powertools' " +
        '`/acme` recursive is 32 (33), and each page costs about the same (20 ms + moto). So ~33/13 ≈ 2.5× is the ceiling for ' +
        'by-path paging on this tree, whatever Strata does inside a page. Only a discovery that needs fewer sequential round trips ' +
        'can reach 3×: DescribeParameters at 50 a page would need 3 pages for the leaf, then one round of concurrent GetParameters. ' +
        `Strata's \`describe\` mode does exactly that, but moto pages DescribeParameters at 10, so here it took ${ms(d1.wall)} with ` +
        `${d1.calls} calls (worse than by path); its advantage against AWS is not measured. ` +
        `**Calls (≤ 1.2× the lower bound): by path ${met(p1.calls / lowerBound(true) <= 1.2)}** (${p0.calls} / ${p1.calls} against ` +
        `${lowerBound(false)} / ${lowerBound(true)}, the 3 extra being moto's trailing pages); describe and known keys miss it for the ` +
        `reasons above. **Leaks: ${met(t.ratios(true).at(-1)![1] === '0' && t.ratios(false).at(-1)![1] === '0')}** — 0 prod keys ` +
        `from every Strata mode; Powertools by path returns ${e0.samples.at(-1)!.leaked} (through both recursive ancestors).`,
    );
  }
  if (s2) {
    const sk = s2.find((x) => x.c.id === 'strata-keys')!;
    const sp = s2.find((x) => x.c.id === 'strata-path')!;
    const raw = s2.find((x) => x.c.id === 'raw-all')!;
    const pt = s2.find((x) => x.c.id === 'pt-names')!;
    const fails = (x: typeof sk) => Math.max(...x.samples.map((y) => y.failures));
    const thr = (x: typeof sk) => Math.max(...x.samples.map((y) => y.throttled));
    const wall = (x: typeof sk) => ms(median(x.samples.map((y) => y.wall)));
    out.push(
      `**Quota (0 failures, fewest calls): ${met(fails(sk) === 0 && fails(sp) === 0)}.** Strata with known keys loaded 1,000 keys ` +
        `in ${wall(sk)} with ${median(sk.samples.map((x) => x.calls))} calls (100 needed; its limiter runs at exactly the quota, so ` +
        `the proxy still rejected up to ${thr(sk)} call(s), which were retried); by path it took ${wall(sp)} (101 sequential pages, ` +
        `never throttled). Powertools took ${wall(pt)} with ${thr(pt)} throttled and ${fails(pt)} failures: its chunks go one after ` +
        `another and so stay under the quota by being slow. Sending all 100 calls at once without a limiter drew up to ${thr(raw)} ` +
        `throttles; keys lost where the SDK's 3 attempts ran out: ${raw.samples.map((x) => x.failures).join(' / ')}.`,
    );
  }
  if (s3.length > 0) {
    const f = s3[0]!;
    const need = ((f.clients * 20 - QUOTA_RPS) / QUOTA_RPS).toFixed(0);
    const codes = (x: FleetResult) =>
      Object.entries(x.failureCodes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', ');
    const share = Math.round(((0.9 * QUOTA_RPS) / f.clients) * 1000) / 1000;
    const vs = (x: number) => `${(x / 1000 / Number(need)).toFixed(1)}× the ${need} s bound`;
    out.push(
      (f.failed === 0
        ? `**Fleet (every client succeeds): met.** With the default policy all ${f.clients} clients were ready after ` +
          `${ms(f.allReady)} (${vs(f.allReady)}; median ${ms(f.p50Ready)}), with ${f.calls} calls of which ${f.throttled} were throttled. `
        : `**Fleet (every client succeeds): missed.** With the default policy ${f.failed} of ${f.clients} clients failed ` +
          `(${codes(f)}); the others were ready after a median ${ms(f.p50Ready)}, the last load settled after ` +
          `${ms(f.lastSettled)} (${vs(f.lastSettled)}); ${f.calls} calls, ${f.throttled} throttled. `) +
        `Each client's limiter starts at 40/s and cannot see the other ${f.clients - 1}, so the fleet starts at ~${f.clients}× ` +
        'the quota' +
        (ADAPTIVE_LIMITER
          ? "; the adaptive limiter halves a client's rate on a throttled burst and creeps back on success, which spreads " +
            'the fleet out but also leaves the quota partly unused (hence the distance from the bound)'
          : '; only the full-jitter retries spread the fleet out') +
        `. The retry budget is per call (${DEFAULT_RETRY.retries} retries, at most ~${(MAX_BACKOFF_MS / 1000).toFixed(0)} s of ` +
        'backoff), so one page throttled that many times in a row fails the whole load even while the fleet as a whole converges. ' +
        (s3[1]
          ? `With \`retry: { retries: 12, capMs: 10000 }\`, ${s3[1].ok}/${s3[1].clients} succeeded` +
            (s3[1].failed === 0
              ? `, all ready after ${ms(s3[1].allReady)} (${vs(s3[1].allReady)})`
              : ` (${codes(s3[1])})`) +
            ` with ${s3[1].calls} calls, ${s3[1].throttled} throttled. `
          : '') +
        (s3[2]
          ? `Giving each client its share of the quota by hand (\`rateLimits: { ssm: ${share} }\`) got ${s3[2].ok}/${s3[2].clients} ready` +
            (s3[2].failed === 0
              ? ` after ${ms(s3[2].allReady)} (${vs(s3[2].allReady)})`
              : ` (${codes(s3[2])})`) +
            ` with ${s3[2].calls} calls and ${s3[2].throttled} throttled. ` +
            ((s3[2].limiterSpreadMs ?? Number.POSITIVE_INFINITY) < 50
              ? `${s3[2].clients} limiters created together granted their second token within ` +
                `${Math.round(s3[2].limiterSpreadMs ?? Number.NaN)} ms of each other: they start full and refill on the same ` +
                'schedule, so a fleet that starts together fires in synchronised bursts once per period' +
                (s3[2].throttled > 0 ? ` (the ${s3[2].throttled} throttles)` : '') +
                '. '
              : '')
          : '') +
        (f.failed > 0
          ? 'What would carry every client with the defaults: a retry budget per load (or a deadline) rather than per call, ' +
            "a jittered first token, or a starting rate below the configured one until the first successes (as the SDK's adaptive mode does)."
          : ''),
    );
  }
  return out.join('\n\n');
}

await main();
