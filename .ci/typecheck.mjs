// Typechecks every TypeScript file in the repository, tests included, and fails when one is
// outside every project (a file no tsconfig includes is a file nothing checks).
//
// Projects: each npm workspace's tsconfig.json (packages/*, test, bench: src and tests together)
// and tsconfig.root.json (the root's vitest config files). Workspace sources resolve through the
// `strata-source` export condition, so nothing has to be built first.
//
// Usage: node .ci/typecheck.mjs   (npm run typecheck)
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const ts = require('typescript');
const tsc = require.resolve('typescript/bin/tsc');

const { workspaces } = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
const projects = [...workspaces.map((w) => join(w, 'tsconfig.json')), 'tsconfig.root.json'];

const failed = [];
const covered = new Set();
for (const project of projects) {
  const path = join(root, project);
  if (!existsSync(path)) {
    failed.push(`${project}: missing (every workspace needs a tsconfig.json that includes its tests)`);
    continue;
  }
  const parsed = ts.getParsedCommandLineOfConfigFile(
    path,
    {},
    { ...ts.sys, onUnRecoverableConfigFileDiagnostic() {} },
  );
  for (const f of parsed?.fileNames ?? []) covered.add(relative(root, f));
  process.stdout.write(`typecheck: tsc -p ${project}\n`);
  const r = spawnSync(process.execPath, [tsc, '-p', path, '--noEmit', '--pretty', 'false'], {
    cwd: root,
    stdio: 'inherit',
  });
  if (r.status !== 0) failed.push(`${project}: type errors (above)`);
}

const tracked = execFileSync('git', ['ls-files', '-z', '--', '*.ts', '*.mts', '*.cts', '*.tsx'], {
  cwd: root,
  encoding: 'utf8',
})
  .split('\0')
  .filter((f) => f && existsSync(join(root, f)));
const orphans = tracked.filter((f) => !covered.has(f));
if (orphans.length > 0) {
  failed.push(
    `TypeScript files in no project (add them to a tsconfig's "include"):\n  ${orphans.join('\n  ')}`,
  );
}

if (failed.length > 0) {
  process.stderr.write(`typecheck FAILED:\n- ${failed.join('\n- ')}\n`);
  process.exit(1);
}
process.stdout.write(`typecheck: ${projects.length} projects, ${covered.size} files, no errors\n`);
