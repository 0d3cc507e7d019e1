/**
 * Issue 10's scaling benchmark: pure logic at 10k, 50k and 100k keys, no network.
 *
 * 1. A local tree (YAML file) loaded as a two-level hierarchy: `new Resolver({ local })` +
 *    `loadHierarchy`. Peer in the same run: `JSON.parse` of the same data (a floor: no YAML, no
 *    rules); and the parser call Strata used before (`yaml.parse` with its default options, whose
 *    unique-key check is quadratic) at the sizes where it finishes in reasonable time.
 * 2. `mergeLevels` with every key at two levels (each one an override). Peer: a plain Map overlay
 *    (the floor: no leak rule, no conflict checks, no origins); and the straightforward
 *    all-pairs merge Strata had, at 10k only.
 *
 * Writes `results/local.json`; `lib/tables/local.ts` renders it into RESULTS.md. No timing
 * assertions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { buildLevels, type Level, type ParameterRecord, Resolver } from '@strata/core';
import { parse as parseYaml } from 'yaml';
import { mergeLevels } from '../packages/core/src/hierarchy/merge.js';
import { median, ms } from './lib/report.js';
import { isMain, runScenario, type Scenario } from './lib/scenario.js';

const SIZES = (process.env.BENCH_SIZES ?? '10000,20000,50000,100000').split(',').map(Number);
const REPS = Number(process.env.BENCH_REPS ?? '3');
/** The old parser call (quadratic) and merge are measured up to this many keys. */
const OLD_PARSE_MAX = Number(process.env.BENCH_OLD_MAX ?? '20000');

function time<T>(fn: () => T): [number, T] {
  const t0 = performance.now();
  const out = fn();
  return [performance.now() - t0, out];
}

async function timeAsync<T>(fn: () => Promise<T>): Promise<[number, T]> {
  const t0 = performance.now();
  const out = await fn();
  return [performance.now() - t0, out];
}

/** n keys: half at /big/app (shared), half at /big/app/dev, a quarter of them overriding. */
function treeOf(n: number): Record<string, string> {
  const params: Record<string, string> = {};
  for (let i = 0; i < n / 2; i++) params[`/big/app/k${i}`] = `shared-value-${i}`;
  for (let i = 0; i < n / 2; i++) params[`/big/app/dev/k${i + n / 4}`] = `dev-value-${i}`;
  return params;
}

function yamlOf(params: Record<string, string>): string {
  return `parameters:\n${Object.entries(params)
    .map(([k, v]) => `  ${k}: ${v}`)
    .join('\n')}\n`;
}

/** The all-pairs merge Strata had before issue 10 (layering only): the "before" peer. */
function allPairsMerge(levels: Level[], recordsByLevel: ParameterRecord[][]): number {
  const related = (a: string, b: string) => a === b || a.startsWith(`${b}.`) || b.startsWith(`${a}.`);
  const placed = new Map<string, { level: number; name: string }>();
  for (const level of levels) {
    const cands = (recordsByLevel[level.index] ?? []).map((r) => ({
      key: r.name.slice(level.path.length + 1).replaceAll('/', '.'),
      name: r.name,
    }));
    const hidden = new Map(cands.map((c) => [c.key, [...placed.keys()].filter((k) => related(k, c.key))]));
    for (const c of cands) {
      for (const k of hidden.get(c.key)!) placed.delete(k);
      placed.set(c.key, { level: level.index, name: c.name });
    }
  }
  return placed.size;
}

export interface LoadRow {
  keys: number;
  fileBytes: number;
  mergedKeys: number;
  loadMs: number[];
  floorMs: number[];
  /** The old `yaml.parse` call alone; null where it was not run (quadratic). */
  oldParseMs: number | null;
}

export interface MergeRow {
  keys: number;
  mergeMs: number[];
  overlayMs: number[];
  /** The all-pairs merge; null where it was not run (quadratic). */
  allPairsMs: number | null;
}

export interface LocalData {
  reps: number;
  oldMax: number;
  load: LoadRow[];
  merge: MergeRow[];
}

async function measureAll(log: (msg: string) => void): Promise<LocalData> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-local-'));
  const loadRows: LoadRow[] = [];
  const mergeRows: MergeRow[] = [];
  try {
    for (const n of SIZES) {
      const params = treeOf(n);
      const file = join(dir, `tree-${n}.yaml`);
      const yaml = yamlOf(params);
      writeFileSync(file, yaml);
      const json = JSON.stringify({ parameters: params });
      const load: number[] = [];
      const floor: number[] = [];
      let keys = 0;
      for (let r = 0; r < REPS; r++) {
        const [t, h] = await timeAsync(() =>
          new Resolver({ local: file }).loadHierarchy({ levels: ['/big/app', '/big/app/dev'] }),
        );
        load.push(t);
        keys = h.entries.size;
        floor.push(time(() => JSON.parse(json))[0]);
      }
      const old = n <= OLD_PARSE_MAX ? time(() => parseYaml(yaml))[0] : null;
      log(`${n} keys: load ${ms(median(load))}`);
      loadRows.push({
        keys: n,
        fileBytes: Buffer.byteLength(yaml),
        mergedKeys: keys,
        loadMs: load,
        floorMs: floor,
        oldParseMs: old,
      });

      const levels = buildLevels({ levels: ['/m/app', '/m/app/dev'] });
      const rec = (name: string, version: number): ParameterRecord => ({
        name,
        value: 'v',
        type: 'String',
        version,
      });
      const l0 = Array.from({ length: n }, (_, i) => rec(`/m/app/k${i}`, 1));
      const l1 = Array.from({ length: n }, (_, i) => rec(`/m/app/dev/k${i}`, 2));
      const merge: number[] = [];
      const overlay: number[] = [];
      for (let r = 0; r < REPS; r++) {
        merge.push(time(() => mergeLevels(levels, [l0, l1]))[0]);
        overlay.push(
          time(() => {
            const m = new Map<string, ParameterRecord>();
            for (const x of l0) m.set(x.name.slice(7), x);
            for (const x of l1) m.set(x.name.slice(11), x);
            return m.size;
          })[0],
        );
      }
      const before = n <= OLD_PARSE_MAX ? time(() => allPairsMerge(levels, [l0, l1]))[0] : null;
      mergeRows.push({ keys: n, mergeMs: merge, overlayMs: overlay, allPairsMs: before });
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return { reps: REPS, oldMax: OLD_PARSE_MAX, load: loadRows, merge: mergeRows };
}

export const local: Scenario<LocalData> = {
  name: 'local',
  params: { sizes: SIZES, reps: REPS, oldMax: OLD_PARSE_MAX },
  run: measureAll,
};

if (isMain(import.meta.url)) await runScenario(local);
