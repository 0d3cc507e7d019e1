import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { adminKubeConfig } from '@strata/test-env/kube-client';
import { OperatorPod, operatorImage } from '@strata/test-env/pod';

const run = promisify(execFile);
export const CHART = fileURLToPath(new URL('../../../charts/strata-operator', import.meta.url));
export const RELEASE = 'strata-operator';
export const RELEASE_NS = 'strata-system';
export const LEASE = `${RELEASE}-leader`;

export async function helm(args: string[]): Promise<string> {
  const { stdout } = await run(process.env.STRATA_TEST_HELM!, [
    ...args,
    '--kubeconfig',
    process.env.STRATA_TEST_KUBECONFIG!,
  ]);
  return stdout;
}

export const admin = () => {
  const kc = adminKubeConfig();
  return {
    kc,
    core: kc.makeApiClient(k8s.CoreV1Api),
    apps: kc.makeApiClient(k8s.AppsV1Api),
    custom: kc.makeApiClient(k8s.CustomObjectsApi),
  };
};

export function secretSync(ns: string, name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'strata.dev/v1alpha1', kind: 'SecretSync', metadata: { name, namespace: ns }, spec };
}

export function decode(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(
    Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString()]),
  );
}

/**
 * Installs the chart (replicaCount 2) unless another test file of this run already did: every
 * operator test runs under the chart's ServiceAccount and RBAC.
 */
export async function ensureChart(): Promise<void> {
  const list = JSON.parse(await helm(['list', '--namespace', RELEASE_NS, '-o', 'json'])) as Array<{
    name: string;
  }>;
  if (list.some((r) => r.name === RELEASE)) return;
  await helm([
    'install',
    RELEASE,
    CHART,
    '--namespace',
    RELEASE_NS,
    '--create-namespace',
    '--set',
    'replicaCount=2',
  ]);
}

/** The sum of a metric's series in Prometheus text, optionally only those with these labels. */
export function promValue(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN)$/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** GET a path of an operator's health/metrics listener. */
export async function scrape(port: number, path = '/metrics', host = '127.0.0.1'): Promise<string> {
  const res = await fetch(`http://${host.includes(':') ? `[${host}]` : host}:${port}${path}`);
  if (!res.ok) throw new Error(`GET ${path}: HTTP ${res.status}`);
  return res.text();
}

/**
 * Deletes namespaces and waits until they are gone, so the SecretSyncs in them cannot reach an
 * operator that a later test file starts cluster-wide.
 */
export async function deleteNamespaces(...names: string[]): Promise<void> {
  const { core } = admin();
  for (const name of names) await core.deleteNamespace({ name }).catch(() => {});
  const gone = async (name: string) =>
    core.readNamespace({ name }).then(
      () => false,
      () => true,
    );
  const deadline = Date.now() + 60_000;
  for (const name of names)
    while (Date.now() < deadline && !(await gone(name))) await new Promise((r) => setTimeout(r, 250));
}

/**
 * The chart's values for an operator pod of these tests: AWS through `awsEndpoint` (moto, or the
 * fault proxy in front of it) with moto's dummy credentials as extraEnv, short leader-election
 * timings, debug logs (so the no-secret-in-logs checks see everything), and, when `namespaces`
 * is given, the chart's namespaced mode (STRATA_WATCH_NAMESPACES) so a pod serves only the
 * namespaces of its test file. The installed release keeps its cluster-wide RBAC.
 */
export function podValues(opts: {
  awsEndpoint: string;
  queueUrl?: string;
  namespaces?: string[];
  values?: Record<string, unknown>;
}): Record<string, unknown> {
  return {
    aws: { region: 'us-east-1', endpoint: opts.awsEndpoint },
    sqs: { queueUrl: opts.queueUrl ?? '', waitTimeSeconds: 1 },
    leaderElection: { enabled: true, leaseDuration: '3s', renewDeadline: '2s', retryPeriod: '1s' },
    logLevel: 'debug',
    extraEnv: [
      { name: 'AWS_ACCESS_KEY_ID', value: 'testing' },
      { name: 'AWS_SECRET_ACCESS_KEY', value: 'testing' },
    ],
    ...(opts.namespaces ? { rbac: { create: true, scope: 'namespaced', namespaces: opts.namespaces } } : {}),
    ...opts.values,
  };
}

/**
 * Starts the operator's image as the chart's Deployment would run it (test/env/pod.ts): the
 * container spec from `helm template`, in-cluster configuration from a TokenRequest token of the
 * chart's ServiceAccount, and waits for the chart's readiness probe.
 */
export async function startOperatorPod(
  name: string,
  values: Record<string, unknown>,
  opts: { ready?: boolean } = {},
): Promise<OperatorPod> {
  const pod = await OperatorPod.start({
    image: operatorImage(),
    name: `${name}-${process.pid}`.toLowerCase(),
    release: RELEASE,
    namespace: RELEASE_NS,
    values,
  });
  if (opts.ready !== false) {
    try {
      await pod.waitReady(90_000);
    } catch (err) {
      await pod.remove();
      throw err;
    }
  }
  return pod;
}
