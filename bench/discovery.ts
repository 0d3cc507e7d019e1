/**
 * Discovery benchmark (issue 13): keys found by path, no names known in advance — Strata's sharded
 * discovery (the default), Strata's sequential by-path pages (`discovery: 'paged'`, the mode before
 * issue 13), Powertools used carefully (`getMultiple` one level deep on each ancestor, recursive on
 * the leaf only, the levels concurrently) and Powertools reading every level recursively (the
 * contender of the core benchmark). Two trees, two pagings:
 *
 * - tree (a): the core benchmark's 200-key `/acme/shop/dev` tree (20 + 60 flat, 120 nested; 120 prod
 *   keys beside it);
 * - tree (b): `/big` (40 flat) / `/big/app` (40 flat) / `/big/app/dev` (400: the same 40 flat keys,
 *   overriding both ancestors, and 360 nested two to four levels deep), with two sibling
 *   environments of 150 keys each (`/big/app/prod`, `/big/app/staging`);
 * - moto's own paging (DescribeParameters pages of 10, a NextToken on every full page) and AWS-sized
 *   pages (the fault proxy's `awsPages` emulation: DescribeParameters up to 50, no trailing token).
 *
 * Reported per contender (median of BENCH_REPS, default 5, interleaved, after one warm-up): wall
 * time of the load (clients created inside it), the AWS-phase span (the proxy's first request to
 * its last response), calls, calls over the lower bound, correct keys, leaked sibling keys.
 * Writes the `## Discovery (issue 13)` section of RESULTS.md. No timing assertions.
 *
 *   npx tsx --conditions=strata-source bench/discovery.ts      (from the repository root)
 */
import { loadavg } from 'node:os';
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import {
  DescribeParametersCommand,
  GetParametersByPathCommand,
  GetParametersCommand,
  PutParameterCommand,
  SSMClient,
} from '@aws-sdk/client-ssm';
import { Resolver } from '@strata/core';
import { type FaultProxy, startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, startEnv, stopEnv } from '../test/env/index.js';
import { MOTO_VERSION, motoVenv } from '../test/env/moto.js';
import { machine, median, ms, opsText, ratio, table, total, writeSection } from './lib/report.js';
import {
  CREDENTIALS,
  LEVELS,
  type Param,
  PROD_PATH,
  pool,
  prodParams,
  REGION,
  treeParams,
} from './lib/workload.js';

const REPS = Number(process.env.BENCH_REPS ?? '5');
const here = dirname(fileURLToPath(import.meta.url));
const log = (m: string) => process.stderr.write(`[bench:discovery] ${m}\n`);
const LOAD_AT_START = loadavg()[0]!;
const pad = (n: number) => String(n).padStart(2, '0');

/** Seeds straight into moto (not through the proxy), in the order given, 16 at a time. */
async function seed(motoEndpoint: string, params: Param[], region: string): Promise<void> {
  const ssm = new SSMClient({ endpoint: motoEndpoint, region, credentials: CREDENTIALS });
  try {
    await pool(params, 16, (p) =>
      ssm.send(new PutParameterCommand({ Name: p.name, Value: p.value, Type: p.type, Overwrite: true })),
    );
  } finally {
    ssm.destroy();
  }
}

// ----- tree (b) -----

const B_REGION = 'us-west-2'; // its own region: moto's DescribeParameters scans one region's parameters
const B_LEVELS = ['/big', '/big/app', '/big/app/dev'] as const;
const B_SIBLINGS = ['/big/app/prod', '/big/app/staging'];
const B_GROUPS = ['api', 'auth', 'cache', 'db', 'feature', 'mail', 'pay', 'queue', 'search'];

function treeB(): { params: Param[]; siblings: Param[] } {
  const params: Param[] = [];
  for (const level of B_LEVELS) {
    for (let i = 0; i < 40; i++) {
      params.push({
        name: `${level}/o${pad(i)}`,
        key: `o${pad(i)}`,
        value: `${level}-o${pad(i)}`,
        type: i < 8 ? 'SecureString' : 'String',
      });
    }
  }
  // 360 nested keys: 9 groups of 40, two to four levels deep (`db/k00`, `db/main/k01`, `db/main/replica/k02`)
  for (const g of B_GROUPS) {
    for (let i = 0; i < 40; i++) {
      const mid = ['main', 'replica'].slice(0, i % 3).join('/');
      const rel = [g, ...(mid ? [mid] : []), `k${pad(i)}`].join('/');
      params.push({
        name: `/big/app/dev/${rel}`,
        key: rel.replaceAll('/', '.'),
        value: `dev-${rel}`,
        type: i % 10 === 0 ? 'SecureString' : 'String',
      });
    }
  }
  const siblings: Param[] = [];
  for (const s of B_SIBLINGS) {
    for (let i = 0; i < 150; i++) {
      const g = B_GROUPS[i % B_GROUPS.length]!;
      siblings.push({
        name: `${s}/${g}/k${String(i).padStart(3, '0')}`,
        value: `SIBLING-LEAK-${i}`,
        type: 'String',
      });
    }
  }
  return { params, siblings };
}

