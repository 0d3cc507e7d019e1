/**
 * Renders bench/results/scale.json (written by bench/scale.ts) into tables: the generated part of
 * the `## Scale (issue 12)` section of bench/RESULTS.md and of the `## Scale` section of
 * packages/operator/README.md, each between marker comments. Text outside the markers is
 * hand-written and kept.
 *
 *   npx tsx bench/scale/render.ts        (re-render from the JSON without running anything)
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface KubeCounts {
  byResource: Record<string, number>;
  byVerb: Record<string, number>;
  total: number;
}

export interface PeerResult {
  peer: 'strata' | 'eso';
  round: number;
  launcher: string;
  description: string;
  loadavg?: number[];
  start: {
    allCorrectMs: number;
    correct: number;
    missing: number;
    p50Ms: number;
    at: Record<string, number>;
    settleMs: number;
    reconciles: number;
    awsCalls: Record<string, number>;
    awsCallsMetric: Record<string, number>;
    kube: KubeCounts;
  };
  steady: {
    windowMs: number;
    refreshes: number;
    refreshesHow: string;
    reconciles: number;
    awsCalls: Record<string, number>;
    awsCallsMetric: Record<string, number>;
    perRefresh: number;
    perRefreshMetric: number;
    sqs: Record<string, number>;
    kube: KubeCounts;
    secretWrites: Record<string, number>;
  };
  rotations: Array<{
    secret: string;
    dependents: number;
    updated: number;
    p50Ms: number;
    p99Ms: number;
    maxMs: number;
    awsCalls: Record<string, number>;
    reconciles: number;
    kube: KubeCounts;
  }>;
  flap: {
    flips: number;
    windowMs: number;
    objects: number;
    reachedFinal: number;
    eventWrites: Record<string, number>;
    eventsPerObjectMax: number;
    eventsPerObjectMedian: number;
    eventsTotal: number;
    kube: KubeCounts;
  };
  memory: {
    peakBytes: number;
    afterStartBytes: number;
    endBytes: number;
    limitBytes: number | null;
    samples: number;
    how: string;
  };
}

export interface ScaleResults {
  measuredAt: string;
  wallMs: number;
  commit: string;
  machine: Record<string, unknown>;
  shared: { loadavgStart: number[]; loadavgEnd: number[]; processes: number; note: string };
  config: Record<string, unknown>;
  workload: {
    resources: number;
    namespaces: number;
    params: number;
    secrets: number;
    keysPerResource: number;
    keyPairs: number;
    lowerBound: { GetParameters: number; BatchGetSecretValue: number; total: number };
  };
  peers: PeerResult[];
}

const n0 = (x: number) => (Number.isFinite(x) ? Math.round(x).toLocaleString('en-US') : '–');
const n1 = (x: number) =>
  Number.isFinite(x) ? x.toLocaleString('en-US', { maximumFractionDigits: 1 }) : '–';
const sec = (ms: number) => (Number.isFinite(ms) ? `${(ms / 1000).toFixed(1)} s` : '–');
const msf = (ms: number) => (Number.isFinite(ms) ? `${Math.round(ms).toLocaleString('en-US')} ms` : '–');
const mib = (b: number | null | undefined) =>
  b && Number.isFinite(b) ? `${Math.round(b / 2 ** 20)} MiB` : '–';
const sum = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);
const ops = (o: Record<string, number>, div = 1) =>
  Object.entries(o)
    .sort((a, b) => b[1] - a[1])
    .map(([k, v]) => `${k.replace(/^[a-z]+:/, '')} ${n1(v / div)}`)
    .join(', ') || '–';
const table = (header: string[], rows: Array<Array<string | number>>) =>
  [header, header.map(() => '---'), ...rows].map((c) => `| ${c.map(String).join(' | ')} |`).join('\n');
const NAME = { strata: 'Strata', eso: 'ESO v0.16.2' } as const;

/** "round 1" / "rounds 1, 3": the rounds that ran the same peer build as `p`. */
function roundsOf(peers: PeerResult[], p: PeerResult): string {
  const r = peers.filter((q) => q.peer === p.peer && q.description === p.description).map((q) => q.round + 1);
  return `${r.length > 1 ? 'rounds' : 'round'} ${r.join(', ')}`;
}

/** Writes of the no-change refresh that touch what the peer manages (leases = leader election, listed apart). */
/** Background writes that are not the peer's sync work: its leader-election Lease, the API server's own endpoints reconciler. */
const isBackground = (key: string) => key.includes('leases') || key.includes(' endpoints');

