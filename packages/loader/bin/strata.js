#!/bin/sh
// 2>/dev/null; exec node -- "$0" "$@"
/*
 * The `strata` executable. POSIX sh runs the line above (`//` fails quietly) and starts Node with
 * `--` before this file, so that Node itself never reads Strata's arguments: Node otherwise
 * takes `strata exec --env-file F` as its own --env-file and exits 9 when F is missing (seen on
 * Node 20.20 and 24.22, nodejs/node#54232). Node skips the #! line and reads the rest as comments
 * and code.
 *
 * This file is checked in (not built) so that npm links the bin at install time, before `dist/`
 * exists; the CLI itself is in ../dist/cli (build it with `npm run build`).
 */
try {
  await import('../dist/cli/bin.js');
} catch (err) {
  if (err?.code === 'ERR_MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/bin.js')) {
    process.stderr.write('strata: the CLI is not built: run `npm run build` in the repository\n');
    process.exitCode = 1;
  } else throw err;
}
