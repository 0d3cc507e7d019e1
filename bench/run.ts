/**
 * Runs every benchmark in this folder (`*.ts` next to this file, except this runner), one after
 * another, each in its own Node process with Strata's sources (`--conditions=strata-source`).
 * `BENCH_ONLY=core` runs only `core.ts`. Exits non-zero if a benchmark crashed; never because a
 * number is bad (no timing assertions).
 */
import { spawnSync } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const here = dirname(fileURLToPath(import.meta.url));
const only = process.env.BENCH_ONLY?.split(',').map((s) => s.trim());
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
process.stderr.write(`[bench] ${files.length} benchmark(s) done; results in ${join(here, 'RESULTS.md')}\n`);
