/**
 * Runs the operator's image the way the kubelet runs the chart's Deployment, with podman:
 *
 * - the container spec comes from `helm template` of charts/strata-operator (image, command,
 *   args, env with the downward API resolved, securityContext, resources, volumes, probes);
 * - securityContext: runAsUser/runAsGroup/fsGroup -> --user/--group-add, runAsNonRoot is
 *   checked against the image's user as the kubelet does, readOnlyRootFilesystem -> --read-only
 *   (no extra tmpfs: only the Pod's volumes are writable), capabilities.drop/add -> --cap-drop/
 *   --cap-add, allowPrivilegeEscalation: false -> no-new-privileges;
 * - resources.limits.memory -> --memory, limits.cpu -> --cpus, requests -> reservation/shares;
 * - emptyDir volumes -> tmpfs of their sizeLimit; terminationGracePeriodSeconds -> stop timeout;
 * - the ServiceAccount volume the kubelet projects: a token for the chart's ServiceAccount from
 *   the TokenRequest API, the cluster CA and the namespace, read-only at
 *   /var/run/secrets/kubernetes.io/serviceaccount, with KUBERNETES_SERVICE_HOST/PORT pointing at
 *   the test kube-apiserver, so the operator configures itself in-cluster (no kubeconfig);
 * - host networking (the test servers listen on loopback), so each pod gets its own health and
 *   metrics ports through the chart's values;
 * - the probes are the chart's: `waitReady()` polls the readiness probe, `probe('liveness')`
 *   the liveness probe, on the ports the chart names.
 *
 * What a kubelet does and this does not: restart on a failed liveness probe, pull images, and a
 * Pod network namespace (here the container shares the host's).
 */
