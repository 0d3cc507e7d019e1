import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import * as aws from '@strata/test-env/aws';
import { resetMoto } from '@strata/test-env/moto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig, watchConfig } from '../src/index.js';

const BIN = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));
let dir: string;

interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Collects a child's output and how it ended. */
function collect(child: ChildProcess): Promise<Run> {
  return new Promise((resolve) => {
    let stdout = '';
    let stderr = '';
    child.stdout!.on('data', (d) => {
      stdout += d;
    });
    child.stderr!.on('data', (d) => {
      stderr += d;
    });
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
  });
}

function strata(
  args: string[],
  opts: { env?: Record<string, string>; onSpawn?: (c: ChildProcess) => void } = {},
): Promise<Run> {
  const child = spawn(
    process.execPath,
    [BIN, '--endpoint', aws.motoEndpoint(), '--region', 'us-east-1', ...args],
    {
      env: { ...process.env, ...opts.env },
    },
  );
  opts.onSpawn?.(child);
  return collect(child);
}

const SECRET = 'pw-Very-Secret-42';

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: run \`npm run build\` first (npm test does)`);
  await resetMoto(aws.motoEndpoint());
  dir = mkdtempSync(join(tmpdir(), 'strata-loader-'));
  const ssm = aws.ssm();
  const put = (Name: string, Value: string, Type: 'String' | 'SecureString' = 'String') =>
    ssm.send(new PutParameterCommand({ Name, Value, Type, Overwrite: true }));
  await put('/shop/log-level', 'info');
  await put('/shop/dev/log-level', 'debug');
  await put('/shop/dev/db/password', SECRET, 'SecureString');
  await put('/shop/dev/db/url', 'postgres://app:<<resolve:ssm:/shop/dev/db/password>>@db/app');
  await put('/shop/prod/db/password', 'PROD-ONLY', 'SecureString');
  await aws
    .secrets()
    .send(new CreateSecretCommand({ Name: 'shop/api', SecretString: JSON.stringify({ token: 'tok-abc' }) }));
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const resolverOpts = () => ({
  aws: {
    endpoint: aws.motoEndpoint(),
    region: 'us-east-1',
    credentials: { accessKeyId: 't', secretAccessKey: 't' },
  },
});

describe('typed load against SSM and Secrets Manager (moto)', () => {
  it('loads, validates, masks', async () => {
    const cfg = await loadConfig({
      schema: z.object({
        logLevel: z.string(),
        db: z.object({ url: z.string(), password: z.string() }),
        token: z.string(),
      }),
      hierarchy: { levels: ['/shop', '/shop/dev'] },
      references: { token: '<<resolve:secretsmanager:shop/api:SecretString:token>>' },
      resolver: resolverOpts(),
    });
    expect(cfg.db.url).toBe(`postgres://app:${SECRET}@db/app`);
    expect(cfg.token).toBe('tok-abc');
    expect(JSON.stringify(cfg)).not.toContain(SECRET);
  });

  it('hot reload picks up a changed parameter and rejects an invalid one', async () => {
    const errors: string[] = [];
    const h = await watchConfig({
      schema: z.object({ logLevel: z.enum(['debug', 'info', 'warn']) }),
      hierarchy: { levels: ['/shop', '/shop/dev'] },
      resolver: resolverOpts(),
      onError: (e) => errors.push(e.code),
    });
    expect(h.current.logLevel).toBe('debug');
    await aws.ssm().send(
      new PutParameterCommand({
        Name: '/shop/dev/log-level',
        Value: 'warn',
        Type: 'String',
        Overwrite: true,
      }),
    );
    expect((await h.refresh())?.changed).toEqual(['logLevel']);
    expect(h.current.logLevel).toBe('warn');
    await aws.ssm().send(
      new PutParameterCommand({
        Name: '/shop/dev/log-level',
        Value: 'LOUD',
        Type: 'String',
        Overwrite: true,
      }),
    );
    await expect(h.refresh()).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    expect(h.current.logLevel).toBe('warn');
    h.close();
    await aws.ssm().send(
      new PutParameterCommand({
        Name: '/shop/dev/log-level',
        Value: 'debug',
        Type: 'String',
        Overwrite: true,
      }),
    );
  });
});

