/**
 * Issue 9 in the operator, against a real kube-apiserver and moto: the no-leak rule binds
 * references inside hierarchy values (and its allow-list works), and the canary suite's operator
 * tier — a canary in SecureStrings and secrets behind failing and succeeding SecretSyncs never
 * appears in the operator's logs, Kubernetes Events, SecretSync status or /metrics. The operator
 * runs from its image as the chart's Deployment runs it (test/env/pod.ts), logging at debug level;
 * its logs are the container's stdout/stderr.
 */
import { CreateKeyCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import * as aws from '@strata/test-env/aws';
import { canary, leaks } from '@strata/test-env/canary';
import { eventually } from '@strata/test-env/kube-client';
import type { OperatorPod } from '@strata/test-env/pod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  CHART,
  decode,
  helm,
  podValues,
  RELEASE,
  RELEASE_NS,
  secretSync,
  startOperatorPod,
} from './helpers.js';

const R = `sec${Date.now().toString(36)}`;
const NS = `sec-${R}`;
const C = canary();
const { core, custom } = admin();
let op: OperatorPod | undefined;
let installedHere = false;

interface Sync {
  status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
}

const getSync = async (name: string) =>
  (await custom.getNamespacedCustomObject({
    group: 'strata.dev',
    version: 'v1alpha1',
    namespace: NS,
    plural: 'secretsyncs',
    name,
  })) as Sync;

const ready = async (name: string) =>
  eventually(
    async () => {
      const c = (await getSync(name)).status?.conditions?.find((x) => x.type === 'Ready');
      return c && c.status !== 'Unknown' ? c : undefined;
    },
    { what: `${name} has a Ready condition`, timeoutMs: 60_000 },
  );

beforeAll(async () => {
  const ssm = aws.ssm();
  const put = (Name: string, Value: string, Type: 'String' | 'SecureString' = 'String') =>
    ssm.send(new PutParameterCommand({ Name, Value, Type, Overwrite: true }));
  await put(`/${R}/app/dev/banner`, `welcome <<resolve:ssm:/${R}/app/prod/db-password>>`);
  await put(`/${R}/app/prod/db-password`, C, 'SecureString');
  await put(`/${R}/app/dev2/bad`, `<<resolve:ssm:/x:${C}`, 'SecureString');
  await put(`/${R}/app/dev3/db-password`, C, 'SecureString');
  const sm = aws.secrets();
  await sm.send(
    new CreateSecretCommand({ Name: `${R}/json`, SecretString: `{"__proto__": "${C}", "ok": "fine"}` }),
  );
  await sm.send(
    new CreateSecretCommand({
      Name: `${R}/bad`,
      SecretString: `x<<resolve:secretsmanager:${R}/y:SecretString:${C}`,
    }),
  );
  const kms = aws.kms();
  const key = (await kms.send(new CreateKeyCommand({}))).KeyMetadata!.Arn!;
  const ct = Buffer.from(
    (await kms.send(new EncryptCommand({ KeyId: key, Plaintext: Buffer.from(`<<resolve:${C}`) })))
      .CiphertextBlob!,
  ).toString('base64');

  // the chart (CRDs, RBAC); installed here only when no other test did
  const list = JSON.parse(await helm(['list', '--namespace', RELEASE_NS, '-o', 'json'])) as Array<{
    name: string;
  }>;
  if (!list.some((r) => r.name === RELEASE)) {
    await helm(['install', RELEASE, CHART, '--namespace', RELEASE_NS, '--create-namespace']);
    installedHere = true;
  }
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await custom.createClusterCustomObject({
    group: 'strata.dev',
    version: 'v1alpha1',
    plural: 'sourcepolicies',
    body: {
      apiVersion: 'strata.dev/v1alpha1',
      kind: 'SourcePolicy',
      metadata: { name: NS },
      spec: {
        namespaces: { names: [NS] },
        // the whole app is granted: the branch rule still keeps dev from reading prod
        ssm: { paths: [`/${R}/app`] },
        secretsManager: { names: [`${R}/*`] },
        kms: { keyIds: ['*'] },
      },
    },
  });
  const create = (name: string, spec: Record<string, unknown>) =>
    custom.createNamespacedCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      namespace: NS,
      plural: 'secretsyncs',
      body: secretSync(NS, name, { target: { name }, ...spec }),
    });
  await create('leak', { sources: [{ hierarchy: { levels: [`/${R}/app`, `/${R}/app/dev`] } }] });
  await create('allowed', {
    sources: [
      {
        hierarchy: {
          levels: [`/${R}/app`, `/${R}/app/dev`],
          allowReferences: { ssm: [`/${R}/app/prod/db-password`] },
        },
      },
    ],
  });
  await create('bad', { sources: [{ hierarchy: { levels: [`/${R}/app/dev2`] } }] });
  await create('ok', { sources: [{ hierarchy: { levels: [`/${R}/app/dev3`] } }] });
  await create('json', { sources: [{ secretJSON: { secretId: `${R}/json` } }] });
  await create('refs', {
    sources: [{ refs: { a: `<<resolve:secretsmanager:${R}/bad>>`, b: `<<resolve:kms:${ct}>>` } }],
  });

  op = await startOperatorPod(`sec-${R}`, podValues({ awsEndpoint: aws.motoEndpoint(), namespaces: [NS] }));
}, 180_000);

