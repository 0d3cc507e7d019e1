import { generateKeyPairSync, randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import { cacheDir, freePort, requireFile, type Spawned, spawnServer, stopProcess, waitFor } from './util.js';

export const K8S_VERSION = process.env.K8S_VERSION ?? '1.34.4';
export const ETCD_VERSION = process.env.ETCD_VERSION ?? '3.6.16';
export const HELM_VERSION = process.env.HELM_VERSION ?? '3.22.0';

const BUILD_HINT = 'Build it once with `npm run env:build` (needs Go 1.24+; see test/README.md).';

export function k8sBin(name: 'kube-apiserver' | 'kube-controller-manager'): string {
  return join(cacheDir(), `k8s-v${K8S_VERSION}`, 'bin', name);
}
export function etcdBin(): string {
  return join(cacheDir(), `etcd-v${ETCD_VERSION}`, 'bin', 'etcd');
}
export function helmBin(): string {
  return join(cacheDir(), `helm-v${HELM_VERSION}`, 'bin', 'helm');
}

export interface KubeCluster {
  /** https://127.0.0.1:PORT */
  server: string;
  /** kubeconfig for the cluster admin (group system:masters). */
  kubeconfig: string;
  adminToken: string;
  caData: string;
  procs: { etcd: Spawned; apiserver: Spawned; controllerManager: Spawned };
  /** Everything needed to restart kube-apiserver on the same port against the same etcd. */
  apiserverArgs: string[];
  workDir: string;
}

function writeKubeconfig(path: string, server: string, caData: string, user: string, token: string): void {
  const kc = {
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: 'strata-test', cluster: { server, 'certificate-authority-data': caData } }],
    users: [{ name: user, user: { token } }],
    contexts: [{ name: 'strata-test', context: { cluster: 'strata-test', user } }],
    'current-context': 'strata-test',
  };
  writeFileSync(path, JSON.stringify(kc, null, 2), { mode: 0o600 });
}

/** GET a path on the API server with the admin token; resolves to the status code and body. */
export function kubeGet(
  server: string,
  path: string,
  token: string,
  ca?: string,
): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = request(
      `${server}${path}`,
      {
        headers: { authorization: `Bearer ${token}` },
        agent: new Agent(ca ? { ca } : { rejectUnauthorized: false }),
        timeout: 5000,
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          body += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      },
    );
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error('timeout')));
    req.end();
  });
}

