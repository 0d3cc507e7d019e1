/**
 * Periodic refresh, watched from outside: 40 SecretSyncs with `refreshInterval: 10s` (the CRD's
 * minimum) and no event source. The leader must re-read their sources from AWS every interval,
 * batched (AWS calls per interval at the lower bound for the distinct sources, read from the
 * operator's own /metrics), a standby must read nothing, and a value changed in AWS without any
 * event must reach its Secret within the interval (plus jitter). Both operators run from the image,
 * as the chart's Deployment runs it (test/env/pod.ts), serving this file's namespace only.
 */
import { CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import * as aws from '@strata/test-env/aws';
import { type FaultProxy, startFaultProxy } from '@strata/test-env/fault-proxy';
import { eventually, uniqueNamespace } from '@strata/test-env/kube-client';
import type { OperatorPod } from '@strata/test-env/pod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  decode,
  deleteNamespaces,
  ensureChart,
  podValues,
  promValue,
  secretSync,
  startOperatorPod,
} from './helpers.js';

const INTERVAL_MS = 10_000;
const JITTER = 0.1;
const SYNCS = 40;
const PARAMS = 20;
const SECRETS = 3;
const id = Math.random().toString(36).slice(2, 8);
const NS = uniqueNamespace('refresh');
const P = `/rf-${id}`;
const param = (i: number) => `${P}/p/${String(i).padStart(2, '0')}`;
const secretId = (i: number) => `rf-${id}/s${i}`;
// the lower bound for the distinct sources: ceil(20/10) GetParameters + 1 page of the 5-key
// hierarchy level + ceil(3/20) BatchGetSecretValue
const LOWER_BOUND = Math.ceil(PARAMS / 10) + 1 + Math.ceil(SECRETS / 20);

const { core, custom } = admin();
let proxy: FaultProxy;
const operators: OperatorPod[] = [];

function specOf(i: number) {
  return {
    target: { name: `s${i}` },
    refreshInterval: '10s',
    sources: [
      {
        refs: { a: `<<resolve:ssm:${param(i % PARAMS)}>>`, b: `<<resolve:ssm:${param((i + 7) % PARAMS)}>>` },
      },
      ...(i % 2 === 0 ? [{ hierarchy: { levels: [`${P}/h`] } }] : []),
      ...(i % 4 === 0 ? [{ secretJSON: { secretId: secretId((i / 4) % SECRETS), prefix: 'sec.' } }] : []),
    ],
  };
}

async function startOperator(identity: string): Promise<OperatorPod> {
  const pod = await startOperatorPod(
    identity,
    podValues({
      awsEndpoint: proxy.endpoint,
      namespaces: [NS],
      values: { refresh: { defaultInterval: '1h', jitterPercent: Math.round(JITTER * 100) } },
    }),
  );
  operators.push(pod);
  return pod;
}

const awsCalls = async (op: OperatorPod) => promValue(await op.metrics(), 'strata_aws_calls_total');
const refreshes = async (op: OperatorPod) =>
  promValue(await op.metrics(), 'strata_refreshes_total', { interval: '10s' });

function expectedOf(i: number): Record<string, string> {
  return {
    a: `v-${i % PARAMS}`,
    b: `v-${(i + 7) % PARAMS}`,
    ...(i % 2 === 0 ? { k0: 'h0', k1: 'h1', k2: 'h2', k3: 'h3', k4: 'h4' } : {}),
    ...(i % 4 === 0 ? { 'sec.token': `t-${(i / 4) % SECRETS}` } : {}),
  };
}

beforeAll(async () => {
  proxy = await startFaultProxy(aws.motoEndpoint());
  const ssm = aws.ssm();
  for (let i = 0; i < PARAMS; i++)
    await ssm.send(new PutParameterCommand({ Name: param(i), Value: `v-${i}`, Type: 'String' }));
  for (let k = 0; k < 5; k++)
    await ssm.send(new PutParameterCommand({ Name: `${P}/h/k${k}`, Value: `h${k}`, Type: 'String' }));
  for (let i = 0; i < SECRETS; i++)
    await aws
      .secrets()
      .send(
        new CreateSecretCommand({ Name: secretId(i), SecretString: JSON.stringify({ token: `t-${i}` }) }),
      );
  await ensureChart();
  await core.createNamespace({ body: { metadata: { name: NS } } });
  await custom.createClusterCustomObject({
    group: 'strata.dev',
    version: 'v1alpha1',
    plural: 'sourcepolicies',
    body: {
      apiVersion: 'strata.dev/v1alpha1',
      kind: 'SourcePolicy',
      metadata: { name: NS },
      spec: { namespaces: { names: [NS] }, ssm: { paths: [P] }, secretsManager: { names: [`rf-${id}/*`] } },
    },
  });
  for (let i = 0; i < SYNCS; i++)
    await custom.createNamespacedCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      namespace: NS,
      plural: 'secretsyncs',
      body: secretSync(NS, `sync-${i}`, specOf(i)),
    });
}, 120_000);

