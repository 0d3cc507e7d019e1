/**
 * Observation helpers for the operator benchmark: a watch on the managed Secrets (one stream for
 * the whole cluster, timestamps on arrival), CPU time of the environment's processes, the API
 * server's own request counters, and percentiles.
 */
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';
import * as k8s from '@kubernetes/client-node';

export const now = () => performance.now();
export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export function percentile(xs: number[], p: number): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

type Data = Record<string, string>;

interface Waiter {
  pending: Set<string>;
  pred: (key: string, data: Data) => boolean;
  times: Map<string, number>;
  done: () => void;
}

/**
 * Keeps the decoded data of every Secret carrying `labelSelector`, keyed `namespace/name`, from
 * one cluster-wide watch (after an initial list). Waiters get the arrival time of the first
 * event that satisfies their predicate, per Secret.
 */
export class SecretTracker {
  readonly data = new Map<string, Data>();
  private waiters = new Set<Waiter>();
  private abort: AbortController | undefined;
  private rv = '';
  private stopped = false;
  events = 0;
  restarts = 0;

  constructor(
    private readonly kc: k8s.KubeConfig,
    private readonly labelSelector: string,
  ) {}

  async start(): Promise<void> {
    const core = this.kc.makeApiClient(k8s.CoreV1Api);
    const list = await core.listSecretForAllNamespaces({ labelSelector: this.labelSelector });
    const t = now();
    this.data.clear();
    for (const s of list.items) this.apply('ADDED', s, t);
    this.rv = list.metadata?.resourceVersion ?? '';
    await this.watch();
  }

  private async watch(): Promise<void> {
    const w = new k8s.Watch(this.kc);
    this.abort = await w.watch(
      '/api/v1/secrets',
      { labelSelector: this.labelSelector, resourceVersion: this.rv, allowWatchBookmarks: true },
      (phase, obj: k8s.V1Secret) => {
        const t = now();
        if (obj?.metadata?.resourceVersion) this.rv = obj.metadata.resourceVersion;
        if (phase === 'BOOKMARK') return;
        this.events++;
        this.apply(phase, obj, t);
      },
      (err) => {
        if (this.stopped) return;
        this.restarts++;
        const gone = String((err as Error | undefined)?.message ?? '').includes('410');
        setTimeout(() => void (gone ? this.start() : this.watch()).catch(() => this.retry()), 100);
      },
    );
  }

  private retry(): void {
    if (!this.stopped) setTimeout(() => void this.start().catch(() => this.retry()), 500);
  }

  private apply(phase: string, s: k8s.V1Secret, t: number): void {
    const key = `${s.metadata?.namespace}/${s.metadata?.name}`;
    if (phase === 'DELETED') {
      this.data.delete(key);
      return;
    }
    const d: Data = {};
    for (const [k, v] of Object.entries(s.data ?? {})) d[k] = Buffer.from(v, 'base64').toString('utf8');
    this.data.set(key, d);
    for (const w of this.waiters) {
      if (w.pending.has(key) && w.pred(key, d)) {
        w.pending.delete(key);
        w.times.set(key, t);
        if (w.pending.size === 0) w.done();
      }
    }
  }

  /**
   * Resolves with the first time (performance.now()) each key satisfied `pred`; keys already
   * satisfying it count from the call. Resolves with what it has after `timeoutMs`.
   */
  waitFor(keys: string[], pred: (key: string, data: Data) => boolean, timeoutMs: number) {
    const t = now();
    const w: Waiter = { pending: new Set(keys), pred, times: new Map(), done: () => {} };
    for (const k of keys) {
      const d = this.data.get(k);
      if (d && pred(k, d)) {
        w.pending.delete(k);
        w.times.set(k, t);
      }
    }
    return new Promise<{ times: Map<string, number>; missing: string[] }>((resolve) => {
      const finish = () => {
        clearTimeout(timer);
        this.waiters.delete(w);
        resolve({ times: w.times, missing: [...w.pending] });
      };
      const timer = setTimeout(finish, timeoutMs);
      w.done = finish;
      if (w.pending.size === 0) finish();
      else this.waiters.add(w);
    });
  }

  stop(): void {
    this.stopped = true;
    this.abort?.abort();
  }
}

/** CPU seconds (user + system) of a process, from /proc; undefined when it is gone. */
function cpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    // fields[11] = utime, fields[12] = stime (clock ticks; 100 per second on Linux)
    return (Number(fields[11]) + Number(fields[12])) / 100;
  } catch {
    return undefined;
  }
}

/** Busy and total CPU seconds of the whole machine, from /proc/stat. */
function machineCpu(): { busy: number; total: number } {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const n = line.trim().split(/\s+/).slice(1).map(Number);
  const idle = (n[3] ?? 0) + (n[4] ?? 0);
  const total = n.slice(0, 8).reduce((a, b) => a + b, 0);
  return { busy: (total - idle) / 100, total: total / 100 };
}

export interface CpuSnapshot {
  t: number;
  procs: Record<string, number>;
  self: number;
  machine: { busy: number; total: number };
}

export function cpuSnapshot(pids: Record<string, number>): CpuSnapshot {
  const procs: Record<string, number> = {};
  for (const [name, pid] of Object.entries(pids)) procs[name] = cpuSeconds(pid) ?? 0;
  const u = process.cpuUsage();
  return { t: now(), procs, self: (u.user + u.system) / 1e6, machine: machineCpu() };
}

/** CPU seconds spent between two snapshots: per process, this process, the rest of the machine. */
export function cpuDelta(a: CpuSnapshot, b: CpuSnapshot) {
  const procs: Record<string, number> = {};
  let ours = b.self - a.self;
  for (const k of Object.keys(b.procs)) {
    procs[k] = (b.procs[k] ?? 0) - (a.procs[k] ?? 0);
    ours += procs[k]!;
  }
  const busy = b.machine.busy - a.machine.busy;
  return {
    wallS: (b.t - a.t) / 1000,
    bench: b.self - a.self,
    procs,
    others: Math.max(0, busy - ours),
    machineBusy: busy,
  };
}

/** `apiserver_request_total` summed by `VERB resource[/subresource]`. */
export function parseApiserverRequests(metrics: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of metrics.split('\n')) {
    if (!line.startsWith('apiserver_request_total{')) continue;
    const close = line.lastIndexOf('}');
    const labels = Object.fromEntries(
      [...line.slice(line.indexOf('{') + 1, close).matchAll(/(\w+)="([^"]*)"/g)].map((m) => [m[1], m[2]]),
    );
    const value = Number(line.slice(close + 1).trim());
    const key = `${labels.verb} ${labels.resource}${labels.subresource ? `/${labels.subresource}` : ''}`;
    out.set(key, (out.get(key) ?? 0) + value);
  }
  return out;
}

export function diffCounts(a: Map<string, number>, b: Map<string, number>): Map<string, number> {
  const out = new Map<string, number>();
  for (const [k, v] of b) {
    const d = v - (a.get(k) ?? 0);
    if (d > 0) out.set(k, d);
  }
  return new Map([...out].sort((x, y) => y[1] - x[1]));
}