export async function startKube(opts: {
  workDir: string;
  log?: (msg: string) => void;
}): Promise<KubeCluster> {
  for (const bin of [etcdBin(), k8sBin('kube-apiserver'), k8sBin('kube-controller-manager')]) {
    requireFile(bin, BUILD_HINT);
  }
  const dir = join(opts.workDir, 'kube');
  mkdirSync(join(dir, 'pki'), { recursive: true });

  // etcd
  const [etcdClient, etcdPeer] = [await freePort(), await freePort()];
  const etcd = spawnServer({
    name: 'etcd',
    command: etcdBin(),
    args: [
      '--name=strata-test',
      `--data-dir=${join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=strata-test=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync',
      '--log-level=warn',
    ],
    logFile: join(opts.workDir, 'etcd.log'),
  });
  await waitFor('etcd', async () => (await fetch(`http://127.0.0.1:${etcdClient}/health`)).ok, {
    timeoutMs: 30_000,
    proc: etcd,
  });

  // identities: an admin token (system:masters), a controller-manager token, SA signing keys
  const adminToken = randomBytes(24).toString('hex');
  const kcmToken = randomBytes(24).toString('hex');
  writeFileSync(
    join(dir, 'pki', 'tokens.csv'),
    `${adminToken},strata-admin,strata-admin,"system:masters"\n${kcmToken},system:kube-controller-manager,kcm\n`,
    { mode: 0o600 },
  );
  const sa = generateKeyPairSync('rsa', { modulusLength: 2048 });
  writeFileSync(join(dir, 'pki', 'sa.key'), sa.privateKey.export({ type: 'pkcs8', format: 'pem' }), {
    mode: 0o600,
  });
  writeFileSync(join(dir, 'pki', 'sa.pub'), sa.publicKey.export({ type: 'spki', format: 'pem' }));

  const port = await freePort();
  const server = `https://127.0.0.1:${port}`;
  const apiserverArgs = [
    `--etcd-servers=http://127.0.0.1:${etcdClient}`,
    '--bind-address=127.0.0.1',
    '--advertise-address=127.0.0.1',
    `--secure-port=${port}`,
    `--cert-dir=${join(dir, 'pki')}`,
    `--token-auth-file=${join(dir, 'pki', 'tokens.csv')}`,
    '--authorization-mode=RBAC',
    `--service-account-key-file=${join(dir, 'pki', 'sa.pub')}`,
    `--service-account-signing-key-file=${join(dir, 'pki', 'sa.key')}`,
    '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
    '--api-audiences=https://kubernetes.default.svc.cluster.local',
    '--service-cluster-ip-range=10.96.0.0/24',
    '--profiling=false',
    '--v=1',
  ];
  const apiserver = spawnServer({
    name: 'kube-apiserver',
    command: k8sBin('kube-apiserver'),
    args: apiserverArgs,
    logFile: join(opts.workDir, 'kube-apiserver.log'),
  });
  await waitFor(
    'kube-apiserver /readyz',
    async () => (await kubeGet(server, '/readyz', adminToken)).status === 200,
    { timeoutMs: 120_000, proc: apiserver },
  );
  // The self-signed serving certificate the API server generated (chain includes its CA).
  const caPem = readFileSync(join(dir, 'pki', 'apiserver.crt'), 'utf8');
  const caData = Buffer.from(caPem).toString('base64');
  const kubeconfig = join(dir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, server, caData, 'strata-admin', adminToken);
  const kcmKubeconfig = join(dir, 'kcm.kubeconfig');
  writeKubeconfig(kcmKubeconfig, server, caData, 'system:kube-controller-manager', kcmToken);

  const kcmPort = await freePort();
  const controllerManager = spawnServer({
    name: 'kube-controller-manager',
    command: k8sBin('kube-controller-manager'),
    args: [
      `--kubeconfig=${kcmKubeconfig}`,
      `--authentication-kubeconfig=${kcmKubeconfig}`,
      `--authorization-kubeconfig=${kcmKubeconfig}`,
      '--controllers=garbagecollector,namespace,serviceaccount',
      // as in real clusters: each controller runs as its own ServiceAccount with its bootstrap
      // ClusterRole (the garbage collector may read and delete any resource, CRDs included)
      '--use-service-account-credentials=true',
      `--root-ca-file=${join(dir, 'pki', 'apiserver.crt')}`,
      '--leader-elect=false',
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      `--cert-dir=${join(dir, 'kcm-pki')}`,
      '--concurrent-gc-syncs=5',
      '--v=1',
    ],
    logFile: join(opts.workDir, 'kube-controller-manager.log'),
  });
  await waitFor(
    'kube-controller-manager /healthz',
    async () => (await kubeGet(`https://127.0.0.1:${kcmPort}`, '/healthz', kcmToken)).status === 200,
    { timeoutMs: 60_000, proc: controllerManager },
  );
  return {
    server,
    kubeconfig,
    adminToken,
    caData,
    procs: { etcd, apiserver, controllerManager },
    apiserverArgs,
    workDir: opts.workDir,
  };
}

/** Stops kube-apiserver and starts it again on the same port and etcd (for restart tests). */
export async function restartApiserver(cluster: KubeCluster): Promise<void> {
  await stopProcess(cluster.procs.apiserver.pid);
  cluster.procs.apiserver = spawnServer({
    name: 'kube-apiserver',
    command: k8sBin('kube-apiserver'),
    args: cluster.apiserverArgs,
    logFile: join(cluster.workDir, 'kube-apiserver.log'),
  });
  await waitFor(
    'kube-apiserver /readyz after restart',
    async () => (await kubeGet(cluster.server, '/readyz', cluster.adminToken)).status === 200,
    { timeoutMs: 120_000, proc: cluster.procs.apiserver },
  );
}

/**
 * Restarts kube-apiserver from a test worker, given the environment's state file
 * (STRATA_TEST_ENV_STATE): same port, same etcd, same keys. Updates the pid in the file.
 */
export async function restartApiserverFromState(
  stateFile = process.env.STRATA_TEST_ENV_STATE,
): Promise<void> {
  if (!stateFile) throw new Error('STRATA_TEST_ENV_STATE is not set');
  const state = JSON.parse(readFileSync(stateFile, 'utf8')) as {
    workDir: string;
    pids: Record<string, number>;
    kube: { server: string; adminToken: string; apiserverArgs: string[] };
  };
  await stopProcess(state.pids.apiserver!);
  const proc = spawnServer({
    name: 'kube-apiserver',
    command: k8sBin('kube-apiserver'),
    args: state.kube.apiserverArgs,
    logFile: join(state.workDir, 'kube-apiserver.log'),
  });
  state.pids.apiserver = proc.pid;
  writeFileSync(stateFile, JSON.stringify(state, null, 2), { mode: 0o600 });
  await waitFor(
    'kube-apiserver /readyz after restart',
    async () => (await kubeGet(state.kube.server, '/readyz', state.kube.adminToken)).status === 200,
    { timeoutMs: 120_000, proc },
  );
}
