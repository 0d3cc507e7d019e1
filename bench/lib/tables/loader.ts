/** Table of the loader benchmark (results/loader.json). */
import type { LoaderData } from '../../loader.js';
import type { Blocks } from '../render.js';
import { median, ms, opsText, ratio, table, total } from '../report.js';
import type { ResultFile } from '../scenario.js';
import { metaBlock } from './meta.js';

export function loaderTables(result: ResultFile<LoaderData>): Blocks {
  const rows = result.data.rows;
  const pt = median(rows.find((r) => r.name.startsWith('Powertools'))!.times);
  return {
    ...metaBlock('loader', result),
    'loader:rows': table(
      ['contender', 'wall, median (min–max)', 'vs Powertools + zod', 'AWS calls', 'keys validated'],
      rows.map((r) => [
        r.name,
        `${ms(median(r.times))} (${Math.round(Math.min(...r.times))}–${Math.round(Math.max(...r.times))})`,
        ratio(median(r.times) / pt),
        `${total(r.calls)} (${opsText(r.calls)})`,
        r.keys,
      ]),
    ),
  };
}
