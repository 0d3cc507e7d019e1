/**
 * The `strata` CLI: global flags and dispatch. Each command lives in ./commands; the run's
 * deadline, progress lines and Backend in ./session.ts. Human output by default, `--json` for
 * programs. Exit codes: see exit-codes.ts and the loader README. Honours AWS_REGION, AWS_PROFILE,
 * AWS_ENDPOINT_URL(_SSM|…) like the AWS CLI.
 *
 * Every AWS call is bounded: a per-attempt timeout, the retry budget, and `--timeout` (default
 * 30 s) for all of a command's AWS work together; after ~2 s of waiting, stderr says what for.
 */
import { readFileSync } from 'node:fs';
import { isStrataError } from '@strata/core';
import { Command, CommanderError } from 'commander';
import { describeForeignError } from '../foreign-error.js';
import { registerExec } from './commands/exec.js';
import { registerExplain } from './commands/explain.js';
import { registerGet } from './commands/get.js';
import { registerIamPolicy } from './commands/iam.js';
import { registerKmsCommands } from './commands/kms.js';
import { registerLoad } from './commands/load.js';
import { registerPut } from './commands/put.js';
import { registerResolve } from './commands/resolve.js';
import { registerSealCommands } from './commands/seal.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { resetStdin } from './input.js';
import type { CliContext } from './options.js';
import { err } from './output.js';
import { DEFAULT_TIMEOUT_S, type GlobalOpts, Session } from './session.js';

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

function buildProgram(): { program: Command; session: Session } {
  const program = new Command('strata')
    .description('Configuration and secrets from AWS SSM Parameter Store, Secrets Manager and KMS')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--region <region>', 'AWS region (default: AWS_REGION / profile)')
    .option('--endpoint <url>', 'AWS endpoint override (default: AWS_ENDPOINT_URL)')
    .option('--profile <name>', 'AWS profile')
    .option(
      '--local <file>',
      'read from (and write to) a local tree (YAML/JSON file or directory) instead of AWS',
    )
    .option(
      '--timeout <seconds>',
      'give up on AWS after this long, retries included (exit 4)',
      String(DEFAULT_TIMEOUT_S),
    )
    .option('--json', 'machine-readable JSON output')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  const globals = () => program.opts<GlobalOpts>();
  const session = new Session(globals);
  program.hook('preAction', () => session.start());
  const c: CliContext = { globals, session };
  // registration order is the order of `strata --help`
  registerGet(program, c);
  registerResolve(program, c);
  registerLoad(program, c);
  registerExplain(program, c);
  registerExec(program, c);
  registerPut(program, c);
  registerKmsCommands(program, c);
  registerSealCommands(program, c);
  registerIamPolicy(program, c);
  return { program, session };
}

/** Runs the CLI on `argv` (as `process.argv`: node, script, args…) and returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  resetStdin();
  const { program, session } = buildProgram();
  try {
    await Promise.race([program.parseAsync(argv), session.backstop()]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    const json = program.opts<GlobalOpts>().json;
    if (isStrataError(e)) {
      if (json) err(JSON.stringify(e));
      else err(`strata: ${e.message}`);
      return (e as { exitCode?: number }).exitCode ?? exitCodeFor(e.code, e.issues);
    }
    err(`strata: ${describeForeignError(e)}`);
    return EXIT.FAILED;
  } finally {
    session.close();
  }
}
