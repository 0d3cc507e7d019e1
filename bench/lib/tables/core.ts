/** Tables of the core benchmark (results/core.json): scenario 1's rows and targets, 2, 3. */
import type { CoreData } from '../../core.js';
import type { FleetData } from '../core-fleet.js';
import type { QuotaData } from '../core-quota.js';
import type { TreeData, TreeRow } from '../core-tree.js';
import type { Blocks } from '../render.js';
import { median, ms, opsText, ratio, table, total } from '../report.js';
import type { ResultFile } from '../scenario.js';
import { metaBlock } from './meta.js';

/** The sample whose measure is closest to `target` (the median), to show its per-operation counts. */
function closestTo<T>(samples: T[], target: number, measure: (t: T) => number): T {
  return samples.reduce((best, x) =>
    Math.abs(measure(x) - target) < Math.abs(measure(best) - target) ? x : best,
  );
}

interface Summary {
  row: TreeRow;
  wall: number;
  min: number;
  max: number;
  calls: number;
  callsRange: string;
  ops: string;
}

function summarize(row: TreeRow): Summary {
  // failed or timed-out runs are reported in the errors column, not mixed into the times
  const ok = row.samples.filter((s) => !s.error);
  const walls = ok.length > 0 ? ok.map((s) => s.wall) : [Number.NaN];
  const totals = row.samples.map((s) => total(s.calls));
  const lo = Math.min(...totals);
  const hi = Math.max(...totals);
  return {
    row,
    wall: median(walls),
    min: Math.min(...walls),
    max: Math.max(...walls),
    calls: median(totals),
    callsRange: lo === hi ? String(lo) : `${median(totals)} (${lo}–${hi})`,
    ops: opsText(closestTo(row.samples, median(totals), (x) => total(x.calls)).calls),
  };
}

function treeTables(t: TreeData): Blocks {
  const sums = t.rows.map(summarize);
  const lowerBound = (withRefs: boolean) => t.lowerBound.tree + (withRefs ? t.lowerBound.refs : 0);
  const want = (withRefs: boolean) => (withRefs ? t.expected.withRefs : t.expected.tree);
  const get = (id: string, withRefs: boolean) =>
    sums.find((s) => s.row.id === id && s.row.withRefs === withRefs)!;
  const header = [
    'contender',
    'wall, median (min–max ms)',
    'AWS calls',
    'calls per operation',
    'calls / lower bound',
    'values returned',
    'correct',
    'leaked prod keys',
    'errors',
  ];
  const rows = (withRefs: boolean) =>
    sums
      .filter((s) => s.row.withRefs === withRefs)
      .map((s) => {
        const last = s.row.samples[s.row.samples.length - 1]!;
        const errors = s.row.samples.filter((x) => x.error);
        return [
          s.row.label,
          Number.isFinite(s.wall) ? `${ms(s.wall)} (${Math.round(s.min)}–${Math.round(s.max)})` : '–',
          s.callsRange,
          s.ops,
          ratio(s.calls / lowerBound(withRefs)),
          last.raw,
          `${last.correct}/${want(withRefs)}`,
          `${last.leaked}${s.row.strata ? ` (ignored ${last.ignored})` : ''}`,
          errors.length ? `${errors.length}/${s.row.samples.length}: ${errors[0]!.error}` : '0',
        ];
      });
  const verdict = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'met' : '**missed**');
  /** [ratio label, target, value, verdict] for one variant. */
  const ratios = (withRefs: boolean): Array<[string, string, string, string]> => {
    const g = (id: string) => get(id, withRefs);
    const lb = lowerBound(withRefs);
    const lbText = `${lowerBound(false)} / ${lowerBound(true)}`;
    const leaks = sums
      .filter((s) => s.row.strata && s.row.withRefs === withRefs)
      .reduce((n, s) => n + Math.max(...s.row.samples.map((x) => x.leaked)), 0);
    const wallRatio = (a: string, b: string) => g(a).wall / g(b).wall;
    const callRatio = (a: string) => g(a).calls / lb;
    const r = (
      label: string,
      value: number,
      target: string,
      ok?: boolean,
    ): [string, string, string, string] => [label, target, ratio(value), verdict(ok)];
    const le = (x: number, y: number) => x <= y;
    return [
      r(
        'Strata known keys (c) / floor (f), wall',
        wallRatio('strata-keys', 'floor'),
        '≤ 1.25×',
        le(wallRatio('strata-keys', 'floor'), 1.25),
      ),
      r(
        'Strata known parameter names (c3) / floor (f), wall',
        wallRatio('strata-parameters', 'floor'),
        '≤ 1.25×',
        le(wallRatio('strata-parameters', 'floor'), 1.25),
      ),
      r(
        'Strata known full names (c2) / floor (f), wall (diagnostic)',
        wallRatio('strata-names', 'floor'),
        '≤ 1.25×',
      ),
      r(
        'Powertools by path (e) / Strata by path (a), wall',
        wallRatio('pt-path', 'strata-path'),
        '≥ 3×',
        wallRatio('pt-path', 'strata-path') >= 3,
      ),
      r(
        'Powertools by path (e) / Strata describe (b), wall',
        wallRatio('pt-path', 'strata-describe'),
        '≥ 3×',
        wallRatio('pt-path', 'strata-describe') >= 3,
      ),
      r('Powertools by name (d) / Strata by path (a), wall', wallRatio('pt-names', 'strata-path'), '–'),
      r(
        `Strata by path (a) calls / lower bound (${lbText})`,
        callRatio('strata-path'),
        '≤ 1.2×',
        le(callRatio('strata-path'), 1.2),
      ),
      r(
        `Strata describe (b) calls / lower bound (${lbText})`,
        callRatio('strata-describe'),
        '≤ 1.2×',
        le(callRatio('strata-describe'), 1.2),
      ),
      r(
        `Strata known keys (c) calls / lower bound (${lbText})`,
        callRatio('strata-keys'),
        '≤ 1.2×',
        le(callRatio('strata-keys'), 1.2),
      ),
      r(
        `Strata known parameter names (c3) calls / lower bound (${lbText})`,
        callRatio('strata-parameters'),
        '≤ 1.2×',
        le(callRatio('strata-parameters'), 1.2),
      ),
      r(`Strata known full names (c2) calls / lower bound (${lbText})`, callRatio('strata-names'), '≤ 1.2×'),
      ['leaked prod keys, all Strata contenders', '0', String(leaks), verdict(leaks === 0)],
    ];
  };
  const without = ratios(false);
  const withRefs = ratios(true);
  return {
    'core:tree': table(header, rows(false)),
    'core:tree-refs': table(header, rows(true)),
    'core:targets': table(
      ['ratio', 'target', '200 keys', '', '+ 50 references', ''],
      without.map((row, i) => [row[0], row[1], row[2], row[3], withRefs[i]![2], withRefs[i]![3]]),
    ),
  };
}

