/**
 * What a newcomer copies: the README's SecretSync and SourcePolicy examples, applied exactly as
 * written, make a Ready SecretSync; the chart's listener host values reach the operator and bad
 * ones are refused by the schema.
 */
import { readFileSync } from 'node:fs';
import { CreateSecretCommand, PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand } from '@aws-sdk/client-ssm';
import * as k8s from '@kubernetes/client-node';
import * as aws from '@strata/test-env/aws';
import { eventually } from '@strata/test-env/kube-client';
import type { OperatorPod } from '@strata/test-env/pod';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  admin,
  CHART,
  decode,
  deleteNamespaces,
  ensureChart,
  helm,
  podValues,
  startOperatorPod,
} from './helpers.js';

const README = new URL('../README.md', import.meta.url);
const { core, apps, custom } = admin();
let op: OperatorPod | undefined;

/** The YAML blocks of the README that hold an object of this kind, parsed as written. */
function readmeExample(
  kind: string,
): k8s.KubernetesObject & { metadata: { name: string; namespace?: string } } {
  const blocks = [...readFileSync(README, 'utf8').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) => m[1]!);
  const found = blocks.map((b) => k8s.loadYaml<k8s.KubernetesObject>(b)).filter((o) => o?.kind === kind);
  expect(found, `one ${kind} example in the README`).toHaveLength(1);
  return found[0] as k8s.KubernetesObject & { metadata: { name: string; namespace?: string } };
}

async function upsertSecret(name: string, value: unknown) {
  const sm = aws.secrets();
  const SecretString = JSON.stringify(value);
  await sm.send(new CreateSecretCommand({ Name: name, SecretString })).catch(async (err: Error) => {
    if (err.name !== 'ResourceExistsException') throw err;
    await sm.send(new PutSecretValueCommand({ SecretId: name, SecretString }));
  });
}

const tolerateExists = (err: unknown) => {
  if (!(err instanceof k8s.ApiException && err.code === 409)) throw err;
};

describe('the README examples', () => {
  const sync = readmeExample('SecretSync');
  const policy = readmeExample('SourcePolicy');
  const ns = sync.metadata.namespace!;

  beforeAll(async () => {
    // the AWS side the examples name
    await aws.ssm().send(
      new PutParameterCommand({
        Name: '/acme/shop/prod/db/url',
        Value: 'postgres://db:5432/shop',
        Type: 'String',
        Overwrite: true,
      }),
    );
    await upsertSecret('prod/shop/db', { password: 'readme-db-pw' });
    await upsertSecret('shared/stripe', { publishable_key: 'pk_readme' });
    await ensureChart();
    await core.createNamespace({ body: { metadata: { name: ns } } }).catch(tolerateExists);
    await apps
      .createNamespacedDeployment({
        namespace: ns,
        body: {
          metadata: { name: 'shop-api' },
          spec: {
            replicas: 1,
            selector: { matchLabels: { app: 'shop-api' } },
            template: {
              metadata: { labels: { app: 'shop-api' } },
              spec: { containers: [{ name: 'api', image: 'example/shop-api:1' }] },
            },
          },
        },
      })
      .catch(tolerateExists);
    // the operator from its image, as the chart's Deployment runs it (test/env/pod.ts)
    op = await startOperatorPod('docs', podValues({ awsEndpoint: aws.motoEndpoint(), namespaces: [ns] }));
  }, 120_000);

  afterAll(async () => {
    await op?.remove();
    await custom
      .deleteClusterCustomObject({
        group: 'strata.dev',
        version: 'v1alpha1',
        plural: 'sourcepolicies',
        name: policy.metadata.name,
      })
      .catch(() => {});
    await deleteNamespaces(ns);
  });

  it('the SecretSync and SourcePolicy examples, applied as written, make a Ready SecretSync', async () => {
    await custom.createClusterCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      plural: 'sourcepolicies',
      body: policy,
    });
    await custom.createNamespacedCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      namespace: ns,
      plural: 'secretsyncs',
      body: sync,
    });
    const target = (sync as unknown as { spec: { target: { name: string } } }).spec.target.name;
    const ready = await eventually(
      async () => {
        const o = (await custom.getNamespacedCustomObject({
          group: 'strata.dev',
          version: 'v1alpha1',
          namespace: ns,
          plural: 'secretsyncs',
          name: sync.metadata.name,
        })) as {
          status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> };
        };
        const c = o.status?.conditions?.find((x) => x.type === 'Ready');
        return c && c.reason !== 'RolloutFailed' && c.status !== 'Unknown' ? c : undefined;
      },
      { what: 'README SecretSync status' },
    );
    expect(ready, ready.message).toMatchObject({ status: 'True', reason: 'Synced' });
    const data = decode((await core.readNamespacedSecret({ namespace: ns, name: target })).data);
    expect(data).toEqual({
      'db.url': 'postgres://db:5432/shop',
      DATABASE_PASSWORD: 'readme-db-pw',
      DATABASE_URL: 'postgres://shop:readme-db-pw@db:5432/shop',
      STRIPE_publishable_key: 'pk_readme',
    });
  }, 60_000);
});

describe('chart: listener hosts', () => {
  const env = async (...set: string[]) => {
    const out = await helm(['template', 'x', CHART, ...set.flatMap((s) => ['--set', s])]);
    const deployment = k8s
      .loadAllYaml(out)
      .find((o: k8s.KubernetesObject) => o?.kind === 'Deployment') as k8s.V1Deployment;
    return Object.fromEntries(
      (deployment.spec?.template.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
    );
  };

  it('health.host and metrics.host reach the operator as STRATA_HEALTH_HOST / STRATA_METRICS_HOST', async () => {
    const byDefault = await env();
    expect(byDefault.STRATA_HEALTH_HOST).toBeUndefined();
    expect(byDefault.STRATA_METRICS_HOST).toBeUndefined();
    const set = await env('health.host=0.0.0.0', 'metrics.host=127.0.0.1');
    expect(set).toMatchObject({ STRATA_HEALTH_HOST: '0.0.0.0', STRATA_METRICS_HOST: '127.0.0.1' });
    expect((await env('health.host=::')).STRATA_HEALTH_HOST).toBe('::');
  });

  it('refuses a loopback health host (the kubelet could not probe it) and a malformed host', async () => {
    await expect(env('health.host=127.0.0.1')).rejects.toThrow(/health/);
    await expect(env('metrics.host=not a host')).rejects.toThrow(/metrics/);
  });
});
