/**
 * The generated IAM policy, proved with an IAM policy simulator (@cloud-copilot/iam-simulate):
 * every AWS call real loads make against moto (recorded by the fault proxy) is allowed, and the
 * calls an attacker holding the same role would make are denied.
 *
 * Simulator gap (0.1.173): its validating `runSimulation` drops `kms:EncryptionContext:KEY`
 * request keys (it only matches variable keys written `prefix/VAR`), so KMS requests that carry
 * an encryption context are evaluated with `runUnsafeSimulation` (same engine, no input check).
 * moto gap: SSM decrypts SecureStrings without calling KMS, so the Decrypt SSM makes on the
 * caller's behalf is added as the request AWS would authorize (kms:ViaService = ssm.REGION).
 */
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import { runSimulation, runUnsafeSimulation } from '@cloud-copilot/iam-simulate';
import { buildLevels, createResolver, parseTemplate, type Reference } from '@strata/core';
import * as aws from '@strata/test-env/aws';
import { type FaultProxy, type RecordedRequest, startFaultProxy } from '@strata/test-env/fault-proxy';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { z } from 'zod';
import { buildIamPolicy, loadConfig, type PolicyDocument } from '../src/index.js';

const RUN = `iam${Date.now().toString(36)}`;
const ACCOUNT = '123456789012';
const REGION = 'us-east-1';
const PRINCIPAL = `arn:aws:iam::${ACCOUNT}:role/strata-app`;
const DEFAULT_KEY_POLICY = {
  Version: '2012-10-17',
  Statement: [
    { Effect: 'Allow', Principal: { AWS: `arn:aws:iam::${ACCOUNT}:root` }, Action: 'kms:*', Resource: '*' },
  ],
};
let proxy: FaultProxy;
let keyArn: string;
let secretArns: Map<string, string>;
let references: Record<string, string>;
const levelPaths = [`/${RUN}/acme`, `/${RUN}/acme/shop`, `/${RUN}/acme/shop/dev`];

interface IamRequest {
  action: string;
  resource: string;
  context: Record<string, string | string[]>;
}

const paramArn = (name: string) =>
  name.startsWith('arn:')
    ? name
    : `arn:aws:ssm:${REGION}:${ACCOUNT}:parameter${name.startsWith('/') ? '' : '/'}${name}`;

/** What AWS authorizes for one recorded request. */
function toIam(r: RecordedRequest): IamRequest[] {
  const body = (r.body ?? {}) as Record<string, unknown>;
  const [service, op] = r.operation.split(':') as [string, string];
  const action = `${service}:${op}`;
  switch (r.operation) {
    case 'ssm:GetParameters':
      return (body.Names as string[]).map((n) => ({
        action,
        resource: paramArn(n.startsWith('arn:') ? n.split(':').slice(0, 6).join(':') : n.split(':')[0]!),
        context: {},
      }));
    case 'ssm:GetParametersByPath':
      return [
        {
          action,
          resource: paramArn(body.Path as string),
          context: { 'ssm:Recursive': String(body.Recursive ?? false) },
        },
      ];
    case 'ssm:DescribeParameters':
    case 'secretsmanager:BatchGetSecretValue': {
      const perSecret = ((body.SecretIdList as string[] | undefined) ?? []).map((id) => ({
        action: 'secretsmanager:GetSecretValue',
        resource: secretArns.get(id) ?? id,
        context: {},
      }));
      return [{ action, resource: '*', context: {} }, ...perSecret];
    }
    case 'secretsmanager:GetSecretValue':
    case 'secretsmanager:DescribeSecret': {
      const id = body.SecretId as string;
      return [{ action, resource: secretArns.get(id) ?? id, context: {} }];
    }
    case 'kms:Decrypt': {
      const ctx = (body.EncryptionContext ?? {}) as Record<string, string>;
      const context: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(ctx)) context[`kms:EncryptionContext:${k}`] = v;
      if (Object.keys(ctx).length > 0) context['kms:EncryptionContextKeys'] = Object.keys(ctx);
      return [{ action, resource: keyArn, context }];
    }
    default:
      throw new Error(`unexpected call ${r.operation}`);
  }
}

