/**
 * The CLI under faults and bad input, run as users run it (the `strata` launcher, a child
 * process), against moto behind the fault proxy. Time bounds are generous multiples of the
 * configured deadline (`--timeout`), never tight timings.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GetParameterCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import type { StrataError } from '@strata/core';
import * as aws from '@strata/test-env/aws';
import { type FaultProxy, type FaultRule, startFaultProxy } from '@strata/test-env/fault-proxy';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { watchConfig } from '../src/index.js';

const STRATA = fileURLToPath(new URL('../bin/strata.js', import.meta.url));
const DIST = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));
const SECRET = 'cf-Very-Secret-77';
let dir: string;
let p: FaultProxy;

interface Result {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  ms: number;
}

function collect(child: ChildProcess, t0: number): Promise<Result> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr, ms: Date.now() - t0 }));
  });
}

/** Runs the `strata` launcher (as `npx strata` / a PATH install does). */
function strata(
  args: string[],
  opts: { endpoint?: string; env?: Record<string, string>; stdin?: string } = {},
): Promise<Result> {
  const t0 = Date.now();
  const child = spawn(STRATA, ['--endpoint', opts.endpoint ?? p.endpoint, '--region', 'us-east-1', ...args], {
    env: { ...process.env, ...opts.env },
  });
  child.stdin!.end(opts.stdin ?? '');
  return collect(child, t0);
}

async function parameter(name: string): Promise<string | undefined> {
  try {
    return (await aws.ssm().send(new GetParameterCommand({ Name: name, WithDecryption: true }))).Parameter
      ?.Value;
  } catch {
    return undefined;
  }
}

