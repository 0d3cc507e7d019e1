/**
 * The canary suite, integration tier: the `strata` CLI and the loader's public API against moto
 * (through the fault proxy for denied access and outages). A canary is seeded in every kind of
 * secret source — SecureString, Secrets Manager string, JSON key and binary, KMS raw and envelope
 * ciphertexts, the local provider's secrets, env references and a sealed file — and every command
 * runs on its happy path and on the error paths malformed values, denials, outages and invalid
 * YAML provoke, in human and `--json` output. No 8-character piece of a canary may appear on
 * stderr, nor on stdout unless the command was asked to print values (`get`, `resolve`,
 * `decrypt`, `unseal`, `load --reveal`).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { createKmsCrypto, createResolver } from '@strata/core';
import * as aws from '@strata/test-env/aws';
import { canary, leaks } from '@strata/test-env/canary';
import { type FaultConfig, type FaultProxy, startFaultProxy } from '@strata/test-env/fault-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { loadConfig } from '../src/index.js';

const BIN = fileURLToPath(new URL('../dist/cli/bin.js', import.meta.url));
const REGISTER = fileURLToPath(new URL('../dist/register.js', import.meta.url));
const R = `cn${Date.now().toString(36)}`;
const C = canary();
let dir: string;
let proxy: FaultProxy;
let keyId: string;
let rawCt: string;
let envCt: string;
let goodRawCt: string;

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

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
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function strata(
  args: string[],
  opts: { env?: Record<string, string>; endpoint?: string } = {},
): Promise<Run> {
  const child = spawn(
    process.execPath,
    [BIN, '--endpoint', opts.endpoint ?? aws.motoEndpoint(), '--region', 'us-east-1', ...args],
    { env: { ...process.env, ...opts.env } },
  );
  return collect(child);
}

const file = (name: string, text: string) => {
  const p = join(dir, name);
  writeFileSync(p, text);
  return p;
};

beforeAll(async () => {
  if (!existsSync(BIN)) throw new Error(`${BIN} missing: run \`npm run build\` first (npm test does)`);
  dir = mkdtempSync(join(tmpdir(), 'strata-canary-int-'));
  const bad = `x<<resolve:ssm:/a:${C}`;
  const ssm = aws.ssm();
  const put = (Name: string, Value: string, Type: 'String' | 'SecureString' = 'String') =>
    ssm.send(new PutParameterCommand({ Name, Value, Type, Overwrite: true }));
  await put(`/${R}/acme/shop/dev/db/password`, C, 'SecureString');
  await put(
    `/${R}/acme/shop/dev/db/url`,
    `postgres://u:<<resolve:ssm:/${R}/acme/shop/dev/db/password>>@h/db`,
  );
  await put(`/${R}/acme/shop/prod/db/password`, C, 'SecureString');
  await put(`/${R}/acme/shop/dev/banner`, `hi <<resolve:ssm:/${R}/acme/shop/prod/db/password>>`);
  await put(`/${R}/bad/secure`, bad, 'SecureString');
  const sm = aws.secrets();
  await sm.send(
    new CreateSecretCommand({ Name: `${R}/json`, SecretString: JSON.stringify({ password: C }) }),
  );
  await sm.send(new CreateSecretCommand({ Name: `${R}/bad-string`, SecretString: bad }));
  await sm.send(
    new CreateSecretCommand({ Name: `${R}/bad-json`, SecretString: JSON.stringify({ password: bad }) }),
  );
  await sm.send(new CreateSecretCommand({ Name: `${R}/bin`, SecretBinary: Buffer.from(`${C}${C}`) }));
  const kms = aws.kms();
  keyId = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  const enc = async (text: string, ctx?: Record<string, string>) =>
    Buffer.from(
      (
        await kms.send(
          new EncryptCommand({ KeyId: keyId, Plaintext: Buffer.from(text), EncryptionContext: ctx }),
        )
      ).CiphertextBlob!,
    ).toString('base64');
  rawCt = await enc(bad);
  goodRawCt = await enc(C, { app: 'shop' });
  const r = createResolver({
    aws: {
      endpoint: aws.motoEndpoint(),
      region: 'us-east-1',
      credentials: { accessKeyId: 't', secretAccessKey: 't' },
    },
  });
  envCt = (await createKmsCrypto({ backend: r.backend }).encrypt(bad, { keyId, mode: 'envelope' }))
    .ciphertext;
  r.close();
  proxy = await startFaultProxy(aws.motoEndpoint());
});
afterAll(async () => {
  await proxy?.stop();
  rmSync(dir, { recursive: true, force: true });
});

type Case = [
  what: string,
  args: () => string[],
  opts?: () => { env?: Record<string, string>; endpoint?: string },
];
const levels = () => [
  '--level',
  `/${R}/acme`,
  '--level',
  `/${R}/acme/shop`,
  '--level',
  `/${R}/acme/shop/dev`,
];

/** Commands that never print values: nothing may show the canary, on stdout or stderr. */
const quiet: Case[] = [
  ['load (masked)', () => ['load', `--level`, `/${R}/acme/shop/dev`]],
  ['explain a secret key', () => ['explain', 'db.password', '--level', `/${R}/acme/shop/dev`]],
  [
    'diff of a SecureString',
    () => [
      'diff',
      '--from',
      file('tree.yaml', `db:\n  password: { value: ${C}, type: SecureString }\n`),
      '--path',
      `/${R}/diff`,
    ],
  ],
  [
    'seal',
    () => [
      'seal',
      file('cfg.yaml', `db:\n  password: ${C}\nalias: &a ${C}\nx:\n  token: *a\n`),
      '--key',
      keyId,
    ],
  ],
  ['encrypt', () => ['encrypt', '--file', file('plain.txt', C), '--key', keyId]],
  [
    'exec with env references',
    () => [
      'exec',
      '--env-file',
      file('ok.env', `PW=<<resolve:ssm:/${R}/acme/shop/dev/db/password>>\n`),
      '--',
      process.execPath,
      '-e',
      '0',
    ],
  ],
  ['iam-policy', () => ['iam-policy', ...levels(), '--ref', `<<resolve:kms:${goodRawCt}:app=shop>>`]],
  // error paths
  ['a malformed reference inside a SecureString', () => ['resolve', `<<resolve:ssm:/${R}/bad/secure>>`]],
  ['inside a Secrets Manager string', () => ['resolve', `<<resolve:secretsmanager:${R}/bad-string>>`]],
  ['inside a JSON key', () => ['resolve', `<<resolve:secretsmanager:${R}/bad-json:SecretString:password>>`]],
  ['a JSON key of a binary secret', () => ['resolve', `<<resolve:secretsmanager:${R}/bin:SecretString:k>>`]],
  ['inside a KMS plaintext', () => ['resolve', `<<resolve:kms:${rawCt}>>`]],
  ['inside an envelope plaintext', () => ['resolve', `<<resolve:kms:${envCt}>>`]],
  ['a wrong encryption context', () => ['resolve', `<<resolve:kms:${goodRawCt}:app=other>>`]],
  ['a malformed SecureString in a hierarchy', () => ['load', '--level', `/${R}/bad`]],
  ['a dev value referencing prod', () => ['load', ...levels(), '--reveal']],
  [
    'literal text after an unterminated reference (resolve)',
    () => ['resolve', `postgres://u:<<resolve:ssm:/a@h/db?password=${C}`],
  ],
  [
    'literal text after an unterminated reference (exec)',
    () => ['exec', '--', process.execPath, '-e', '0'],
    () => ({ env: { DBURL: `<<resolve:ssm:/x:pw=${C}` } }),
  ],
  [
    'an env file with a malformed reference',
    () => [
      'exec',
      '--env-file',
      file('bad.env', `A=<<resolve:secretsmanager:x:SecretString:${C} y\n`),
      '--',
      'true',
    ],
  ],
  [
    'invalid YAML around a secret (seal)',
    () => ['seal', file('bad.yaml', `password: "${C}\n  x: [`), '--key', keyId],
  ],
  [
    'invalid YAML around a secret (buildspec)',
    () => ['exec', '--buildspec', file('bad-bs.yaml', `env:\n  variables:\n    A: !${C} [\n`), '--', 'true'],
  ],
  [
    'invalid YAML around a secret (put)',
    () => ['put', '--from', file('bad-put.yaml', `a: *${C}\n`), '--path', `/${R}/p`, '--dry-run'],
  ],
  [
    'a buildspec value that splices a reference',
    () => [
      'exec',
      '--buildspec',
      file('inj.yaml', `env:\n  parameter-store:\n    A: "/a>>${C}<<resolve:ssm:/b"\n`),
      '--',
      'true',
    ],
  ],
  [
    'the local provider: a malformed secret',
    () => [
      '--local',
      file('local.yaml', `secrets:\n  s: "<<resolve:ssm:/a ${C}"\n`),
      'resolve',
      '<<resolve:secretsmanager:s>>',
    ],
  ],
  [
    'the local provider: invalid YAML',
    () => ['--local', file('local-bad.yaml', `secrets: {s: "${C}\n`), 'load', '--level', '/a'],
  ],
  [
    'unseal with a broken sealed value',
    () => [
      'unseal',
      file('sealed-bad.yaml', `pw: "<<resolve:kms:${rawCt}:app=x>>"\nq: "${'<<resolve:kms:AAAA'}${C}"\n`),
    ],
  ],
  ['access denied', () => ['get', `/${R}/acme/shop/dev/db/password`], () => ({ endpoint: proxy.endpoint })],
  ['a name AWS refuses', () => ['get', `/${R}//${C}/..`]],
];