async function decide(policy: PolicyDocument, req: IamRequest): Promise<string> {
  const simulation = {
    identityPolicies: [{ name: 'strata', policy: policy as unknown as Record<string, unknown> }],
    serviceControlPolicies: [],
    resourceControlPolicies: [],
    ...(req.action.startsWith('kms:') ? { resourcePolicy: DEFAULT_KEY_POLICY } : {}),
    request: {
      principal: PRINCIPAL,
      action: req.action,
      resource: { resource: req.resource, accountId: ACCOUNT },
      contextVariables: req.context,
    },
  };
  if (Object.keys(req.context).some((k) => k.startsWith('kms:EncryptionContext'))) {
    // the unsafe engine loads the resource policy without a name unless it comes pre-validated
    const keyPolicy = {
      __validated: true,
      policyDocument: DEFAULT_KEY_POLICY,
      metadata: { name: 'key-policy' },
    };
    return runUnsafeSimulation({ ...simulation, resourcePolicy: keyPolicy } as never, {}) as string;
  }
  const out = await runSimulation(simulation as never, {});
  if (out.resultType === 'error')
    throw new Error(`simulator refused ${JSON.stringify(req)}: ${JSON.stringify(out.errors)}`);
  return out.overallResult;
}

beforeAll(async () => {
  const ssm = aws.ssm();
  const put = (Name: string, Value: string, Type: 'String' | 'SecureString' = 'String') =>
    ssm.send(new PutParameterCommand({ Name, Value, Type, Overwrite: true }));
  await put(`/${RUN}/acme/timeout`, '30');
  await put(`/${RUN}/acme/shop/feature`, 'on');
  await put(`/${RUN}/acme/shop/dev/log-level`, 'debug');
  await put(`/${RUN}/acme/shop/dev/db/password`, 'dev-pw', 'SecureString');
  await put(`/${RUN}/acme/shop/prod/db/password`, 'prod-pw', 'SecureString');
  await put(`/${RUN}/shared/flag`, 'yes');
  const sm = aws.secrets();
  secretArns = new Map();
  for (const [Name, SecretString] of [
    [`${RUN}/api`, JSON.stringify({ key: 'api-key' })],
    [`${RUN}/other`, 'not yours'],
  ] as const) {
    const out = await sm.send(new CreateSecretCommand({ Name, SecretString }));
    secretArns.set(Name, out.ARN!);
    secretArns.set(out.ARN!, out.ARN!);
  }
  const kms = aws.kms();
  const key = await kms.send(new CreateKeyCommand({}));
  keyArn = key.KeyMetadata!.Arn!;
  const enc = await kms.send(
    new EncryptCommand({
      KeyId: keyArn,
      Plaintext: Buffer.from('signing-key'),
      EncryptionContext: { app: 'shop' },
    }),
  );
  references = {
    'api.key': `<<resolve:secretsmanager:${RUN}/api:SecretString:key>>`,
    'shared.flag': `<<resolve:ssm:/${RUN}/shared/flag>>`,
    signing: `<<resolve:kms:${Buffer.from(enc.CiphertextBlob!).toString('base64')}:app=shop>>`,
  };
  proxy = await startFaultProxy(aws.motoEndpoint());
});
afterAll(async () => {
  await proxy?.stop();
});

