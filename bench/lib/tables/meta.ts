/** The run-metadata table every scenario's results start with (`<!-- bench:<name>:meta:… -->`). */
import type { Blocks } from '../render.js';
import { table } from '../report.js';
import type { ResultFile, RunMeta } from '../scenario.js';

/** The metadata table every scenario's first block starts with. */
function metaTable(m: RunMeta): string {
  const rows: Array<[string, string]> = [
    ['date (UTC)', m.startedAt.slice(0, 16).replace('T', ' ')],
    ['machine', `${m.machine.cpus} CPUs (${m.machine.cpu}), ${m.machine.memGiB} GiB, ${m.machine.platform}`],
    ['Node', m.node],
    ...(m.moto ? ([['moto', `${m.moto} (one server process)`]] as Array<[string, string]>) : []),
    [
      'machine shared with other work',
      `${m.shared ? 'yes' : 'no'} (${m.sharedHow})${m.sharedNote ? `: ${m.sharedNote}` : ''}`,
    ],
    ['1-minute load average, start / end', `${m.loadAvg.start} / ${m.loadAvg.end}`],
    ['commit', m.commit],
    ['whole run', `${Math.round(m.wallMs / 1000).toLocaleString('en-US')} s`],
    [
      'parameters',
      Object.entries(m.params)
        .map(([k, v]) => `${k}=${Array.isArray(v) ? v.join(',') : String(v)}`)
        .join(', '),
    ],
  ];
  return table(['run', ''], rows);
}

export function metaBlock(name: string, result: ResultFile): Blocks {
  return { [`${name}:meta`]: metaTable(result.meta) };
}
