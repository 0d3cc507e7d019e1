/**
 * The runner. Runs the chosen benchmarks (every `*.ts` next to this file except this runner, or
 * the names given as arguments / in BENCH_ONLY=core,kms) one after another, each in its own Node
 * process with Strata's sources (`--conditions=strata-source`). A scenario built on
 * `lib/scenario.ts` writes `results/<name>.json` and renders its tables into RESULTS.md itself.
 *
 *   npx tsx bench/run.ts [name …]     run scenarios
 *   npx tsx bench/run.ts --render     only re-render RESULTS.md from the results/*.json present
 *
 * Exits non-zero if a benchmark crashed; never because a number is bad (no timing assertions).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const args = process.argv.slice(2);

if (args.includes('--render')) {
  const { RESULTS_MD, renderResults } = await import('./lib/render.js');
  const done = renderResults();
  process.stderr.write(`[bench] rendered ${done.join(', ') || 'nothing'} into ${RESULTS_MD}\n`);
  process.exit(0);
}

const named = args.filter((a) => !a.startsWith('-'));
const only = named.length > 0 ? named : process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
const files = readdirSync(here)
  .filter((f) => f.endsWith('.ts') && !f.endsWith('.d.ts') && f !== 'run.ts')
  .filter((f) => !only || only.includes(f.replace(/\.ts$/, '')))
  .sort();

const failed: string[] = [];
for (const f of files) {
  process.stderr.write(`\n[bench] ${f}\n`);
  const r = spawnSync(process.execPath, ['--conditions=strata-source', '--import', 'tsx', join(here, f)], {
    cwd: here,
    stdio: 'inherit',
  });
  if (r.status !== 0) failed.push(`${f} (${r.signal ?? `exit ${r.status}`})`);
}
if (failed.length > 0) {
  process.stderr.write(`[bench] failed: ${failed.join(', ')}\n`);
  process.exit(1);
}
process.stderr.write(
  `[bench] ${files.length} benchmark(s) done; results in ${join(here, 'results')}, tables in RESULTS.md\n`,
);
