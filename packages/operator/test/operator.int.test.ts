/**
 * The operator against a real kube-apiserver + etcd + kube-controller-manager (RBAC on), the Helm
 * chart installed with helm, moto for SSM / Secrets Manager / EventBridge / SQS, and the fault
 * proxy counting AWS calls. The operator runs from its image, as the chart's Deployment runs it
 * (test/env/pod.ts): the container spec from `helm template`, non-root with a read-only root
 * filesystem and no capabilities, inside the chart's memory limit, configured in-cluster from a
 * mounted token of the chart's ServiceAccount; leader failover is between two such containers.
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { SendMessageCommand } from '@aws-sdk/client-sqs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import * as k8s from '@kubernetes/client-node';
import * as aws from '@strata/test-env/aws';
import { type FaultProxy, startFaultProxy } from '@strata/test-env/fault-proxy';
import { restartApiserverFromState } from '@strata/test-env/kube';
import { eventually } from '@strata/test-env/kube-client';
import { resetMoto } from '@strata/test-env/moto';
import type { OperatorPod } from '@strata/test-env/pod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  CHART,
  decode,
  deleteNamespaces,
  ensureChart,
  helm,
  LEASE,
  podValues,
  RELEASE,
  RELEASE_NS,
  secretSync,
  startOperatorPod,
} from './helpers.js';

const RUN = Math.random().toString(36).slice(2, 8);
/**
 * Every case works in its own namespace and its own AWS sources, created by the case itself, so
 * any case passes alone or in any order. The names are fixed up front because the operator pods
 * serve a fixed namespace list (the chart's namespaced mode, STRATA_WATCH_NAMESPACES); a watched
 * namespace may not exist yet.
 */
const CASES = ['invalid', 'sync', 'sqs', 'sm', 'drift', 'failover', 'gc', 'restart'] as const;
type Case = (typeof CASES)[number];
const nsOf = (c: Case) => `opint-${RUN}-${c}`;
const DENIED_NS = `opint-${RUN}-denied`;
const LABEL = 'strata-test/operator-int';
/** Values of this file that must never appear in logs, Events, status or metrics. */
const SECRET_VALUES: string[] = ['prod-only'];

let proxy: FaultProxy;
let queueUrl: string;
let op: OperatorPod;
/** Every pod this file started, for the log check at the end and the clean-up. */
const pods: OperatorPod[] = [];
const { core, apps, custom } = admin();

async function readSecret(ns: string, name: string) {
  return core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined);
}

async function getSync(ns: string, name: string) {
  return (await custom.getNamespacedCustomObject({
    group: 'strata.dev',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'secretsyncs',
    name,
  })) as {
    status?: {
      conditions?: Array<{ type: string; status: string; reason: string; message: string }>;
      contentHash?: string;
      sourceVersions?: unknown[];
    };
  };
}

async function createSync(ns: string, name: string, spec: Record<string, unknown>) {
  await custom.createNamespacedCustomObject({
    group: 'strata.dev',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'secretsyncs',
    body: secretSync(ns, name, spec),
  });
}

async function putEvent(source: string, detailType: string, detail: unknown) {
  const out = await aws.events().send(
    new PutEventsCommand({
      Entries: [{ Source: source, DetailType: detailType, Detail: JSON.stringify(detail) }],
    }),
  );
  expect(out.FailedEntryCount).toBe(0);
}

/** Changes a parameter in SSM and announces it the way AWS does: EventBridge "Parameter Store Change". */
async function changeParameter(name: string, value: string, type: 'String' | 'SecureString') {
  await aws.ssm().send(new PutParameterCommand({ Name: name, Value: value, Type: type, Overwrite: true }));
  await putEvent('aws.ssm', 'Parameter Store Change', { operation: 'Update', name, type });
}

/** Waits until a key of a Secret holds a value. */
async function secretHolds(ns: string, name: string, key: string, value: string, timeoutMs = 30_000) {
  await eventually(async () => decode((await readSecret(ns, name))?.data)[key] === value, {
    what: `${ns}/${name} ${key} updated`,
    timeoutMs,
  });
}

