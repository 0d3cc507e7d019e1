/**
 * The operator's life around the reconcile: namespaces that gain labels, leader election under
 * clock skew, events sent while the leader restarts, recovery after an AWS outage, and a quiet
 * shutdown. Real kube-apiserver (the chart's ServiceAccount), moto behind the fault proxy. The
 * operator runs from its image as the chart's Deployment runs it (test/env/pod.ts); SIGTERM is
 * what `podman stop` sends, as the kubelet does. The clock-skew case drives the LeaderElector in
 * this process: it needs an injected clock, which a container cannot be given.
 */
import { PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import * as k8s from '@kubernetes/client-node';
import * as aws from '@strata/test-env/aws';
import { type FaultProxy, startFaultProxy } from '@strata/test-env/fault-proxy';
import { adminKubeConfig, eventually, uniqueNamespace } from '@strata/test-env/kube-client';
import type { OperatorPod } from '@strata/test-env/pod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { kubeClient } from '../src/kube.js';
import { LeaderElector } from '../src/leader.js';
import {
  admin,
  decode,
  deleteNamespaces,
  ensureChart,
  podValues,
  promValue,
  scrape,
  secretSync,
  startOperatorPod,
} from './helpers.js';

const id = Math.random().toString(36).slice(2, 8);
const P = `/lc-${id}`;
const NS = uniqueNamespace('lifecycle');
const LABELLED = uniqueNamespace('labelled');
const LABEL = `strata-test/grant-${id}`;
const { core, custom } = admin();
let proxy: FaultProxy;
let queueUrl: string;
const running: OperatorPod[] = [];
let podCount = 0;

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

/**
 * An operator container serving this file's namespaces, AWS (SQS included when `queue`) through
 * `awsEndpoint` (default: the fault proxy).
 */
async function startOperator(
  opts: { awsEndpoint?: string; waitTimeSeconds?: number; values?: Record<string, unknown> } = {},
): Promise<OperatorPod> {
  podCount += 1;
  const pod = await startOperatorPod(
    `lc-${id}-${podCount}`,
    podValues({
      awsEndpoint: opts.awsEndpoint ?? proxy.endpoint,
      namespaces: [NS, LABELLED],
      values: {
        ...(opts.waitTimeSeconds !== undefined
          ? { sqs: { queueUrl, waitTimeSeconds: opts.waitTimeSeconds } }
          : {}),
        ...opts.values,
      },
    }),
  );
  running.push(pod);
  return pod;
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
  for (const op of running) await op.remove();
  await proxy?.stop();
  for (const name of [`lc-${id}`, `lc-${id}-labels`])
    await custom
      .deleteClusterCustomObject({ group: 'strata.dev', version: 'v1alpha1', plural: 'sourcepolicies', name })
      .catch(() => {});
  await deleteNamespaces(NS, LABELLED);
});

describe('operator lifecycle', () => {
  it('a denied SecretSync is synced once its Namespace gains the label a SourcePolicy selects', async () => {
    const op = await startOperator();
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
    expect(await op.stop()).toBe(0);
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
    const a = await startOperator({ awsEndpoint: aws.motoEndpoint(), waitTimeSeconds: 20 });
    await eventually(async () => a.isLeader(), { what: 'a leads' });
    // the standby polls through the proxy, whose 3 s delay on ReceiveMessage keeps the new
    // leader's first poll away from SQS just long enough for the event to arrive before it
    proxy.configure({ rules: [{ fault: 'latency', latencyMs: 3000, ops: ['sqs:ReceiveMessage'] }] });
    const b = await startOperator({ waitTimeSeconds: 5 });
    try {
      await eventually(async () => (await secretValue(NS, 'restart', 'v')) === 'r1', { what: 'first sync' });
      // a fresh long poll on the leader: it has ~20 s left when the leader is told to stop
      const handled = async () => promValue(await a.metrics(), 'strata_events_total', { result: 'handled' });
      const before = await handled();
      await changeParameter(`${P}/noise`, `n-${Date.now()}`);
      await eventually(async () => (await handled()) > before, { what: 'leader handled an event' });
      await new Promise((r) => setTimeout(r, 300));

      const stopping = a.stop(); // SIGTERM, as the kubelet sends it
      await eventually(async () => b.isLeader(), { what: 'b leads', intervalMs: 20 });
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
      expect(await stopping).toBe(0);
      expect(await b.isLeader()).toBe(true);
    } finally {
      proxy.configure({});
      await b.stop();
    }
  }, 90_000);

  it('after an AWS outage the first event reaches its Secret within a few seconds', async () => {
    await createSync(NS, 'outage', {
      target: { name: 'outage' },
      sources: [{ refs: { v: `<<resolve:ssm:${P}/outage>>` } }],
    });
    // SQS and SSM both through the fault proxy
    const op = await startOperator({ waitTimeSeconds: 2 });
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
    expect(await op.stop()).toBe(0);
  }, 90_000);

  it('binds the configured host for health and metrics', async () => {
    // the chart's health.host value (STRATA_HEALTH_HOST): IPv4 only. (The chart refuses a loopback
    // host, which the kubelet could not probe; with host networking 127.0.0.1 is the pod's address.)
    const op = await startOperator({ values: { health: { host: '0.0.0.0' } } });
    expect(await scrape(op.port('health'), '/healthz', '127.0.0.1')).toBe('ok');
    await expect(scrape(op.port('health'), '/healthz', '::1')).rejects.toThrow();
    expect(await op.stop()).toBe(0);
  }, 30_000);

  it('a normal shutdown logs no informer errors', async () => {
    // started once the readiness probe passes, i.e. the informers have synced
    const op = await startOperator();
    expect(await op.stop()).toBe(0);
    const logs = (await op.logs()).split('\n');
    const warnings = logs.filter((l) => l.includes('informer error'));
    expect(warnings).toEqual([]);
    expect(logs.some((l) => l.includes('"stopped"'))).toBe(true);
  }, 30_000);
});