interface Tree {
  id: 'a' | 'b';
  label: string;
  region: string;
  levels: readonly string[];
  /** Sibling branches whose keys must never appear. */
  siblings: string[];
  /** key -> expected value (most specific level wins). */
  expected: Map<string, string>;
  /** Lower bound on calls from the API limits: every value comes 10 a call. */
  lowerBound: number;
}

function expectedOf(params: Param[], levels: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const level of levels) {
    for (const p of params) {
      if (!p.name.startsWith(`${level}/`) || p.key === undefined) continue;
      const rel = p.name.slice(level.length + 1);
      if (level !== levels.at(-1) && rel.includes('/')) continue;
      out.set(p.key, p.value);
    }
  }
  return out;
}

// ----- contenders -----

interface Outcome {
  /** key -> value as the contender merged it. */
  values: Map<string, string>;
  /** Distinct parameters of a sibling branch among everything the contender received. */
  leaked: number;
}

interface Contender {
  id: string;
  label: string;
  run(endpoint: string, tree: Tree): Promise<Outcome>;
}

const underSibling = (tree: Tree, name: string) => tree.siblings.some((s) => name.startsWith(`${s}/`));

function strata(discovery: 'sharded' | 'paged'): Contender {
  return {
    id: `strata-${discovery}`,
    label:
      discovery === 'sharded'
        ? 'Strata, sharded discovery (default)'
        : 'Strata, sequential by-path pages (`discovery: paged`, before issue 13)',
    async run(endpoint, tree) {
      const r = new Resolver({ aws: { endpoint, region: tree.region, credentials: CREDENTIALS, discovery } });
      try {
        const h = await r.loadHierarchy({ levels: [...tree.levels] });
        const values = new Map([...h.entries.values()].map((e) => [e.key, e.value]));
        const leaked = new Set(
          [...h.entries.values()].map((e) => e.origin.parameter).filter((n) => underSibling(tree, n)),
        ).size;
        return { values, leaked };
      } finally {
        r.close();
      }
    },
  };
}

function powertools(careful: boolean): Contender {
  return {
    id: careful ? 'pt-careful' : 'pt-recursive',
    label: careful
      ? 'Powertools, careful: `getMultiple` one level deep on each ancestor, recursive on the leaf, levels concurrently (decrypt)'
      : 'Powertools `getMultiple` recursive on every level (decrypt; the core benchmark’s contender)',
    async run(endpoint, tree) {
      const ssm = new SSMProvider({
        clientConfig: { endpoint, region: tree.region, credentials: CREDENTIALS },
      });
      try {
        const leaf = tree.levels.length - 1;
        const got = await Promise.all(
          tree.levels.map((path, i) =>
            ssm.getMultiple(path, { recursive: !careful || i === leaf, decrypt: true }),
          ),
        );
        const values = new Map<string, string>();
        const received = new Set<string>();
        got.forEach((level, i) => {
          for (const [rel, v] of Object.entries(level ?? {})) {
            received.add(`${tree.levels[i]}/${rel}`);
            values.set(rel.replaceAll('/', '.'), String(v));
          }
        });
        return { values, leaked: [...received].filter((n) => underSibling(tree, n)).length };
      } finally {
        ssm.client.destroy();
      }
    },
  };
}

const CONTENDERS: Contender[] = [strata('sharded'), strata('paged'), powertools(true), powertools(false)];

// ----- runs -----

interface Sample {
  wall: number;
  span: number;
  /** Longest chain of calls one after another (the proxy's `longestChain()`). */
  chain: number;
  calls: Record<string, number>;
  correct: number;
  extra: number;
  leaked: number;
  error?: string;
}

async function once(proxy: FaultProxy, c: Contender, tree: Tree, awsPages: boolean): Promise<Sample> {
  proxy.configure({ latencyMs: 20, awsPages });
  proxy.resetCounts();
  const t0 = performance.now();
  try {
    const out = await c.run(proxy.endpoint, tree);
    const wall = performance.now() - t0;
    const counts = proxy.counts();
    let correct = 0;
    for (const [k, v] of tree.expected) if (out.values.get(k) === v) correct++;
    const extra = [...out.values.keys()].filter((k) => !tree.expected.has(k)).length;
    return {
      wall,
      span: (counts.lastResponseAt ?? 0) - (counts.firstRequestAt ?? 0),
      chain: proxy.longestChain(),
      calls: counts.calls,
      correct,
      extra,
      leaked: out.leaked,
    };
  } catch (e) {
    const counts = proxy.counts();
    return {
      wall: performance.now() - t0,
      span: Number.NaN,
      chain: Number.NaN,
      calls: counts.calls,
      correct: 0,
      extra: 0,
      leaked: 0,
      error: e instanceof Error ? e.message.slice(0, 160) : String(e),
    };
  }
}

