/** @kubernetes/client-node helpers for tests against the test kube-apiserver. */
import * as k8s from '@kubernetes/client-node';

export function adminKubeConfig(): k8s.KubeConfig {
  const file = process.env.STRATA_TEST_KUBECONFIG;
  if (!file) {
    throw new Error(
      'STRATA_TEST_KUBECONFIG is not set: run under vitest with the test environment (npm test). See test/README.md.',
    );
  }
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(file);
  return kc;
}

/** A KubeConfig for the same cluster authenticating with a bearer token (e.g. a ServiceAccount's). */
export function tokenKubeConfig(token: string, base = adminKubeConfig()): k8s.KubeConfig {
  const cluster = base.getCurrentCluster()!;
  const kc = new k8s.KubeConfig();
  kc.loadFromOptions({
    clusters: [cluster],
    users: [{ name: 'sa', token }],
    contexts: [{ name: 'sa', cluster: cluster.name, user: 'sa' }],
    currentContext: 'sa',
  });
  return kc;
}

/** Issues a ServiceAccount token through the TokenRequest API. */
export async function serviceAccountToken(namespace: string, name: string, seconds = 3600): Promise<string> {
  const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
  const tr = await core.createNamespacedServiceAccountToken({
    name,
    namespace,
    body: { spec: { audiences: [], expirationSeconds: seconds } },
  });
  return tr.status!.token;
}

let counter = 0;
/** A unique namespace name for one test. */
export function uniqueNamespace(prefix: string): string {
  counter += 1;
  return `${prefix}-${process.pid}-${Date.now().toString(36)}-${counter}`.toLowerCase().slice(0, 63);
}

export async function eventually<T>(
  fn: () => Promise<T | undefined | false>,
  opts: { timeoutMs?: number; intervalMs?: number; what?: string } = {},
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000);
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined && v !== false) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((r) => setTimeout(r, opts.intervalMs ?? 200));
  }
  throw new Error(`${opts.what ?? 'condition'} not reached in time${last ? `: ${String(last)}` : ''}`);
}
