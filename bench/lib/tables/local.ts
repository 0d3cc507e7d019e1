/** Tables of the pure-logic scaling benchmark (results/local.json). */
import type { LocalData } from '../../local.js';
import type { Blocks } from '../render.js';
import { median, ms, ratio, table } from '../report.js';
import type { ResultFile } from '../scenario.js';
import { metaBlock } from './meta.js';

const n = (x: number) => x.toLocaleString('en-US');
const perKey = (msValue: number, keys: number) => `${((msValue / keys) * 1000).toFixed(1)} µs`;
const notRun = 'not run (quadratic)';

export function localTables(result: ResultFile<LocalData>): Blocks {
  const d = result.data;
  return {
    ...metaBlock('local', result),
    'local:load': table(
      [
        'keys',
        'file',
        'merged keys',
        'Strata load',
        'per key',
        'JSON.parse (floor)',
        'Strata / floor',
        'before: yaml.parse alone',
      ],
      d.load.map((r) => [
        n(r.keys),
        `${(r.fileBytes / 2 ** 20).toFixed(1)} MiB`,
        n(r.mergedKeys),
        ms(median(r.loadMs)),
        perKey(median(r.loadMs), r.keys),
        ms(median(r.floorMs)),
        ratio(median(r.loadMs) / median(r.floorMs)),
        r.oldParseMs === null ? notRun : ms(r.oldParseMs),
      ]),
    ),
    'local:merge': table(
      ['keys', 'mergeLevels', 'per key', 'Map overlay (floor)', 'Strata / floor', 'before: all-pairs merge'],
      d.merge.map((r) => [
        `${n(r.keys)} × 2 levels`,
        ms(median(r.mergeMs)),
        perKey(median(r.mergeMs), r.keys),
        ms(median(r.overlayMs)),
        ratio(median(r.mergeMs) / median(r.overlayMs)),
        r.allPairsMs === null ? notRun : ms(r.allPairsMs),
      ]),
    ),
  };
}
