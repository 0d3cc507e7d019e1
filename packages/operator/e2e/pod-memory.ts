/**
 * Memory of the operator container, measured the way it runs in a cluster: the image built by
 * the test environment, started from the chart's container spec (test/env/pod.ts) against the
 * test kube-apiserver and moto. Reports the image size and the operator process's resident
 * memory (VmRSS now, VmHWM peak) at idle and after N SecretSyncs are all synced.
 *
 *   npx tsx packages/operator/e2e/pod-memory.ts [counts...]     (default: 1000 10000)
 *
 * Workload: 100 namespaces, SecretSyncs spread evenly, each with two references over 1,000 SSM
 * parameters. The figures set the chart's resources (charts/strata-operator/values.yaml); the
 * container runs under the chart's memory limit (MEM_LIMIT=1Gi to measure without it), and an
 * OOM kill fails the run.
 * Runs its own environment (moto, etcd, kube-apiserver) and stops it afterwards.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as k8s from '@kubernetes/client-node';
import { envVars, startEnv, stopEnv } from '@strata/test-env';
import { imageSize } from '@strata/test-env/containers';
import { OperatorPod } from '@strata/test-env/pod';
import pLimit from 'p-limit';

const run = promisify(execFile);
const counts = process.argv.slice(2).map(Number);
if (counts.length === 0) counts.push(1000, 10_000);
const NAMESPACES = 100;
const PARAMS = 1000;
const MiB = 1024 * 1024;
const log = (m: string) => console.error(`[pod-memory ${new Date().toISOString().slice(11, 19)}] ${m}`);

const state = await startEnv({ components: ['aws', 'kube', 'image'], log });
Object.assign(process.env, envVars(state, `${state.workDir}/state.json`));
let pod: OperatorPod | undefined;
try {
  const image = state.image!;
  const endpoint = state.aws!.endpoint;
  const ssm = new SSMClient({
    endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
  });
  const limit = pLimit(16);
  await Promise.all(
    Array.from({ length: PARAMS }, (_, i) =>
      limit(() =>
        ssm.send(new PutParameterCommand({ Name: `/mem/p/${i}`, Value: `value-${i}`, Type: 'String' })),
      ),
    ),
  );
  const chart = new URL('../../../charts/strata-operator', import.meta.url).pathname;
  await run(state.helm!, [
    'install',
    'strata-operator',
    chart,
    '--namespace',
    'strata-system',
    '--create-namespace',
    '--kubeconfig',
    state.kube!.kubeconfig,
  ]);
  const kc = new k8s.KubeConfig();
  kc.loadFromFile(state.kube!.kubeconfig);
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  const nsNames = Array.from({ length: NAMESPACES }, (_, i) => `mem-${i}`);
  for (const name of nsNames)
    await core.createNamespace({ body: { metadata: { name, labels: { mem: 'yes' } } } });
  await custom.createClusterCustomObject({
    group: 'strata.dev',
    version: 'v1alpha1',
    plural: 'sourcepolicies',
    body: {
      apiVersion: 'strata.dev/v1alpha1',
      kind: 'SourcePolicy',
      metadata: { name: 'mem' },
      spec: { namespaces: { selector: { matchLabels: { mem: 'yes' } } }, ssm: { paths: ['/mem'] } },
    },
  });

  pod = await OperatorPod.start({
    image,
    name: 'strata-operator-mem',
    values: {
      aws: { region: 'us-east-1', endpoint },
      extraEnv: [
        { name: 'AWS_ACCESS_KEY_ID', value: 'testing' },
        { name: 'AWS_SECRET_ACCESS_KEY', value: 'testing' },
      ],
      // MEM_LIMIT=1Gi measures without the chart's limit (how its figures were first found)
      ...(process.env.MEM_LIMIT ? { resources: { limits: { memory: process.env.MEM_LIMIT } } } : {}),
    },
  });
  await pod.waitReady(120_000);
  const status = async () => {
    const s = await pod!.processStatus();
    const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB$`, 'm').exec(s)?.[1] ?? 0) * 1024;
    return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
  };
  const writes = async () => {
    const text = await pod!.metrics();
    let sum = 0;
    for (const m of text.matchAll(/^strata_secret_writes_total\{[^}]*\} ([0-9.e+]+)$/gm)) sum += Number(m[1]);
    return sum;
  };
  await new Promise((r) => setTimeout(r, 10_000));
  const rows: Array<[string, number, number, number]> = [];
  const idle = await status();
  rows.push(['idle (0 SecretSyncs)', idle.rss, idle.hwm, 0]);
  log(`idle: RSS ${(idle.rss / MiB).toFixed(0)} MiB`);

  let created = 0;
  for (const n of counts) {
    const started = Date.now();
    const create = pLimit(16);
    const todo = Array.from({ length: n - created }, (_, k) => created + k);
    await Promise.all(
      todo.map((i) =>
        create(() =>
          custom.createNamespacedCustomObject({
            group: 'strata.dev',
            version: 'v1alpha1',
            namespace: nsNames[i % NAMESPACES]!,
            plural: 'secretsyncs',
            body: {
              apiVersion: 'strata.dev/v1alpha1',
              kind: 'SecretSync',
              metadata: { name: `s-${i}` },
              spec: {
                target: { name: `s-${i}` },
                sources: [
                  {
                    refs: {
                      a: `<<resolve:ssm:/mem/p/${i % PARAMS}>>`,
                      b: `<<resolve:ssm:/mem/p/${(i * 7 + 3) % PARAMS}>>`,
                    },
                  },
                ],
              },
            },
          }),
        ),
      ),
    );
    created = n;
    log(`${n} SecretSyncs created; waiting for their Secrets`);
    const deadline = Date.now() + 15 * 60_000;
    while ((await writes()) < n) {
      if (Date.now() > deadline) throw new Error(`only ${await writes()} of ${n} Secrets written`);
      const st = await pod.state();
      if (!st.running) throw new Error(`the container exited (${st.exitCode}, OOMKilled=${st.oomKilled})`);
      await new Promise((r) => setTimeout(r, 1000));
    }
    const synced = (Date.now() - started) / 1000;
    await new Promise((r) => setTimeout(r, 10_000));
    const s = await status();
    rows.push([`${n.toLocaleString('en')} SecretSyncs synced`, s.rss, s.hwm, synced]);
    log(
      `${n}: RSS ${(s.rss / MiB).toFixed(0)} MiB, peak ${(s.hwm / MiB).toFixed(0)} MiB, synced in ${synced.toFixed(0)} s`,
    );
  }
  const memLimit = pod.podmanArgs[pod.podmanArgs.indexOf('--memory') + 1];
  console.log(
    `memory limit (--memory, from the chart's resources.limits.memory): ${Number(memLimit) / MiB} MiB`,
  );
  const size = await imageSize(image);
  console.log(`image ${image}: ${(size / 1e6).toFixed(0)} MB (${(size / MiB).toFixed(0)} MiB)`);
  console.log('| state | RSS (MiB) | peak RSS so far (MiB) |');
  console.log('| --- | ---: | ---: |');
  for (const [what, rss, hwm] of rows)
    console.log(`| ${what} | ${(rss / MiB).toFixed(0)} | ${(hwm / MiB).toFixed(0)} |`);
} finally {
  await pod?.remove();
  await stopEnv(state);
}