/** Commands asked to print values: the canary may be on stdout, never on stderr. */
const revealing: Case[] = [
  ['get', () => ['get', `/${R}/acme/shop/dev/db/password`]],
  ['resolve', () => ['resolve', `<<resolve:secretsmanager:${R}/json:SecretString:password>>`]],
  ['load --reveal', () => ['load', '--level', `/${R}/acme/shop/dev`, '--reveal']],
  ['decrypt', () => ['decrypt', '--file', file('ct.txt', `<<resolve:kms:${goodRawCt}:app=shop>>`)]],
];

/** The exit code each case must end with: the error path was really taken (see exit-codes.ts). */
const EXIT: Record<string, number> = {
  'a JSON key of a binary secret': 1,
  'a wrong encryption context': 1,
  'unseal with a broken sealed value': 1,
  'a dev value referencing prod': 3,
  'access denied': 3,
};
const HAPPY = [
  'load (masked)',
  'explain a secret key',
  'diff of a SecureString',
  'seal',
  'encrypt',
  'exec with env references',
  'iam-policy',
];
const expectedExit = (what: string) => EXIT[what] ?? (HAPPY.includes(what) ? 0 : 2);

describe('canary suite: the strata CLI', () => {
  for (const json of [false, true]) {
    for (const [what, args, opts] of quiet) {
      it(`${what}${json ? ' (--json)' : ''}: no canary in any output`, async () => {
        proxy.configure({ rules: [{ fault: 'deny', bodyIncludes: `/${R}/acme/shop/dev/db/password` }] });
        const run = await strata([...(json ? ['--json'] : []), ...args()], opts?.());
        expect(run.code, run.stderr).toBe(expectedExit(what));
        expect(leaks(run.stdout + run.stderr, [C]), `${run.stdout}\n${run.stderr}`).toEqual([]);
        expect(run.stderr).not.toMatch(/\n\s+at .*\(.*:\d+:\d+\)/); // never a stack trace
      });
    }
    for (const [what, args] of revealing) {
      it(`${what}${json ? ' (--json)' : ''}: the value on stdout only`, async () => {
        const run = await strata([...(json ? ['--json'] : []), ...args()]);
        expect(run.code).toBe(0);
        expect(leaks(run.stdout, [C])).not.toEqual([]);
        expect(leaks(run.stderr, [C])).toEqual([]);
      });
    }
  }

  it('the preload fails with one error and never the value', async () => {
    const child = spawn(process.execPath, ['--import', REGISTER, '-e', '0'], {
      env: {
        ...process.env,
        STRATA_LOCAL: file('pre.yaml', `secrets:\n  s: "<<resolve:ssm:/a:${C}"\n`),
        A: '<<resolve:secretsmanager:s>>',
        B: `<<resolve:ssm:/b pw=${C}`,
      },
    });
    const run = await collect(child);
    expect(run.code).toBe(78);
    expect(leaks(run.stdout + run.stderr, [C])).toEqual([]);
  });
});

