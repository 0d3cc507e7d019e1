/**
 * Whole-process start-up benchmark (issue 13): time from `node app.mjs` to a typed config ready, for
 * a Node app that loads the 200-key tree with @strata/loader (`startup-apps/strata-app.mjs`) and
 * the same app written with Powertools' `getParametersByName` + zod by hand
 * (`startup-apps/powertools-app.mjs`). Both are plain ESM apps run by `node` from the build (no tsx,
 * no source conditions), configured only by the standard AWS environment, against the same moto
 * behind the same fault proxy (20 ms a call). Import cost, client creation and the AWS calls are all
 * inside the measured time. Needs `npm run build` (the root `npm run bench` does it).
 *
 * Measured by this process: from `spawn` to the app's "ready" line on stdout (the app is then
 * stopped); the app also reports its own `performance.now()` after its imports and when ready.
 * Median of BENCH_REPS (default 5; import-only runs BENCH_IMPORT_REPS, default 15), apps
 * interleaved, after one discarded warm-up round. Writes the `## Start-up (issue 13)` section of RESULTS.md. No timing assertions.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { type FaultProxy, startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, startEnv, stopEnv } from '../test/env/index.js';
import { MOTO_VERSION, motoVenv } from '../test/env/moto.js';
import { machine, median, ms, opsText, ratio, table, total, writeSection } from './lib/report.js';
import { CREDENTIALS, type Param, pool, prodParams, REGION, treeParams } from './lib/workload.js';

const REPS = Number(process.env.BENCH_REPS ?? '5');
/** Import-only runs are cheap and their difference small: more of them (interleaved, the two apps alternating). */
const IMPORT_REPS = Math.max(REPS, Number(process.env.BENCH_IMPORT_REPS ?? '15'));
const here = dirname(fileURLToPath(import.meta.url));
const apps = join(here, 'startup-apps');
const log = (m: string) => process.stderr.write(`[bench:startup] ${m}\n`);
const LOAD_AT_START = loadavg()[0]!;

interface App {
  id: string;
  label: string;
  file: string;
  mode?: 'discover' | 'import';
}

const APPS: App[] = [
  {
    id: 'strata',
    label: 'Strata `loadConfig` (schema keys fetched directly, the default)',
    file: 'strata-app.mjs',
  },
  {
    id: 'strata-discover',
    label: 'Strata `loadConfig` with `fetchSchemaKeys: false` (keys discovered, sharded)',
    file: 'strata-app.mjs',
    mode: 'discover',
  },
  {
    id: 'powertools',
    label: 'Powertools `getParametersByName` (200 names written out) + zod by hand',
    file: 'powertools-app.mjs',
  },
  {
    id: 'strata-import',
    label: 'import only: `@strata/loader` + zod',
    file: 'strata-app.mjs',
    mode: 'import',
  },
  {
    id: 'powertools-import',
    label: 'import only: `@aws-lambda-powertools/parameters/ssm` + zod',
    file: 'powertools-app.mjs',
    mode: 'import',
  },
];

interface Sample {
  wall: number;
  imported: number;
  ready: number;
  keys: number;
  calls: Record<string, number>;
  span: number;
  error?: string;
}

function runApp(app: App, proxy: FaultProxy): Promise<Sample> {
  proxy.resetCounts();
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(process.execPath, [join(apps, app.file)], {
      cwd: apps,
      env: {
        PATH: process.env.PATH ?? '',
        HOME: process.env.HOME ?? '',
        AWS_REGION: REGION,
        AWS_ENDPOINT_URL: proxy.endpoint,
        AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
        AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
        // no shared config or IMDS lookups: both apps get credentials from the environment
        AWS_EC2_METADATA_DISABLED: 'true',
        ...(app.mode ? { STARTUP_MODE: app.mode } : {}),
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    let done = false;
    const finish = (s: Sample) => {
      if (done) return;
      done = true;
      child.kill('SIGTERM');
      resolve(s);
    };
    const timer = setTimeout(() => finish(fail('no ready line within 60 s')), 60_000);
    const fail = (error: string): Sample => ({
      wall: performance.now() - t0,
      imported: Number.NaN,
      ready: Number.NaN,
      keys: 0,
      calls: proxy.counts().calls,
      span: Number.NaN,
      error,
    });
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString('utf8');
      const line = out.split('\n').find((l) => l.startsWith('{'));
      if (!line || !out.includes('\n')) return;
      const wall = performance.now() - t0;
      clearTimeout(timer);
      const r = JSON.parse(line) as { imported: number; ready: number; keys: number };
      const c = proxy.counts();
      finish({
        wall,
        imported: r.imported,
        ready: r.ready,
        keys: r.keys,
        calls: c.calls,
        span: c.firstRequestAt === undefined ? 0 : (c.lastResponseAt ?? 0) - c.firstRequestAt,
      });
    });
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString('utf8');
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      finish(fail(`exited ${code}: ${err.trim().split('\n').slice(-2).join(' ').slice(0, 200)}`));
    });
  });
}

async function seed(motoEndpoint: string, params: Param[]): Promise<void> {
  const ssm = new SSMClient({ endpoint: motoEndpoint, region: REGION, credentials: CREDENTIALS });
  try {
    await pool(params, 16, (p) =>
      ssm.send(new PutParameterCommand({ Name: p.name, Value: p.value, Type: p.type, Overwrite: true })),
    );
  } finally {
    ssm.destroy();
  }
}

