/**
 * Scale benchmark (issue 12): Strata's operator against External Secrets Operator v0.16.2, both
 * running as processes and measured from outside only — their /metrics, the API server's
 * `apiserver_request_total`, the fault proxy's call counts and the Secrets they write (one watch).
 * Nothing calls into the operator.
 *
 * Workload (bench/scale/workload.ts): 10,000 sync objects in 100 namespaces over 1,000 SSM
 * parameters and 100 Secrets Manager secrets on moto; each peer gets its own 100 namespaces with
 * the same specs (SecretSyncs / ExternalSecrets). Per peer, in turn (interleaved rounds):
 *   1. start → all 10,000 Secrets correct (objects created before the peer starts);
 *   2. steady state: AWS calls per full refresh against the lower bound, and Kubernetes requests
 *      by verb in a refresh with no change;
 *   3. rotation of one secret used by 100 objects → latency until each of the 100 Secrets holds it;
 *   4. a flapping source (one secret changed BENCH_SCALE_FLAPS times, 1 s apart): Events written;
 *   5. memory (RSS) sampled every 500 ms, against the chart's memory limit.
 * Results: bench/results/scale.json, rendered into bench/RESULTS.md and the operator README
 * (bench/scale/render.ts). No timing assertions.
 *
 *   bash bench/eso/build.sh                                   (once; ~5 min; ESO is never run in CI)
 *   npm run build                                             (the operator runs from dist/)
 *   npx tsx --conditions=strata-source bench/scale.ts         (from the repository root)
 *
 * Environment: BENCH_SCALE_PEERS (default `strata,eso`), BENCH_SCALE_ROUNDS (1),
 * BENCH_SCALE_REFRESH (refresh interval of every object, default `60s`), BENCH_SCALE_REFRESHES
 * (full refreshes in the steady window, default 2), BENCH_SCALE_ROTATIONS (default 3),
 * BENCH_SCALE_FLAPS (default 10), BENCH_SCALE_START_TIMEOUT_S (default 600),
 * BENCH_SCALE_LAUNCHER (`host`), BENCH_SCALE_CONCURRENCY (Strata's work-queue concurrency, also
 * ESO's --concurrent; default 16 = Strata's default), BENCH_NO_WRITE=1 (print only).
 */
import { execFile, execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import {
  CreateSecretCommand,
  PutSecretValueCommand,
  SecretsManagerClient,
} from '@aws-sdk/client-secrets-manager';
import { PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import * as k8s from '@kubernetes/client-node';
import { kubeClient } from '../packages/operator/src/kube.js';
import { rotationQueue } from '../test/env/aws.js';
import { type FaultProxy, startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, envVars, startEnv, stopEnv } from '../test/env/index.js';
import { K8S_VERSION, kubeGet } from '../test/env/kube.js';
import { adminKubeConfig, serviceAccountToken, tokenKubeConfig } from '../test/env/kube-client.js';
import { MOTO_VERSION } from '../test/env/moto.js';
import { freePort } from '../test/env/util.js';
import { applyEsoCrds, createEsoStores, ESO_VERSION, esoBinary, launchEso } from './lib/eso.js';
import { type LaunchedOperator, launchOperator, promBy, promSum } from './lib/operator-launcher.js';
import {
  diffCounts,
  now,
  parseApiserverRequests,
  percentile,
  SecretTracker,
  sleep,
} from './lib/operator-probe.js';
import { machine } from './lib/report.js';
import { type KubeCounts, type PeerResult, renderScale, type ScaleResults } from './scale/render.js';
import {
  dependentsOfSecret,
  externalSecretSpec,
  KEY_PAIRS,
  LOWER_BOUND,
  NAMESPACE_COUNT,
  namespaceName,
  namespaces,
  PARAMS,
  RESOURCES,
  type ScaleResource,
  SECRET_IDS,
  SECRET_KEY,
  sameData,
  secretSyncSpec,
  Truth,
} from './scale/workload.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const HERE = dirname(fileURLToPath(import.meta.url));
const ROOT = join(HERE, '..');
const CHART = join(ROOT, 'charts', 'strata-operator');
const RELEASE = 'strata-operator';
const RELEASE_NS = 'strata-system';
const REGION = 'us-east-1';
const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };
const PEERS = (process.env.BENCH_SCALE_PEERS ?? 'strata,eso').split(',').map((s) => s.trim()) as Array<
  'strata' | 'eso'
>;
const ROUNDS = Number(process.env.BENCH_SCALE_ROUNDS ?? 1);
const REFRESH = process.env.BENCH_SCALE_REFRESH ?? '60s';
const REFRESH_MS = Number(/^(\d+)s$/.exec(REFRESH)?.[1] ?? 60) * 1000;
const REFRESHES = Number(process.env.BENCH_SCALE_REFRESHES ?? 2);
const ROTATIONS = Number(process.env.BENCH_SCALE_ROTATIONS ?? 3);
const FLAPS = Number(process.env.BENCH_SCALE_FLAPS ?? 10);
const START_TIMEOUT_MS = Number(process.env.BENCH_SCALE_START_TIMEOUT_S ?? 600) * 1000;
const LAUNCHER = process.env.BENCH_SCALE_LAUNCHER ?? 'host';
const CONCURRENCY = Number(process.env.BENCH_SCALE_CONCURRENCY ?? 16);
const ESO_QPS = Number(process.env.BENCH_SCALE_ESO_QPS ?? 500);
const PREFIX = { strata: 'st', eso: 'eso' } as const;
const SYNC_LABEL = 'strata.dev/secretsync';
/** Fewer objects for a smoke run (BENCH_SCALE_RESOURCES=1000); the figures are for 10,000. */
const RES = RESOURCES.slice(0, Number(process.env.BENCH_SCALE_RESOURCES ?? RESOURCES.length));
const depsOf = (s: number) => dependentsOfSecret(s).filter((r) => r.index < RES.length);
const ESO_LABEL = 'reconcile.external-secrets.io/managed';

const log = (msg: string) =>
  process.stderr.write(`[bench:scale ${new Date().toISOString().slice(11, 19)}] ${msg}\n`);
const run = promisify(execFile);

let env: EnvState | undefined;
let proxy: FaultProxy | undefined;
const truth = new Truth();

async function pool<T>(items: T[], n: number, fn: (t: T) => Promise<unknown>): Promise<void> {
  let i = 0;
  await Promise.all(
    Array.from({ length: n }, async () => {
      while (i < items.length) await fn(items[i++]!);
    }),
  );
}

async function retry<T>(fn: () => Promise<T>, tries = 5): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await fn();
    } catch (err) {
      if (i >= tries) throw err;
      await sleep(200 * i);
    }
  }
}

