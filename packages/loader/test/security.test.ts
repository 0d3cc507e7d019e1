/** Issue 9 regressions in the loader that need no server (local backend, pure functions, a temp dir). */
import {
  chmodSync,
  existsSync,
  lstatSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createKmsCrypto,
  LocalBackend,
  parseLocalTree,
  parseTemplate,
  Resolver,
  type StrataError,
} from '@strata/core';
import { afterAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEnvFile } from '../src/buildspec.js';
import { writePrivateFile } from '../src/cli/private-file.js';
import {
  envBlockToReferences,
  loadConfig,
  loadConfigDetailed,
  parseBuildspecEnv,
  watchConfig,
} from '../src/index.js';
import { maskedCopy } from '../src/mask.js';
import { readSealedFile, sealText } from '../src/seal.js';

const dir = mkdtempSync(join(tmpdir(), 'strata-sec-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const CANARY = 'CANARY-loader-7d1e5a';

async function failure(p: Promise<unknown>): Promise<StrataError> {
  try {
    await p;
  } catch (e) {
    return e as StrataError;
  }
  throw new Error('expected a failure');
}

describe('prototype pollution from parameter names and keys', () => {
  const tree = (extra: Record<string, unknown>) =>
    parseLocalTree({
      parameters: { '/acme/shop/dev/ok': 'fine', ...extra },
      secrets: {},
    });
  const hierarchy = { levels: ['/acme', '/acme/shop', '/acme/shop/dev'] };

  for (const name of ['__proto__/polluted', 'constructor/prototype/polluted', 'prototype/polluted']) {
    for (const [what, schema, fetchSchemaKeys] of [
      ['a record schema', z.record(z.string(), z.unknown()), undefined],
      ['a loose schema', z.looseObject({}), undefined],
      ['fetchSchemaKeys: false', z.looseObject({ ok: z.string() }), false],
    ] as const) {
      it(`${name} with ${what}: refused by name, Object.prototype untouched`, async () => {
        const resolver = new Resolver({
          backend: new LocalBackend(
            tree({ [`/acme/shop/dev/${name}`]: { value: CANARY, type: 'SecureString' } }),
          ),
        });
        const err = await failure(
          loadConfig({
            schema,
            hierarchy,
            resolver,
            ...(fetchSchemaKeys === false ? { fetchSchemaKeys } : {}),
          }),
        );
        expect(err.code).toBe('LOAD_FAILED');
        expect(err.issues.some((i) => i.source?.includes(`/acme/shop/dev/${name}`))).toBe(true);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(JSON.stringify(err) + err.message).not.toContain(CANARY);
      });
    }
  }

  it('keys from references and env that spell object internals are refused, not dropped', async () => {
    const resolver = new Resolver({ backend: new LocalBackend(tree({})) });
    const err = await failure(
      loadConfig({
        schema: z.looseObject({}),
        resolver,
        references: { '__proto__.polluted': 'x', 'constructor.prototype.y': 'z' },
      }),
    );
    expect(err.issues.map((i) => i.key).sort()).toEqual(['__proto__.polluted', 'constructor.prototype.y']);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it("a buildspec variable named __proto__ is kept; an env file refuses it by line (Node's parser would drop it)", () => {
    const env = parseBuildspecEnv('env:\n  variables:\n    __proto__: a\n    X: b\n');
    expect(Object.keys(env).sort()).toEqual(['X', '__proto__']);
    expect(() => parseEnvFile('__proto__=1\n', 'app.env')).toThrow(
      /app\.env:1: the name __proto__ is not supported/,
    );
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });

  it('maskedCopy keeps a __proto__ key as data', () => {
    const src = JSON.parse('{"__proto__": {"polluted": "yes"}, "pw": "s"}');
    const out = maskedCopy(src, new Set(['pw'])) as Record<string, unknown>;
    expect(Object.keys(out)).toEqual(['__proto__', 'pw']);
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
  });
});

describe('descriptive structures never hold values', () => {
  const resolver = () =>
    new Resolver({
      backend: new LocalBackend(
        parseLocalTree({
          parameters: {
            '/acme/shop/dev/db/password': { value: CANARY, type: 'SecureString' },
            '/acme/shop/dev/db/url': `postgres://u:<<resolve:ssm:/acme/shop/dev/db/password>>@h/${CANARY}`,
          },
        }),
      ),
    });
  const opts = () => ({
    schema: z.object({ db: z.object({ password: z.string(), url: z.string() }) }),
    hierarchy: { levels: ['/acme', '/acme/shop', '/acme/shop/dev'] },
    resolver: resolver(),
  });

  it('loadConfigDetailed().sources', async () => {
    const loaded = await loadConfigDetailed(opts());
    expect(loaded.config.db.password).toBe(CANARY);
    const text = JSON.stringify([...loaded.sources.values()]);
    expect(text).not.toContain(CANARY.slice(0, 8));
    expect(loaded.sources.get('db.url')?.entry?.origin.parameter).toBe('/acme/shop/dev/db/url');
  });

  it("the watch handle's sources", async () => {
    const handle = await watchConfig(opts());
    expect(JSON.stringify([...handle.sources.values()])).not.toContain(CANARY.slice(0, 8));
    await handle.refresh();
    expect(JSON.stringify([...handle.sources.values()])).not.toContain(CANARY.slice(0, 8));
    handle.close();
  });
});

describe('buildspec values are names, never template text', () => {
  const refsOf = (env: Record<string, string>) =>
    Object.values(env).flatMap((v) => parseTemplate(v).filter((p) => p.kind === 'ref'));

  it('a parameter-store value cannot splice in a second reference', () => {
    for (const spec of ['/a>>-INJECTED-<<resolve:ssm:/b', '/a>>x', '/a b', '/a<', '/a\nb', '']) {
      expect(() => envBlockToReferences({ 'parameter-store': { X: spec } }), JSON.stringify(spec)).toThrow(
        expect.objectContaining({
          code: 'INVALID_INPUT',
          message: expect.stringContaining('parameter-store X'),
        }),
      );
    }
    expect(() => envBlockToReferences({ 'parameter-store': { X: '//a//b' } })).toThrow(/empty path segment/);
    const ok = envBlockToReferences({ 'parameter-store': { X: '/a/b', Y: '/a/c:3', Z: '/a/d:stable' } });
    expect(refsOf(ok)).toHaveLength(3);
    expect(ok.Y).toBe('<<resolve:ssm:/a/c:3>>');
  });

  it('a secrets-manager value cannot splice in a second reference', () => {
    for (const spec of ['db:pw>>-X-<<resolve:ssm:/b', 'db>>', 'db:k:AWSCURRENT:v<', 'd b']) {
      expect(() => envBlockToReferences({ 'secrets-manager': { X: spec } }), spec).toThrow(
        expect.objectContaining({ code: 'INVALID_INPUT' }),
      );
    }
    const ok = envBlockToReferences({ 'secrets-manager': { X: 'prod/db:password::v1' } });
    expect(ok.X).toBe('<<resolve:secretsmanager:prod/db:SecretString:password::v1>>');
    expect(refsOf(ok)).toHaveLength(1);
  });
});

describe('seal leaves no plaintext', () => {
  const backend = new LocalBackend({
    parameters: new Map([['/shop/other', { value: 'other', type: 'String', version: 1, labels: [] }]]),
    secrets: new Map(),
  });
  const crypto = createKmsCrypto({ backend });
  const seal = (text: string) => sealText(text, crypto, { keyId: 'k' });

  it('a secret behind a YAML alias under a non-secret key', async () => {
    const text = `defaults: &pw ${CANARY}\ndb:\n  password: *pw\nlist: [*pw]\n`;
    const out = await seal(text);
    expect(out.text).not.toContain(CANARY);
    expect(out.paths).toEqual(['db.password']);
    const file = join(dir, 'alias.yaml');
    writeFileSync(file, out.text);
    const r = new Resolver({ backend });
    const cfg = await loadConfig({ schema: z.looseObject({}), sealedFile: file, resolver: r });
    expect(cfg).toMatchObject({ defaults: CANARY, db: { password: CANARY }, list: [CANARY] });
  });

  it('!secret on a mapping and on a sequence', async () => {
    const out = await seal(
      `creds: !secret {user: u-${CANARY}, pass: p-${CANARY}}\nlist: !secret [a-${CANARY}]\n`,
    );
    expect(out.text).not.toContain(CANARY);
    expect(out.paths.sort()).toEqual(['creds.pass', 'creds.user', 'list.0']);
  });

  it('a secret-keyed string that mixes a reference with literal secret text is sealed whole', async () => {
    const out = await seal(
      `password: "<<resolve:ssm:/shop/other>>${CANARY}"\nonly: "<<resolve:ssm:/shop/other>>"\n`,
    );
    expect(out.text).not.toContain(CANARY);
    expect(out.paths).toEqual(['password']);
    const file = join(dir, 'mixed.yaml');
    writeFileSync(file, out.text);
    expect(readSealedFile(file).get('only')).toBe('<<resolve:ssm:/shop/other>>');
    const cfg = await loadConfig({
      schema: z.looseObject({}),
      sealedFile: file,
      resolver: new Resolver({ backend }),
    });
    expect(cfg).toMatchObject({ password: `other${CANARY}`, only: 'other' });
  });

  it('invalid YAML around a secret: the error gives a position, not the text', async () => {
    const err = await failure(seal(`password: "${CANARY}\n  bad: [`));
    expect(err.code).toBe('INVALID_INPUT');
    expect(err.message).not.toContain(CANARY.slice(0, 8));
  });
});

describe('unseal --out', () => {
  it('replaces an existing 0644 file with a new 0600 one', () => {
    const file = join(dir, 'plain.yaml');
    writeFileSync(file, 'old\n');
    chmodSync(file, 0o644);
    writePrivateFile(file, `pw: ${CANARY}\n`);
    expect(statSync(file).mode & 0o777).toBe(0o600);
    expect(readFileSync(file, 'utf8')).toContain(CANARY);
  });

  it('refuses a symbolic link (and writes nothing through it)', () => {
    const target = join(dir, 'elsewhere.txt');
    writeFileSync(target, 'untouched');
    const link = join(dir, 'link.yaml');
    symlinkSync(target, link);
    expect(() => writePrivateFile(link, CANARY)).toThrow(
      expect.objectContaining({ code: 'INVALID_INPUT', message: expect.stringContaining('symbolic link') }),
    );
    expect(readFileSync(target, 'utf8')).toBe('untouched');
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(existsSync(join(dir, 'link.yaml.tmp'))).toBe(false);
  });
});

describe('buildIamPolicy', () => {
  const levels = [
    { index: 0, path: '/acme', recursive: false, exclude: [] },
    { index: 1, path: '/acme/shop', recursive: false, exclude: [] },
    { index: 2, path: '/acme/shop/dev', recursive: true, exclude: [] },
  ];
  const base = { region: 'eu-west-1', account: '111122223333', levels, parameterNames: [] };

  it('grants ancestors one level deep, and ancestor names only for known keys', async () => {
    const policy = (await import('../src/index.js')).buildIamPolicy({
      ...base,
      references: [],
      keys: ['logLevel', 'db.url'],
    });
    const by = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    expect(by.StrataListAncestorLevelsOneLevelDeep?.Condition).toEqual({
      StringNotEqualsIgnoreCase: { 'ssm:Recursive': 'true' },
    });
    expect(by.StrataReadParameters?.Resource).toEqual([
      'arn:aws:ssm:eu-west-1:111122223333:parameter/acme/log-level',
      'arn:aws:ssm:eu-west-1:111122223333:parameter/acme/logLevel',
      'arn:aws:ssm:eu-west-1:111122223333:parameter/acme/shop/dev/*',
      'arn:aws:ssm:eu-west-1:111122223333:parameter/acme/shop/log-level',
      'arn:aws:ssm:eu-west-1:111122223333:parameter/acme/shop/logLevel',
    ]);
    // no wildcard on an ancestor: /acme/* would grant /acme/shop/prod/…
    expect(JSON.stringify(policy)).not.toContain('parameter/acme/*');
    expect(JSON.stringify(policy)).not.toContain('parameter/acme/shop/*');
  });

  it('scopes direct kms references by encryption context, and decryption via services by region', async () => {
    const { buildIamPolicy } = await import('../src/index.js');
    const policy = buildIamPolicy({
      ...base,
      references: [
        { service: 'kms', ciphertext: 'AQICAHh4', context: { app: 'shop', env: 'dev' } },
        { service: 'kms', ciphertext: 'AQICAHh5' },
        { service: 'ssm', name: 'arn:aws:ssm:us-west-2:111122223333:parameter/shared/x', secure: false },
        {
          service: 'secretsmanager',
          secretId: 'arn:aws:secretsmanager:ap-south-1:111122223333:secret:shared/db-AbCdEf',
        },
      ],
    });
    const by = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    expect(by.StrataDecryptReferences1?.Condition).toEqual({
      StringEquals: { 'kms:EncryptionContext:app': 'shop', 'kms:EncryptionContext:env': 'dev' },
    });
    expect(by.StrataDecryptReferences2?.Condition).toEqual({ Null: { 'kms:EncryptionContextKeys': 'true' } });
    expect(by.StrataDecryptViaServices?.Condition?.StringEquals?.['kms:ViaService']).toEqual([
      'secretsmanager.ap-south-1.amazonaws.com',
      'ssm.eu-west-1.amazonaws.com',
      'ssm.us-west-2.amazonaws.com',
    ]);
    expect(by.StrataReadSecrets?.Resource).toEqual([
      'arn:aws:secretsmanager:ap-south-1:111122223333:secret:shared/db-AbCdEf',
    ]);
  });
});