describe('canary suite: the loader API against AWS faults', () => {
  const opts = (extra: Record<string, unknown> = {}) => ({
    aws: {
      endpoint: proxy.endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 't', secretAccessKey: 't' },
      retry: { retries: 1, baseMs: 1, capMs: 2 },
      timeoutMs: 200,
      ...extra,
    },
  });
  const schema = z.object({ db: z.object({ password: z.string(), url: z.string() }) });
  const hierarchy = { levels: [`/${R}/acme/shop/dev`] };

  for (const [what, config] of [
    ['5xx', { rules: [{ fault: 'error5xx', status: 503 }] }],
    ['throttling', { rules: [{ fault: 'throttle' }] }],
    ['timeouts', { rules: [{ fault: 'latency', latencyMs: 1000 }] }],
    ['resets', { rules: [{ fault: 'reset' }] }],
    ['access denied', { rules: [{ fault: 'deny' }] }],
  ] as Array<[string, FaultConfig]>) {
    it(`${what}: the error names sources, never values`, async () => {
      proxy.reset();
      proxy.configure(config);
      let err: unknown;
      try {
        await loadConfig({
          schema,
          hierarchy,
          references: { x: `<<resolve:kms:${goodRawCt}:app=shop>>` },
          resolver: opts(),
        });
      } catch (e) {
        err = e;
      }
      proxy.reset();
      expect(err).toBeDefined();
      expect(leaks(`${(err as Error).message}${JSON.stringify(err)}`, [C])).toEqual([]);
    });
  }
});