// --- the API server's own request counters ------------------------------------------------------

async function apiserverCounts(): Promise<Map<string, number>> {
  const r = await kubeGet(env!.kube!.server, '/metrics', env!.kube!.adminToken);
  if (r.status !== 200) throw new Error(`kube-apiserver /metrics: HTTP ${r.status}`);
  return parseApiserverRequests(r.body);
}

/** Requests between two snapshots, by `VERB resource[/sub]` and by verb; WATCH and non-resource requests left out. */
function kubeCounts(a: Map<string, number>, b: Map<string, number>): KubeCounts {
  const byResource: Record<string, number> = {};
  const byVerb: Record<string, number> = {};
  for (const [k, v] of diffCounts(a, b)) {
    const [verb, resource] = k.split(' ') as [string, string];
    // non-resource requests (/api, /metrics …) left out
    if (
      verb === 'WATCH' ||
      verb === 'CONNECT' ||
      !resource ||
      resource === 'undefined' ||
      resource.startsWith('/')
    )
      continue;
    byResource[k] = v;
    byVerb[verb] = (byVerb[verb] ?? 0) + v;
  }
  const total = Object.values(byVerb).reduce((x, y) => x + y, 0);
  return { byResource, byVerb, total };
}

async function scrape(url: string): Promise<string> {
  for (let i = 1; ; i++) {
    try {
      const res = await fetch(url, { signal: AbortSignal.timeout(15_000) });
      if (!res.ok) throw new Error(`GET ${url}: HTTP ${res.status}`);
      return await res.text();
    } catch (err) {
      if (i >= 4) throw new Error(`GET ${url}: ${(err as Error).message} (${i} attempts)`);
      await sleep(1000 * i);
    }
  }
}

const valueCalls = (calls: Record<string, number>) =>
  Object.fromEntries(
    Object.entries(calls).filter(([k]) => k.startsWith('ssm:') || k.startsWith('secretsmanager:')),
  );
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const diffRec = (a: Record<string, number>, b: Record<string, number>) => {
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(b)) if (v - (a[k] ?? 0) > 0) out[k] = v - (a[k] ?? 0);
  return out;
};

// --- the peers ---------------------------------------------------------------------------------

interface Peer {
  name: 'strata' | 'eso';
  prefix: string;
  launched: LaunchedOperator;
  /** Reconciles so far, from the peer's own metrics. */
  reconciles(metrics: string): number;
  /** AWS calls by operation from the peer's own metrics. */
  awsCalls(metrics: string): Record<string, number>;
  queueDepth(metrics: string): number;
  startedAt: number;
  kube0: Map<string, number>;
  proxy0: Record<string, number>;
}