import { execFile } from 'node:child_process';
import { chownSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { parseAllDocuments } from 'yaml';
import { podman } from './containers.js';
import { adminKubeConfig, serviceAccountToken } from './kube-client.js';
import { freePort } from './util.js';

const run = promisify(execFile);
export const CHART_DIR = fileURLToPath(new URL('../../charts/strata-operator', import.meta.url));
const SA_DIR = '/var/run/secrets/kubernetes.io/serviceaccount';

interface Probe {
  httpGet?: { path?: string; port: number | string };
}
interface ContainerSpec {
  name: string;
  image: string;
  command?: string[];
  args?: string[];
  workingDir?: string;
  env?: Array<{ name: string; value?: string; valueFrom?: { fieldRef?: { fieldPath: string } } }>;
  ports?: Array<{ name?: string; containerPort: number }>;
  securityContext?: SecurityContext;
  resources?: { limits?: Record<string, string>; requests?: Record<string, string> };
  volumeMounts?: Array<{ name: string; mountPath: string; readOnly?: boolean }>;
  livenessProbe?: Probe;
  readinessProbe?: Probe;
}
interface SecurityContext {
  runAsUser?: number;
  runAsGroup?: number;
  runAsNonRoot?: boolean;
  readOnlyRootFilesystem?: boolean;
  allowPrivilegeEscalation?: boolean;
  capabilities?: { drop?: string[]; add?: string[] };
  seccompProfile?: { type: string };
  fsGroup?: number;
}
interface PodSpec {
  serviceAccountName?: string;
  automountServiceAccountToken?: boolean;
  securityContext?: SecurityContext;
  terminationGracePeriodSeconds?: number;
  containers: ContainerSpec[];
  volumes?: Array<{ name: string; emptyDir?: { sizeLimit?: string; medium?: string } }>;
}

export interface PodOptions {
  /** The image to run, `repository:tag`; given to the chart as image.repository / image.tag. */
  image: string;
  /** The Pod's name: POD_NAME (downward API), the container's name and host name. */
  name: string;
  release?: string;
  namespace?: string;
  /** Helm values (as a values file); health/metrics ports and the image are set here. */
  values?: Record<string, unknown>;
  /** kube-apiserver URL, https://127.0.0.1:PORT (default: the test environment's). */
  server?: string;
}

/** Kubernetes quantities (128Mi, 1G, 500m) -> bytes, or CPU cores. */
export function quantity(q: string): number {
  const m = /^([0-9.]+)([a-zA-Z]*)$/.exec(q.trim());
  if (!m) throw new Error(`not a Kubernetes quantity: ${q}`);
  const n = Number(m[1]);
  const units: Record<string, number> = {
    '': 1,
    m: 1e-3,
    k: 1e3,
    M: 1e6,
    G: 1e9,
    Ki: 1024,
    Mi: 1024 ** 2,
    Gi: 1024 ** 3,
  };
  const f = units[m[2]!];
  if (f === undefined) throw new Error(`unknown unit in quantity ${q}`);
  return n * f;
}

function deepMerge(a: Record<string, unknown>, b: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = { ...a };
  for (const [k, v] of Object.entries(b)) {
    const prev = out[k];
    out[k] =
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      prev &&
      typeof prev === 'object' &&
      !Array.isArray(prev)
        ? deepMerge(prev as Record<string, unknown>, v as Record<string, unknown>)
        : v;
  }
  return out;
}

/** `helm template` of the chart with these values; resolves to the Deployment's Pod spec. */
export async function chartPodSpec(opts: {
  release: string;
  namespace: string;
  values: Record<string, unknown>;
  workDir: string;
}): Promise<PodSpec> {
  const helmBin = process.env.STRATA_TEST_HELM;
  if (!helmBin) throw new Error('STRATA_TEST_HELM is not set: run under the test environment (npm test).');
  const valuesFile = join(opts.workDir, 'values.json');
  writeFileSync(valuesFile, JSON.stringify(opts.values));
  const { stdout } = await run(helmBin, [
    'template',
    opts.release,
    CHART_DIR,
    '--namespace',
    opts.namespace,
    '-f',
    valuesFile,
  ]);
  for (const doc of parseAllDocuments(stdout)) {
    const obj = doc.toJS() as { kind?: string; spec?: { template?: { spec?: PodSpec } } } | null;
    if (obj?.kind === 'Deployment' && obj.spec?.template?.spec) return obj.spec.template.spec;
  }
  throw new Error('helm template rendered no Deployment');
}

export class OperatorPod {
  private constructor(
    readonly name: string,
    readonly container: ContainerSpec,
    readonly pod: PodSpec,
    readonly podmanArgs: string[],
    private readonly dir: string,
    private readonly ports: Map<string, number>,
  ) {}

  /**
   * Renders the chart, issues the ServiceAccount token, and starts the container. Resolves once
   * it runs; call waitReady() for the readiness probe.
   */
  static async start(opts: PodOptions): Promise<OperatorPod> {
    const release = opts.release ?? 'strata-operator';
    const namespace = opts.namespace ?? 'strata-system';
    const kc = adminKubeConfig();
    const cluster = kc.getCurrentCluster()!;
    const server = new URL(opts.server ?? cluster.server);
    const [repository, tag] = splitImage(opts.image);
    const [healthPort, metricsPort] = [await freePort(), await freePort()];
    const values = deepMerge(
      {
        image: { repository, tag, pullPolicy: 'Never' },
        health: { port: healthPort },
        metrics: { port: metricsPort },
      },
      opts.values ?? {},
    );
    const dir = mkdtempSync(join(tmpdir(), `strata-pod-${opts.name}-`));
    const pod = await chartPodSpec({ release, namespace, values, workDir: dir });
    const c = pod.containers.find((x) => x.name === 'operator') ?? pod.containers[0]!;
    if (c.image !== opts.image) throw new Error(`the chart renders image ${c.image}, expected ${opts.image}`);
    const sc: SecurityContext = { ...pod.securityContext, ...c.securityContext };
    const args = ['run', '--detach', '--name', opts.name, '--hostname', opts.name, '--network', 'host'];
    args.push('--label', 'strata.dev/test-pod=true');

    // identity and the kubelet's non-root check
    const imageUser = (await podman(['image', 'inspect', '--format', '{{.Config.User}}', opts.image])).trim();
    const uid = sc.runAsUser ?? numericUser(imageUser);
    if (sc.runAsNonRoot) {
      if (uid === undefined)
        throw new Error(
          `container has runAsNonRoot and image has non-numeric user (${imageUser}), cannot verify user is non-root`,
        );
      if (uid === 0) throw new Error('container has runAsNonRoot and image will run as root');
    }
    if (sc.runAsUser !== undefined) {
      args.push(
        '--user',
        sc.runAsGroup !== undefined ? `${sc.runAsUser}:${sc.runAsGroup}` : `${sc.runAsUser}`,
      );
    }
    if (pod.securityContext?.fsGroup !== undefined)
      args.push('--group-add', String(pod.securityContext.fsGroup));
    if (sc.readOnlyRootFilesystem) args.push('--read-only', '--read-only-tmpfs=false');
    for (const cap of sc.capabilities?.drop ?? []) args.push('--cap-drop', cap);
    for (const cap of sc.capabilities?.add ?? []) args.push('--cap-add', cap);
    if (sc.allowPrivilegeEscalation === false) args.push('--security-opt', 'no-new-privileges');
    if (sc.seccompProfile?.type === 'Unconfined') args.push('--security-opt', 'seccomp=unconfined');

    // resources
    const { limits = {}, requests = {} } = c.resources ?? {};
    if (limits.memory) args.push('--memory', String(Math.floor(quantity(limits.memory))));
    if (requests.memory) args.push('--memory-reservation', String(Math.floor(quantity(requests.memory))));
    if (limits.cpu) args.push('--cpus', String(quantity(limits.cpu)));
    if (requests.cpu)
      args.push('--cpu-shares', String(Math.max(2, Math.round(quantity(requests.cpu) * 1024))));
    args.push('--stop-timeout', String(pod.terminationGracePeriodSeconds ?? 30));

    // volumes: emptyDir -> tmpfs of its size limit
    for (const m of c.volumeMounts ?? []) {
      const vol = pod.volumes?.find((v) => v.name === m.name);
      if (!vol?.emptyDir) throw new Error(`volume ${m.name}: only emptyDir is supported by the test runner`);
      const size = vol.emptyDir.sizeLimit ? `,size=${Math.floor(quantity(vol.emptyDir.sizeLimit))}` : '';
      args.push('--tmpfs', `${m.mountPath}:${m.readOnly ? 'ro' : 'rw'},mode=1777${size}`);
    }

    // the ServiceAccount volume, as the kubelet projects it
    if (pod.automountServiceAccountToken !== false) {
      const saDir = join(dir, 'serviceaccount');
      mkdirSync(saDir, { mode: 0o755 });
      const token = await serviceAccountToken(namespace, pod.serviceAccountName ?? 'default', 3600);
      const caPem = cluster.caData
        ? Buffer.from(cluster.caData, 'base64').toString()
        : readFileSync(cluster.caFile!, 'utf8');
      writeFileSync(join(saDir, 'token'), token, { mode: 0o640 });
      writeFileSync(join(saDir, 'ca.crt'), caPem, { mode: 0o644 });
      writeFileSync(join(saDir, 'namespace'), namespace, { mode: 0o644 });
      // the kubelet makes the token readable by the pod's fsGroup
      const gid = pod.securityContext?.fsGroup ?? sc.runAsGroup;
      if (gid !== undefined && process.getuid?.() === 0) chownSync(join(saDir, 'token'), 0, gid);
      else writeFileSync(join(saDir, 'token'), token, { mode: 0o644 });
      args.push('--volume', `${saDir}:${SA_DIR}:ro`);
    }

    // environment: the chart's, the downward API resolved, and the service environment
    const field: Record<string, string> = {
      'metadata.name': opts.name,
      'metadata.namespace': namespace,
      'spec.serviceAccountName': pod.serviceAccountName ?? 'default',
      'status.podIP': '127.0.0.1',
      'spec.nodeName': 'localhost',
    };
    const env: Array<[string, string]> = [
      ['KUBERNETES_SERVICE_HOST', server.hostname],
      ['KUBERNETES_SERVICE_PORT', server.port || '443'],
    ];
    for (const e of c.env ?? []) {
      if (e.value !== undefined) env.push([e.name, e.value]);
      else if (e.valueFrom?.fieldRef) {
        const v = field[e.valueFrom.fieldRef.fieldPath];
        if (v === undefined)
          throw new Error(`env ${e.name}: fieldRef ${e.valueFrom.fieldRef.fieldPath} not supported`);
        env.push([e.name, v]);
      } else if (e.valueFrom) throw new Error(`env ${e.name}: only value and fieldRef are supported`);
      else env.push([e.name, '']);
    }
    for (const [k, v] of env) args.push('--env', `${k}=${v}`);
    if (c.workingDir) args.push('--workdir', c.workingDir);
    if (c.command) args.push('--entrypoint', JSON.stringify(c.command));
    args.push(opts.image, ...(c.args ?? []));

    const ports = new Map<string, number>();
    for (const p of c.ports ?? []) if (p.name) ports.set(p.name, p.containerPort);
    await podman(['rm', '--force', '--ignore', opts.name]);
    await podman(args);
    return new OperatorPod(opts.name, c, pod, args, dir, ports);
  }

  private portOf(p: number | string): number {
    if (typeof p === 'number') return p;
    const n = this.ports.get(p);
    if (n === undefined) throw new Error(`the container has no port named ${p}`);
    return n;
  }

  /** The port of a named container port (health, metrics). */
  port(name: string): number {
    return this.portOf(name);
  }

  /** GET a path on a container port (host networking: loopback). */
  async get(path: string, port: number | string = 'health'): Promise<{ status: number; body: string }> {
    const res = await fetch(`http://127.0.0.1:${this.portOf(port)}${path}`, {
      signal: AbortSignal.timeout(3000),
    });
    return { status: res.status, body: await res.text() };
  }

  /** Runs the chart's liveness or readiness probe once: true when it succeeds (2xx/3xx). */
  async probe(which: 'liveness' | 'readiness'): Promise<boolean> {
    const p = which === 'liveness' ? this.container.livenessProbe : this.container.readinessProbe;
    if (!p?.httpGet) throw new Error(`the chart defines no ${which} httpGet probe`);
    try {
      const { status } = await this.get(p.httpGet.path ?? '/', p.httpGet.port);
      return status >= 200 && status < 400;
    } catch {
      return false;
    }
  }

  /** Text of /metrics on the chart's metrics port. */
  async metrics(): Promise<string> {
    const { status, body } = await this.get('/metrics', this.ports.has('metrics') ? 'metrics' : 'health');
    if (status !== 200) throw new Error(`GET /metrics: HTTP ${status}`);
    return body;
  }

  /** True when this pod's operator holds the Lease (its strata_leader gauge). */
  async isLeader(): Promise<boolean> {
    try {
      return /^strata_leader(\{[^}]*\})? 1$/m.test(await this.metrics());
    } catch {
      return false;
    }
  }

  async state(): Promise<{ running: boolean; exitCode: number; pid: number; oomKilled: boolean }> {
    const out = (
      await podman([
        'inspect',
        '--format',
        '{{.State.Running}} {{.State.ExitCode}} {{.State.Pid}} {{.State.OOMKilled}}',
        this.name,
      ])
    ).trim();
    const [running, exitCode, pid, oom] = out.split(' ');
    return {
      running: running === 'true',
      exitCode: Number(exitCode),
      pid: Number(pid),
      oomKilled: oom === 'true',
    };
  }

  /** Polls the readiness probe until it passes; fails with the container's log if it exits. */
  async waitReady(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.probe('readiness')) return;
      const st = await this.state();
      if (!st.running)
        throw new Error(
          `container ${this.name} exited with code ${st.exitCode}:\n${(await this.logs()).slice(-4000)}`,
        );
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new Error(
      `container ${this.name}: readiness probe not passing after ${timeoutMs} ms:\n${(await this.logs()).slice(-4000)}`,
    );
  }

  /** stdout + stderr of the container (the operator's JSON log lines). */
  async logs(): Promise<string> {
    return podman(['logs', this.name]).catch(() => '');
  }

  /** Resident memory of the operator process (VmRSS of the container's PID 1), in bytes. */
  async rssBytes(): Promise<number> {
    const { pid } = await this.state();
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    if (!m) throw new Error('no VmRSS');
    return Number(m[1]) * 1024;
  }

  /** What `id` would say inside: the operator process's uid/gid and capability sets. */
  async processStatus(): Promise<string> {
    const { pid } = await this.state();
    return readFileSync(`/proc/${pid}/status`, 'utf8');
  }

  /** Runs a command in the container (exec form; the image needs no shell). */
  async exec(cmd: string[]): Promise<{ code: number; out: string }> {
    try {
      return { code: 0, out: await podman(['exec', this.name, ...cmd]) };
    } catch (err) {
      return { code: 1, out: (err as Error).message };
    }
  }

  /** SIGTERM, as the kubelet stops a Pod, SIGKILL after the grace period; resolves to the exit code. */
  async stop(graceSeconds = this.pod.terminationGracePeriodSeconds ?? 30): Promise<number> {
    await podman(['stop', '--time', String(graceSeconds), this.name], {
      timeoutMs: (graceSeconds + 30) * 1000,
    }).catch(() => {});
    return (await this.state().catch(() => ({ exitCode: -1 }))).exitCode;
  }

  /** Stops (if running) and removes the container and its files. */
  async remove(): Promise<void> {
    await podman(['rm', '--force', '--time', '5', this.name]).catch(() => {});
    rmSync(this.dir, { recursive: true, force: true });
  }
}

function splitImage(image: string): [string, string] {
  const i = image.lastIndexOf(':');
  if (i <= image.lastIndexOf('/')) return [image, 'latest'];
  return [image.slice(0, i), image.slice(i + 1)];
}

function numericUser(user: string): number | undefined {
  const u = user.split(':')[0] ?? '';
  if (u === '' || u === 'root') return 0;
  return /^\d+$/.test(u) ? Number(u) : undefined;
}

/** The operator image of this test run (the `image` component of the environment). */
export function operatorImage(): string {
  const image = process.env.STRATA_TEST_OPERATOR_IMAGE;
  if (!image)
    throw new Error(
      "STRATA_TEST_OPERATOR_IMAGE is not set: the vitest project needs the 'image' component (provide: { strataEnv: [..., 'image'] }).",
    );
  return image;
}
