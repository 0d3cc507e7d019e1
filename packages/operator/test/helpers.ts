import { execFile } from 'node:child_process';
import { Writable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { adminKubeConfig, serviceAccountToken, tokenKubeConfig } from '@strata/test-env/kube-client';
import pino from 'pino';

export const run = promisify(execFile);
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

/** The chart's ServiceAccount identity, through the TokenRequest API: the chart's RBAC is what is tested. */
export async function operatorKubeConfig(): Promise<k8s.KubeConfig> {
  return tokenKubeConfig(await serviceAccountToken(RELEASE_NS, RELEASE, 3600));
}

/** A pino logger whose lines are kept, to assert that no secret value is ever logged. */
export function capturedLogger(): { logger: pino.Logger; lines: string[] } {
  const lines: string[] = [];
  const stream = new Writable({
    write(chunk, _enc, cb) {
      lines.push(chunk.toString());
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
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