async function startStrata(workDir: string, metricsPort: number, healthPort: number, queueUrl: string) {
  const values = helmValues(metricsPort, healthPort, queueUrl);
  const { stdout: manifests } = await run(
    env!.helm!,
    ['template', RELEASE, CHART, '--namespace', RELEASE_NS, ...values],
    { maxBuffer: 64 * 2 ** 20 },
  );
  const token = await serviceAccountToken(RELEASE_NS, RELEASE, 7200);
  const kc = tokenKubeConfig(token);
  const launched = await launchOperator(LAUNCHER, {
    manifests,
    kubeconfig: kc.exportConfig(),
    workDir,
    repoRoot: ROOT,
    metricsPort,
    values: helmValueObject(metricsPort, healthPort, queueUrl),
    // A pod gets these from IRSA / the pod identity webhook; the chart does not set credentials.
    extraEnv: {
      AWS_ACCESS_KEY_ID: CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: CREDENTIALS.secretAccessKey,
      // the chart sets no STRATA_CONCURRENCY (the operator's default, 16); only an explicit override
      ...(process.env.BENCH_SCALE_CONCURRENCY ? { STRATA_CONCURRENCY: String(CONCURRENCY) } : {}),
    },
  });
  const peer = {
    name: 'strata',
    prefix: PREFIX.strata,
    launched,
    reconciles: (m) => promSum(m, 'strata_reconcile_total'),
    awsCalls: (m) => promBy(m, 'strata_aws_calls_total', 'operation'),
    queueDepth: (m) => promSum(m, 'strata_queue_depth'),
  } as Peer;
  return peer;
}

/** The same values as an object, for the container launcher (which picks its own ports). */
function helmValueObject(
  _metricsPort: number,
  _healthPort: number,
  queueUrl: string,
): Record<string, unknown> {
  return {
    replicaCount: 1,
    aws: { region: REGION, endpoint: proxy!.endpoint },
    sqs: { queueUrl },
    metrics: { host: '127.0.0.1' },
    // A pod gets AWS credentials from IRSA / the pod identity webhook; here through the chart's extraEnv.
    extraEnv: [
      { name: 'AWS_ACCESS_KEY_ID', value: CREDENTIALS.accessKeyId },
      { name: 'AWS_SECRET_ACCESS_KEY', value: CREDENTIALS.secretAccessKey },
      ...(process.env.BENCH_SCALE_CONCURRENCY
        ? [{ name: 'STRATA_CONCURRENCY', value: String(CONCURRENCY) }]
        : []),
    ],
  };
}

function helmValues(metricsPort: number, healthPort: number, queueUrl: string): string[] {
  return [
    '--set',
    'replicaCount=1',
    '--set',
    `aws.region=${REGION}`,
    '--set',
    `aws.endpoint=${proxy!.endpoint}`,
    '--set',
    `sqs.queueUrl=${queueUrl}`,
    '--set',
    `metrics.port=${metricsPort}`,
    '--set',
    'metrics.host=127.0.0.1',
    '--set',
    `health.port=${healthPort}`,
    // (the chart refuses a loopback health.host: the kubelet probes the pod IP)
  ];
}

async function startEsoPeer(workDir: string, metricsPort: number): Promise<Peer> {
  const launched = await launchEso({
    kubeconfigFile: env!.kube!.kubeconfig,
    workDir,
    metricsPort,
    concurrent: CONCURRENCY,
    clientQps: ESO_QPS,
    clientBurst: ESO_QPS * 2,
    ssmEndpoint: proxy!.endpoint,
    secretsManagerEndpoint: proxy!.endpoint,
    region: REGION,
  });
  return {
    name: 'eso',
    prefix: PREFIX.eso,
    launched,
    reconciles: (m) => promSum(m, 'controller_runtime_reconcile_total', { controller: 'externalsecret' }),
    awsCalls: (m) => promBy(m, 'externalsecret_provider_api_calls_count', 'call'),
    queueDepth: (m) => promSum(m, 'workqueue_depth', { name: 'externalsecret' }),
  } as Peer;
}

// --- measurement of one peer -------------------------------------------------------------------

const targetKey = (prefix: string, r: ScaleResource) => `${namespaceName(prefix, r.ns)}/${r.target}`;

async function waitMetrics(peer: Peer, timeoutMs: number): Promise<string> {
  const deadline = now() + timeoutMs;
  for (;;) {
    try {
      return await scrape(peer.launched.metricsUrl);
    } catch (err) {
      if (peer.launched.exited()) throw new Error(`${peer.name} exited; see ${peer.launched.logFile}`);
      if (now() > deadline) throw err;
      await sleep(250);
    }
  }
}