async function main(): Promise<void> {
  const built = join(here, '..', 'packages', 'loader', 'dist', 'index.js');
  if (!existsSync(built)) throw new Error('bench/startup.ts runs the build: run `npm run build` first');
  let env: EnvState | undefined;
  const started = performance.now();
  try {
    env = await startEnv({ components: ['aws'], log: (m) => log(`  ${m}`) });
    const moto = env.aws!.endpoint;
    await seed(moto, [...treeParams(), ...prodParams()]);
    const proxy = await startFaultProxy(moto);
    // AWS-sized pages (the proxy's AWS emulation): the discovering app lists as it would on AWS
    proxy.configure({ latencyMs: 20, awsPages: true });
    const samples = new Map<string, Sample[]>();
    for (let rep = -1; rep < IMPORT_REPS; rep++) {
      for (const app of APPS) {
        if (rep >= REPS && app.mode !== 'import') continue;
        const s = await runApp(app, proxy);
        if (s.error) log(`${app.id}: ${s.error}`);
        if (rep >= 0) samples.set(app.id, [...(samples.get(app.id) ?? []), s]);
      }
      log(`round ${rep < 0 ? 'warm-up' : rep + 1} done`);
    }
    await proxy.stop();

    const ok = (id: string) => (samples.get(id) ?? []).filter((s) => !s.error);
    const med = (id: string, f: (s: Sample) => number) => median(ok(id).map(f));
    const pt = med('powertools', (s) => s.wall);
    const rows = APPS.map((a) => {
      const ss = samples.get(a.id) ?? [];
      const good = ok(a.id);
      const last = good.at(-1);
      return [
        a.label,
        `${ms(med(a.id, (s) => s.wall))} (${Math.round(Math.min(...good.map((s) => s.wall)))}–${Math.round(Math.max(...good.map((s) => s.wall)))})`,
        ms(med(a.id, (s) => s.imported)),
        a.mode === 'import' ? '–' : ms(med(a.id, (s) => s.span)),
        a.mode === 'import' ? '–' : ratio(pt / med(a.id, (s) => s.wall)),
        last ? `${total(last.calls)}${total(last.calls) ? ` (${opsText(last.calls)})` : ''}` : '–',
        a.mode === 'import' ? '–' : (last?.keys ?? 0),
        ss.length - good.length,
      ];
    });
    const strataR = pt / med('strata', (s) => s.wall);
    const discoverR = pt / med('strata-discover', (s) => s.wall);
    const importR = med('strata-import', (s) => s.imported) / med('powertools-import', (s) => s.imported);
    const m = machine(`${motoVenv()}/bin/python`, MOTO_VERSION);
    const body = [
      '<!-- startup:start (written by bench/startup.ts) -->',
      `Measured ${new Date().toISOString().slice(0, 16).replace('T', ' ')} UTC on ${m.nproc} CPUs (${m.cpu}), Node ${m.node}, moto ${m.moto}, \`@aws-lambda-powertools/parameters\` 2.35.0. Each row is a whole \`node app.mjs\` process (\`bench/startup-apps/\`, the built packages, no tsx), configured only by AWS_REGION, AWS_ENDPOINT_URL (the fault proxy, 20 ms a call, AWS-sized pages: \`awsPages\`) and credentials in the environment; the time is from \`spawn\` to the app's "config ready" line. The 200-key tree of the core benchmark (40 SecureStrings; 120 prod keys beside it); a zod schema of the 200 keys in both apps. Median of ${REPS} (import-only rows: of ${IMPORT_REPS}), apps interleaved, after one discarded warm-up round. 1-minute load average ${LOAD_AT_START.toFixed(1)} at the start and ${loadavg()[0]!.toFixed(1)} at the end (the machine is shared with other sessions: wall times are inflated and noisy). Whole run ${ms(performance.now() - started)}. Produced by \`bench/startup.ts\`; no timing assertions.`,
      '',
      table(
        [
          'app',
          'spawn → config ready, median (min–max)',
          'imports done (app clock)',
          'AWS-phase span',
          'Powertools app / this',
          'AWS calls (last run)',
          'keys validated',
          'failed runs',
        ],
        rows,
      ),
      '',
      table(
        ['ratio', 'target', 'measured', ''],
        [
          [
            'whole-process start-up, Powertools + zod app / Strata `loadConfig` app (default)',
            '≥ 1.5×',
            ratio(strataR),
            strataR >= 1.5 ? 'met' : '**missed**',
          ],
          ['the same, Strata with keys discovered (`fetchSchemaKeys: false`)', '–', ratio(discoverR), ''],
          [
            'import time, `@strata/loader` + zod / Powertools parameters + zod (app clock)',
            '≤ 1.00×',
            ratio(importR),
            importR <= 1 ? 'met' : '**missed**',
          ],
        ],
      ),
      '',
      "Powertools' `getParametersByName` needs every full parameter name written out and sends its 10-name GetParameters chunks one after another; the Strata app names only the levels and the schema, and sends its calls concurrently (schema keys: each key asked for at every level it could live at; discovery: the levels listed by path, large ones in shards).",
      '<!-- startup:end -->',
    ].join('\n');
    process.stdout.write(`${body}\n`);
    if (process.env.BENCH_NO_WRITE !== '1') writeSection(here, 'Start-up (issue 13)', body);
  } finally {
    if (env) await stopEnv(env);
  }
}

await main();
