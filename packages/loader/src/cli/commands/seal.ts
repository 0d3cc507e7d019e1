/**
 * `strata seal` / `strata unseal`: a YAML/JSON config's secret values to kms references and back
 * (see ../../seal.ts and the loader README). stderr gets key paths and counts, never values.
 */
import { writeFileSync } from 'node:fs';
import { StrataError } from '@strata/core';
import type { Command } from 'commander';
import { sealText, unsealText } from '../../seal.js';
import { readInputText } from '../input.js';
import { type CliContext, collect } from '../options.js';
import { err } from '../output.js';
import { writePrivateFile } from '../private-file.js';
import { modeOf, parseContext } from './kms.js';

export function registerSealCommands(program: Command, c: CliContext): void {
  program
    .command('seal')
    .description(
      'replace each secret value of a YAML/JSON config with a kms reference (see the loader README)',
    )
    .argument('<file>')
    .requiredOption('--key <key>', 'KMS key id, ARN or alias')
    .option('--context <k=v>', 'encryption context for every value (repeatable)', collect)
    .option('--pattern <regex>', 'secret keys: a key path segment matching this (case-insensitive)')
    .option('--no-pattern', 'seal only values tagged !secret')
    .option('--raw', 'raw KMS Encrypt per value (shorter; one KMS Decrypt per value on load)')
    .option(
      '--envelope',
      'Encryption SDK messages sharing one data key (default; one KMS Decrypt per file on load)',
    )
    .option('--out <file>', 'write here instead of stdout')
    .action(
      async (
        file: string,
        o: {
          key: string;
          context?: string[];
          pattern?: string | boolean;
          raw?: boolean;
          envelope?: boolean;
          out?: string;
        },
      ) => {
        const text = await readInputText(file, 'file');
        const context = parseContext(o.context);
        let pattern: RegExp | false | undefined;
        if (o.pattern === false) pattern = false;
        else if (typeof o.pattern === 'string') {
          try {
            pattern = new RegExp(o.pattern, 'i');
          } catch {
            throw new StrataError('INVALID_INPUT', `--pattern ${o.pattern}: not a valid regular expression`);
          }
        }
        const crypto = c.session.crypto();
        try {
          const res = await sealText(
            text,
            crypto,
            {
              keyId: o.key,
              mode: modeOf(o, 'envelope'),
              ...(context ? { context } : {}),
              ...(pattern !== undefined ? { pattern } : {}),
            },
            file,
          );
          if (o.out) writeFileSync(o.out, res.text);
          else process.stdout.write(res.text);
          if (c.globals().json) err(JSON.stringify({ sealed: res.paths }));
          else
            err(
              `strata: sealed ${res.paths.length} value(s)${res.paths.length ? `: ${res.paths.join(', ')}` : ''}`,
            );
        } finally {
          c.session.close();
        }
      },
    );

  program
    .command('unseal')
    .description('replace each kms reference of a sealed YAML/JSON config with its plaintext')
    .argument('<file>')
    .option('--out <file>', 'write here (mode 0600) instead of stdout')
    .action(async (file: string, o: { out?: string }) => {
      const crypto = c.session.crypto();
      try {
        const res = await unsealText(await readInputText(file, 'file'), crypto, file);
        if (o.out) writePrivateFile(o.out, res.text);
        else process.stdout.write(res.text);
        if (c.globals().json) err(JSON.stringify({ unsealed: res.paths }));
        else
          err(
            `strata: unsealed ${res.paths.length} value(s)${res.paths.length ? `: ${res.paths.join(', ')}` : ''}`,
          );
      } finally {
        c.session.close();
      }
    });
}