async function newOperator(identity: string): Promise<OperatorPod> {
  const pod = await startOperatorPod(
    identity,
    podValues({ awsEndpoint: proxy.endpoint, queueUrl, namespaces: [...CASES.map(nsOf), DENIED_NS] }),
  );
  pods.push(pod);
  return pod;
}

/** AWS calls that read values (SQS polling aside). */
const valueReads = () => proxy.callsTo('ssm:') + proxy.callsTo('secretsmanager:') + proxy.callsTo('kms:');

/**
 * A fresh namespace for one case (labelled so the file's SourcePolicy grants it) with its own
 * parameters under /app/dev/<case>: db-host (String) and db-password (SecureString).
 */
async function freshCase(c: Case): Promise<{ ns: string; level: string; pw: string }> {
  const ns = nsOf(c);
  await core.createNamespace({ body: { metadata: { name: ns, labels: { [LABEL]: RUN } } } });
  const level = `/app/dev/${c}`;
  const pw = `db-pw-${c}-v1`;
  SECRET_VALUES.push(pw);
  const ssm = aws.ssm();
  await ssm.send(
    new PutParameterCommand({ Name: `${level}/db-host`, Value: `db.${c}.internal`, Type: 'String' }),
  );
  await ssm.send(new PutParameterCommand({ Name: `${level}/db-password`, Value: pw, Type: 'SecureString' }));
  return { ns, level, pw };
}

/** A SecretSync over a case's level, waited on until its Secret holds the first values. */
async function syncedCase(c: Case, extra: Record<string, unknown> = {}) {
  const k = await freshCase(c);
  await createSync(k.ns, 'app', {
    target: { name: 'app-secret' },
    sources: [{ hierarchy: { levels: [k.level] } }],
    ...extra,
  });
  await secretHolds(k.ns, 'app-secret', 'db-password', k.pw);
  return k;
}

beforeAll(async () => {
  await resetMoto(aws.motoEndpoint());
  proxy = await startFaultProxy(aws.motoEndpoint());
  await aws
    .ssm()
    .send(
      new PutParameterCommand({ Name: '/app/prod/db-password', Value: 'prod-only', Type: 'SecureString' }),
    );
  queueUrl = await aws.rotationQueue();
  await helm(['lint', CHART]);
  await ensureChart();
  // a policy granting this file's case namespaces (by label), not the denied one
  await custom.createClusterCustomObject({
    group: 'strata.dev',
    version: 'v1alpha1',
    plural: 'sourcepolicies',
    body: {
      apiVersion: 'strata.dev/v1alpha1',
      kind: 'SourcePolicy',
      metadata: { name: `opint-${RUN}` },
      spec: {
        namespaces: { selector: { matchLabels: { [LABEL]: RUN } } },
        ssm: { paths: ['/app/dev'] },
        secretsManager: { names: ['app/*'] },
      },
    },
  });
  op = await newOperator('op-1');
  await eventually(async () => op.isLeader(), { what: 'operator leads' });
}, 240_000);

afterAll(async () => {
  for (const p of pods) await p.remove();
  await proxy?.stop();
  await custom
    .deleteClusterCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      plural: 'sourcepolicies',
      name: `opint-${RUN}`,
    })
    .catch(() => {});
  await deleteNamespaces(...CASES.map(nsOf), DENIED_NS);
});

