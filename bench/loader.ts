/**
 * Issue 4's benchmark: start-up cost of loading a 200-key typed config — @strata/loader (zod
 * schema + hierarchy) against Powertools' `getParametersByName` + zod by hand — on the same moto
 * behind the same 20 ms-per-call fault proxy, in the same run. Fresh instances every repetition
 * (no warm cache). Writes `results/loader.json`; `lib/tables/loader.ts` renders it into RESULTS.md.
 * No timing assertions.
 */
import { performance } from 'node:perf_hooks';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { loadConfig } from '@strata/loader';
import { z } from 'zod';
import { startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, startEnv, stopEnv } from '../test/env/index.js';
import { MOTO_VERSION, motoVenv } from '../test/env/moto.js';
import { median, ms } from './lib/report.js';
import { isMain, runScenario, type Scenario } from './lib/scenario.js';
import { CREDENTIALS, LEVELS, prodParams, REGION, seedParams, treeParams } from './lib/workload.js';

const REPS = Number(process.env.BENCH_REPS ?? '5');
const LATENCY_MS = 20;

export interface LoaderRow {
  name: string;
  times: number[];
  calls: Record<string, number>;
  keys: number;
}

export interface LoaderData {
  reps: number;
  latencyMs: number;
  rows: LoaderRow[];
}

function schemaFor(keys: string[]) {
  const shape: Record<string, z.ZodType> = {};
  const groups: Record<string, Record<string, z.ZodType>> = {};
  for (const k of keys) {
    const [a, b] = k.split('.') as [string, string | undefined];
    if (b === undefined) shape[a] = z.string().min(1);
    else {
      groups[a] ??= {};
      groups[a][b] = z.string().min(1);
    }
  }
  for (const [g, s] of Object.entries(groups)) shape[g] = z.object(s);
  return z.object(shape);
}

async function measureAll(log: (msg: string) => void): Promise<LoaderData> {
  let env: EnvState | undefined;
  try {
    env = await startEnv({ components: ['aws'], log: (m) => log(`  ${m}`) });
    const moto = env.aws!.endpoint;
    const tree = treeParams();
    await seedParams(moto, [...tree, ...prodParams()]);
    const proxy = await startFaultProxy(moto);
    proxy.configure({ latencyMs: LATENCY_MS });
    const keys = tree.map((p) => p.key!);
    const schema = schemaFor(keys);
    const aws = { endpoint: proxy.endpoint, region: REGION, credentials: CREDENTIALS };

    const contenders: Array<{ name: string; run: () => Promise<number> }> = [
      {
        name: 'Strata loader: schema keys fetched directly (default)',
        run: async () =>
          Object.keys(
            flat(await loadConfig({ schema, hierarchy: { levels: [...LEVELS] }, resolver: { aws } })),
          ).length,
      },
      {
        name: 'Strata loader: keys discovered by path (`fetchSchemaKeys: false`)',
        run: async () =>
          Object.keys(
            flat(
              await loadConfig({
                schema,
                hierarchy: { levels: [...LEVELS] },
                fetchSchemaKeys: false,
                resolver: { aws },
              }),
            ),
          ).length,
      },
      {
        name: 'Powertools `getParametersByName` (200 full names, decrypt) + zod by hand',
        run: async () => {
          const provider = new SSMProvider({ clientConfig: aws });
          const byName = Object.fromEntries(tree.map((p) => [p.name, {}]));
          const values = (await provider.getParametersByName(byName, {
            decrypt: true,
            throwOnError: true,
          })) as Record<string, string>;
          const obj: Record<string, unknown> = {};
          for (const p of tree) {
            const [a, b] = p.key!.split('.') as [string, string | undefined];
            if (b === undefined) obj[a] = values[p.name];
            else {
              obj[a] ??= {};
              (obj[a] as Record<string, unknown>)[b] = values[p.name];
            }
          }
          return Object.keys(flat(schema.parse(obj))).length;
        },
      },
    ];
    const rows: LoaderRow[] = [];
    for (const c of contenders) {
      const row: LoaderRow = { name: c.name, times: [], calls: {}, keys: 0 };
      for (let i = 0; i < REPS; i++) {
        proxy.resetCounts();
        const t0 = performance.now();
        row.keys = await c.run();
        row.times.push(performance.now() - t0);
        row.calls = proxy.counts().calls;
      }
      rows.push(row);
      log(`${c.name}: ${ms(median(row.times))}`);
    }
    await proxy.stop();

    return { reps: REPS, latencyMs: LATENCY_MS, rows };
  } finally {
    if (env) await stopEnv(env);
  }
}

function flat(o: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (o !== null && typeof o === 'object')
    for (const [k, v] of Object.entries(o)) flat(v, prefix ? `${prefix}.${k}` : k, out);
  else out[prefix] = o;
  return out;
}

export const loader: Scenario<LoaderData> = {
  name: 'loader',
  params: { reps: REPS, latencyMs: LATENCY_MS, powertools: '2.35.0' },
  motoPython: `${motoVenv()}/bin/python`,
  motoPinned: MOTO_VERSION,
  run: measureAll,
};

if (isMain(import.meta.url)) await runScenario(loader);
