/** `strata resolve STRING | - | --file F`: every `<<resolve:…>>` reference in a text, resolved. */
import { StrataError } from '@strata/core';
import type { Command } from 'commander';
import { readInputText } from '../input.js';
import type { CliContext } from '../options.js';
import { out } from '../output.js';

export function registerResolve(program: Command, c: CliContext): void {
  program
    .command('resolve')
    .description(
      'resolve every <<resolve:…>> reference in a string or a file (`-` or --file -: stdin) and print the result',
    )
    .argument('[string]')
    .option('--file <file>', 'read the text from a file (- for stdin)')
    .action(async (input: string | undefined, o: { file?: string }) => {
      if (input === undefined && !o.file)
        throw new StrataError('INVALID_INPUT', 'give a STRING, - (stdin) or --file FILE');
      if (input !== undefined && o.file)
        throw new StrataError('INVALID_INPUT', 'give a STRING or --file FILE, not both');
      const file = o.file ?? (input === '-' ? '-' : undefined);
      const text = file ? await readInputText(file, '--file') : (input ?? '');
      const res = await c.session.resolver().resolveTemplate(text);
      if (c.globals().json)
        out(JSON.stringify({ value: res.value, secret: res.secret, sources: res.sources }));
      else process.stdout.write(file ? res.value : `${res.value}\n`);
    });
}
