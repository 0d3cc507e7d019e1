/** `strata exec [--buildspec F] [--env-file F] -- CMD ARGS…`: run a command with the resolved environment. */
import type { Command } from 'commander';
import { collectEnv, resolveEnv } from '../../env.js';
import { runChild } from '../child.js';
import { readInputText } from '../input.js';
import type { CliContext } from '../options.js';
import { err } from '../output.js';

export function registerExec(program: Command, c: CliContext): void {
  program
    .command('exec')
    .description('run a command with the resolved environment (references, buildspec env block, env file)')
    .option(
      '--buildspec <file>',
      'CodeBuild buildspec.yml (or Strata file) whose env block to add (- for stdin)',
    )
    .option(
      '--env-file <file>',
      'dotenv file to add (node --env-file syntax; values may contain references; - for stdin)',
    )
    .argument('<command>')
    .argument('[args...]')
    .passThroughOptions()
    .action(async (cmd: string, args: string[], o: { buildspec?: string; envFile?: string }) => {
      const stdin = new Map<string, string>();
      if (o.envFile === '-') stdin.set('env file', await readInputText('-', '--env-file'));
      if (o.buildspec === '-') stdin.set('buildspec', await readInputText('-', '--buildspec'));
      const env = collectEnv({
        ...(o.buildspec ? { buildspec: o.buildspec } : {}),
        ...(o.envFile ? { envFile: o.envFile } : {}),
        read: (path, what) => (path === '-' ? stdin.get(what) : undefined),
      });
      const { env: resolved, resolved: names } = await resolveEnv(env, c.session.resolver());
      c.session.close(); // the deadline covers resolving; the child runs as long as it likes
      if (names.length > 0)
        err(`strata: resolved ${names.length} variable${names.length === 1 ? '' : 's'}: ${names.join(', ')}`);
      process.exitCode = await runChild(cmd, args, resolved);
    });
}
