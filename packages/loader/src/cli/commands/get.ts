/** `strata get NAME[:VERSION|:LABEL]`: one parameter, decrypted. */
import { formatReference, StrataError } from '@strata/core';
import type { Command } from 'commander';
import type { CliContext } from '../options.js';
import { out } from '../output.js';

export function registerGet(program: Command, c: CliContext): void {
  program
    .command('get')
    .description('print one parameter value (decrypted); NAME may be NAME:VERSION or NAME:LABEL')
    .argument('<name>')
    .action(async (name: string) => {
      const m = /^(.*?)(?::(\d+)|:([A-Za-z][\w.-]*))?$/.exec(name)!;
      const query = {
        name: name.startsWith('arn:') ? name : m[1]!,
        ...(m[2] && !name.startsWith('arn:') ? { version: Number(m[2]) } : {}),
        ...(m[3] && !name.startsWith('arn:') ? { label: m[3] } : {}),
      };
      // validated as AWS validates names before any call (and never echoed past what is valid)
      if (/[<>\s]/.test(name)) throw new StrataError('INVALID_INPUT', 'not a valid parameter name');
      formatReference({ service: 'ssm', secure: false, ...query });
      const rec = await c.session.resolver().getParameter(query);
      if (c.globals().json)
        out(JSON.stringify({ name: rec.name, value: rec.value, type: rec.type, version: rec.version }));
      else out(rec.value);
    });
}