describe('the generated IAM policy, simulated', () => {
  const resolverOpts = () => ({
    aws: {
      endpoint: proxy.endpoint,
      region: REGION,
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    },
  });

  it('allows every call real loads make, and denies what an attacker with the role would ask', async () => {
    proxy.reset();
    proxy.configure({ record: true });
    const hierarchy = { levels: levelPaths };
    const schema = z.object({
      timeout: z.coerce.number(),
      feature: z.string(),
      logLevel: z.string(),
      db: z.object({ password: z.string() }),
      api: z.object({ key: z.string() }),
      shared: z.object({ flag: z.string() }),
      signing: z.string(),
    });
    // 1. the default path: a schema with known keys (GetParameters at every level)
    const typed = await loadConfig({ schema, hierarchy, references, resolver: resolverOpts() });
    expect(typed).toMatchObject({
      timeout: 30,
      logLevel: 'debug',
      db: { password: 'dev-pw' },
      signing: 'signing-key',
    });
    // 2. discovery by path (a loose schema), 3. describe discovery and checkForChanges
    await loadConfig({ schema: z.looseObject({}), hierarchy, resolver: resolverOpts() });
    const r = createResolver({ ...resolverOpts(), discovery: 'describe' });
    await r.loadHierarchy(hierarchy);
    await r.resolveTemplate(references['api.key']!);
    await r.checkForChanges();
    r.close();

    const recorded = proxy.requests();
    const ops = new Set(recorded.map((x) => x.operation));
    for (const op of [
      'ssm:GetParameters',
      'ssm:GetParametersByPath',
      'ssm:DescribeParameters',
      'secretsmanager:BatchGetSecretValue',
      'secretsmanager:DescribeSecret',
      'kms:Decrypt',
    ]) {
      expect(ops, op).toContain(op);
    }
    const refs: Reference[] = Object.values(references).flatMap((t) =>
      parseTemplate(t).flatMap((p) => (p.kind === 'ref' ? [p.ref] : [])),
    );
    const policy = buildIamPolicy({
      region: REGION,
      account: ACCOUNT,
      levels: buildLevels(hierarchy),
      keys: ['timeout', 'feature', 'logLevel', 'db.password', 'api.key', 'shared.flag', 'signing'],
      parameterNames: [],
      references: refs,
      discovery: 'describe',
      checkForChanges: true,
    });
    const made = [
      ...recorded.flatMap(toIam),
      // SSM decrypting the SecureString on the caller's behalf (moto does not call KMS)
      {
        action: 'kms:Decrypt',
        resource: keyArn,
        context: {
          'kms:ViaService': `ssm.${REGION}.amazonaws.com`,
          'kms:EncryptionContext:PARAMETER_ARN': paramArn(`/${RUN}/acme/shop/dev/db/password`),
          'kms:EncryptionContextKeys': ['PARAMETER_ARN'],
        },
      },
    ];
    expect(made.length).toBeGreaterThan(10);
    for (const req of made) expect(await decide(policy, req), JSON.stringify(req)).toBe('Allowed');

    const attacks: IamRequest[] = [
      // a recursive read of an ancestor returns every sibling branch
      {
        action: 'ssm:GetParametersByPath',
        resource: paramArn(`/${RUN}/acme`),
        context: { 'ssm:Recursive': 'true' },
      },
      {
        action: 'ssm:GetParametersByPath',
        resource: paramArn(`/${RUN}/acme/shop`),
        context: { 'ssm:Recursive': 'true' },
      },
      {
        action: 'ssm:GetParametersByPath',
        resource: paramArn(`/${RUN}/acme/shop/prod`),
        context: { 'ssm:Recursive': 'false' },
      },
      {
        action: 'ssm:GetParametersByPath',
        resource: paramArn(`/${RUN}`),
        context: { 'ssm:Recursive': 'false' },
      },
      // a sibling branch by name
      { action: 'ssm:GetParameters', resource: paramArn(`/${RUN}/acme/shop/prod/db/password`), context: {} },
      { action: 'ssm:GetParameter', resource: paramArn(`/${RUN}/acme/shop/dev/db/password`), context: {} },
      { action: 'ssm:GetParameters', resource: paramArn(`/${RUN}/acme/other-app/x`), context: {} },
      // another secret
      { action: 'secretsmanager:GetSecretValue', resource: secretArns.get(`${RUN}/other`)!, context: {} },
      // KMS: another context, no context, directly instead of through SSM
      {
        action: 'kms:Decrypt',
        resource: keyArn,
        context: { 'kms:EncryptionContext:app': 'billing', 'kms:EncryptionContextKeys': ['app'] },
      },
      { action: 'kms:Decrypt', resource: keyArn, context: {} },
      {
        action: 'kms:Decrypt',
        resource: keyArn,
        context: { 'kms:ViaService': `ssm.eu-west-1.amazonaws.com` },
      },
      // writes
      { action: 'ssm:PutParameter', resource: paramArn(`/${RUN}/acme/shop/dev/log-level`), context: {} },
    ];
    for (const req of attacks) expect(await decide(policy, req), JSON.stringify(req)).not.toBe('Allowed');
  });

  it('without describe discovery or checkForChanges, DescribeParameters and DescribeSecret are not granted', async () => {
    const policy = buildIamPolicy({
      region: REGION,
      account: ACCOUNT,
      levels: buildLevels({ levels: levelPaths }),
      parameterNames: [],
      references: parseTemplate(references['api.key']!).flatMap((p) => (p.kind === 'ref' ? [p.ref] : [])),
    });
    expect(await decide(policy, { action: 'ssm:DescribeParameters', resource: '*', context: {} })).not.toBe(
      'Allowed',
    );
    expect(
      await decide(policy, {
        action: 'secretsmanager:DescribeSecret',
        resource: secretArns.get(`${RUN}/api`)!,
        context: {},
      }),
    ).not.toBe('Allowed');
  });
});