/** Waits until the peer's work queue stays empty and the API server sees no writes (leases aside) for 3 s. */
async function waitQuiet(peer: Peer, timeoutMs: number): Promise<number> {
  const t0 = now();
  let last = await apiserverCounts();
  let quietSince = now();
  while (now() - t0 < timeoutMs) {
    await sleep(1000);
    const cur = await apiserverCounts();
    const k = kubeCounts(last, cur);
    const writes = Object.entries(k.byResource).filter(
      ([key]) => !/^(GET|LIST) /.test(key) && !key.includes('leases') && !key.includes(' endpoints'),
    );
    const depth = peer.queueDepth(await scrape(peer.launched.metricsUrl));
    if (writes.length > 0 || depth > 0) quietSince = now();
    last = cur;
    if (now() - quietSince >= 3000) break;
  }
  return now() - t0;
}

async function measurePeer(
  peer: Peer,
  tracker: SecretTracker,
  round: number,
  queue: Clients,
): Promise<PeerResult> {
  const keys = RES.map((r) => targetKey(peer.prefix, r));
  const byKey = new Map(RES.map((r) => [targetKey(peer.prefix, r), r]));
  const correct = (k: string, d: Record<string, string>) => sameData(d, truth.expected(byKey.get(k)!));
  const rss: Array<[number, number]> = [];
  const t0 = peer.startedAt;
  const sampler = setInterval(() => {
    const m = peer.launched.memory();
    if (m !== undefined) rss.push([now() - t0, m]);
  }, 500);
  try {
    // 1. start → all correct
    const k0 = peer.kube0;
    const p0 = peer.proxy0;
    const waiting = tracker.waitFor(keys, correct, START_TIMEOUT_MS);
    const got = await waiting;
    const times = [...got.times.values()].map((t) => t - t0).sort((a, b) => a - b);
    const allCorrectMs = got.missing.length === 0 ? times.at(-1)! : Number.NaN;
    log(
      `${peer.name}: ${got.times.size}/${keys.length} Secrets correct` +
        (got.missing.length === 0
          ? ` after ${Math.round(allCorrectMs)} ms`
          : ` (timeout ${START_TIMEOUT_MS} ms)`),
    );
    // ESO re-reads each object on its own timer and may never be quiet: cap its wait lower
    const settleMs = await waitQuiet(peer, peer.name === 'eso' ? 15_000 : 120_000);
    const k1 = await apiserverCounts();
    const m1 = await scrape(peer.launched.metricsUrl);
    const p1 = proxy!.counts().calls;
    const startKube = kubeCounts(k0, k1);
    const startReconciles = peer.reconciles(m1);
    const start = {
      allCorrectMs,
      correct: got.times.size,
      missing: got.missing.length,
      p50Ms: percentile(times, 50),
      at: Object.fromEntries(
        [10, 20, 30, 45, 60, 90, 120, 180, 300].map((s) => [
          `${s}s`,
          times.filter((t) => t <= s * 1000).length,
        ]),
      ),
      settleMs,
      reconciles: startReconciles,
      awsCalls: valueCalls(diffRec(p0, p1)),
      awsCallsMetric: peer.awsCalls(m1),
      kube: startKube,
    };

    // 2. steady state: full refreshes with no change
    log(`${peer.name}: steady window (${REFRESHES} refreshes of ${REFRESH})`);
    let steady: PeerResult['steady'];
    if (peer.name === 'strata') {
      // window from the end of one periodic refresh to the end of the REFRESHES-th after it: the
      // calls of exactly REFRESHES refreshes (each reads AWS before it counts itself)
      const refreshes = (m: string) => promSum(m, 'strata_refreshes_total');
      const base = refreshes(await scrape(peer.launched.metricsUrl));
      const until = async (n: number) => {
        const deadline = now() + REFRESH_MS * (REFRESHES + 3);
        for (;;) {
          const m = await scrape(peer.launched.metricsUrl);
          if (refreshes(m) >= n || now() > deadline) return m;
          await sleep(100);
        }
      };
      await until(base + 1);
      // let that refresh's reconciles finish: the window then holds exactly the next REFRESHES
      await waitQuiet(peer, 120_000);
      const ma = await scrape(peer.launched.metricsUrl);
      const ka = await apiserverCounts();
      const pa = proxy!.counts().calls;
      const ta = now();
      const mb = await until(refreshes(ma) + REFRESHES);
      const pb = proxy!.counts().calls;
      await waitQuiet(peer, 120_000);
      const kb = await apiserverCounts();
      const n = refreshes(mb) - refreshes(ma);
      const metricCalls = diffRec(peer.awsCalls(ma), peer.awsCalls(mb));
      steady = {
        windowMs: now() - ta,
        refreshes: n,
        refreshesHow: 'strata_refreshes_total',
        reconciles: peer.reconciles(mb) - peer.reconciles(ma),
        awsCalls: valueCalls(diffRec(pa, pb)),
        awsCallsMetric: metricCalls,
        perRefresh: sum(valueCalls(diffRec(pa, pb))) / n,
        perRefreshMetric: sum(metricCalls) / n,
        sqs: Object.fromEntries(Object.entries(diffRec(pa, pb)).filter(([k]) => k.startsWith('sqs:'))),
        kube: kubeCounts(ka, kb),
        secretWrites: diffRec(
          promBy(ma, 'strata_secret_writes_total', 'action'),
          promBy(mb, 'strata_secret_writes_total', 'action'),
        ),
      };
    } else {
      const ma = await scrape(peer.launched.metricsUrl);
      const ka = await apiserverCounts();
      const pa = proxy!.counts().calls;
      const ta = now();
      await sleep(REFRESH_MS * REFRESHES);
      const mb = await scrape(peer.launched.metricsUrl);
      const kb = await apiserverCounts();
      const pb = proxy!.counts().calls;
      const reconciles = peer.reconciles(mb) - peer.reconciles(ma);
      const calls = valueCalls(diffRec(pa, pb));
      // ESO has no batched refresh: each ExternalSecret is re-read on its own timer. A full
      // refresh = one reconcile of each of the 10,000, so calls per refresh = calls per reconcile × 10,000.
      const n = reconciles / RES.length;
      steady = {
        windowMs: now() - ta,
        refreshes: n,
        refreshesHow: 'reconciles / 10,000 (controller_runtime_reconcile_total)',
        reconciles,
        awsCalls: calls,
        awsCallsMetric: diffRec(peer.awsCalls(ma), peer.awsCalls(mb)),
        perRefresh: sum(calls) / n,
        perRefreshMetric: sum(diffRec(peer.awsCalls(ma), peer.awsCalls(mb))) / n,
        sqs: {},
        kube: kubeCounts(ka, kb),
        secretWrites: {},
      };
    }
    log(
      `${peer.name}: ${steady.refreshes.toFixed(2)} refreshes, ${steady.perRefresh.toFixed(1)} AWS calls each`,
    );

    // 3. rotations: one secret used by 100 objects, changed in AWS, event sent
    const rotations: PeerResult['rotations'] = [];
    const nRot = peer.name === 'strata' ? ROTATIONS : Math.min(ROTATIONS, 1);
    for (let i = 0; i < nRot; i++) {
      const s = (round * 10 + i) % Math.max(1, RES.at(-1)!.secret);
      rotations.push(await rotate(peer, tracker, s, queue));
    }

    // 4. flapping source: one secret changed FLAPS times, 1 s apart, each with its event
    const flap = await flapping(peer, tracker, queue);

    const memPeak = rss.reduce((a, [, b]) => Math.max(a, b), 0);
    const at = (ms: number) => rss.find(([t]) => t >= ms)?.[1];
    return {
      peer: peer.name,
      round,
      launcher: peer.launched.launcher,
      description: peer.launched.description,
      start,
      steady,
      rotations,
      flap,
      memory: {
        peakBytes: memPeak,
        afterStartBytes: at(allCorrectMs) ?? Number.NaN,
        endBytes: rss.at(-1)?.[1] ?? Number.NaN,
        limitBytes: peer.launched.memoryLimitBytes ?? null,
        samples: rss.length,
        how:
          peer.launched.launcher === 'host'
            ? 'RSS of the process (/proc/PID/status VmRSS), every 500 ms'
            : "RSS of the container's operator process (its PID 1, /proc/PID/status VmRSS from the host), every 500 ms",
      },
    };
  } finally {
    clearInterval(sampler);
  }
}

