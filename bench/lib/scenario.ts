/**
 * The scenario contract. A scenario measures and returns plain data; `runScenario` wraps it with
 * the run's metadata, writes `bench/results/<name>.json`, and has `lib/render.ts` turn that file
 * into the tables between the scenario's marker comments in RESULTS.md.
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { machine } from './report.js';

export const BENCH_DIR = join(dirname(fileURLToPath(import.meta.url)), '..');
export const RESULTS_DIR = join(BENCH_DIR, 'results');

export interface Scenario<T> {
  /** File name of the results (`results/<name>.json`) and the renderer's key. */
  name: string;
  /** The knobs this run used (repetitions, sizes, latencies …), recorded in the metadata. */
  params: Record<string, unknown>;
  /** Python of the moto venv, when the scenario runs moto (its version goes into the metadata). */
  motoPython?: string;
  motoPinned?: string;
  run(log: (msg: string) => void): Promise<T>;
}

export interface RunMeta {
  scenario: string;
  startedAt: string;
  wallMs: number;
  node: string;
  machine: { cpus: number; cpu: string; memGiB: number; platform: string };
  moto?: string;
  /** Whether other work shared the machine: `BENCH_SHARED=1|0`, or inferred from the load average. */
  shared: boolean;
  sharedHow: 'declared' | 'inferred from the load average';
  sharedNote?: string;
  loadAvg: { start: number; end: number };
  commit: string;
  params: Record<string, unknown>;
}

export interface ResultFile<T = unknown> {
  meta: RunMeta;
  data: T;
}

/** The commit measured, and whether packages/ had uncommitted changes. */
function revision(): string {
  try {
    const git = (args: string[]) =>
      execFileSync('git', args, {
        cwd: BENCH_DIR,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'ignore'],
      }).trim();
    const sha = git(['rev-parse', '--short', 'HEAD']);
    const dirty = git(['status', '--porcelain', '--', '../packages']) !== '';
    return `${sha}${dirty ? ' (uncommitted changes in packages/)' : ''}`;
  } catch {
    return 'unknown';
  }
}

export function resultPath(name: string): string {
  return join(RESULTS_DIR, `${name}.json`);
}

/** Runs one scenario, writes its results JSON and renders its tables (unless BENCH_NO_WRITE=1). */
export async function runScenario<T>(s: Scenario<T>): Promise<ResultFile<T>> {
  const log = (msg: string) => process.stderr.write(`[bench:${s.name}] ${msg}\n`);
  const startedAt = new Date().toISOString();
  const commit = revision(); // the code measured is the code at the start
  const loadStart = loadavg()[0]!;
  const t0 = performance.now();
  const data = await s.run(log);
  const wallMs = performance.now() - t0;
  const m = machine(s.motoPython, s.motoPinned);
  const loadEnd = loadavg()[0]!;
  const declared = process.env.BENCH_SHARED;
  const meta: RunMeta = {
    scenario: s.name,
    startedAt,
    wallMs: Math.round(wallMs),
    node: m.node,
    machine: { cpus: m.nproc, cpu: m.cpu, memGiB: m.memGiB, platform: platform() },
    ...(s.motoPython ? { moto: m.moto } : {}),
    shared: declared ? declared === '1' : Math.max(loadStart, loadEnd) > m.nproc,
    sharedHow: declared ? 'declared' : 'inferred from the load average',
    ...(process.env.BENCH_SHARED_NOTE ? { sharedNote: process.env.BENCH_SHARED_NOTE } : {}),
    loadAvg: { start: round1(loadStart), end: round1(loadEnd) },
    commit,
    params: s.params,
  };
  const out: ResultFile<T> = { meta, data };
  if (process.env.BENCH_NO_WRITE === '1') {
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return out;
  }
  mkdirSync(RESULTS_DIR, { recursive: true });
  writeFileSync(resultPath(s.name), `${JSON.stringify(out, null, 2)}\n`);
  log(`wrote ${resultPath(s.name)}`);
  const { renderResults } = await import('./render.js');
  log(`rendered ${renderResults([s.name]).join(', ')}`);
  return out;
}

const round1 = (x: number) => Math.round(x * 10) / 10;

/** True when `moduleUrl` is the script Node was started with (a scenario run directly, or by run.ts). */
export function isMain(moduleUrl: string): boolean {
  const entry = process.argv[1];
  return entry !== undefined && moduleUrl === pathToFileURL(entry).href;
}

/** Error text for a table cell: code and the first 160 characters of the message. */
export function errorText(err: unknown): string {
  const e = err as { code?: string; name?: string; message?: string };
  return `${e.code ?? e.name ?? 'Error'}: ${String(e.message ?? err).slice(0, 160)}`;
}

export const now = () => performance.now();