beforeAll(async () => {
  if (!existsSync(DIST)) throw new Error(`${DIST} missing: run \`npm run build\` first (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), 'strata-cli-faults-'));
  const ssm = aws.ssm();
  const put = (Name: string, Value: string, Type: 'String' | 'SecureString' = 'String') =>
    ssm.send(new PutParameterCommand({ Name, Value, Type, Overwrite: true }));
  await put('/cf/app/log-level', 'info');
  await put('/cf/app/dev/log-level', 'debug');
  await put('/cf/app/dev/db/password', SECRET, 'SecureString');
  p = await startFaultProxy(aws.motoEndpoint());
});
afterAll(async () => {
  await p.stop();
  rmSync(dir, { recursive: true, force: true });
});
beforeEach(() => p.reset());

describe('put writes where the user said, through the backend', () => {
  it('--local FILE put changes the file and never calls AWS', async () => {
    const tree = join(dir, 'local.yaml');
    writeFileSync(tree, '# local\nparameters:\n  /loc/app/level: info\n');
    const from = join(dir, 'from.yaml');
    writeFileSync(from, `level: debug\npassword: { value: "${SECRET}", type: SecureString }\n`);
    const r = await strata(['--local', tree, 'put', '--from', from, '--path', '/loc/app'], {
      env: { AWS_ENDPOINT_URL: p.endpoint },
    });
    expect(r.stderr).toBe(
      'strata: writing 2 parameter(s) to the local tree ' +
        tree +
        '\nstrata: put 1/2 (/loc/app/level)\nstrata: put 2/2 (/loc/app/password)\n',
    );
    expect(r.code).toBe(0);
    expect(p.counts().total).toBe(0);
    expect(await parameter('/loc/app/level')).toBeUndefined();
    const text = readFileSync(tree, 'utf8');
    expect(text).toContain('# local');
    expect(text).toContain('/loc/app/level: debug');
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
    const back = await strata(['--local', tree, '--json', 'load', '--level', '/loc/app', '--reveal']);
    expect(JSON.parse(back.stdout)).toEqual({ level: 'debug', password: SECRET });
  });

  it('AccessDenied on PutParameter exits 3, names the parameter, writes nothing', async () => {
    p.configure({ rules: [{ fault: 'deny', ops: ['PutParameter'] }] });
    const from = join(dir, 'deny.yaml');
    writeFileSync(from, 'a: 1\nb: 2\n');
    const r = await strata(['put', '--from', from, '--path', '/cf/deny']);
    expect(r.code).toBe(3);
    expect(r.stderr).toContain('AccessDeniedException');
    expect(r.stderr).toMatch(/\/cf\/deny\/a/);
    expect(r.stderr).toContain('wrote 0 of 2 parameter(s); 2 not written');
    expect(p.counts().calls['ssm:PutParameter']).toBe(1);
    expect(await parameter('/cf/deny/a')).toBeUndefined();
  });

  it('a 500 on every PutParameter exits 4 after Strata retries (not 1 after 3 SDK attempts)', async () => {
    p.configure({ rules: [{ fault: 'error5xx', ops: ['PutParameter'] }] });
    const from = join(dir, 'e500.yaml');
    writeFileSync(from, 'a: 1\n');
    const r = await strata(['--timeout', '3', 'put', '--from', from, '--path', '/cf/e500']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('InternalServerError');
    expect(p.counts().calls['ssm:PutParameter']).toBeGreaterThan(3);
    expect(r.ms).toBeLessThan(3_000 + 10_000);
  });

  it('a black-holed PutParameter exits 4 by --timeout, says what it waits for, leaves no half line', async () => {
    p.configure({ rules: [{ fault: 'blackhole', ops: ['PutParameter'] }] });
    const from = join(dir, 'hole.yaml');
    writeFileSync(from, 'a: 1\n');
    const r = await strata(['--timeout', '4', 'put', '--from', from, '--path', '/cf/hole']);
    expect(r.code).toBe(4);
    expect(r.ms).toBeLessThan(4_000 + 10_000);
    expect(r.stderr).toMatch(/strata: waiting for SSM \(PutParameter \/cf\/hole\/a; \d+\.\d s so far\)/);
    expect(r.stderr).not.toContain('\r');
    expect(r.stderr.endsWith('\n')).toBe(true);
    expect(await parameter('/cf/hole/a')).toBeUndefined();
  });

  it('progress on a pipe is plain lines; put - reads the tree from stdin', async () => {
    const path = `/cf/stdin/run${Date.now()}`;
    const r = await strata(['put', '--from', '-', '--path', path], { stdin: 'x: 1\ny: 2\nz: 3\n' });
    expect(r.code).toBe(0);
    expect(r.stderr).not.toContain('\r');
    for (const line of r.stderr.split('\n').filter(Boolean)) expect(line).toMatch(/^strata: /);
    expect(r.stderr).toContain(`strata: put 3/3 (${path}/z)`);
    expect(await parameter(`${path}/y`)).toBe('2');
  });
});

describe('bounded and honest under faults', () => {
  it('a black-holed AWS: load exits 4 by --timeout and says what it is waiting for', async () => {
    p.configure({ rules: [{ fault: 'blackhole' }] });
    const r = await strata(['--timeout', '3', 'load', '--level', '/cf/app', '--level', '/cf/app/dev']);
    expect(r.code).toBe(4);
    expect(r.ms).toBeLessThan(3_000 + 10_000);
    expect(r.stderr).toContain('strata: waiting for SSM (GetParametersByPath /cf/app');
    expect(r.stdout).toBe('');
  });

  it('throttling: stderr says "SSM throttled, retry N of 8" once waiting passes ~2 s', async () => {
    p.configure({ rules: [{ fault: 'throttle' }] });
    const r = await strata(['--timeout', '8', 'get', '/cf/app/log-level']);
    expect(r.code).toBe(4);
    expect(r.stderr).toMatch(
      /strata: SSM throttled, retry \d of 8 in \d+\.\d s \(GetParameters \/cf\/app\/log-level; \d+\.\d s so far\)/,
    );
  });

  it('a malformed 200 (Name: null) is a coded error and exit 4, not "Cannot read properties"', async () => {
    p.configure({
      rules: [
        {
          fault: 'respond',
          body: JSON.stringify({ Parameters: [{ Name: null, Value: 'x', Type: 'String' }] }),
        },
      ],
    });
    const r = await strata(['load', '--level', '/cf/app']);
    expect(r.code).toBe(4);
    expect(r.stderr).toContain('BAD_RESPONSE');
    expect(r.stderr).toContain('Parameters[0].Name is missing');
    expect(r.stderr).not.toMatch(/Cannot read properties|unexpected error/);
    const json = await strata(['--json', 'load', '--level', '/cf/app']);
    expect(JSON.parse(json.stderr.trim().split('\n').pop()!)).toMatchObject({ code: 'LOAD_FAILED' });
  });

  it('--timeout must be a positive number of seconds', async () => {
    const r = await strata(['--timeout', 'soon', 'get', '/cf/app/log-level']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain('--timeout soon');
  });
});

describe('exec', () => {
  const script = (body: string) => ['exec', '--', process.execPath, '-e', body];

  it('a child killed by any signal gives 128+N (SIGSEGV 139, SIGUSR1 138, SIGKILL 137)', async () => {
    for (const [sig, code] of [
      ['SIGSEGV', 139],
      ['SIGUSR1', 138],
      ['SIGKILL', 137],
    ] as const) {
      // a shell child: Node itself would start its inspector on SIGUSR1 instead of dying
      const r = await strata(['exec', '--', 'sh', '-c', `kill -${sig.slice(3)} $$`], {
        endpoint: aws.motoEndpoint(),
      });
      expect(r.code, sig).toBe(code);
    }
  });

  it('126 for a file that cannot be run (bad interpreter, binary data, no x bit); 127 when not found', async () => {
    const badInterp = join(dir, 'bad-interp');
    writeFileSync(badInterp, '#!/nonexistent/interpreter\necho hi\n');
    chmodSync(badInterp, 0o755);
    const binary = join(dir, 'binary');
    writeFileSync(binary, Buffer.from([0x00, 0x01, 0x02, 0x7f, 0x00, 0x10, 0x20]));
    chmodSync(binary, 0o755);
    const noX = join(dir, 'no-x');
    writeFileSync(noX, '#!/bin/sh\necho hi\n');
    for (const f of [badInterp, binary, noX]) {
      const r = await strata(['exec', '--', f], { endpoint: aws.motoEndpoint() });
      expect(r.code, f).toBe(126);
      expect(r.stderr).toContain(`cannot run '${f}'`);
    }
    const missing = await strata(['exec', '--', 'no-such-command-xyz'], { endpoint: aws.motoEndpoint() });
    expect(missing.code).toBe(127);
    expect(missing.stderr).toContain('command not found');
  });

  it('--env-file reaches Strata (Node 20 does not take it): a missing file is exit 2 naming it', async () => {
    const r = await strata(['exec', '--env-file', '/nonexistent/app.env', '--', 'true'], {
      endpoint: aws.motoEndpoint(),
    });
    expect(r.code).toBe(2);
    expect(r.stderr).toBe('strata: env file /nonexistent/app.env: not found\n');
  });

  it('--env-file: node --env-file syntax, references resolved, comments dropped; - reads stdin', async () => {
    const envFile = join(dir, 'app.env');
    writeFileSync(envFile, 'LEVEL=<<resolve:ssm:/cf/app/dev/log-level>> # from SSM\nQUOTED="a # b"\n');
    const print = script('console.log(JSON.stringify([process.env.LEVEL, process.env.QUOTED]))');
    const r = await strata(['exec', '--env-file', envFile, ...print.slice(1)], {
      endpoint: aws.motoEndpoint(),
    });
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual(['debug', 'a # b']);
    const viaStdin = await strata(['exec', '--env-file', '-', ...print.slice(1)], {
      endpoint: aws.motoEndpoint(),
      stdin: 'LEVEL=<<resolve:ssm:/cf/app/log-level>>\nQUOTED=q\n',
    });
    expect(JSON.parse(viaStdin.stdout)).toEqual(['info', 'q']);
  });
});

describe('small things users expect', () => {
  it('--version prints the package version', async () => {
    const r = await strata(['--version']);
    const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
      version: string;
    };
    expect(r.code).toBe(0);
    expect(r.stdout).toBe(`${pkg.version}\n`);
  });

  it('resolve - and resolve --file - read stdin', async () => {
    const a = await strata(['resolve', '-'], {
      endpoint: aws.motoEndpoint(),
      stdin: 'level=<<resolve:ssm:/cf/app/dev/log-level>>\n',
    });
    expect(a.stdout).toBe('level=debug\n');
    const b = await strata(['resolve', '--file', '-'], { endpoint: aws.motoEndpoint(), stdin: 'x' });
    expect(b.stdout).toBe('x');
  });

  it('iam-policy --file MISSING exits 2 naming the file', async () => {
    const r = await strata(['iam-policy', '--level', '/cf/app', '--file', join(dir, 'missing.tpl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toBe(`strata: --file ${join(dir, 'missing.tpl')}: not found\n`);
  });
});

/**
 * The fault matrix: every command through every fault the proxy makes, with `--timeout 3`.
 * Exit codes: deny 3, everything else 4 (after retries, or at the deadline). Nothing is written
 * (put) or started (exec) when the AWS work fails, and stdout stays empty.
 */
const TIMEOUT_S = 3;
const FAULTS: Record<string, FaultRule> = {
  throttle: { fault: 'throttle' },
  '500': { fault: 'error5xx', status: 500 },
  'HTML 503': { fault: 'html', status: 503 },
  reset: { fault: 'reset' },
  deny: { fault: 'deny' },
  'black hole': { fault: 'blackhole' },
  'slow (7 s a call)': { fault: 'latency', latencyMs: 7_000 },
};

describe('fault matrix (CLI)', () => {
  const proxies = new Map<string, FaultProxy>();
  beforeAll(async () => {
    for (const [name, rule] of Object.entries(FAULTS)) {
      const fp = await startFaultProxy(aws.motoEndpoint());
      fp.configure({ rules: [rule] });
      proxies.set(name, fp);
    }
  });
  afterAll(async () => {
    for (const fp of proxies.values()) await fp.stop();
  });

  it.concurrent.each(Object.keys(FAULTS))('%s', { timeout: 180_000 }, async (name) => {
    const endpoint = proxies.get(name)!.endpoint;
    const want = name === 'deny' ? 3 : 4;
    const bound = TIMEOUT_S * 1000 + 15_000; // generous: node start-up, a loaded machine
    const t = ['--timeout', String(TIMEOUT_S)];
    const slug = name.replace(/\W+/g, '-');

    const load = await strata([...t, 'load', '--level', '/cf/app', '--level', '/cf/app/dev'], { endpoint });
    expect([load.code, load.stdout], `load: ${load.stderr}`).toEqual([want, '']);
    expect(load.ms).toBeLessThan(bound);
    expect(load.stderr).not.toContain(SECRET);

    const resolve = await strata([...t, 'resolve', 'x=<<resolve:ssm:/cf/app/dev/db/password>>'], {
      endpoint,
    });
    expect([resolve.code, resolve.stdout], `resolve: ${resolve.stderr}`).toEqual([want, '']);
    expect(resolve.ms).toBeLessThan(bound);

    const marker = join(dir, `started-${slug}`);
    const exec = await strata(
      [
        ...t,
        'exec',
        '--',
        process.execPath,
        '-e',
        `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`,
      ],
      { endpoint, env: { DB_PASS: '<<resolve:ssm:/cf/app/dev/db/password>>' } },
    );
    expect(exec.code, `exec: ${exec.stderr}`).toBe(want);
    expect(exec.ms).toBeLessThan(bound);
    expect(existsSync(marker)).toBe(false);

    const from = join(dir, `put-${slug}.yaml`);
    writeFileSync(from, 'k: v\n');
    const put = await strata([...t, 'put', '--from', from, '--path', `/cf/matrix/${slug}`], { endpoint });
    expect(put.code, `put: ${put.stderr}`).toBe(want);
    expect(put.ms).toBeLessThan(bound);
    expect(put.stderr.endsWith('\n')).toBe(true);
    expect(await parameter(`/cf/matrix/${slug}/k`)).toBeUndefined();
  });
});

describe('fault matrix (watchConfig)', () => {
  it.concurrent.each(Object.keys(FAULTS))('%s', { timeout: 120_000 }, async (name) => {
    const fp = await startFaultProxy(aws.motoEndpoint());
    try {
      const errors: Array<{ code: string; attempt: number }> = [];
      const opts = {
        schema: z.object({ logLevel: z.string() }),
        hierarchy: { levels: ['/cf/app', '/cf/app/dev'] },
        resolver: {
          aws: {
            endpoint: fp.endpoint,
            region: 'us-east-1',
            credentials: { accessKeyId: 't', secretAccessKey: 't' },
            deadlineMs: TIMEOUT_S * 1000,
          },
        },
        onError: (e: StrataError, info: { attempt: number }) =>
          errors.push({ code: e.code, attempt: info.attempt }),
      };
      const h = await watchConfig(opts);
      expect(h.current.logLevel).toBe('debug');
      fp.configure({ rules: [FAULTS[name]!] });
      const t0 = Date.now();
      const err = (await h.refresh().catch((e: unknown) => e)) as StrataError;
      expect(Date.now() - t0).toBeLessThan(TIMEOUT_S * 1000 + 10_000);
      const want = name === 'deny' ? 'ACCESS_DENIED' : /^(THROTTLED|UNAVAILABLE)$/;
      expect(err.issues[0]!.code).toMatch(want);
      expect(h.current.logLevel).toBe('debug'); // the old config stays
      expect(errors).toEqual([{ code: 'LOAD_FAILED', attempt: 1 }]);
      h.close();
      // a first load under the fault fails the same way, within the same bound
      const t1 = Date.now();
      const first = (await watchConfig(opts).catch((e: unknown) => e)) as StrataError;
      expect(Date.now() - t1).toBeLessThan(TIMEOUT_S * 1000 + 10_000);
      expect(first.issues[0]!.code).toMatch(want);
    } finally {
      await fp.stop();
    }
  });
});
