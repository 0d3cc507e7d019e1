/** Tables of the CLI fault benchmark (results/cli-faults.json). */
import type { CliFaultsData } from '../../cli-faults.js';
import type { Blocks } from '../render.js';
import { table } from '../report.js';
import type { ResultFile } from '../scenario.js';
import { metaBlock } from './meta.js';

const secs = (x: number) => `${(x / 1000).toFixed(1)} s`;

export function cliFaultsTables(result: ResultFile<CliFaultsData>): Blocks {
  const d = result.data;
  return {
    ...metaBlock('cli-faults', result),
    'cli-faults:exit': table(
      ['fault', ...d.commands],
      d.faults.map((f) => [f.fault, ...f.runs.map((r) => `${secs(r.ms)} → exit ${r.code}`)]),
    ),
    'cli-faults:progress': table(
      ['fault', ...d.commands],
      d.faults.map((f) => [f.fault, ...f.runs.map((r) => r.progressLines)]),
    ),
  };
}