function quotaTable(q: QuotaData): string {
  return table(
    [
      'contender',
      'wall, median (min–max ms)',
      'calls (incl. throttled)',
      'calls per operation',
      'throttled',
      'Strata retries',
      'failures',
    ],
    q.rows.map(({ label, samples }) => {
      const walls = samples.map((x) => x.wall);
      const err = samples.find((x) => x.error)?.error;
      return [
        label,
        `${ms(median(walls))} (${Math.round(Math.min(...walls))}–${Math.round(Math.max(...walls))})`,
        median(samples.map((x) => x.calls)),
        opsText(closestTo(samples, median(samples.map((x) => x.calls)), (x) => x.calls).ops),
        samples.map((x) => x.throttled).join(' / '),
        samples[0]!.retries === undefined ? '–' : samples.map((x) => x.retries).join(' / '),
        `${samples.map((x) => x.failures).join(' / ')}${err ? ` (${err})` : ''}`,
      ];
    }),
  );
}

function fleetTable(f: FleetData): string {
  const bound = (f.clients * 20 - f.rps) / f.rps;
  const vsBound = (x: number | null) => (x === null ? '–' : `${(x / 1000 / bound).toFixed(1)}×`);
  return table(
    [
      'retry policy',
      'clients ready',
      'failed (code)',
      'all ready',
      'median ready',
      'last settled',
      `last settled / ${bound.toFixed(0)} s bound`,
      'calls (incl. throttled)',
      'throttled by the proxy',
      'Strata retries (throttles)',
      'limiter spread (ms)',
      'leaked',
    ],
    f.rows.map((r) => [
      r.label,
      `${r.ok}/${r.clients}`,
      r.failed
        ? `${r.failed} (${Object.entries(r.failureCodes)
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')})`
        : '0',
      r.allReady === null ? 'never (some failed)' : ms(r.allReady),
      ms(r.p50Ready ?? Number.NaN),
      ms(r.lastSettled),
      vsBound(r.lastSettled),
      r.calls,
      r.throttled,
      `${r.strataRetries} (${r.strataThrottles})`,
      r.limiterSpreadMs === undefined ? '–' : Math.round(r.limiterSpreadMs),
      r.leaked,
    ]),
  );
}

export function coreTables(result: ResultFile<CoreData>): Blocks {
  const d = result.data;
  return {
    ...metaBlock('core', result),
    ...(d.tree ? treeTables(d.tree) : {}),
    ...(d.quota ? { 'core:quota': quotaTable(d.quota) } : {}),
    ...(d.fleet ? { 'core:fleet': fleetTable(d.fleet) } : {}),
  };
}
