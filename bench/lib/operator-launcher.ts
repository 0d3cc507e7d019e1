/**
 * Starts the Strata operator the way users run it, for benchmarks that measure it from outside
 * (its /metrics, the API server's counters, the Secrets it writes), never by calling its methods.
 *
 * The container spec comes from `helm template` of the chart with the benchmark's values: image
 * command aside, the process gets exactly the chart's environment (fieldRefs filled in as the
 * kubelet would: POD_NAME, POD_NAMESPACE), the chart's ServiceAccount identity (a TokenRequest
 * token in a kubeconfig, since there is no kubelet to mount it) and the chart's memory limit is
 * what its memory is compared with.
 *
 * Launchers (pluggable, `BENCH_SCALE_LAUNCHER`):
 * - `host`: `node packages/operator/dist/bin.js` as a child process (the image's entry point, run
 *   on the host). Memory = the process's RSS (/proc/PID/status VmRSS).
 * - `container`: the operator image (issue 12) run with podman the way the kubelet runs the
 *   chart's Pod — the Pod runner of the test environment (`test/env/pod.ts`, `OperatorPod`):
 *   securityContext, memory limit, the ServiceAccount token projected at
 *   /var/run/secrets/kubernetes.io/serviceaccount, in-cluster config. `BENCH_SCALE_IMAGE` names
 *   the image (default: the newest `localhost/strata-operator` image podman has; this benchmark
 *   never builds one); `BENCH_SCALE_POD_MODULE` overrides where the runner is loaded from.
 *   Memory = RSS of the container's operator process (its PID 1, seen from the host); the
 *   container runs with the chart's memory limit, so going over it is an OOM kill, reported.
 */
import { execFileSync, spawn } from 'node:child_process';
import { closeSync, existsSync, openSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseAllDocuments } from 'yaml';

export interface ChartContainer {
  env: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  args?: string[];
  resources?: { limits?: { memory?: string }; requests?: { memory?: string; cpu?: string } };
  securityContext?: Record<string, unknown>;
  image?: string;
}

/** The operator container of the chart's Deployment in `helm template` output. */
function chartContainer(manifests: string): { container: ChartContainer; namespace: string } {
  for (const doc of parseAllDocuments(manifests)) {
    const o = doc.toJS() as {
      kind?: string;
      metadata?: { namespace?: string };
      spec?: { template?: { spec?: { containers?: ChartContainer[] } } };
    } | null;
    if (o?.kind !== 'Deployment') continue;
    const c = o.spec?.template?.spec?.containers?.[0];
    if (c) return { container: c, namespace: o.metadata?.namespace ?? 'default' };
  }
  throw new Error('helm template output has no Deployment with a container');
}

/** Kubernetes memory quantity (`256Mi`, `1Gi`, `500M`) in bytes. */
function memoryBytes(q: string | undefined): number | undefined {
  if (!q) return undefined;
  const m = /^([0-9.]+)([KMGT]i?)?$/.exec(q.trim());
  if (!m) return undefined;
  const unit: Record<string, number> = {
    Ki: 2 ** 10,
    Mi: 2 ** 20,
    Gi: 2 ** 30,
    Ti: 2 ** 40,
    K: 1e3,
    M: 1e6,
    G: 1e9,
    T: 1e12,
  };
  return Number(m[1]) * (m[2] ? unit[m[2]]! : 1);
}

/** The container's environment with the kubelet's fieldRefs filled in. */
function chartEnv(c: ChartContainer, pod: { name: string; namespace: string }): Record<string, string> {
  const out: Record<string, string> = {};
  for (const e of c.env) {
    if (e.value !== undefined) out[e.name] = e.value;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.name') out[e.name] = pod.name;
    else if (e.valueFrom?.fieldRef?.fieldPath === 'metadata.namespace') out[e.name] = pod.namespace;
  }
  return out;
}

export function rssBytes(pid: number): number | undefined {
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) * 1024 : undefined;
  } catch {
    return undefined;
  }
}

export interface LaunchedOperator {
  launcher: 'host' | 'container';
  /** What was run, for the results (command, image). */
  description: string;
  pid: number;
  metricsUrl: string;
  memoryLimitBytes: number | undefined;
  /** Current memory (RSS of the process, or the container's cgroup memory). */
  memory(): number | undefined;
  logFile: string;
  exited(): boolean;
  stop(): Promise<void>;
}

export interface LaunchOptions {
  /** `helm template` output of the chart with the benchmark's values. */
  manifests: string;
  /** Kubeconfig text for the chart's ServiceAccount (TokenRequest token). */
  kubeconfig: string;
  workDir: string;
  repoRoot: string;
  /** Extra environment a pod would get from elsewhere (AWS credentials: IRSA in a real cluster). */
  extraEnv: Record<string, string>;
  metricsPort: number;
  podName?: string;
  /** The same chart values as an object (the container launcher renders the chart itself). */
  values: Record<string, unknown>;
}

