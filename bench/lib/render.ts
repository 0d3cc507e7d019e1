/**
 * The renderer: reads `results/<name>.json`, turns it into markdown tables with the table function
 * registered for `<name>` below, and replaces only the text between that scenario's marker comments
 * in RESULTS.md (`<!-- bench:<block>:start -->` … `<!-- bench:<block>:end -->`). Everything outside
 * the markers (headings, the hand-written interpretation) is left as it is. It writes tables only:
 * no sentences are generated here.
 *
 * Plugging in a scenario: write `results/<name>.json` as `{ meta, data }` (see `lib/scenario.ts`),
 * add `tables/<name>.ts` exporting a `Tables` function, and register it in `TABLES`.
 */
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BENCH_DIR, RESULTS_DIR, type ResultFile, resultPath } from './scenario.js';
import { cliFaultsTables } from './tables/cli-faults.js';
import { coreTables } from './tables/core.js';
import { kmsTables } from './tables/kms.js';
import { loaderTables } from './tables/loader.js';
import { localTables } from './tables/local.js';

/** Block id (the part between `bench:` and `:start`) -> markdown for that block. */
export type Blocks = Record<string, string>;
// biome-ignore lint/suspicious/noExplicitAny: each table function knows its own data shape
export type Tables = (result: ResultFile<any>) => Blocks;

const TABLES: Record<string, Tables> = {
  core: coreTables,
  kms: kmsTables,
  local: localTables,
  loader: loaderTables,
  'cli-faults': cliFaultsTables,
};

export const RESULTS_MD = join(BENCH_DIR, 'RESULTS.md');

const startMarker = (id: string) => `<!-- bench:${id}:start -->`;
const endMarker = (id: string) => `<!-- bench:${id}:end -->`;

/**
 * Replaces the text between the markers of each block. A block whose markers are missing is
 * appended at the end of the file under its own markers (move it by hand, then add the prose).
 */
function replaceBlocks(text: string, blocks: Blocks): { text: string; appended: string[] } {
  const appended: string[] = [];
  let out = text;
  for (const [id, body] of Object.entries(blocks)) {
    const start = startMarker(id);
    const end = endMarker(id);
    const a = out.indexOf(start);
    const b = out.indexOf(end);
    const inner = `${start}\n\n${body.trim()}\n\n${end}`;
    if (a < 0 || b < a) {
      out = `${out.trimEnd()}\n\n${inner}\n`;
      appended.push(id);
    } else {
      out = out.slice(0, a) + inner + out.slice(b + end.length);
    }
  }
  return { text: out, appended };
}

function readResult(name: string): ResultFile | undefined {
  const file = resultPath(name);
  return existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as ResultFile) : undefined;
}

/** Renders the given scenarios (default: every results/*.json with a table function) into RESULTS.md. */
export function renderResults(names?: string[]): string[] {
  const all =
    names ??
    (existsSync(RESULTS_DIR)
      ? readdirSync(RESULTS_DIR)
          .filter((f) => f.endsWith('.json'))
          .map((f) => f.slice(0, -5))
      : []);
  let text = existsSync(RESULTS_MD) ? readFileSync(RESULTS_MD, 'utf8') : '# Benchmark results\n';
  const done: string[] = [];
  for (const name of all) {
    const tables = TABLES[name];
    const result = readResult(name);
    if (!tables || !result) continue;
    const r = replaceBlocks(text, tables(result));
    text = r.text;
    for (const id of r.appended)
      process.stderr.write(`[bench:render] markers for ${id} were missing: appended\n`);
    done.push(name);
  }
  writeFileSync(RESULTS_MD, text);
  return done;
}
