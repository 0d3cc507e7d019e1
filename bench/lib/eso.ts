/**
 * External Secrets Operator (the peer raced in bench/scale.ts), run as its best users would at
 * scale but out of cluster: the binary built by bench/eso/build.sh from the Go module proxy,
 * as a plain controller (no webhook, no cert-controller: those are separate subcommands of the
 * same binary, not started), its CRDs from the module's own source, AWS endpoints from
 * AWS_SSM_ENDPOINT / AWS_SECRETSMANAGER_ENDPOINT, `--concurrent` raised to Strata's work-queue
 * concurrency and the client rate limit raised so it is not what bounds it.
 * Bench only: never run in CI.
 */
import { spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { parseAllDocuments } from 'yaml';
import { kubeClient } from '../../packages/operator/src/kube.js';
import { type LaunchedOperator, rssBytes } from './operator-launcher.js';

export const ESO_VERSION = process.env.ESO_VERSION ?? 'v0.16.2';

function esoDir(): string {
  return join(process.env.STRATA_CACHE_DIR ?? join(homedir(), '.cache', 'strata'), `eso-${ESO_VERSION}`);
}

export const esoBinary = () => join(esoDir(), 'bin', 'external-secrets');

/** Applies ESO's CRD bundle (external-secrets.io and generators.external-secrets.io) and waits until they are established. */
export async function applyEsoCrds(kc: k8s.KubeConfig): Promise<string[]> {
  const dir = join(esoDir(), 'crds');
  if (!existsSync(join(dir, 'bundle.yaml')))
    throw new Error(`ESO CRDs not found in ${dir}: run bench/eso/build.sh first`);
  // raw JSON: client-node's typed serializer drops `x-kubernetes-*` schema fields ESO relies on
  const raw = kubeClient(kc);
  const ext = kc.makeApiClient(k8s.ApiextensionsV1Api);
  const names: string[] = [];
  for (const f of readdirSync(dir).filter((x) => x.endsWith('.yaml'))) {
    for (const doc of parseAllDocuments(readFileSync(join(dir, f), 'utf8'))) {
      const o = doc.toJS() as k8s.KubernetesObject | null;
      if (!o?.kind) continue;
      await raw
        .request('POST', '/apis/apiextensions.k8s.io/v1/customresourcedefinitions', o)
        .catch((err: unknown) => {
          if (!/AlreadyExists|409/.test(String((err as Error).message))) throw err;
        });
      names.push(o.metadata!.name!);
    }
  }
  raw.close();
  const deadline = Date.now() + 60_000;
  for (const name of names) {
    for (;;) {
      const crd = await ext.readCustomResourceDefinition({ name });
      if (crd.status?.conditions?.some((c) => c.type === 'Established' && c.status === 'True')) break;
      if (Date.now() > deadline) throw new Error(`CRD ${name} not established`);
      await new Promise((r) => setTimeout(r, 200));
    }
  }
  return names;
}

/** Two ClusterSecretStores: Parameter Store and Secrets Manager (one region, default credentials). */
export async function createEsoStores(kc: k8s.KubeConfig, region: string) {
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const stores = { ssm: 'scale-ssm', secretsManager: 'scale-sm' };
  for (const [name, service] of [
    [stores.ssm, 'ParameterStore'],
    [stores.secretsManager, 'SecretsManager'],
  ] as const) {
    await custom.createClusterCustomObject({
      group: 'external-secrets.io',
      version: 'v1',
      plural: 'clustersecretstores',
      body: {
        apiVersion: 'external-secrets.io/v1',
        kind: 'ClusterSecretStore',
        metadata: { name },
        spec: { provider: { aws: { service, region } } },
      },
    });
  }
  return stores;
}

export interface EsoLaunch {
  kubeconfigFile: string;
  workDir: string;
  metricsPort: number;
  concurrent: number;
  clientQps: number;
  clientBurst: number;
  ssmEndpoint: string;
  secretsManagerEndpoint: string;
  region: string;
}

function esoArgs(o: EsoLaunch): string[] {
  return [
    `--metrics-addr=127.0.0.1:${o.metricsPort}`,
    `--concurrent=${o.concurrent}`,
    `--client-qps=${o.clientQps}`,
    `--client-burst=${o.clientBurst}`,
    '--enable-leader-election=false',
    '--enable-cluster-store-reconciler=true',
    '--enable-cluster-external-secret-reconciler=false',
    '--enable-push-secret-reconciler=false',
    '--enable-cluster-push-secret-reconciler=false',
    '--experimental-enable-aws-session-cache=true',
    '--loglevel=error',
  ];
}

export async function launchEso(o: EsoLaunch): Promise<LaunchedOperator> {
  const bin = esoBinary();
  if (!existsSync(bin)) throw new Error(`${bin} not found: run bench/eso/build.sh first (about 5 minutes)`);
  const logFile = join(o.workDir, 'eso.log');
  const fd = openSync(logFile, 'a');
  const args = esoArgs(o);
  const child = spawn(bin, args, {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: o.workDir,
      KUBECONFIG: o.kubeconfigFile,
      AWS_REGION: o.region,
      AWS_ACCESS_KEY_ID: 'testing',
      AWS_SECRET_ACCESS_KEY: 'testing',
      AWS_SSM_ENDPOINT: o.ssmEndpoint,
      AWS_SECRETSMANAGER_ENDPOINT: o.secretsManagerEndpoint,
    },
    stdio: ['ignore', fd, fd],
    cwd: o.workDir,
  });
  closeSync(fd);
  let done = false;
  const exit = new Promise<void>((resolve) =>
    child.on('exit', () => {
      done = true;
      resolve();
    }),
  );
  return {
    launcher: 'host',
    description: `external-secrets ${ESO_VERSION} ${args.join(' ')}`,
    pid: child.pid!,
    metricsUrl: `http://127.0.0.1:${o.metricsPort}/metrics`,
    memoryLimitBytes: undefined,
    memory: () => rssBytes(child.pid!),
    logFile,
    exited: () => done,
    stop: async () => {
      if (done) return;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 30_000);
      await exit;
      clearTimeout(timer);
    },
  };
}