function writes(k: KubeCounts, div = 1): string {
  const w = Object.entries(k.byResource).filter(([key]) => !/^(GET|LIST) /.test(key));
  const objects = w.filter(([key]) => !isBackground(key));
  const bg = w.filter(([key]) => isBackground(key));
  const obj = objects.length === 0 ? '**0**' : objects.map(([key, v]) => `${key} ${n1(v / div)}`).join(', ');
  return bg.length === 0
    ? obj
    : `${obj} (apart: ${bg.map(([key, v]) => `${key} ${n1(v / div)}`).join(', ')})`;
}

function verbs(k: KubeCounts, div = 1): string {
  return (
    Object.entries(k.byVerb)
      .sort((a, b) => b[1] - a[1])
      .map(([v, c]) => `${v} ${n1(c / div)}`)
      .join(', ') || '–'
  );
}

function topResources(k: KubeCounts, div = 1, top = 8): string {
  return (
    Object.entries(k.byResource)
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([r, c]) => `${r} ${n1(c / div)}`)
      .join(', ') || '–'
  );
}

function met(ok: boolean | undefined): string {
  return ok === undefined ? '' : ok ? 'met' : '**missed**';
}

function scaleTables(r: ScaleResults): string {
  const w = r.workload;
  const peers = r.peers;
  const col = (f: (p: PeerResult) => string) => peers.map(f);
  const head = [
    '',
    ...peers.map(
      (p) =>
        `${NAME[p.peer]}${r.config.rounds && Number(r.config.rounds) > 1 ? ` (round ${p.round + 1})` : ''}`,
    ),
  ];
  const strata = peers.filter((p) => p.peer === 'strata');
  const lb = w.lowerBound.total;
  const out: string[] = [];
  const m = r.machine as {
    nproc: number;
    cpu: string;
    memGiB: number;
    node: string;
    k8s: string;
    moto: string;
    eso: string;
  };
  out.push(
    `Measured ${r.measuredAt.slice(0, 16).replace('T', ' ')} UTC at commit ${r.commit} on ${m.nproc} CPUs (${m.cpu}), ${m.memGiB} GiB, Node ${m.node}, kube-apiserver + etcd + kube-controller-manager v${m.k8s} (no kubelet), moto ${m.moto} (one process). ` +
      `**The machine was shared** (${r.shared.note}): 1/5/15-min load average ${r.shared.loadavgStart.map((x) => x.toFixed(2)).join(' / ')} at the start and ${r.shared.loadavgEnd.map((x) => x.toFixed(2)).join(' / ')} at the end (${r.shared.processes} processes). ` +
      `Whole run ${sec(r.wallMs)}; the peers ran one after the other on the same servers (${peers.map((p) => NAME[p.peer]).join(' → ')}), never at the same time` +
      (r.config.appended
        ? ` (later rounds: ${(r.config.appended as string[]).join('; ')}; each in a fresh environment set up the same way)`
        : '') +
      '. Produced by `bench/scale.ts` → `bench/results/scale.json`.',
  );
  out.push('');
  out.push(
    `Workload: ${n0(w.resources)} objects in ${w.namespaces} namespaces (each peer its own), ${n0(w.params)} SSM parameters (10% SecureString), ${w.secrets} Secrets Manager secrets; ${w.keysPerResource} keys per object (2 parameters, 1 secret JSON key): every parameter has 20 dependents, every secret 100. ` +
      `Refresh interval ${r.config.refreshInterval} on every object (jitter: Strata's default 10%). Lower bound for one full refresh of the distinct sources: ${w.lowerBound.GetParameters} GetParameters (10 names each) + ${w.lowerBound.BatchGetSecretValue} BatchGetSecretValue (20 ids each) = **${lb}** calls; reading one key per call costs ${n0(w.keyPairs)}.`,
  );
  out.push('');
  out.push(
    `How each peer ran: ${peers
      .filter((p, i, a) => a.findIndex((q) => q.peer === p.peer && q.description === p.description) === i)
      .map((p) => `${NAME[p.peer]} (${roundsOf(peers, p)}): \`${p.description}\``)
      .join(
        '; ',
      )}. Strata's launcher: **${r.config.launcher}** (\`BENCH_SCALE_LAUNCHER\`), with the environment of the chart's container from \`helm template\` and the chart's ServiceAccount token; ESO with the admin kubeconfig. Work-queue concurrency ${r.config.concurrency} for both (Strata's default; ESO \`--concurrent=${r.config.concurrency}\`, client QPS ${r.config.esoClientQps}).`,
  );
  out.push('');
  const rows: Array<Array<string | number>> = [];
  rows.push([
    'start → all Secrets correct',
    ...col((p) =>
      p.start.missing === 0
        ? `**${sec(p.start.allCorrectMs)}**`
        : `not all: ${n0(p.start.correct)}/${n0(w.resources)} by the timeout`,
    ),
    '≤ 60 s (Strata)',
  ]);
  rows.push([
    'Secrets correct after 30 s / 60 s / 120 s',
    ...col(
      (p) =>
        `${n0(p.start.at['30s'] ?? NaN)} / ${n0(p.start.at['60s'] ?? NaN)} / ${n0(p.start.at['120s'] ?? NaN)}`,
    ),
    '',
  ]);
  rows.push([
    'AWS calls per full refresh (counted by the proxy)',
    ...col((p) => `**${n1(p.steady.perRefresh)}** (${ops(p.steady.awsCalls, p.steady.refreshes)})`),
    `≤ ${n1(lb * 1.2)} (1.2 × ${lb})`,
  ]);
  rows.push(['… over the lower bound', ...col((p) => `${(p.steady.perRefresh / lb).toFixed(2)}×`), '≤ 1.2×']);
  rows.push([
    "… from the peer's own /metrics",
    ...col(
      (p) =>
        `${n1(p.steady.perRefreshMetric)} (${p.peer === 'strata' ? 'strata_aws_calls_total' : 'externalsecret_provider_api_calls_count'})`,
    ),
    '',
  ]);
  rows.push([
    'full refreshes in the window',
    ...col((p) => `${n1(p.steady.refreshes)} in ${sec(p.steady.windowMs)} (${p.steady.refreshesHow})`),
    '',
  ]);
  rows.push([
    'Kubernetes writes per no-change refresh',
    ...col((p) => writes(p.steady.kube, p.steady.refreshes)),
    '0',
  ]);
  rows.push([
    'Kubernetes requests per no-change refresh, by verb',
    ...col((p) => verbs(p.steady.kube, p.steady.refreshes)),
    '',
  ]);
  rows.push([
    'rotation of one secret → its 100 Secrets, p50 / p99 / max',
    ...col(
      (p) =>
        p.rotations
          .map(
            (x) => `${msf(x.p50Ms)} / **${msf(x.p99Ms)}** / ${msf(x.maxMs)} (${x.updated}/${x.dependents})`,
          )
          .join('; ') || '–',
    ),
    'p99 ≤ 2 s (Strata)',
  ]);
  rows.push([
    `Events about one object while its source flapped ${peers[0]?.flap.flips ?? ''}× in ${peers[0] ? sec(peers[0].flap.windowMs) : ''}: max / median per object (total)`,
    ...col(
      (p) =>
        `${n0(p.flap.eventsPerObjectMax)} / ${n0(p.flap.eventsPerObjectMedian)} (${n0(p.flap.eventsTotal)} for ${p.flap.objects} objects)`,
    ),
    'bounded',
  ]);
  rows.push([
    'memory: peak / after start / end',
    ...col(
      (p) =>
        `${mib(p.memory.peakBytes)} / ${mib(p.memory.afterStartBytes)} / ${mib(p.memory.endBytes)}${p.memory.limitBytes ? ` (chart limit ${mib(p.memory.limitBytes)})` : ''}`,
    ),
    'within the chart limit',
  ]);
  out.push(table([...head, 'target'], rows));
  out.push('');
  // targets
  // the targets are judged on the Strata rounds of the newest build measured (the last Strata
  // round's image or process); earlier builds stay in the tables above as history
  const newest = strata.at(-1)?.description;
  const judged = strata.filter((p) => p.description === newest);
  if (judged.length < strata.length)
    out.push(
      `The targets below are judged on the Strata rounds of the newest build measured (${roundsOf(peers, judged[0]!)}); the earlier Strata rounds ran an older build (see "How each peer ran") and stay in the tables above as history.`,
      '',
    );
  if (judged.length > 0) {
    const strata = judged;
    // every judged Strata round: a target is met only when every round meets it
    const all = (f: (p: PeerResult) => string) => strata.map(f).join(' / ');
    const every = (f: (p: PeerResult) => boolean) => strata.every(f);
    const rotAll = strata.flatMap((p) => p.rotations);
    const rotP99 = Math.max(...rotAll.map((x) => x.p99Ms));
    const noWrites = (p: PeerResult) =>
      Object.keys(p.steady.kube.byResource).filter((k) => !/^(GET|LIST) /.test(k) && !isBackground(k))
        .length === 0;
    out.push(
      table(
        [
          `Strata target (${strata.length > 1 ? `rounds ${strata.map((p) => p.round + 1).join(', ')}` : 'one round'})`,
          'measured',
          '',
        ],
        [
          [
            'start → all 10,000 Secrets correct ≤ 60 s',
            all((p) =>
              p.start.missing === 0 ? sec(p.start.allCorrectMs) : `${n0(p.start.correct)} by the timeout`,
            ),
            met(every((p) => p.start.missing === 0 && p.start.allCorrectMs <= 60_000)),
          ],
          [
            `AWS calls per full refresh ≤ 1.2 × ${lb}`,
            `${all((p) => n1(p.steady.perRefreshMetric))} from /metrics, ${all((p) => n1(p.steady.perRefresh))} at the proxy`,
            met(every((p) => p.steady.perRefreshMetric > 0 && p.steady.perRefreshMetric <= lb * 1.2)),
          ],
          [
            'no-change refresh writes nothing to the API server',
            all((p) => writes(p.steady.kube, p.steady.refreshes)),
            met(every(noWrites)),
          ],
          [
            'rotation → all 100 updated, p99 ≤ 2 s',
            `${msf(rotP99)} (worst of ${rotAll.length})`,
            met(rotAll.every((x) => x.updated === x.dependents) && rotP99 <= 2000),
          ],
          [
            'memory within the chart limit',
            `${all((p) => mib(p.memory.peakBytes))} of ${mib(strata[0]!.memory.limitBytes)}`,
            met(every((p) => (p.memory.limitBytes ? p.memory.peakBytes <= p.memory.limitBytes : false))),
          ],
          [
            'Events bounded per object and window',
            all(
              (p) =>
                `max ${p.flap.eventsPerObjectMax} per object for ${p.flap.flips} changes in ${sec(p.flap.windowMs)}`,
            ),
            every((p) => p.flap.eventsPerObjectMax < p.flap.flips)
              ? 'bounded'
              : '**not bounded**: one Event per change',
          ],
        ],
      ),
    );
    out.push('');
  }
  out.push(
    "Kubernetes requests (from `apiserver_request_total`, WATCH left out; they include kube-controller-manager's, whose garbage collector reads the owners of new Secrets):",
  );
  out.push('');
  out.push(
    table(
      ['peer', 'phase', 'requests', 'by verb', 'per reconcile', 'top requests'],
      peers.flatMap((p) => [
        [
          `${NAME[p.peer]}${Number(r.config.rounds) > 1 ? ` (round ${p.round + 1})` : ''}`,
          `start (${n0(p.start.reconciles)} reconciles)`,
          n0(p.start.kube.total),
          verbs(p.start.kube),
          n1(p.start.kube.total / p.start.reconciles),
          topResources(p.start.kube),
        ],
        [
          `${NAME[p.peer]}${Number(r.config.rounds) > 1 ? ` (round ${p.round + 1})` : ''}`,
          `per no-change refresh (${n0(p.steady.reconciles / p.steady.refreshes)} reconciles)`,
          n1(p.steady.kube.total / p.steady.refreshes),
          verbs(p.steady.kube, p.steady.refreshes),
          n1(p.steady.kube.total / Math.max(1, p.steady.reconciles)),
          topResources(p.steady.kube, p.steady.refreshes),
        ],
        ...p.rotations.map((x) => [
          `${NAME[p.peer]}${Number(r.config.rounds) > 1 ? ` (round ${p.round + 1})` : ''}`,
          `rotation ${x.secret} (${x.reconciles} reconciles)`,
          n0(x.kube.total),
          verbs(x.kube),
          n1(x.kube.total / Math.max(1, x.reconciles)),
          topResources(x.kube),
        ]),
        [
          `${NAME[p.peer]}${Number(r.config.rounds) > 1 ? ` (round ${p.round + 1})` : ''}`,
          `flapping (${p.flap.flips} changes)`,
          n0(p.flap.kube.total),
          verbs(p.flap.kube),
          '',
          topResources(p.flap.kube),
        ],
      ]),
    ),
  );
  out.push('');
  out.push('AWS calls by phase (proxy counts; SQS long polls apart):');
  out.push('');
  out.push(
    table(
      ['peer', 'start', 'per full refresh', 'per rotation'],
      peers.map((p) => [
        `${NAME[p.peer]}${Number(r.config.rounds) > 1 ? ` (round ${p.round + 1})` : ''}`,
        `${n0(sum(p.start.awsCalls))} (${ops(p.start.awsCalls)})`,
        `${n1(p.steady.perRefresh)} (${ops(p.steady.awsCalls, p.steady.refreshes)})`,
        p.rotations.map((x) => `${n0(sum(x.awsCalls))} (${ops(x.awsCalls)})`).join('; ') || '–',
      ]),
    ),
  );
  return out.join('\n');
}

