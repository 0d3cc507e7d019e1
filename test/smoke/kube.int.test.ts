import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import * as k8s from '@kubernetes/client-node';
import { beforeAll, describe, expect, it } from 'vitest';
import {
  adminKubeConfig,
  eventually,
  serviceAccountToken,
  tokenKubeConfig,
  uniqueNamespace,
} from '../env/kube-client.js';

const run = promisify(execFile);

describe('kube-apiserver + etcd + kube-controller-manager are real', () => {
  let core: k8s.CoreV1Api;
  let ns: string;
  beforeAll(async () => {
    core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
    ns = uniqueNamespace('smoke');
    await core.createNamespace({ body: { metadata: { name: ns } } });
  });

  it('reports a real version', async () => {
    const version = await adminKubeConfig().makeApiClient(k8s.VersionApi).getCode();
    expect(version.gitVersion).toMatch(/^v1\.(3[4-9]|[4-9]\d)\.\d+$/);
  });

  it('creates a Namespace and a Secret and reads them back', async () => {
    const got = await core.readNamespace({ name: ns });
    expect(got.status?.phase).toBe('Active');
    await core.createNamespacedSecret({
      namespace: ns,
      body: { metadata: { name: 'db' }, type: 'Opaque', stringData: { password: 'pw' } },
    });
    const secret = await core.readNamespacedSecret({ namespace: ns, name: 'db' });
    expect(Buffer.from(secret.data!.password!, 'base64').toString()).toBe('pw');
  });

  it('RBAC refuses a ServiceAccount that has no Role', async () => {
    await core.createNamespacedServiceAccount({ namespace: ns, body: { metadata: { name: 'nobody' } } });
    const token = await serviceAccountToken(ns, 'nobody');
    const asNobody = tokenKubeConfig(token).makeApiClient(k8s.CoreV1Api);
    const err = await asNobody.listNamespacedSecret({ namespace: ns }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(k8s.ApiException);
    expect((err as k8s.ApiException<string>).code).toBe(403);
    expect(String((err as k8s.ApiException<string>).body)).toContain(`system:serviceaccount:${ns}:nobody`);
  });

  it('garbage-collects a dependent when its owner is deleted', async () => {
    const owner = await core.createNamespacedConfigMap({
      namespace: ns,
      body: { metadata: { name: 'owner' }, data: { a: '1' } },
    });
    await core.createNamespacedSecret({
      namespace: ns,
      body: {
        metadata: {
          name: 'dependent',
          ownerReferences: [
            { apiVersion: 'v1', kind: 'ConfigMap', name: 'owner', uid: owner.metadata!.uid! },
          ],
        },
        stringData: { x: 'y' },
      },
    });
    await core.deleteNamespacedConfigMap({ namespace: ns, name: 'owner', propagationPolicy: 'Background' });
    await eventually(
      async () =>
        core.readNamespacedSecret({ namespace: ns, name: 'dependent' }).then(
          () => false,
          (e: k8s.ApiException<unknown>) => e.code === 404,
        ),
      { what: 'dependent Secret garbage-collected', timeoutMs: 60_000 },
    );
  });

  it('helm installs a chart into the API server', async () => {
    const helm = process.env.STRATA_TEST_HELM!;
    const chart = fileURLToPath(new URL('../fixtures/charts/tiny', import.meta.url));
    const kubeconfig = process.env.STRATA_TEST_KUBECONFIG!;
    await run(helm, ['lint', chart]);
    await run(helm, [
      'install',
      'smoke',
      chart,
      '--namespace',
      ns,
      '--kubeconfig',
      kubeconfig,
      '--set',
      'greeting=hi',
    ]);
    const cm = await core.readNamespacedConfigMap({ namespace: ns, name: 'smoke-tiny' });
    expect(cm.data).toEqual({ greeting: 'hi' });
    const { stdout } = await run(helm, ['list', '--namespace', ns, '--kubeconfig', kubeconfig, '-o', 'json']);
    expect(JSON.parse(stdout)).toMatchObject([{ name: 'smoke', status: 'deployed' }]);
  });
});