describe('strata operator on a real API server', () => {
  it('the container runs as the chart says: non-root, read-only, no capabilities, in-cluster, probes pass', async () => {
    const status = await op.processStatus();
    expect(status).toMatch(/^Uid:\s+65532\s+65532\s+65532\s+65532$/m);
    expect(status).toMatch(/^CapEff:\s+0+$/m);
    expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
    expect(op.podmanArgs).toEqual(expect.arrayContaining(['--read-only', '--cap-drop', 'ALL', '--memory']));
    expect(await op.probe('liveness')).toBe(true);
    expect(await op.probe('readiness')).toBe(true);
    // in-cluster configuration: the mounted ServiceAccount files, no kubeconfig
    const env = op.podmanArgs.filter((_a, i) => op.podmanArgs[i - 1] === '--env');
    expect(env.some((e) => e.startsWith('KUBECONFIG='))).toBe(false);
    expect(env).toContain(`KUBERNETES_SERVICE_HOST=127.0.0.1`);
    // the root filesystem refuses writes; /tmp (the chart's emptyDir) takes them
    const write = (path: string) =>
      op.exec(['node', '-e', `require('node:fs').writeFileSync(${JSON.stringify(path)}, 'x')`]);
    expect((await write('/app/x')).code).not.toBe(0);
    expect((await write('/tmp/x')).code).toBe(0);
    // the image holds the operator's production dependencies only: no other workspace, no
    // Powertools, no dev dependency
    const listing = await op.exec([
      'node',
      '-e',
      `const fs = require('node:fs'); const d = '/app/node_modules';
       console.log(JSON.stringify([...fs.readdirSync(d), ...fs.readdirSync(d + '/@strata').map((n) => '@strata/' + n)]))`,
    ]);
    expect(listing.code).toBe(0);
    const modules = JSON.parse(listing.out) as string[];
    expect(modules).toEqual(expect.arrayContaining(['@strata/core', '@strata/operator', '@kubernetes']));
    for (const absent of [
      '@strata/loader',
      '@strata/test-env',
      '@aws-lambda-powertools',
      'typescript',
      'vitest',
      'turbo',
    ])
      expect(modules).not.toContain(absent);
  });

  it('helm installed the chart: CRDs, ServiceAccount and RBAC exist', async () => {
    const list = JSON.parse(await helm(['list', '--namespace', RELEASE_NS, '-o', 'json']));
    expect(list).toMatchObject([{ name: RELEASE, status: 'deployed' }]);
    const sa = await core.readNamespacedServiceAccount({ namespace: RELEASE_NS, name: RELEASE });
    expect(sa.metadata?.name).toBe(RELEASE);
  });

  it('an invalid spec is refused by the API server with a clear message', async () => {
    const { ns, level } = await freshCase('invalid');
    const err = await createSync(ns, 'bad', {
      target: { name: 'x' },
      sources: [{ refs: { a: `<<resolve:ssm:${level}/db-host>>` }, secretJSON: { secretId: 'app/api' } }],
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect(String((err as k8s.ApiException<string>).body)).toContain(
      'exactly one of hierarchy, refs and secretJSON',
    );
  });

  it('a SecretSync produces the Secret with the right data, owned, and Ready', async () => {
    const { ns, level, pw } = await freshCase('sync');
    SECRET_VALUES.push('api-tok-sync');
    await aws.secrets().send(
      new CreateSecretCommand({
        Name: 'app/api-sync',
        SecretString: JSON.stringify({ token: 'api-tok-sync' }),
      }),
    );
    await createSync(ns, 'app', {
      target: { name: 'app-secret', labels: { team: 'a' } },
      sources: [
        { hierarchy: { levels: [level] } },
        { refs: { 'api-token': `<<resolve:secretsmanager:app/api-sync:SecretString:token>>` } },
      ],
    });
    const secret = await eventually(async () => readSecret(ns, 'app-secret'), { what: 'Secret created' });
    expect(decode(secret.data)).toEqual({
      'db-host': 'db.sync.internal',
      'db-password': pw,
      'api-token': 'api-tok-sync',
    });
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({
      kind: 'SecretSync',
      name: 'app',
      controller: true,
    });
    expect(secret.metadata?.labels?.team).toBe('a');
    const st = await eventually(
      async () => {
        const o = await getSync(ns, 'app');
        return o.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? o : undefined;
      },
      { what: 'Ready=True' },
    );
    expect(st.status?.contentHash).toMatch(/^[0-9a-f]{64}$/);
    expect(JSON.stringify(st.status?.sourceVersions)).toContain(`ssm:${level}/db-password`);
  });

  it('an SSM change delivered through EventBridge -> SQS updates the Secret and rolls the workload', async () => {
    const ns = nsOf('sqs');
    const k = await freshCase('sqs');
    await apps.createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'web' },
        spec: {
          replicas: 1,
          selector: { matchLabels: { app: 'web' } },
          template: {
            metadata: { labels: { app: 'web' } },
            spec: { containers: [{ name: 'web', image: 'example/web:1' }] },
          },
        },
      },
    });
    await createSync(ns, 'app', {
      target: { name: 'app-secret' },
      sources: [{ hierarchy: { levels: [k.level] } }],
      rollout: [{ kind: 'Deployment', name: 'web' }],
    });
    await secretHolds(ns, 'app-secret', 'db-password', k.pw);
    const annotation = async () =>
      (await apps.readNamespacedDeployment({ namespace: ns, name: 'web' })).spec?.template.metadata
        ?.annotations?.['strata.dev/content-hash'];
    const before = await eventually(annotation, { what: 'pod template annotated' });
    SECRET_VALUES.push('db-pw-sqs-v2');
    await changeParameter(`${k.level}/db-password`, 'db-pw-sqs-v2', 'SecureString');
    await secretHolds(ns, 'app-secret', 'db-password', 'db-pw-sqs-v2');
    const after = await eventually(
      async () => {
        const a = await annotation();
        return a && a !== before ? a : undefined;
      },
      { what: 'pod template annotated again' },
    );
    expect(after).toBe((await getSync(ns, 'app')).status?.contentHash);
  });

  it('a Secrets Manager PutSecretValue (CloudTrail event, secret id as ARN) updates the Secret', async () => {
    const { ns } = await freshCase('sm');
    SECRET_VALUES.push('api-tok-sm-1', 'api-tok-sm-2');
    const created = await aws.secrets().send(
      new CreateSecretCommand({
        Name: 'app/api-sm',
        SecretString: JSON.stringify({ token: 'api-tok-sm-1' }),
      }),
    );
    await createSync(ns, 'app', {
      target: { name: 'app-secret' },
      sources: [{ refs: { 'api-token': '<<resolve:secretsmanager:app/api-sm:SecretString:token>>' } }],
    });
    await secretHolds(ns, 'app-secret', 'api-token', 'api-tok-sm-1');
    await aws.secrets().send(
      new PutSecretValueCommand({
        SecretId: 'app/api-sm',
        SecretString: JSON.stringify({ token: 'api-tok-sm-2' }),
      }),
    );
    await putEvent('aws.secretsmanager', 'AWS API Call via CloudTrail', {
      eventSource: 'secretsmanager.amazonaws.com',
      eventName: 'PutSecretValue',
      requestParameters: { secretId: created.ARN },
    });
    await secretHolds(ns, 'app-secret', 'api-token', 'api-tok-sm-2');
  });

  it('malformed queue messages are dropped without stopping the consumer', async () => {
    const malformed = async () => {
      const m = /^strata_events_total\{[^}]*result="malformed"[^}]*\} ([0-9.]+)$/m.exec(await op.metrics());
      return Number(m?.[1] ?? 0);
    };
    const before = await malformed();
    await aws.sqs().send(new SendMessageCommand({ QueueUrl: queueUrl, MessageBody: 'this is not an event' }));
    await eventually(async () => (await malformed()) > before, { what: 'malformed counted' });
    expect(await op.isLeader()).toBe(true);
    expect((await op.state()).running).toBe(true);
  });

  it('a hand edit of the managed Secret is repaired', async () => {
    const { ns, pw } = await syncedCase('drift');
    SECRET_VALUES.push('hand-edited');
    await core.patchNamespacedSecret(
      {
        namespace: ns,
        name: 'app-secret',
        body: { data: { 'db-password': Buffer.from('hand-edited').toString('base64') } },
      },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    await secretHolds(ns, 'app-secret', 'db-password', pw);
  });

  it('a namespace without a grant gets AccessDenied, an Event, and makes no AWS call', async () => {
    await core.createNamespace({ body: { metadata: { name: DENIED_NS } } });
    const before = valueReads();
    await createSync(DENIED_NS, 'sneaky', {
      target: { name: 'stolen' },
      sources: [{ refs: { pw: '<<resolve:ssm:/app/prod/db-password>>' } }],
    });
    const cond = await eventually(
      async () => (await getSync(DENIED_NS, 'sneaky')).status?.conditions?.find((c) => c.type === 'Ready'),
      { what: 'status' },
    );
    expect(cond).toMatchObject({ status: 'False', reason: 'AccessDenied' });
    expect(cond.message).toContain('/app/prod/db-password');
    const events = await core.listNamespacedEvent({ namespace: DENIED_NS });
    expect(events.items.some((e) => e.reason === 'AccessDenied' && e.involvedObject.name === 'sneaky')).toBe(
      true,
    );
    expect(await readSecret(DENIED_NS, 'stolen')).toBeUndefined();
    expect(valueReads() - before).toBe(0);
  });

  it('two operators elect one leader; only the leader writes; the standby takes over', async () => {
    const { ns, level } = await syncedCase('failover');
    const op2 = await newOperator('op-2');
    await new Promise((r) => setTimeout(r, 1500));
    expect(await op.isLeader()).toBe(true);
    expect(await op2.isLeader()).toBe(false);
    await changeParameter(`${level}/db-host`, 'db2.failover.internal', 'String');
    await secretHolds(ns, 'app-secret', 'db-host', 'db2.failover.internal');
    expect(await op2.metrics()).not.toMatch(/^strata_secret_writes_total\{[^}]*\} [1-9]/m);
    // the kubelet stops the leader's container (SIGTERM): it exits 0, releasing the Lease, and
    // the standby container takes over and serves the next change
    expect(await op.stop()).toBe(0);
    await eventually(async () => op2.isLeader(), { what: 'standby leads', timeoutMs: 15_000 });
    // the Lease names the new leader by its Pod name (POD_NAME, from the downward API)
    const lease = await admin()
      .kc.makeApiClient(k8s.CoordinationV1Api)
      .readNamespacedLease({ namespace: RELEASE_NS, name: LEASE });
    expect(lease.spec?.holderIdentity).toBe(op2.name);
    op = op2;
    await changeParameter(`${level}/db-host`, 'db3.failover.internal', 'String');
    await secretHolds(ns, 'app-secret', 'db-host', 'db3.failover.internal');
  });

  it('deleting the SecretSync garbage-collects its Secret', async () => {
    const { ns } = await syncedCase('gc');
    await custom.deleteNamespacedCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'secretsyncs',
      name: 'app',
    });
    await eventually(async () => (await readSecret(ns, 'app-secret')) === undefined, {
      what: 'Secret collected',
      timeoutMs: 60_000,
    });
  });

  it('restarting kube-apiserver mid-run loses no update', async () => {
    const { ns, level } = await syncedCase('restart');
    await restartApiserverFromState();
    await changeParameter(`${level}/db-host`, 'db2.restart.internal', 'String');
    await secretHolds(ns, 'app-secret', 'db-host', 'db2.restart.internal', 60_000);
  });

  it('no secret value appears in logs, Events, status or metrics', async () => {
    const events = [];
    for (const ns of [...CASES.map(nsOf), DENIED_NS])
      events.push(...(await core.listNamespacedEvent({ namespace: ns })).items);
    const statuses = await custom.listClusterCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      plural: 'secretsyncs',
    });
    const logs = (await Promise.all(pods.map((p) => p.logs()))).join('\n');
    const haystack = [logs, JSON.stringify(events), JSON.stringify(statuses), await op.metrics()].join('\n');
    expect(logs).toContain('"level":30'); // the pods' log lines are part of the check
    for (const v of SECRET_VALUES) expect(haystack).not.toContain(v);
  });
});
