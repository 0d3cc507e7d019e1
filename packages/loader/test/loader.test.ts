import { inspect } from 'node:util';
import { LocalBackend, parseLocalTree, Resolver, type StrataError } from '@strata/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEnvFile, secretsManagerSpecToReference } from '../src/buildspec.js';
import {
  buildIamPolicy,
  envBlockToReferences,
  loadConfig,
  loadConfigDetailed,
  parseBuildspecEnv,
  watchConfig,
} from '../src/index.js';
import { schemaKeys } from '../src/keys.js';
import { freezeMasked } from '../src/mask.js';

const tree = () =>
  parseLocalTree({
    parameters: {
      '/acme/log-level': 'warn',
      '/acme/shop/port': '8080',
      '/acme/shop/dev/log-level': 'debug',
      '/acme/shop/dev/db/url': 'postgres://u:<<resolve:ssm-secure:/acme/shop/dev/db/password>>@h/db',
      '/acme/shop/dev/db/password': { value: 'super-secret-pw', type: 'SecureString' },
    },
    secrets: { 'prod/api': { key: 'api-key-value-123' } },
  });
const resolver = () => new Resolver({ backend: new LocalBackend(tree()) });
const hierarchy = { template: '/{dept}/{app}/{env}', vars: { dept: 'acme', app: 'shop', env: 'dev' } };
const schema = z.object({
  logLevel: z.enum(['debug', 'info', 'warn']),
  port: z.coerce.number(),
  db: z.object({ url: z.string(), password: z.string() }),
  apiKey: z.string(),
});

describe('masking', () => {
  it('masks secret leaves in inspect, JSON and String, keeps raw values on access', () => {
    const cfg = freezeMasked({ a: 'visible', db: { pw: 'hunter2-secret' } }, new Set(['db.pw']));
    for (const text of [
      inspect(cfg, { depth: null }),
      JSON.stringify(cfg),
      String(cfg),
      `${cfg.db}`,
      JSON.stringify({ cfg }),
    ]) {
      expect(text).not.toContain('hunter2-secret');
    }
    expect(inspect(cfg)).toContain('visible');
    expect(cfg.db.pw).toBe('hunter2-secret');
    expect(Object.keys(cfg)).toEqual(['a', 'db']);
    expect(Object.isFrozen(cfg.db)).toBe(true);
  });
});

describe('schema keys', () => {
  it('walks objects and unwraps optional/default', () => {
    const s = z.object({
      a: z.string(),
      b: z.object({ c: z.number().optional(), d: z.string().default('x') }).optional(),
    });
    expect(schemaKeys(s)).toEqual(['a', 'b.c', 'b.d']);
  });
});

describe('loadConfig on the local provider', () => {
  it('returns typed, frozen, masked config with references resolved', async () => {
    const cfg = await loadConfig({
      schema,
      hierarchy,
      references: { apiKey: '<<resolve:secretsmanager:prod/api:SecretString:key>>' },
      resolver: resolver(),
    });
    expect(cfg.logLevel).toBe('debug');
    expect(cfg.port).toBe(8080);
    expect(cfg.db.url).toBe('postgres://u:super-secret-pw@h/db');
    expect(cfg.apiKey).toBe('api-key-value-123');
    const printed = `${inspect(cfg, { depth: null })}${JSON.stringify(cfg)}${String(cfg)}`;
    for (const secret of ['super-secret-pw', 'api-key-value-123']) expect(printed).not.toContain(secret);
    expect(Object.isFrozen(cfg)).toBe(true);
  });

  it('lists every missing and invalid key at once, with sources, never values', async () => {
    const strict = z.object({
      logLevel: z.enum(['info', 'error']),
      port: z.coerce.number().max(100),
      missing: z.string(),
      db: z.object({ password: z.string().max(3) }),
    });
    const err = (await loadConfig({ schema: strict, hierarchy, resolver: resolver() }).catch(
      (e: unknown) => e,
    )) as StrataError;
    expect(err.code).toBe('LOAD_FAILED');
    expect(err.issues.map((i) => i.key).sort()).toEqual(['db.password', 'logLevel', 'missing', 'port']);
    expect(err.issues.find((i) => i.key === 'logLevel')?.source).toBe('/acme/shop/dev/log-level');
    expect(err.issues.find((i) => i.key === 'missing')?.code).toBe('NOT_FOUND');
    expect(err.message).not.toContain('super-secret-pw');
    expect(err.message).not.toContain('debug');
  });

  it('explains sources', async () => {
    const { sources } = await loadConfigDetailed({
      schema: schema.omit({ apiKey: true }),
      hierarchy,
      resolver: resolver(),
    });
    expect(sources.get('logLevel')?.entry?.origin.overrides.map((o) => o.parameter)).toEqual([
      '/acme/log-level',
    ]);
    expect(sources.get('db.password')?.secret).toBe(true);
  });

  it('env overrides and env references', async () => {
    const cfg = await loadConfig({
      schema: z.object({ port: z.coerce.number(), token: z.string() }),
      hierarchy,
      env: { port: 'PORT', token: 'TOKEN' },
      environment: { PORT: '9090', TOKEN: '<<resolve:secretsmanager:prod/api:SecretString:key>>' },
      resolver: resolver(),
    });
    expect(cfg).toEqual({ port: 9090, token: 'api-key-value-123' });
  });

  it('hot reload validates before replacing; an invalid change keeps the old config', async () => {
    const t = tree();
    const backend = new LocalBackend(t);
    const handle = await watchConfig({
      schema: schema.omit({ apiKey: true }),
      hierarchy,
      resolver: new Resolver({ backend }),
    });
    const seen: string[][] = [];
    handle.subscribe((c) => seen.push(c.changed));
    t.parameters.set('/acme/shop/dev/log-level', { value: 'info', type: 'String', version: 2, labels: [] });
    const change = await handle.refresh();
    expect(change?.changed).toEqual(['logLevel']);
    expect(handle.current.logLevel).toBe('info');
    t.parameters.set('/acme/shop/dev/log-level', {
      value: 'nonsense',
      type: 'String',
      version: 3,
      labels: [],
    });
    await expect(handle.refresh()).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    expect(handle.current.logLevel).toBe('info');
    expect(seen).toEqual([['logLevel']]);
    handle.close();
  });
});