async function main(): Promise<void> {
  let env: EnvState | undefined;
  const started = performance.now();
  try {
    env = await startEnv({ components: ['aws'], log: (m) => log(`  ${m}`) });
    const moto = env.aws!.endpoint;
    const a = treeParams();
    const b = treeB();
    log('seeding tree (a) (200 + 120 prod) and tree (b) (480 + 300 siblings)');
    await seed(moto, [...a, ...prodParams()], REGION);
    await seed(moto, [...b.params, ...b.siblings], B_REGION);
    const trees: Tree[] = [
      {
        id: 'a',
        label:
          'tree (a): 200 keys, `/acme` 20 / `/acme/shop` 60 / `/acme/shop/dev` 120 nested; 120 prod keys beside',
        region: REGION,
        levels: LEVELS,
        siblings: [PROD_PATH],
        expected: expectedOf(a, LEVELS),
        lowerBound: 2 + 6 + 12,
      },
      {
        id: 'b',
        label:
          'tree (b): `/big` 40 / `/big/app` 40 / `/big/app/dev` 400 (40 overriding both ancestors, 360 nested 2–4 deep); `prod` and `staging` 150 each beside',
        region: B_REGION,
        levels: B_LEVELS,
        siblings: B_SIBLINGS,
        expected: expectedOf(b.params, B_LEVELS),
        lowerBound: 4 + 4 + 40,
      },
    ];
    // moto's own service time per call, straight to moto (no proxy), one call at a time
    const direct = new SSMClient({ endpoint: moto, region: B_REGION, credentials: CREDENTIALS });
    const serviceMs = async (send: () => Promise<unknown>) => {
      const ts: number[] = [];
      for (let i = 0; i < 11; i++) {
        const t = performance.now();
        await send();
        if (i > 0) ts.push(performance.now() - t);
      }
      return median(ts);
    };
    const motoMs = {
      describe: await serviceMs(() =>
        direct.send(
          new DescribeParametersCommand({
            ParameterFilters: [{ Key: 'Path', Option: 'Recursive', Values: ['/big/app/dev'] }],
            MaxResults: 50,
          }),
        ),
      ),
      byPath: await serviceMs(() =>
        direct.send(
          new GetParametersByPathCommand({
            Path: '/big/app/dev',
            Recursive: true,
            WithDecryption: true,
            MaxResults: 10,
          }),
        ),
      ),
      get: await serviceMs(() =>
        direct.send(
          new GetParametersCommand({
            Names: b.params.slice(0, 10).map((x) => x.name),
            WithDecryption: true,
          }),
        ),
      ),
    };
    direct.destroy();
    log(
      `moto service: DescribeParameters ${motoMs.describe.toFixed(1)} ms, GetParametersByPath ${motoMs.byPath.toFixed(1)} ms, GetParameters ${motoMs.get.toFixed(1)} ms`,
    );
    const proxy = await startFaultProxy(moto);
    const pagings = [
      { awsPages: false, label: "moto's own paging" },
      { awsPages: true, label: 'AWS-sized pages (proxy emulation)' },
    ];
    const samples = new Map<string, Sample[]>();
    const key = (t: Tree, awsPages: boolean, c: Contender) => `${t.id}|${awsPages}|${c.id}`;
    // one discarded warm-up of everything, then REPS interleaved rounds
    for (let rep = -1; rep < REPS; rep++) {
      for (const pg of pagings) {
        for (const t of trees) {
          for (const c of CONTENDERS) {
            const s = await once(proxy, c, t, pg.awsPages);
            if (rep < 0) continue;
            const k = key(t, pg.awsPages, c);
            samples.set(k, [...(samples.get(k) ?? []), s]);
          }
        }
      }
      log(`round ${rep < 0 ? 'warm-up' : rep + 1} done (${ms(performance.now() - started)})`);
    }
    await proxy.stop();

    const med = (ss: Sample[], f: (s: Sample) => number) => median(ss.filter((s) => !s.error).map(f));
    const sections: string[] = [];
    const goals: Array<Array<string | number>> = [];
    for (const t of trees) {
      for (const pg of pagings) {
        const rows = CONTENDERS.map((c) => {
          const ss = samples.get(key(t, pg.awsPages, c)) ?? [];
          const last = ss.at(-1)!;
          const calls = total(last.calls);
          const errors = ss.filter((s) => s.error);
          return [
            c.label,
            `${ms(med(ss, (s) => s.wall))} (${Math.round(Math.min(...ss.map((s) => s.wall)))}–${Math.round(Math.max(...ss.map((s) => s.wall)))})`,
            ms(med(ss, (s) => s.span)),
            med(ss, (s) => s.chain),
            `${calls} (${opsText(last.calls)})`,
            ratio(calls / t.lowerBound),
            `${last.correct}/${t.expected.size}${last.extra ? ` (+${last.extra} keys not in the tree)` : ''}`,
            last.leaked,
            errors.length ? `${errors.length}: ${errors[0]!.error}` : 0,
          ];
        });
        sections.push(
          `#### ${t.label} — ${pg.label}\n\n${table(
            [
              'contender',
              'wall, median (min–max)',
              'AWS-phase span, median',
              'calls one after another, median',
              'calls (last run)',
              'calls / lower bound',
              'correct keys',
              'leaked sibling keys',
              'errors',
            ],
            rows,
          )}`,
        );
      }
    }
    const get = (t: 'a' | 'b', awsPages: boolean, id: string) => samples.get(`${t}|${awsPages}|${id}`) ?? [];
    for (const pg of pagings) {
      const sh = get('b', pg.awsPages, 'strata-sharded');
      const pt = get('b', pg.awsPages, 'pt-careful');
      const target = pg.awsPages ? 3 : 2;
      const r = med(pt, (s) => s.span) / med(sh, (s) => s.span);
      goals.push([
        `tree (b), ${pg.label}: careful Powertools span / Strata sharded span`,
        `≥ ${target}×`,
        ratio(r),
        r >= target ? 'met' : '**missed**',
      ]);
      const c = med(pt, (s) => s.chain) / med(sh, (s) => s.chain);
      goals.push([
        `tree (b), ${pg.label}: careful Powertools / Strata sharded, calls one after another (diagnostic)`,
        '–',
        ratio(c),
        '',
      ]);
      const calls = total(sh.at(-1)!.calls) / 48;
      goals.push([
        `tree (b), ${pg.label}: Strata sharded calls / lower bound (48)`,
        '≤ 1.5×',
        ratio(calls),
        calls <= 1.5 ? 'met' : '**missed**',
      ]);
    }
    const leaks = [...samples.entries()]
      .filter(([k]) => k.includes('strata-'))
      .reduce((n, [, ss]) => n + Math.max(...ss.map((s) => s.leaked)), 0);
    goals.push(['leaked keys, every Strata row', '0', leaks, leaks === 0 ? 'met' : '**missed**']);
    for (const pg of pagings) {
      const sh = get('a', pg.awsPages, 'strata-sharded');
      const pa = get('a', pg.awsPages, 'strata-paged');
      const r = med(sh, (s) => s.wall) / med(pa, (s) => s.wall);
      const rs = med(sh, (s) => s.span) / med(pa, (s) => s.span);
      goals.push([
        `tree (a), ${pg.label}: Strata sharded / Strata by-path pages, wall (span)`,
        '≤ 1.00× (no slower)',
        `${ratio(r)} (${ratio(rs)})`,
        r <= 1 ? 'met' : '**missed**',
      ]);
    }

    const m = machine(`${motoVenv()}/bin/python`, MOTO_VERSION);
    const body = [
      '<!-- discovery:start (written by bench/discovery.ts) -->',
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB, Node ${m.node}, moto ${m.moto} (one server process), \`@aws-lambda-powertools/parameters\` 2.35.0. The fault proxy runs in the benchmark's process and adds 20 ms to every call. 1-minute load average ${LOAD_AT_START.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end (the machine is shared: other sessions' builds and tests ran alongside, so wall times are inflated and noisy; call counts are exact). Median of ${REPS} repetitions, every contender, tree and paging interleaved in each round, after one discarded warm-up round; fresh resolvers, providers and SDK clients every run. Whole run ${ms(performance.now() - started)}. Produced by \`bench/discovery.ts\`; no timing assertions.`,
      '',
      "#### moto's own time per call (straight to moto, one at a time, median of 10, tree (b)'s region)",
      '',
      table(
        ['call', 'ms'],
        [
          ['DescribeParameters page (10 names)', motoMs.describe.toFixed(1)],
          ['GetParametersByPath page (10 values)', motoMs.byPath.toFixed(1)],
          ['GetParameters (10 names)', motoMs.get.toFixed(1)],
        ],
      ),
      '',
      ...sections.flatMap((s) => [s, '']),
      '#### Goals (issue 13)',
      '',
      table(['ratio', 'target', 'measured', ''], goals),
      '',
      '<!-- discovery:end -->',
    ].join('\n');
    process.stdout.write(`${body}\n`);
    if (process.env.BENCH_NO_WRITE !== '1') writeSection(here, 'Discovery (issue 13)', body);
  } finally {
    if (env) await stopEnv(env);
  }
}

await main();
