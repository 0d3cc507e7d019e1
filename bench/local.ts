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
 * Writes the `## Scaling of pure logic (issue 10)` section of RESULTS.md. No timing assertions.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { buildLevels, type Level, type ParameterRecord, Resolver } from '@strata/core';
import { parse as parseYaml } from 'yaml';
// an internal measured by the bench, not part of @strata/core's API
import { mergeLevels } from '../packages/core/src/hierarchy/merge.js';
import { machine, median, ms, ratio, table, writeSection } from './lib/report.js';

const here = dirname(fileURLToPath(import.meta.url));
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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'strata-bench-local-'));
  const loadRows: Array<Array<string | number>> = [];
  const mergeRows: Array<Array<string | number>> = [];
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
      let old = '–';
      if (n <= OLD_PARSE_MAX) old = ms(time(() => parseYaml(yaml))[0]);
      else old = 'not run (quadratic)';
      process.stderr.write(`[bench:local] ${n} keys: load ${ms(median(load))}\n`);
      loadRows.push([
        n.toLocaleString('en-US'),
        `${(Buffer.byteLength(yaml) / 2 ** 20).toFixed(1)} MiB`,
        keys.toLocaleString('en-US'),
        ms(median(load)),
        `${((median(load) / n) * 1000).toFixed(1)} µs`,
        ms(median(floor)),
        ratio(median(load) / median(floor)),
        old,
      ]);

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
      const before =
        n <= OLD_PARSE_MAX ? ms(time(() => allPairsMerge(levels, [l0, l1]))[0]) : 'not run (quadratic)';
      mergeRows.push([
        `${n.toLocaleString('en-US')} × 2 levels`,
        ms(median(merge)),
        `${((median(merge) / n) * 1000).toFixed(1)} µs`,
        ms(median(overlay)),
        ratio(median(merge) / median(overlay)),
        before,
      ]);
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  const m = machine();
  const body = `Pure logic at scale (\`bench/local.ts\`, no network), median of ${REPS}; ${m.nproc} cores (${m.cpu}), Node ${m.node}, ${new Date().toISOString().slice(0, 10)}.

### A local tree loaded as a two-level hierarchy

\`new Resolver({ local: FILE }).loadHierarchy({ levels: ['/big/app', '/big/app/dev'] })\`: read,
parse, build the tree, list both levels, merge. Half the keys at each level, a quarter overriding.
Floor: \`JSON.parse\` of the same parameters (no YAML, no rules). Before: the parser call Strata used
until issue 10 (\`yaml.parse\` with its defaults, whose unique-key check is quadratic), alone.

${table(['keys', 'file', 'merged keys', 'Strata load', 'per key', 'JSON.parse (floor)', 'Strata / floor', 'before: yaml.parse alone'], loadRows)}

### \`mergeLevels\`: every key at two levels

Floor: a Map overlay (no leak rule, no conflict checks, no origins). Before: the all-pairs
layering Strata had until issue 10.

${table(['keys', 'mergeLevels', 'per key', 'Map overlay (floor)', 'Strata / floor', 'before: all-pairs merge'], mergeRows)}

Growth is linear when the per-key time stays flat from 10k to 100k. The YAML parse is most of the
load; a JSON tree (\`tree.json\`) goes through the same parser (Strata checks duplicate keys in both).
`;
  const file = process.env.BENCH_NO_WRITE
    ? undefined
    : writeSection(here, 'Scaling of pure logic (issue 10)', body);
  process.stdout.write(body);
  if (file) process.stderr.write(`[bench:local] wrote ${file}\n`);
}

await main();
