/**
 * The operator's life around the reconcile: namespaces that gain labels, leader election under
 * clock skew, events sent while the leader restarts, recovery after an AWS outage, and a quiet
 * shutdown. Real kube-apiserver (the chart's ServiceAccount), moto behind the fault proxy.
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { SQSClient } from '@aws-sdk/client-sqs';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import * as k8s from '@kubernetes/client-node';
import * as aws from '@strata/test-env/aws';
import { type FaultProxy, startFaultProxy } from '@strata/test-env/fault-proxy';
import { adminKubeConfig, eventually, uniqueNamespace } from '@strata/test-env/kube-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Operator, type OperatorOptions } from '../src/index.js';
import { kubeClient } from '../src/kube.js';
import { LeaderElector } from '../src/leader.js';
import {
  admin,
  capturedLogger,
  decode,
  deleteNamespaces,
  ensureChart,
  LEASE,
  operatorKubeConfig,
  promValue,
  RELEASE_NS,
  scrape,
  secretSync,
} from './helpers.js';

const id = Math.random().toString(36).slice(2, 8);
const P = `/lc-${id}`;
const NS = uniqueNamespace('lifecycle');
const LABELLED = uniqueNamespace('labelled');
const LABEL = `strata-test/grant-${id}`;
const { core, custom } = admin();
let proxy: FaultProxy;
let queueUrl: string;
const running: Operator[] = [];

async function put(name: string, value: string) {
  await aws
    .ssm()
    .send(new PutParameterCommand({ Name: name, Value: value, Type: 'String', Overwrite: true }));
}

/** Changes a parameter and announces it as AWS does (EventBridge "Parameter Store Change" → SQS). */
async function changeParameter(name: string, value: string) {
  await put(name, value);
  const out = await aws.events().send(
    new PutEventsCommand({
      Entries: [
        {
          Source: 'aws.ssm',
          DetailType: 'Parameter Store Change',
          Detail: JSON.stringify({ operation: 'Update', name, type: 'String' }),
        },
      ],
    }),
  );
  expect(out.FailedEntryCount).toBe(0);
}

async function secretValue(ns: string, name: string, key: string): Promise<string | undefined> {
  const s = await core.readNamespacedSecret({ namespace: ns, name }).catch(() => undefined);
  return decode(s?.data)[key];
}

