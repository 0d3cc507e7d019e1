/**
 * Strata's test environment: moto (AWS), etcd + kube-apiserver + kube-controller-manager
 * (Kubernetes) and helm. Used by vitest's globalSetup (./global-setup-*.ts) and by the shell
 * (`npm run env:up` / `env:down`, see ./cli.ts). Tests read endpoints from environment variables:
 *
 *   STRATA_TEST_AWS_ENDPOINT   moto's endpoint (http://127.0.0.1:PORT)
 *   STRATA_TEST_KUBECONFIG     kubeconfig of the cluster admin
 *   STRATA_TEST_HELM           path to the helm binary
 *   STRATA_TEST_OPERATOR_IMAGE the operator's container image (component `image`, ./containers.ts)
 *   STRATA_TEST_ENV_STATE      JSON state file (pids, args) for restart helpers
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ensureOperatorImage, operatorImageName, podman } from './containers.js';
import { helmBin, type KubeCluster, kubeGet, startKube } from './kube.js';
import { startMoto } from './moto.js';
import { cacheDir, isAlive, requireFile, stopProcess } from './util.js';

export type Component = 'aws' | 'kube' | 'image';

export interface EnvState {
  workDir: string;
  pids: Record<string, number>;
  aws?: { endpoint: string };
  kube?: {
    server: string;
    kubeconfig: string;
    adminToken: string;
    apiserverArgs: string[];
  };
  helm?: string;
  /** The operator image built from packages/operator/Dockerfile (podman storage). */
  image?: string;
}

export const TEST_REGION = 'us-east-1';
export const TEST_ACCOUNT = '123456789012';

/** Where `npm run env:up` keeps the state of a long-running environment. */
export function sharedStateFile(): string {
  return join(cacheDir(), 'env', 'state.json');
}

export function readState(file: string): EnvState | undefined {
  if (!existsSync(file)) return undefined;
  const state = JSON.parse(readFileSync(file, 'utf8')) as EnvState;
  return Object.values(state.pids).every(isAlive) ? state : undefined;
}

export function writeState(file: string, state: EnvState): void {
  mkdirSync(join(file, '..'), { recursive: true });
  writeFileSync(file, JSON.stringify(state, null, 2), { mode: 0o600 });
}

/** Environment variables that point tests (and processes they spawn) at the environment. */
export function envVars(state: EnvState, stateFile: string): Record<string, string> {
  const vars: Record<string, string> = {
    STRATA_TEST_ENV_STATE: stateFile,
    AWS_REGION: TEST_REGION,
    AWS_ACCESS_KEY_ID: 'testing',
    AWS_SECRET_ACCESS_KEY: 'testing',
    // The SDK versions are pinned for Node 20; silence its notice about future versions.
    AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED: 'true',
  };
  if (state.aws) vars.STRATA_TEST_AWS_ENDPOINT = state.aws.endpoint;
  if (state.kube) {
    vars.STRATA_TEST_KUBECONFIG = state.kube.kubeconfig;
    vars.STRATA_TEST_KUBE_SERVER = state.kube.server;
  }
  if (state.helm) vars.STRATA_TEST_HELM = state.helm;
  if (state.image) vars.STRATA_TEST_OPERATOR_IMAGE = state.image;
  return vars;
}

/** Starts the requested components in a fresh temporary directory. */
export async function startEnv(opts: {
  components: Component[];
  log?: (msg: string) => void;
  /** Add the missing components to this environment instead of starting a new one. */
  into?: EnvState;
}): Promise<EnvState> {
  const log = opts.log ?? (() => {});
  const workDir = opts.into?.workDir ?? mkdtempSync(join(tmpdir(), 'strata-env-'));
  const state: EnvState = opts.into ?? { workDir, pids: {} };
  try {
    if (opts.components.includes('aws') && !state.aws) {
      log('starting moto');
      const moto = await startMoto({ workDir, log });
      state.pids.moto = moto.proc.pid;
      state.aws = { endpoint: moto.endpoint };
      log(`moto ready at ${moto.endpoint}`);
    }
    if (opts.components.includes('kube') && !state.kube) {
      requireFile(helmBin(), 'Build it once with `npm run env:build` (needs Go; see test/README.md).');
      state.helm = helmBin();
      log('starting etcd, kube-apiserver, kube-controller-manager');
      const cluster: KubeCluster = await startKube({ workDir, log });
      state.pids.etcd = cluster.procs.etcd.pid;
      state.pids.apiserver = cluster.procs.apiserver.pid;
      state.pids.controllerManager = cluster.procs.controllerManager.pid;
      state.kube = {
        server: cluster.server,
        kubeconfig: cluster.kubeconfig,
        adminToken: cluster.adminToken,
        apiserverArgs: cluster.apiserverArgs,
      };
      log(`kube-apiserver ready at ${cluster.server}`);
    }
    if (opts.components.includes('image') && !state.image) {
      // no process: the image is built (or reused by the hash of its inputs) in podman's storage
      state.image = await ensureOperatorImage(log);
      log(`operator image ${state.image}`);
    }
  } catch (err) {
    await stopEnv(state);
    throw err;
  }
  return state;
}

/** Stops every process of the environment by PID and removes its temporary directory. */
export async function stopEnv(state: EnvState): Promise<void> {
  // reverse start order: controller-manager, apiserver, etcd, moto
  const order = ['controllerManager', 'apiserver', 'etcd', 'moto'];
  for (const name of order) {
    const pid = state.pids[name];
    if (pid !== undefined) await stopProcess(pid);
  }
  rmSync(state.workDir, { recursive: true, force: true });
}

/** True when every component the caller needs is present and answering. */
export async function isHealthy(state: EnvState, components: Component[]): Promise<boolean> {
  try {
    if (components.includes('aws')) {
      if (!state.aws) return false;
      if (!(await fetch(`${state.aws.endpoint}/moto-api/data.json`)).ok) return false;
    }
    if (components.includes('kube')) {
      if (!state.kube) return false;
      if ((await kubeGet(state.kube.server, '/readyz', state.kube.adminToken)).status !== 200) return false;
    }
    if (components.includes('image')) {
      // built from this tree (sources unchanged since), and still in podman's storage
      if (!state.image || state.image !== (await operatorImageName())) return false;
      await podman(['image', 'exists', state.image]);
    }
    return true;
  } catch {
    return false;
  }
}
