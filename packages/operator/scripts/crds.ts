/**
 * `npm run crds:generate` writes the chart's CRD templates from packages/operator/src/crd/;
 * `npm run crds:check` (`--check`) fails, naming the file and the first differing lines, when the
 * chart's CRDs differ from what the TypeScript generates.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { firstDifferences, renderCrds } from '../src/crd/render.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
const check = process.argv.includes('--check');
let drift = 0;
for (const [path, expected] of Object.entries(renderCrds())) {
  const file = resolve(root, path);
  let actual = '';
  try {
    actual = readFileSync(file, 'utf8');
  } catch {
    /* missing: drift */
  }
  if (actual === expected) continue;
  if (!check) {
    writeFileSync(file, expected);
    console.log(`wrote ${path}`);
    continue;
  }
  drift++;
  console.error(`CRD drift: ${path} differs from the CRD generated from packages/operator/src/crd/`);
  for (const line of firstDifferences(expected, actual)) console.error(`  ${line}`);
}
if (drift > 0) {
  console.error(`${drift} CRD file(s) out of date: run \`npm run crds:generate\` and commit the result.`);
  process.exit(1);
}
if (check) console.log('CRDs match packages/operator/src/crd/');