interface Clients {
  sm: SecretsManagerClient;
  events: EventBridgeClient;
}

async function putSecret(c: Clients, s: number): Promise<string> {
  const id = SECRET_IDS[s]!;
  const version = (truth.versions.get(id) ?? 1) + 1;
  const str = truth.setSecret(id, version);
  await c.sm.send(new PutSecretValueCommand({ SecretId: id, SecretString: str }));
  const put = await c.events.send(
    new PutEventsCommand({
      Entries: [
        {
          Source: 'aws.secretsmanager',
          DetailType: 'AWS API Call via CloudTrail',
          Detail: JSON.stringify({
            eventSource: 'secretsmanager.amazonaws.com',
            eventName: 'PutSecretValue',
            requestParameters: { secretId: id },
          }),
        },
      ],
    }),
  );
  if (put.FailedEntryCount) throw new Error('PutEvents failed');
  return truth.passwords.get(id)!;
}

async function rotate(
  peer: Peer,
  tracker: SecretTracker,
  s: number,
  c: Clients,
): Promise<PeerResult['rotations'][number]> {
  const deps = depsOf(s);
  const keys = deps.map((r) => targetKey(peer.prefix, r));
  const ka = await apiserverCounts();
  const pa = proxy!.counts().calls;
  const ma = await scrape(peer.launched.metricsUrl);
  const id = SECRET_IDS[s]!;
  const nextPw = JSON.parse(JSON.stringify({ password: `${id}-pw-v${(truth.versions.get(id) ?? 1) + 1}` }))
    .password as string;
  // ESO learns of a change only at its refresh: wait up to two intervals
  const timeout = peer.name === 'strata' ? 60_000 : REFRESH_MS * 2 + 30_000;
  const waiting = tracker.waitFor(keys, (_k, d) => d[SECRET_KEY] === nextPw, timeout);
  const t0 = now();
  await putSecret(c, s);
  const got = await waiting;
  const lat = [...got.times.values()].map((t) => t - t0);
  await waitQuiet(peer, peer.name === 'eso' ? 5_000 : 30_000);
  const kb = await apiserverCounts();
  const mb = await scrape(peer.launched.metricsUrl);
  const r = {
    secret: id,
    dependents: deps.length,
    updated: got.times.size,
    p50Ms: percentile(lat, 50),
    p99Ms: percentile(lat, 99),
    maxMs: Math.max(...lat),
    awsCalls: valueCalls(diffRec(pa, proxy!.counts().calls)),
    reconciles: peer.reconciles(mb) - peer.reconciles(ma),
    kube: kubeCounts(ka, kb),
  };
  log(`${peer.name}: rotation ${id}: ${r.updated}/${r.dependents}, p99 ${Math.round(r.p99Ms)} ms`);
  return r;
}