afterAll(async () => {
  await op?.remove();
  await core.deleteNamespace({ name: NS }).catch(() => undefined);
  await custom
    .deleteClusterCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      plural: 'sourcepolicies',
      name: NS,
    })
    .catch(() => undefined);
  if (installedHere) await helm(['uninstall', RELEASE, '--namespace', RELEASE_NS]).catch(() => undefined);
});

describe('operator: the no-leak rule for references, and no canary anywhere', () => {
  it('a dev value referencing prod fails with REFERENCE_DENIED; no Secret is written', async () => {
    const c = await ready('leak');
    expect(c).toMatchObject({ status: 'False' });
    expect(c.message).toContain('REFERENCE_DENIED');
    expect(c.message).toContain(`/${R}/app/prod/db-password`);
    expect(
      await core.readNamespacedSecret({ namespace: NS, name: 'leak' }).catch(() => undefined),
    ).toBeUndefined();
  });

  it('the allow-list lets the shared source through', async () => {
    expect(await ready('allowed')).toMatchObject({ status: 'True' });
    const s = await core.readNamespacedSecret({ namespace: NS, name: 'allowed' });
    expect(decode(s.data).banner).toBe(`welcome ${C}`);
  });

  it('failing syncs (malformed secret values, a __proto__ JSON key) say which source, never the value', async () => {
    for (const name of ['bad', 'json', 'refs']) {
      const c = await ready(name);
      expect(c.status, name).toBe('False');
    }
    expect((await ready('bad')).message).toContain(`/${R}/app/dev2/bad`);
    expect((await ready('json')).message).toContain('__proto__');
    expect(await ready('ok')).toMatchObject({ status: 'True' });
  });

  it('no canary in logs, Events, status or /metrics', async () => {
    const statuses = await Promise.all(['leak', 'allowed', 'bad', 'ok', 'json', 'refs'].map(getSync));
    const events = await core.listNamespacedEvent({ namespace: NS });
    expect(events.items.length).toBeGreaterThan(0);
    const metrics = await op!.metrics();
    expect(metrics).toContain('strata');
    const seen = {
      logs: await op!.logs(),
      events: JSON.stringify(events.items.map((e) => [e.reason, e.message, e.involvedObject])),
      status: JSON.stringify(statuses.map((s) => s.status)),
      metrics,
    };
    for (const [where, text] of Object.entries(seen)) expect(leaks(text, [C]), where).toEqual([]);
  });
});
