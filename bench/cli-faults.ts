/**
 * Issue 10's fault benchmark: how long the `strata` CLI takes to exit, and with which code, when
 * AWS misbehaves — every fault the proxy makes, with the DEFAULT deadline (`--timeout` not given).
 * The peer is the deadline itself (time-to-exit / 30 s) and, for context, what the issue measured
 * before (a black hole: ~50 s for `load`, > 100 s for `put`).
 *
 * Runs the built CLI (`packages/loader/bin/strata.js` → `dist/`): `npm run build` first (the root
 * `npm run bench` does). One moto, one fault proxy per fault; faults run side by side, the
 * commands of one fault one after another. Writes `results/cli-faults.json`; `lib/tables/cli-faults.ts`
 * renders it into RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type FaultRule, startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, startEnv, stopEnv } from '../test/env/index.js';
import { isMain, runScenario, type Scenario } from './lib/scenario.js';
import { CREDENTIALS, REGION, seedParams } from './lib/workload.js';

const here = dirname(fileURLToPath(import.meta.url));
const STRATA = join(here, '..', 'packages', 'loader', 'bin', 'strata.js');
const DIST = join(here, '..', 'packages', 'loader', 'dist', 'cli', 'bin.js');

const FAULTS: Array<[string, FaultRule]> = [
  ['throttle (every call)', { fault: 'throttle' }],
  ['500 (every call)', { fault: 'error5xx', status: 500 }],
  ['HTML 503 (every call)', { fault: 'html', status: 503 }],
  ['connection reset', { fault: 'reset' }],
  ['AccessDenied', { fault: 'deny' }],
  ['black hole', { fault: 'blackhole' }],
  ['slow: 7 s a call', { fault: 'latency', latencyMs: 7000 }],
];

export interface CliRun {
  code: number | null;
  ms: number;
  progressLines: number;
}

export interface CliFaultsData {
  /** Column names, in order. */
  commands: string[];
  faults: Array<{ fault: string; runs: CliRun[] }>;
}

function run(args: string[], env: Record<string, string>): Promise<CliRun> {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(STRATA, args, {
      env: { ...process.env, ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code) =>
      resolve({
        code,
        ms: performance.now() - t0,
        progressLines: stderr.split('\n').filter((l) => /waiting for|retry \d+ of/.test(l)).length,
      }),
    );
  });
}

async function measureAll(log: (msg: string) => void): Promise<CliFaultsData> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first`);
  let env: EnvState | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-cli-'));
  try {
    env = await startEnv({
      components: ['aws'],
      log: (m) => log(`  ${m}`),
    });
    const moto = env.aws!.endpoint;
    await seedParams(moto, [
      { name: '/bf/app/log-level', value: 'info', type: 'String' },
      { name: '/bf/app/dev/log-level', value: 'debug', type: 'String' },
      { name: '/bf/app/dev/db/password', value: 'pw', type: 'SecureString' },
    ]);
    const from = join(dir, 'tree.yaml');
    writeFileSync(from, 'k: v\n');
    const base = {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      AWS_REGION: REGION,
      AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
    };
    const commands: Array<[string, (slug: string) => string[], Record<string, string>?, boolean?]> = [
      ['load', () => ['load', '--level', '/bf/app', '--level', '/bf/app/dev']],
      ['resolve', () => ['resolve', 'x=<<resolve:ssm:/bf/app/dev/db/password>>']],
      ['exec', () => ['exec', '--', 'true'], { DB: '<<resolve:ssm:/bf/app/dev/db/password>>' }],
      ['put', (slug) => ['put', '--from', from, '--path', `/bf/put/${slug}`]],
      [
        'put (fault on PutParameter only)',
        (slug) => ['put', '--from', from, '--path', `/bf/put-only/${slug}`],
        {},
        true,
      ],
    ];
    const results = await Promise.all(
      FAULTS.map(async ([name, rule], i) => {
        const proxy = await startFaultProxy(moto);
        try {
          const out: CliRun[] = [];
          for (const [, args, extra, writesOnly] of commands) {
            proxy.configure({ rules: [writesOnly ? { ...rule, ops: ['PutParameter'] } : rule] });
            out.push(
              await run(['--endpoint', proxy.endpoint, ...args(`f${i}`)], { ...base, ...(extra ?? {}) }),
            );
            log(`${name}: ${out.at(-1)!.ms.toFixed(0)} ms`);
          }
          return { fault: name, runs: out };
        } finally {
          await proxy.stop();
        }
      }),
    );
    return { commands: commands.map(([c]) => c), faults: results };
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (env) await stopEnv(env);
  }
}

export const cliFaults: Scenario<CliFaultsData> = {
  name: 'cli-faults',
  params: { faults: FAULTS.map(([name]) => name), deadline: 'default (--timeout 30)' },
  run: measureAll,
};

if (isMain(import.meta.url)) await runScenario(cliFaults);