/** The short table for packages/operator/README.md. */
function readmeTable(r: ScaleResults): string {
  const lb = r.workload.lowerBound.total;
  const rows = r.peers.map((p) => [
    (p.peer === 'strata'
      ? p.launcher === 'container'
        ? 'Strata (its container)'
        : 'Strata (host process)'
      : NAME[p.peer]) + (Number(r.config.rounds) > 1 ? `, round ${p.round + 1}` : ''),
    p.start.missing === 0
      ? sec(p.start.allCorrectMs)
      : `${n0(p.start.correct)}/${n0(r.workload.resources)} by ${sec(Number(r.config.startTimeoutMs ?? NaN))}`,
    `${n1(p.steady.perRefresh)} (${(p.steady.perRefresh / lb).toFixed(2)}×)`,
    writes(p.steady.kube, p.steady.refreshes),
    p.rotations.length ? msf(Math.max(...p.rotations.map((x) => x.p99Ms))) : '–',
    `${n0(p.flap.eventsPerObjectMax)}`,
    `${mib(p.memory.peakBytes)}${p.memory.limitBytes ? ` / ${mib(p.memory.limitBytes)}` : ''}`,
  ]);
  return [
    `${n0(r.workload.resources)} objects in ${r.workload.namespaces} namespaces over ${n0(r.workload.params)} SSM parameters and ${r.workload.secrets} secrets on moto, refresh interval ${r.config.refreshInterval}; lower bound ${lb} AWS calls per full refresh. Measured ${r.measuredAt.slice(0, 10)} on a 2-core machine **shared with other agents** (load average ${r.shared.loadavgStart[0]?.toFixed(1)} → ${r.shared.loadavgEnd[0]?.toFixed(1)}); details and method in [bench/RESULTS.md](../../bench/RESULTS.md#scale-issue-12).`,
    '',
    table(
      [
        'peer',
        'start → all Secrets correct',
        'AWS calls per full refresh (× bound)',
        'API writes per no-change refresh',
        'rotation → 100 Secrets, p99',
        `Events per object, source flapping ${r.peers[0]?.flap.flips ?? ''}×`,
        'memory peak / limit',
      ],
      rows,
    ),
  ].join('\n');
}