async function launchHost(o: LaunchOptions): Promise<LaunchedOperator> {
  const { container, namespace } = chartContainer(o.manifests);
  const podName = o.podName ?? 'strata-operator-bench-0';
  const kubeconfigFile = join(o.workDir, `${podName}.kubeconfig`);
  writeFileSync(kubeconfigFile, o.kubeconfig, { mode: 0o600 });
  const logFile = join(o.workDir, `${podName}.log`);
  const fd = openSync(logFile, 'a');
  const bin = join(o.repoRoot, 'packages', 'operator', 'dist', 'bin.js');
  const env: Record<string, string> = {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: o.workDir,
    ...chartEnv(container, { name: podName, namespace }),
    ...o.extraEnv,
    KUBECONFIG: kubeconfigFile,
  };
  const child = spawn(process.execPath, [bin, ...(container.args ?? [])], {
    env,
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
    description: `node ${bin.slice(o.repoRoot.length + 1)} (host process, the chart's env)`,
    pid: child.pid!,
    metricsUrl: `http://127.0.0.1:${o.metricsPort}/metrics`,
    memoryLimitBytes: memoryBytes(container.resources?.limits?.memory),
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

interface PodLike {
  port(name: string): number;
  state(): Promise<{ running: boolean; exitCode: number; pid: number; oomKilled: boolean }>;
  logs(): Promise<string>;
  stop(graceSeconds?: number): Promise<number>;
  remove(): Promise<void>;
  container: { resources?: { limits?: Record<string, string> } };
}

/** The newest local operator image (built by the test environment), unless BENCH_SCALE_IMAGE names one. */
function newestImage(): string {
  if (process.env.BENCH_SCALE_IMAGE) return process.env.BENCH_SCALE_IMAGE;
  const out = execFileSync(
    'podman',
    ['images', '--sort', 'created', '--format', '{{.Repository}}:{{.Tag}}', 'localhost/strata-operator'],
    { encoding: 'utf8' },
  );
  const image = out.split('\n').find((l) => l.startsWith('localhost/strata-operator:'));
  if (!image)
    throw new Error(
      'no localhost/strata-operator image: build it with the test environment (issue 12 image work)',
    );
  return image;
}

async function launchContainer(o: LaunchOptions): Promise<LaunchedOperator> {
  const modPath = process.env.BENCH_SCALE_POD_MODULE ?? join(o.repoRoot, 'test', 'env', 'pod.ts');
  if (!existsSync(modPath))
    throw new Error(
      `${modPath} not found: the container launcher needs the Pod runner of the test environment`,
    );
  const mod = (await import(pathToFileURL(modPath).href)) as {
    OperatorPod: { start(opts: Record<string, unknown>): Promise<PodLike> };
  };
  const image = newestImage();
  const name = o.podName ?? `strata-scale-${process.pid}`;
  const pod = await mod.OperatorPod.start({ image, name, values: o.values });
  const { pid } = await pod.state();
  const imageId = execFileSync('podman', ['image', 'inspect', '--format', '{{.Id}}', image], {
    encoding: 'utf8',
  })
    .trim()
    .slice(0, 12);
  let done = false;
  let last: { exitCode: number; oomKilled: boolean } | undefined;
  const logFile = join(o.workDir, `${name}.log`);
  return {
    launcher: 'container',
    description: `podman container of ${image} (image ${imageId}) from the chart's Pod spec (Pod runner ${modPath})`,
    pid,
    metricsUrl: `http://127.0.0.1:${pod.port('metrics')}/metrics`,
    memoryLimitBytes: memoryBytes(pod.container.resources?.limits?.memory),
    memory: () => rssBytes(pid),
    logFile,
    exited: () => done || !existsSync(`/proc/${pid}`),
    stop: async () => {
      await pod.stop();
      const st = await pod.state().catch(() => undefined);
      last = st ? { exitCode: st.exitCode, oomKilled: st.oomKilled } : undefined;
      writeFileSync(logFile, `${await pod.logs()}\n# exit ${JSON.stringify(last)}\n`);
      await pod.remove();
      done = true;
    },
  };
}

export async function launchOperator(kind: string, o: LaunchOptions): Promise<LaunchedOperator> {
  if (kind === 'host') return launchHost(o);
  if (kind === 'container') return launchContainer(o);
  throw new Error(`BENCH_SCALE_LAUNCHER=${kind}: "host" or "container"`);
}

/** Prometheus text: sum of a metric's series whose labels include `labels`. */
export function promSum(text: string, name: string, labels: Record<string, string> = {}): number {
  let sum = 0;
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (Object.entries(labels).every(([k, v]) => got[k] === v)) sum += Number(m[3]);
  }
  return sum;
}

/** Prometheus text: a metric's series grouped by one label. */
export function promBy(
  text: string,
  name: string,
  label: string,
  filter: Record<string, string> = {},
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? ([0-9.eE+-]+|NaN)/.exec(line);
    if (!m || m[1] !== name) continue;
    const got = Object.fromEntries(
      [...(m[2] ?? '').matchAll(/([a-zA-Z_]\w*)="([^"]*)"/g)].map((x) => [x[1], x[2]]),
    );
    if (!Object.entries(filter).every(([k, v]) => got[k] === v)) continue;
    const k = got[label] ?? '';
    out[k] = (out[k] ?? 0) + Number(m[3]);
  }
  return out;
}
