/**
 * Issue 4's benchmark: start-up cost of loading a 200-key typed config — @strata/loader (zod
 * schema + hierarchy) against Powertools' `getParametersByName` + zod by hand — on the same moto
 * behind the same 20 ms-per-call fault proxy, in the same run. Fresh instances every repetition
 * (no warm cache). Writes the `## Loader (issue 4)` section of RESULTS.md. No timing assertions.
 */
import { dirname } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { loadConfig } from '@strata/loader';
import { z } from 'zod';
import { startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, startEnv, stopEnv } from '../test/env/index.js';
import { MOTO_VERSION, motoVenv } from '../test/env/moto.js';
import { machine, median, ms, opsText, ratio, table, total, writeSection } from './lib/report.js';
import { CREDENTIALS, LEVELS, prodParams, REGION, seedParams, treeParams } from './lib/workload.js';

const REPS = Number(process.env.BENCH_REPS ?? '5');
const here = dirname(fileURLToPath(import.meta.url));

function schemaFor(keys: string[]) {
  const shape: Record<string, z.ZodType> = {};
  const groups: Record<string, Record<string, z.ZodType>> = {};
  for (const k of keys) {
    const [a, b] = k.split('.') as [string, string | undefined];
    if (b === undefined) {
      shape[a] = z.string().min(1);
    } else {
      groups[a] ??= {};
      groups[a][b] = z.string().min(1);
    }
  }
  for (const [g, s] of Object.entries(groups)) shape[g] = z.object(s);
  return z.object(shape);
}

async function main(): Promise<void> {
  let env: EnvState | undefined;
  const started = performance.now();
  try {
    env = await startEnv({ components: ['aws'], log: (m) => process.stderr.write(`[bench:loader] ${m}\n`) });
    const moto = env.aws!.endpoint;
    const tree = treeParams();
    await seedParams(moto, [...tree, ...prodParams()]);
    const proxy = await startFaultProxy(moto);
    proxy.configure({ latencyMs: 20 });
    const keys = tree.map((p) => p.key!);
    const schema = schemaFor(keys);
    const aws = { endpoint: proxy.endpoint, region: REGION, credentials: CREDENTIALS };

    type Row = { name: string; times: number[]; calls: Record<string, number>; keys: number };
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
            if (b === undefined) {
              obj[a] = values[p.name];
            } else {
              obj[a] ??= {};
              (obj[a] as Record<string, unknown>)[b] = values[p.name];
            }
          }
          return Object.keys(flat(schema.parse(obj))).length;
        },
      },
    ];
    const rows: Row[] = [];
    for (const c of contenders) {
      const row: Row = { name: c.name, times: [], calls: {}, keys: 0 };
      for (let i = 0; i < REPS; i++) {
        proxy.resetCounts();
        const t0 = performance.now();
        row.keys = await c.run();
        row.times.push(performance.now() - t0);
        row.calls = proxy.counts().calls;
      }
      rows.push(row);
      process.stderr.write(`[bench:loader] ${c.name}: ${ms(median(row.times))}\n`);
    }
    await proxy.stop();

    const m = machine(`${motoVenv()}/bin/python`, MOTO_VERSION);
    const pt = median(rows[2]!.times);
    const body = [
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.nproc} CPUs (${m.cpu}), Node ${m.node}, moto ${m.moto}. The 200-key tree of the core benchmark (/acme 20 flat, /acme/shop 60 flat, /acme/shop/dev 120 nested, 40 SecureStrings; 120 prod keys beside it) behind the fault proxy at 20 ms per call; a zod schema naming all 200 keys. Median of ${REPS}; fresh loader / provider / SDK clients each time. Whole run ${ms(performance.now() - started)}. Produced by \`bench/loader.ts\`.`,
      '',
      table(
        ['contender', 'wall, median (min–max)', 'vs Powertools + zod', 'AWS calls', 'keys validated'],
        rows.map((r) => [
          r.name,
          `${ms(median(r.times))} (${Math.round(Math.min(...r.times))}–${Math.round(Math.max(...r.times))})`,
          ratio(median(r.times) / pt),
          `${total(r.calls)} (${opsText(r.calls)})`,
          r.keys,
        ]),
      ),
      '',
      "The loader asks for each schema key at every level it could live at (the flat keys at all three levels, the nested ones at the leaf only), because a schema names keys, not levels: more GetParameters than names, all sent at once. Powertools needs the 200 full parameter names written out by hand and sends its 10-name chunks one after another. By path, the loader pays the leaf level's 12 sequential pages. The loader also validates, types and masks; Powertools + zod by hand does the validation only.",
    ].join('\n');
    if (process.env.BENCH_NO_WRITE !== '1') writeSection(here, 'Loader (issue 4)', body);
    process.stdout.write(`${body}\n`);
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

await main();