const BEGIN =
  '<!-- scale:begin (generated by bench/scale.ts from bench/results/scale.json; edit outside the markers) -->';
const END = '<!-- scale:end -->';

function replaceBetween(text: string, body: string): string | undefined {
  const a = text.indexOf('<!-- scale:begin');
  const b = text.indexOf(END);
  if (a < 0 || b < 0 || b < a) return undefined;
  return `${text.slice(0, a)}${BEGIN}\n${body.trim()}\n${text.slice(b)}`;
}

/** Writes the generated tables into bench/RESULTS.md and packages/operator/README.md. */
export function renderScale(root: string, r: ScaleResults): void {
  const results = join(root, 'bench', 'RESULTS.md');
  let text = readFileSync(results, 'utf8');
  const next = replaceBetween(text, scaleTables(r));
  if (next) text = next;
  else
    text = `${text.trimEnd()}\n\n## Scale (issue 12)\n\n${BEGIN}\n${scaleTables(r)}\n${END}\n\n### Interpretation\n\n(hand-written)\n`;
  writeFileSync(results, text);

  const readme = join(root, 'packages', 'operator', 'README.md');
  if (existsSync(readme)) {
    let t = readFileSync(readme, 'utf8');
    const n = replaceBetween(t, readmeTable(r));
    if (n) t = n;
    else t = `${t.trimEnd()}\n\n## Scale\n\n${BEGIN}\n${readmeTable(r)}\n${END}\n`;
    writeFileSync(readme, t);
  }
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
  renderScale(
    root,
    JSON.parse(readFileSync(join(root, 'bench', 'results', 'scale.json'), 'utf8')) as ScaleResults,
  );
}