afterAll(async () => {
  for (const op of operators) await op.remove();
  await proxy?.stop();
  await custom
    .deleteClusterCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      plural: 'sourcepolicies',
      name: NS,
    })
    .catch(() => {});
  await deleteNamespaces(NS);
});

describe('refreshInterval is honoured, batched, by the leader only', () => {
  let leader: OperatorPod;
  let standby: OperatorPod;

  it('syncs all SecretSyncs', async () => {
    leader = await startOperator(`rf-a-${id}`);
    await eventually(async () => leader.isLeader(), { what: 'first operator leads' });
    standby = await startOperator(`rf-b-${id}`);
    const same = (a: Record<string, string>, b: Record<string, string>) =>
      JSON.stringify(Object.entries(a).sort()) === JSON.stringify(Object.entries(b).sort());
    for (let i = 0; i < SYNCS; i++) {
      await eventually(
        async () => {
          const secret = await core
            .readNamespacedSecret({ namespace: NS, name: `s${i}` })
            .catch(() => undefined);
          return same(decode(secret?.data), expectedOf(i));
        },
        { what: `Secret s${i} synced`, timeoutMs: 60_000 },
      );
    }
    expect(await standby.isLeader()).toBe(false);
  }, 120_000);

  it('reads AWS every interval, at the lower bound for the distinct sources; the standby reads nothing', async () => {
    // align on the end of a refresh, then watch three more from outside (the /metrics endpoint)
    const r0 = await refreshes(leader);
    await eventually(async () => (await refreshes(leader)) > r0, {
      what: 'a periodic refresh',
      timeoutMs: INTERVAL_MS * (1 + JITTER) + 10_000,
      intervalMs: 100,
    });
    const c0 = await awsCalls(leader);
    const s0 = await awsCalls(standby);
    const t0 = Date.now();
    const r1 = await refreshes(leader);
    await eventually(async () => (await refreshes(leader)) >= r1 + 3, {
      what: 'three more refreshes',
      timeoutMs: 3 * (INTERVAL_MS * (1 + JITTER) + 5000),
      intervalMs: 100,
    });
    const perInterval = ((await awsCalls(leader)) - c0) / 3;
    const elapsed = Date.now() - t0;
    // every interval, not the resolver's cache TTL (5 min): three refreshes took about 3 intervals
    expect(elapsed).toBeGreaterThan(3 * INTERVAL_MS * (1 - JITTER) - 1000);
    expect(elapsed).toBeLessThan(3 * INTERVAL_MS * 2);
    // AWS was read each time (not served from the cache), in batches: calls per interval follow the
    // distinct sources (4), not the 40 SecretSyncs
    expect(perInterval).toBeGreaterThan(0);
    expect(perInterval).toBeGreaterThanOrEqual(LOWER_BOUND);
    expect(perInterval).toBeLessThanOrEqual(1.2 * LOWER_BOUND);
    // only the leader refreshes
    expect((await awsCalls(standby)) - s0).toBe(0);
    expect(await refreshes(standby)).toBe(0);
  }, 120_000);

  it('a value changed in AWS with no event reaches its Secret within refreshInterval (+ jitter)', async () => {
    await aws
      .ssm()
      .send(new PutParameterCommand({ Name: param(3), Value: 'v-3-new', Type: 'String', Overwrite: true }));
    const t0 = Date.now();
    // sync-3 reads param 3 as `a`; no event is sent and no SQS queue is configured
    await eventually(
      async () =>
        decode((await core.readNamespacedSecret({ namespace: NS, name: 's3' })).data).a === 'v-3-new',
      { what: 'changed value synced', timeoutMs: INTERVAL_MS * (1 + JITTER) + 8000, intervalMs: 200 },
    );
    expect(Date.now() - t0).toBeLessThan(INTERVAL_MS * (1 + JITTER) + 8000);
  }, 60_000);

  it('the standby starts refreshing when it takes over', async () => {
    expect(await leader.stop()).toBe(0);
    await eventually(async () => standby.isLeader(), { what: 'standby leads', timeoutMs: 15_000 });
    await eventually(async () => (await refreshes(standby)) >= 1, {
      what: 'the new leader refreshes',
      timeoutMs: INTERVAL_MS * (1 + JITTER) + 10_000,
      intervalMs: 200,
    });
    expect(await awsCalls(standby)).toBeGreaterThan(0);
  }, 60_000);
});