async function policy(name: string, spec: Record<string, unknown>) {
  await custom.createClusterCustomObject({
    group: 'strata.dev',
    version: 'v1alpha1',
    plural: 'sourcepolicies',
    body: { apiVersion: 'strata.dev/v1alpha1', kind: 'SourcePolicy', metadata: { name }, spec },
  });
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

async function readyOf(ns: string, name: string) {
  const o = (await custom.getNamespacedCustomObject({
    group: 'strata.dev',
    version: 'v1alpha1',
    namespace: ns,
    plural: 'secretsyncs',
    name,
  })) as { status?: { conditions?: Array<{ type: string; status: string; reason: string }> } };
  return o.status?.conditions?.find((c) => c.type === 'Ready');
}

const awsOptions = (endpoint: string) => ({
  endpoint,
  region: 'us-east-1',
  credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
});

async function startOperator(
  extra: Partial<OperatorOptions> & { identity?: string } = {},
  captured = capturedLogger(),
): Promise<{ op: Operator; logs: string[] }> {
  const { identity, ...rest } = extra;
  const op = new Operator({
    kubeConfig: await operatorKubeConfig(),
    logger: captured.logger,
    resolver: { aws: { ...awsOptions(proxy.endpoint), retry: { retries: 2, baseMs: 10, capMs: 100 } } },
    namespaces: [NS, LABELLED],
    httpPort: 0,
    ...(identity
      ? {
          leaderElection: {
            namespace: RELEASE_NS,
            name: LEASE,
            identity,
            leaseDurationMs: 3000,
            renewDeadlineMs: 2000,
            retryPeriodMs: 300,
          },
        }
      : {}),
    ...rest,
  });
  running.push(op);
  await op.start();
  return { op, logs: captured.lines };
}

beforeAll(async () => {
  proxy = await startFaultProxy(aws.motoEndpoint());
  queueUrl = await aws.rotationQueue();
  await put(`${P}/restart`, 'r1');
  await put(`${P}/outage`, 'o1');
  await put(`${P}/labels`, 'l1');
  await put(`${P}/noise`, 'n0');
  await ensureChart();
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await core.createNamespace({ body: { metadata: { name: LABELLED } } });
  await policy(`lc-${id}`, { namespaces: { names: [NS] }, ssm: { paths: [P] } });
  await policy(`lc-${id}-labels`, {
    namespaces: { selector: { matchLabels: { [LABEL]: 'yes' } } },
    ssm: { paths: [`${P}/labels`] },
  });
}, 120_000);

afterAll(async () => {
  for (const op of running) await op.stop();
  await proxy?.stop();
  for (const name of [`lc-${id}`, `lc-${id}-labels`])
    await custom
      .deleteClusterCustomObject({ group: 'strata.dev', version: 'v1alpha1', plural: 'sourcepolicies', name })
      .catch(() => {});
  await deleteNamespaces(NS, LABELLED);
});

describe('operator lifecycle', () => {
  it('a denied SecretSync is synced once its Namespace gains the label a SourcePolicy selects', async () => {
    const { op } = await startOperator();
    await createSync(LABELLED, 'by-label', {
      target: { name: 'by-label' },
      sources: [{ refs: { v: `<<resolve:ssm:${P}/labels>>` } }],
    });
    await eventually(async () => (await readyOf(LABELLED, 'by-label'))?.reason === 'AccessDenied', {
      what: 'AccessDenied first',
    });
    await core.patchNamespace(
      { name: LABELLED, body: { metadata: { labels: { [LABEL]: 'yes' } } } },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
    );
    // nothing else changes: no SourcePolicy edit, no event, no spec change
    await eventually(async () => (await secretValue(LABELLED, 'by-label', 'v')) === 'l1', {
      what: 'Secret written after the label was added',
      timeoutMs: 15_000,
    });
    expect((await readyOf(LABELLED, 'by-label'))?.status).toBe('True');
    await op.stop();
  }, 60_000);

  it('leader election under clock skew: a standby whose clock runs ahead never takes a live Lease', async () => {
    const client = kubeClient(adminKubeConfig());
    const lease = `skew-${id}`;
    const started: string[] = [];
    const elector = (identity: string, skewMs: number) =>
      new LeaderElector({
        client,
        namespace: 'default',
        name: lease,
        identity,
        leaseDurationMs: 2000,
        renewDeadlineMs: 1500,
        retryPeriodMs: 200,
        now: () => Date.now() + skewMs,
        onStartedLeading: () => started.push(identity),
        onStoppedLeading: () => {},
      });
    const holder = elector('holder', 0);
    const ahead = elector('ahead', 120_000); // two minutes ahead: renewTime always looks expired
    try {
      holder.start();
      await eventually(async () => holder.isLeader, { what: 'holder leads' });
      ahead.start();
      await new Promise((r) => setTimeout(r, 4000)); // two lease durations
      expect(started).toEqual(['holder']);
      expect(holder.isLeader).toBe(true);
      expect(ahead.isLeader).toBe(false);
      // the holder dies without releasing: the standby takes over once the record stops changing
      holder.stop();
      await eventually(async () => ahead.isLeader, { what: 'standby takes over', timeoutMs: 10_000 });
      expect(started).toEqual(['holder', 'ahead']);
    } finally {
      holder.stop();
      await ahead.release();
      client.close();
    }
  }, 60_000);

  it('an event sent around a leader restart reaches its Secret at normal latency, not after the visibility timeout', async () => {
    await createSync(NS, 'restart', {
      target: { name: 'restart' },
      sources: [{ refs: { v: `<<resolve:ssm:${P}/restart>>` } }],
    });
    // long polls, as in production. SQS (and moto) can hand a message to a poll its client has
    // given up on; that message then stays invisible for the queue's visibility timeout (30 s).
    const a = await startOperator({
      identity: `lc-a-${id}`,
      sqs: { queueUrl, client: aws.sqs(), waitTimeSeconds: 20 },
    });
    await eventually(async () => a.op.isLeader, { what: 'a leads' });
    // the standby polls through the proxy, whose 3 s delay on ReceiveMessage keeps the new
    // leader's first poll away from SQS just long enough for the event to arrive before it
    const bClient = new SQSClient(awsOptions(proxy.endpoint));
    proxy.configure({ rules: [{ fault: 'latency', latencyMs: 3000, ops: ['sqs:ReceiveMessage'] }] });
    const b = await startOperator({
      identity: `lc-b-${id}`,
      sqs: { queueUrl, client: bClient, waitTimeSeconds: 5 },
    });
    try {
      await eventually(async () => (await secretValue(NS, 'restart', 'v')) === 'r1', { what: 'first sync' });
      // a fresh long poll on the leader: it has ~20 s left when the leader is told to stop
      const handled = async () =>
        promValue(await scrape(a.op.httpPort), 'strata_events_total', { result: 'handled' });
      const before = await handled();
      await changeParameter(`${P}/noise`, `n-${Date.now()}`);
      await eventually(async () => (await handled()) > before, { what: 'leader handled an event' });
      await new Promise((r) => setTimeout(r, 300));

      const stopping = a.op.stop(); // what SIGTERM runs
      await eventually(async () => b.op.isLeader, { what: 'b leads', intervalMs: 20 });
      await new Promise((r) => setTimeout(r, 1000)); // b's takeover reconcile (it reads r1)
      expect(await secretValue(NS, 'restart', 'v')).toBe('r1');
      await changeParameter(`${P}/restart`, 'r2');
      const sent = Date.now();
      await eventually(async () => (await secretValue(NS, 'restart', 'v')) === 'r2', {
        what: 'event applied by the new leader',
        timeoutMs: 12_000,
        intervalMs: 100,
      });
      expect(Date.now() - sent).toBeLessThan(12_000);
      await stopping;
      expect(b.op.isLeader).toBe(true);
    } finally {
      proxy.configure({});
      await b.op.stop();
      bClient.destroy();
    }
  }, 90_000);

  it('after an AWS outage the first event reaches its Secret within a few seconds', async () => {
    await createSync(NS, 'outage', {
      target: { name: 'outage' },
      sources: [{ refs: { v: `<<resolve:ssm:${P}/outage>>` } }],
    });
    // SQS and SSM both through the fault proxy
    const client = new SQSClient(awsOptions(proxy.endpoint));
    const { op } = await startOperator({ sqs: { queueUrl, client, waitTimeSeconds: 2 } });
    await eventually(async () => (await secretValue(NS, 'outage', 'v')) === 'o1', { what: 'first sync' });
    proxy.configure({ rules: [{ fault: 'error5xx', status: 503 }] });
    await new Promise((r) => setTimeout(r, 20_000));
    proxy.configure({});
    const back = Date.now();
    await changeParameter(`${P}/outage`, 'o2');
    await eventually(async () => (await secretValue(NS, 'outage', 'v')) === 'o2', {
      what: 'event applied after the outage',
      timeoutMs: 8000,
      intervalMs: 100,
    });
    expect(Date.now() - back).toBeLessThan(8000);
    await op.stop();
    client.destroy();
  }, 90_000);

  it('binds the configured host for health and metrics', async () => {
    const { op } = await startOperator({ httpHost: '127.0.0.1' });
    expect(await scrape(op.httpPort, '/healthz', '127.0.0.1')).toBe('ok');
    await expect(scrape(op.httpPort, '/healthz', '::1')).rejects.toThrow();
    await op.stop();
  }, 30_000);

  it('a normal shutdown logs no informer errors', async () => {
    const { op, logs } = await startOperator();
    await eventually(async () => op.controller.ready, { what: 'informers synced' });
    await op.stop();
    const warnings = logs.filter((l) => l.includes('informer error'));
    expect(warnings).toEqual([]);
    expect(logs.some((l) => l.includes('"stopped"'))).toBe(true);
  }, 30_000);
});