describe('strata CLI against moto', () => {
  it('load masks secrets unless --reveal, and never shows prod', async () => {
    const masked = await strata(['load', '--level', '/shop', '--level', '/shop/dev']);
    expect(masked.code).toBe(0);
    expect(masked.stdout).toContain('db.password = ******');
    expect(masked.stdout + masked.stderr).not.toContain(SECRET);
    expect(masked.stdout).not.toContain('PROD-ONLY');
    const json = await strata(['--json', 'load', '--level', '/shop', '--level', '/shop/dev', '--reveal']);
    expect(JSON.parse(json.stdout).db.password).toBe(SECRET);
  });

  it('explain names level, parameter, version and what it overrides', async () => {
    const r = await strata([
      '--json',
      'explain',
      'log-level',
      '--hierarchy',
      '/{app}/{env}',
      '--var',
      'app=shop',
      '--var',
      'env=dev',
    ]);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.origin).toMatchObject({ parameter: '/shop/dev/log-level', level: 1 });
    expect(out.origin.overrides[0].parameter).toBe('/shop/log-level');
  });

  it('get and resolve', async () => {
    expect((await strata(['get', '/shop/dev/log-level'])).stdout).toBe('debug\n');
    const r = await strata(['resolve', 'token=<<resolve:secretsmanager:shop/api:SecretString:token>>']);
    expect(r.stdout).toBe('token=tok-abc\n');
  });

  it('exec passes the resolved env and the exit code', async () => {
    const r = await strata(
      ['exec', '--', process.execPath, '-e', 'console.log(process.env.DB_PASS); process.exit(7)'],
      {
        env: { DB_PASS: '<<resolve:ssm:/shop/dev/db/password>>' },
      },
    );
    expect(r.stdout).toBe(`${SECRET}\n`);
    expect(r.code).toBe(7);
    expect(r.stderr).toContain('resolved 1 variable: DB_PASS');
    expect(r.stderr).not.toContain(SECRET);
  });

  it('the preload entry resolves env references before the app starts', async () => {
    const register = fileURLToPath(new URL('../dist/register.js', import.meta.url));
    const out = await collect(
      spawn(process.execPath, ['--import', register, '-e', 'console.log(process.env.DB_PASS)'], {
        env: {
          ...process.env,
          AWS_ENDPOINT_URL: aws.motoEndpoint(),
          DB_PASS: '<<resolve:ssm:/shop/dev/db/password>>',
        },
      }),
    );
    expect(out.stdout).toBe(`${SECRET}\n`);
    expect(out.code).toBe(0);
  });

  it('exec forwards SIGTERM to the child', async () => {
    const script =
      "process.on('SIGTERM', () => { console.log('child got SIGTERM'); process.exit(143); }); console.log('ready'); setInterval(() => {}, 1000);";
    const r = await strata(['exec', '--', process.execPath, '-e', script], {
      onSpawn: (c) =>
        c.stdout!.on('data', (d: Buffer) => {
          if (d.toString().includes('ready')) c.kill('SIGTERM');
        }),
    });
    expect(r.stdout).toContain('child got SIGTERM');
    expect(r.code).toBe(143);
  });

  it('exec reads a real buildspec.yml with both maps', async () => {
    const bs = join(dir, 'buildspec.yml');
    writeFileSync(
      bs,
      `version: 0.2
env:
  variables:
    STAGE: dev
  parameter-store:
    LOG_LEVEL: /shop/dev/log-level
  secrets-manager:
    API_TOKEN: shop/api:token
phases:
  build:
    commands:
      - echo build
`,
    );
    const r = await strata([
      'exec',
      '--buildspec',
      bs,
      '--',
      process.execPath,
      '-e',
      'console.log([process.env.STAGE, process.env.LOG_LEVEL, process.env.API_TOKEN].join(","))',
    ]);
    expect(r.code).toBe(0);
    expect(r.stdout).toBe('dev,debug,tok-abc\n');
  });

  it('bad input: one clear error, documented exit code, and no child is started', async () => {
    const marker = join(dir, 'child-ran');
    const child = [
      '--',
      process.execPath,
      '-e',
      `require('fs').writeFileSync(${JSON.stringify(marker)}, 'x')`,
    ];
    const missing = await strata(['exec', '--buildspec', join(dir, 'nope.yml'), ...child]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toContain('nope.yml');
    const bad = await strata(['exec', ...child], {
      env: { A: '<<resolve:ssm:/shop/dev/nope>>', B: '<<resolve:s3:x>>' },
    });
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/A .*\/shop\/dev\/nope/);
    // the unknown type is not echoed (it did not pass validation; issue 9)
    expect(bad.stderr).toMatch(/B .*unknown reference type/);
    expect(bad.stderr).not.toContain('s3');
    expect(existsSync(marker)).toBe(false);
    const notFound = await strata(['exec', '--', 'definitely-not-a-command-xyz']);
    expect(notFound.code).toBe(127);
    const unfilled = await strata(['load', '--hierarchy', '/{app}/{env}', '--var', 'app=shop']);
    expect(unfilled.code).toBe(2);
    expect(unfilled.stderr).toContain('env');
  });

  it('put then load round-trips a tree; secrets become SecureString; big values go Advanced; >8 KB is refused', async () => {
    const file = join(dir, 'tree.yaml');
    writeFileSync(
      file,
      `log-level: info
db:
  host: db.internal
  password: { value: "put-secret-9", type: SecureString }
big: "${'x'.repeat(5000)}"
`,
    );
    const dry = await strata(['put', '--from', file, '--path', '/rt/app', '--dry-run']);
    expect(dry.code).toBe(0);
    expect(dry.stdout).toContain('+ /rt/app/db/password SecureString = ******');
    expect(dry.stdout).toContain('+ /rt/app/big String (Advanced tier)');
    expect(dry.stdout).not.toContain('put-secret-9');
    const put = await strata(['put', '--from', file, '--path', '/rt/app']);
    expect(put.code).toBe(0);
    expect(put.stdout).toContain('wrote 4 parameter(s)');
    const load = await strata(['--json', 'load', '--level', '/rt/app', '--reveal']);
    expect(JSON.parse(load.stdout)).toEqual({
      'log-level': 'info',
      db: { host: 'db.internal', password: 'put-secret-9' },
      big: 'x'.repeat(5000),
    });
    const again = await strata(['diff', '--from', file, '--path', '/rt/app']);
    expect(again.stderr).toContain('0 to create, 0 to update, 4 unchanged');
    writeFileSync(file, `huge: "${'y'.repeat(9000)}"\n`);
    const huge = await strata(['put', '--from', file, '--path', '/rt/app']);
    expect(huge.code).toBe(5);
    expect(huge.stderr).toContain('/rt/app/huge (9000 bytes)');
  });

  it('iam-policy prints valid IAM JSON naming exactly what is read', async () => {
    const r = await strata([
      'iam-policy',
      '--hierarchy',
      '/{app}/{env}',
      '--var',
      'app=shop',
      '--var',
      'env=dev',
      '--account',
      '111122223333',
      '--ref',
      '<<resolve:secretsmanager:shop/api:SecretString:token>>',
    ]);
    expect(r.code).toBe(0);
    const policy = JSON.parse(r.stdout);
    expect(policy.Version).toBe('2012-10-17');
    const resources = policy.Statement.flatMap((s: { Resource: string | string[] }) => [s.Resource].flat());
    expect(resources).toEqual(
      expect.arrayContaining([
        'arn:aws:ssm:us-east-1:111122223333:parameter/shop',
        'arn:aws:ssm:us-east-1:111122223333:parameter/shop/dev',
        'arn:aws:ssm:us-east-1:111122223333:parameter/shop/dev/*',
        'arn:aws:secretsmanager:us-east-1:111122223333:secret:shop/api-??????',
      ]),
    );
    expect(resources).not.toContain('arn:aws:ssm:us-east-1:111122223333:parameter/shop/*');
  });
});