async function flapping(peer: Peer, tracker: SecretTracker, c: Clients): Promise<PeerResult['flap']> {
  const s = RES.at(-1)!.secret;
  const deps = depsOf(s);
  const ka = await apiserverCounts();
  const since = new Date(Date.now() - 1000);
  const t0 = now();
  for (let i = 0; i < FLAPS; i++) {
    await putSecret(c, s);
    await sleep(1000);
  }
  const last = truth.passwords.get(SECRET_IDS[s]!)!;
  const keys = deps.map((r) => targetKey(peer.prefix, r));
  const timeout = peer.name === 'strata' ? 30_000 : REFRESH_MS + 30_000;
  const got = await tracker.waitFor(keys, (_k, d) => d[SECRET_KEY] === last, timeout);
  await waitQuiet(peer, peer.name === 'eso' ? 5_000 : 30_000);
  const kb = await apiserverCounts();
  // Events about each dependent written in the window (count = the series count of aggregated Events)
  const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
  const perObject: number[] = [];
  await pool(deps, 8, async (r) => {
    const ns = namespaceName(peer.prefix, r.ns);
    const list = await retry(() =>
      core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.name=${r.name}` }),
    );
    let n = 0;
    for (const e of list.items) {
      const last = e.lastTimestamp ?? e.eventTime ?? e.metadata?.creationTimestamp;
      if (last && new Date(last as unknown as string) >= since) n += e.count ?? 1;
    }
    perObject.push(n);
  });
  const kube = kubeCounts(ka, kb);
  return {
    flips: FLAPS,
    windowMs: now() - t0,
    objects: deps.length,
    reachedFinal: got.times.size,
    eventWrites: Object.fromEntries(Object.entries(kube.byResource).filter(([k]) => k.includes(' events'))),
    eventsPerObjectMax: Math.max(...perObject),
    eventsPerObjectMedian: percentile(perObject, 50),
    eventsTotal: perObject.reduce((a, b) => a + b, 0),
    kube,
  };
}

// --- setup -------------------------------------------------------------------------------------

async function setup(): Promise<{
  clients: Clients;
  queueUrl: string;
  esoStores?: { ssm: string; secretsManager: string };
}> {
  const moto = env!.aws!.endpoint;
  const cfg = { endpoint: moto, region: REGION, credentials: CREDENTIALS };
  const ssm = new SSMClient(cfg);
  const sm = new SecretsManagerClient(cfg);
  const events = new EventBridgeClient(cfg);
  log(`seeding ${PARAMS.length} parameters and ${SECRET_IDS.length} secrets (straight into moto)`);
  await pool(PARAMS, 8, (p) =>
    ssm.send(new PutParameterCommand({ Name: p.name, Value: truth.params.get(p.name)!, Type: p.type })),
  );
  await pool(SECRET_IDS, 8, (id) =>
    sm.send(
      new CreateSecretCommand({
        Name: id,
        SecretString: JSON.stringify({
          username: `${id.replace('/', '-')}-user`,
          password: truth.passwords.get(id),
        }),
      }),
    ),
  );
  const queueUrl = await rotationQueue({ endpoint: moto });

  log('helm install (CRDs, RBAC, ServiceAccount; the Deployment has no kubelet to run it)');
  const kc = adminKubeConfig();
  const core = kc.makeApiClient(k8s.CoreV1Api);
  const custom = kc.makeApiClient(k8s.CustomObjectsApi);
  await run(env!.helm!, [
    'install',
    RELEASE,
    CHART,
    '--namespace',
    RELEASE_NS,
    '--create-namespace',
    '--kubeconfig',
    env!.kube!.kubeconfig,
    ...helmValues(8080, 8081, queueUrl),
  ]);
  let esoStores: { ssm: string; secretsManager: string } | undefined;
  if (PEERS.includes('eso')) {
    log(`applying ESO ${ESO_VERSION} CRDs (its deploy/crds/bundle.yaml); two ClusterSecretStores`);
    await applyEsoCrds(kc);
    esoStores = await createEsoStores(kc, REGION);
  }
  for (const peer of PEERS)
    await pool(namespaces(PREFIX[peer]), 8, (name) => core.createNamespace({ body: { metadata: { name } } }));
  if (PEERS.includes('strata')) {
    await custom.createClusterCustomObject({
      group: 'strata.dev',
      version: 'v1alpha1',
      plural: 'sourcepolicies',
      body: {
        apiVersion: 'strata.dev/v1alpha1',
        kind: 'SourcePolicy',
        metadata: { name: 'scale' },
        spec: {
          namespaces: { names: namespaces(PREFIX.strata) },
          ssm: { paths: ['/scale'] },
          secretsManager: { names: ['scale/*'] },
        },
      },
    });
  }
  const seed = kubeClient(kc);
  for (const peer of PEERS) {
    const t = now();
    log(`creating ${RES.length} ${peer === 'strata' ? 'SecretSyncs' : 'ExternalSecrets'}`);
    // seeding only: a keep-alive client (client-node opens a TLS connection per request)
    await pool(RES, 24, (r) => {
      const namespace = namespaceName(PREFIX[peer], r.ns);
      return retry(() =>
        peer === 'strata'
          ? seed.request('POST', `/apis/strata.dev/v1alpha1/namespaces/${namespace}/secretsyncs`, {
              apiVersion: 'strata.dev/v1alpha1',
              kind: 'SecretSync',
              metadata: { name: r.name, namespace },
              spec: secretSyncSpec(r, REFRESH),
            })
          : seed.request('POST', `/apis/external-secrets.io/v1/namespaces/${namespace}/externalsecrets`, {
              apiVersion: 'external-secrets.io/v1',
              kind: 'ExternalSecret',
              metadata: { name: r.name, namespace },
              spec: externalSecretSpec(r, REFRESH, esoStores!),
            }),
      );
    });
    log(`  created in ${Math.round(now() - t)} ms`);
  }
  seed.close();
  return { clients: { sm, events }, queueUrl, ...(esoStores ? { esoStores } : {}) };
}

/** Deletes a peer's target Secrets (between rounds) and waits until the watch has seen them go. */
async function deleteSecrets(prefix: string, label: string, tracker: SecretTracker): Promise<void> {
  const core = adminKubeConfig().makeApiClient(k8s.CoreV1Api);
  await pool(namespaces(prefix), 8, (ns) =>
    core.deleteCollectionNamespacedSecret({ namespace: ns, labelSelector: label }),
  );
  const deadline = now() + 120_000;
  while (now() < deadline && tracker.data.size > 0) await sleep(250);
}

function gitCommit(): string {
  try {
    return execFileSync('git', ['rev-parse', '--short', 'HEAD'], { cwd: ROOT, encoding: 'utf8' }).trim();
  } catch {
    return 'unknown';
  }
}

function processCount(): number {
  try {
    return execFileSync('ps', ['-e', '--no-headers'], { encoding: 'utf8' }).split('\n').filter(Boolean)
      .length;
  } catch {
    return Number.NaN;
  }
}

async function main(): Promise<void> {
  if (PEERS.includes('eso')) {
    log(`building ESO ${ESO_VERSION} if needed (bench/eso/build.sh)`);
    execFileSync('bash', [join(HERE, 'eso', 'build.sh')], { stdio: ['ignore', 2, 2] });
  }
  const startedAt = new Date();
  const load0 = loadavg();
  env = await startEnv({ components: ['aws', 'kube'], log });
  Object.assign(process.env, envVars(env, join(env.workDir, 'state.json')));
  // the peers' logs outlive the environment (kept in the OS temp folder)
  const workDir = mkdtempSync(join(tmpdir(), 'strata-scale-'));
  log(`peer logs in ${workDir}`);
  proxy = await startFaultProxy(env.aws!.endpoint);
  proxy.configure({ latencyMs: 0 });
  const trackers: Record<string, SecretTracker> = {};
  const results: PeerResult[] = [];
  try {
    const { clients, queueUrl } = await setup();
    const kc = adminKubeConfig();
    trackers.strata = new SecretTracker(kc, SYNC_LABEL);
    trackers.eso = new SecretTracker(kc, ESO_LABEL);
    for (const p of PEERS) await trackers[p]!.start();
    for (let round = 0; round < ROUNDS; round++) {
      for (const name of PEERS) {
        const tracker = trackers[name]!;
        if (tracker.data.size > 0) {
          log(`${name}: deleting its ${tracker.data.size} Secrets from the previous round`);
          await deleteSecrets(PREFIX[name], name === 'strata' ? SYNC_LABEL : ESO_LABEL, tracker);
        }
        await sleep(5000);
        const metricsPort = await freePort();
        const kube0 = await apiserverCounts();
        const proxy0 = proxy.counts().calls;
        const startedPeer = now();
        log(
          `${name}: starting (round ${round + 1}/${ROUNDS}, load ${loadavg()
            .map((x) => x.toFixed(2))
            .join(' ')})`,
        );
        const peer =
          name === 'strata'
            ? await startStrata(workDir, metricsPort, await freePort(), queueUrl)
            : await startEsoPeer(workDir, metricsPort);
        Object.assign(peer, { startedAt: startedPeer, kube0, proxy0 });
        try {
          await waitMetrics(peer, 60_000);
          const r = await measurePeer(peer, tracker, round, clients);
          r.loadavg = loadavg();
          results.push(r);
        } finally {
          await peer.launched.stop();
        }
      }
    }
  } finally {
    for (const t of Object.values(trackers)) t.stop();
    await proxy.stop();
    await stopEnv(env);
  }
  const out: ScaleResults = {
    measuredAt: startedAt.toISOString(),
    wallMs: Date.now() - startedAt.getTime(),
    commit: gitCommit(),
    machine: { ...machine(), k8s: K8S_VERSION, moto: MOTO_VERSION, eso: ESO_VERSION },
    shared: {
      loadavgStart: load0,
      loadavgEnd: loadavg(),
      processes: processCount(),
      note: 'the machine was shared with other agents running builds and test suites',
    },
    config: {
      launcher: LAUNCHER,
      refreshInterval: REFRESH,
      refreshesInWindow: REFRESHES,
      rotations: ROTATIONS,
      flaps: FLAPS,
      concurrency: CONCURRENCY,
      esoClientQps: ESO_QPS,
      esoBinary: esoBinary(),
      rounds: ROUNDS,
      startTimeoutMs: START_TIMEOUT_MS,
      peers: PEERS,
    },
    workload: {
      resources: RES.length,
      namespaces: NAMESPACE_COUNT,
      params: PARAMS.length,
      secrets: SECRET_IDS.length,
      keysPerResource: 3,
      keyPairs: KEY_PAIRS,
      lowerBound: LOWER_BOUND,
    },
    peers: results,
  };
  // BENCH_SCALE_APPEND=bench/results/scale.json: this run's peers become further rounds of an
  // earlier run (each run starts its own environment; interleaving peers across runs)
  const appendTo = process.env.BENCH_SCALE_APPEND;
  if (appendTo) {
    const prev = JSON.parse(readFileSync(appendTo, 'utf8')) as ScaleResults;
    const next = Math.max(...prev.peers.map((p) => p.round)) + 1;
    for (const p of results) prev.peers.push({ ...p, round: next + p.round });
    prev.config.rounds = Math.max(...prev.peers.map((p) => p.round)) + 1;
    prev.config.appended = [
      ...((prev.config.appended as string[] | undefined) ?? []),
      `${out.measuredAt} (${out.commit}, ${PEERS.join(',')}, fresh environment)`,
    ];
    prev.shared.loadavgEnd = out.shared.loadavgEnd;
    prev.wallMs += out.wallMs;
    Object.assign(out, prev);
  }
  const json = `${JSON.stringify(out, null, 2)}\n`;
  process.stdout.write(json);
  if (process.env.BENCH_NO_WRITE !== '1') {
    mkdirSync(join(HERE, 'results'), { recursive: true });
    writeFileSync(join(HERE, 'results', 'scale.json'), json);
    renderScale(ROOT, out);
    log('wrote bench/results/scale.json, bench/RESULTS.md and packages/operator/README.md (Scale)');
  }
}

main().catch((err) => {
  log(`failed: ${(err as Error).stack ?? String(err)}`);
  process.exitCode = 1;
});
