/**
 * Issue 10's fault benchmark: how long the `strata` CLI takes to exit, and with which code, when
 * AWS misbehaves — every fault the proxy makes, with the DEFAULT deadline (`--timeout` not given).
 * The peer is the deadline itself (time-to-exit / 30 s) and, for context, what the issue measured
 * before (a black hole: ~50 s for `load`, > 100 s for `put`).
 *
 * Runs the built CLI (`packages/loader/bin/strata.js` → `dist/`): `npm run build` first (the root
 * `npm run bench` does). One moto, one fault proxy per fault; faults run side by side, the
 * commands of one fault one after another. Writes `## CLI under faults (issue 10)` in RESULTS.md.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { type FaultRule, startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, startEnv, stopEnv } from '../test/env/index.js';
import { machine, writeSection } from './lib/report.js';
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

interface Run {
  code: number | null;
  ms: number;
  progressLines: number;
}

function run(args: string[], env: Record<string, string>): Promise<Run> {
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

async function main(): Promise<void> {
  if (!existsSync(DIST)) throw new Error(`${DIST} is missing: run \`npm run build\` first`);
  let env: EnvState | undefined;
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-cli-'));
  try {
    env = await startEnv({
      components: ['aws'],
      log: (m) => process.stderr.write(`[bench:cli-faults] ${m}\n`),
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
          const out: Run[] = [];
          for (const [, args, extra, writesOnly] of commands) {
            proxy.configure({ rules: [writesOnly ? { ...rule, ops: ['PutParameter'] } : rule] });
            out.push(
              await run(['--endpoint', proxy.endpoint, ...args(`f${i}`)], { ...base, ...(extra ?? {}) }),
            );
            process.stderr.write(`[bench:cli-faults] ${name}: ${out.at(-1)!.ms.toFixed(0)} ms\n`);
          }
          return [name, out] as const;
        } finally {
          await proxy.stop();
        }
      }),
    );
    const secs = (x: number) => `${(x / 1000).toFixed(1)} s`;
    const header = `| fault | ${commands.map(([c]) => c).join(' | ')} |\n|---|${commands.map(() => '---').join('|')}|`;
    const rows = results.map(
      ([name, out]) => `| ${name} | ${out.map((r) => `${secs(r.ms)} → exit ${r.code}`).join(' | ')} |`,
    );
    const progress = results.map(
      ([name, out]) => `${name}: ${out.map((r, i) => `${commands[i]![0]} ${r.progressLines}`).join(', ')}`,
    );
    const m = machine();
    const body = `Time from start to exit of the \`strata\` CLI (the launcher, a fresh Node process: ~0.5–1 s of
it is start-up) with the **default deadline** (\`--timeout 30\`), moto behind the fault proxy, one
fault per row on every call (last column: only PutParameter faulted, the reads before it succeed).
\`bench/cli-faults.ts\`, ${m.nproc} cores (${m.cpu}), Node ${m.node}, ${new Date().toISOString().slice(0, 10)}; the seven faults
run side by side.

${header}
${rows.join('\n')}

Exit codes: 3 access denied, 4 unavailable/throttled/deadline (see the loader README). Before
issue 10 (the issue's measurements): a black hole kept \`load\` silent ~50 s, 7 s per call gave
52 s, and \`put\` into a black hole was still hanging after 100 s; \`put\` exited 1 on AccessDenied
and on a 500. Against the 30 s deadline every run now ends by ~31 s; throttling, 500, HTML 503 and
resets end earlier when the retry budget runs out first.

Progress lines on stderr ("waiting for …", "… retry N of 8 …") per command: ${progress.join('; ')}.
`;
    const file = process.env.BENCH_NO_WRITE
      ? undefined
      : writeSection(here, 'CLI under faults (issue 10)', body);
    process.stdout.write(body);
    if (file) process.stderr.write(`[bench:cli-faults] wrote ${file}\n`);
  } finally {
    rmSync(dir, { recursive: true, force: true });
    if (env) await stopEnv(env);
  }
}

await main();