describe('buildspec env blocks', () => {
  it('turns parameter-store and secrets-manager maps into references', () => {
    const env = parseBuildspecEnv(`
version: 0.2
env:
  variables:
    STAGE: prod
  parameter-store:
    DB_URL: /app/prod/db/url
  secrets-manager:
    DB_PASS: prod/db:password
    WHOLE: prod/api
    PREV: prod/db:password:AWSPREVIOUS
    BY_ID: prod/db:password::v-123
    ARN: arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf:password
`);
    expect(env).toEqual({
      STAGE: 'prod',
      DB_URL: '<<resolve:ssm:/app/prod/db/url>>',
      DB_PASS: '<<resolve:secretsmanager:prod/db:SecretString:password>>',
      WHOLE: '<<resolve:secretsmanager:prod/api>>',
      PREV: '<<resolve:secretsmanager:prod/db:SecretString:password:AWSPREVIOUS>>',
      BY_ID: '<<resolve:secretsmanager:prod/db:SecretString:password::v-123>>',
      ARN: '<<resolve:secretsmanager:arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf:SecretString:password>>',
    });
  });
  it('rejects bad names and specs, naming them', () => {
    expect(() => envBlockToReferences({ variables: { 'BAD-NAME': 'x' } })).toThrow(/BAD-NAME/);
    expect(() => secretsManagerSpecToReference('a:b:c:d:e', 'X')).toThrow(/X: too many/);
    expect(() => parseEnvFile('A=1\nnot a line', 'my.env')).toThrow(/my.env:2/);
  });
});

describe('iam-policy', () => {
  it('names exactly the resources read, with kms:ViaService', () => {
    const policy = buildIamPolicy({
      region: 'eu-west-1',
      account: '111122223333',
      levels: [
        { index: 0, path: '/acme', recursive: false, exclude: [] },
        { index: 1, path: '/acme/shop/dev', recursive: true, exclude: [] },
      ],
      parameterNames: [],
      references: [
        { service: 'ssm', name: '/shared/flag', secure: false },
        { service: 'secretsmanager', secretId: 'prod/db', jsonKey: 'password' },
      ],
    });
    expect(policy.Version).toBe('2012-10-17');
    const by = Object.fromEntries(policy.Statement.map((s) => [s.Sid, s]));
    expect(by.StrataListHierarchy?.Resource).toEqual([
      'arn:aws:ssm:eu-west-1:111122223333:parameter/acme/shop/dev',
    ]);
    // an ancestor is listed one level deep only: a recursive read would return sibling branches
    expect(by.StrataListAncestorLevelsOneLevelDeep).toMatchObject({
      Resource: ['arn:aws:ssm:eu-west-1:111122223333:parameter/acme'],
      Condition: { StringNotEqualsIgnoreCase: { 'ssm:Recursive': 'true' } },
    });
    expect(by.StrataReadParameters?.Resource).toEqual([
      'arn:aws:ssm:eu-west-1:111122223333:parameter/acme/shop/dev/*',
      'arn:aws:ssm:eu-west-1:111122223333:parameter/shared/flag',
    ]);
    expect(by.StrataReadSecrets?.Resource).toEqual([
      'arn:aws:secretsmanager:eu-west-1:111122223333:secret:prod/db-??????',
    ]);
    expect(by.StrataDecryptViaServices?.Condition).toEqual({
      StringEquals: {
        'kms:ViaService': ['secretsmanager.eu-west-1.amazonaws.com', 'ssm.eu-west-1.amazonaws.com'],
      },
    });
    expect(by.StrataDescribeParameters).toBeUndefined();
    expect(by.StrataDecryptReferences1).toBeUndefined();
  });
});
