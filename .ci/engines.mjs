// Checks the Node version policy of docs/adr/0006-node-versions.md against package-lock.json:
// every installed package that declares `engines.node` must accept both Node versions CI tests
// on: the floor (the lowest version the root package.json's `engines.node` allows) and the
// Node 24 that .ci/node.sh fetches. A dependency upgrade that drops the floor (an AWS SDK release
// after the first week of January 2027 requires Node 22) fails here, before any test runs.
// Every workspace must declare the same `engines.node` as the root.
//
// Usage: node .ci/engines.mjs
import { readFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import semver from 'semver';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const read = (p) => JSON.parse(readFileSync(join(root, p), 'utf8'));

const pkg = read('package.json');
const range = pkg.engines?.node;
const floor = range && semver.minVersion(range)?.version;
const node24 = /^NODE24_VERSION="([0-9.]+)"$/m.exec(readFileSync(join(root, '.ci/node.sh'), 'utf8'))?.[1];
const failed = [];
if (!floor) failed.push('package.json: engines.node is missing or not a semver range');
if (!node24) failed.push('.ci/node.sh: NODE24_VERSION not found');

for (const ws of pkg.workspaces) {
  const w = read(join(ws, 'package.json'));
  if (!w.private && w.engines?.node !== range) {
    failed.push(
      `${ws}/package.json: engines.node is ${JSON.stringify(w.engines?.node)}, the root says ${range}`,
    );
  }
}

const lock = read('package-lock.json');
let checked = 0;
for (const [path, entry] of Object.entries(lock.packages ?? {})) {
  const wants = entry.engines?.node;
  if (!path || !wants || entry.link) continue;
  checked++;
  for (const v of [floor, node24].filter(Boolean)) {
    if (!semver.satisfies(v, wants, { includePrerelease: true })) {
      failed.push(`${path.replace(/^.*node_modules\//, '')}@${entry.version} wants node ${wants}: not ${v}`);
    }
  }
}

if (failed.length > 0) {
  process.stderr.write(`engines FAILED (floor ${floor}, Node 24 ${node24}):\n- ${failed.join('\n- ')}\n`);
  process.exit(1);
}
process.stdout.write(`engines: ${checked} packages accept node ${floor} (floor) and ${node24}\n`);
