/** `strata iam-policy`: the least-privilege IAM policy for what a config reads (no AWS call). */
import { buildLevels, parseTemplate, type Reference } from '@strata/core';
import type { Command } from 'commander';
import { collectEnv } from '../../env.js';
import { buildIamPolicy } from '../../iam.js';
import { readInputText } from '../input.js';
import {
  type CliContext,
  collect,
  type HierarchyFlags,
  hierarchyFrom,
  hierarchyOptions,
} from '../options.js';
import { out } from '../output.js';

interface IamFlags extends HierarchyFlags {
  ref?: string[];
  file?: string;
  buildspec?: string;
  account: string;
  kmsKey?: string[];
  key?: string[];
  parameter?: string[];
  describe?: boolean;
  checkForChanges?: boolean;
  replicaRegion?: string[];
}

export function registerIamPolicy(program: Command, c: CliContext): void {
  hierarchyOptions(
    program
      .command('iam-policy')
      .description('print the least-privilege IAM policy for what a config reads')
      .option('--ref <reference>', 'a <<resolve:…>> reference the config also reads (repeatable)', collect)
      .option('--file <file>', 'a file whose references are read (e.g. a config template; - for stdin)')
      .option('--buildspec <file>', 'a buildspec whose env block is read (- for stdin)')
      .option('--account <id>', 'AWS account id', '123456789012')
      .option('--kms-key <arn>', 'KMS key ARN protecting the values (repeatable)', collect)
      .option(
        '--key <key>',
        'a config key read by name at every level (loadConfig with a schema; repeatable)',
        collect,
      )
      .option('--parameter <name>', 'a parameter read by name (repeatable)', collect)
      .option('--describe', 'levels are listed with DescribeParameters (discovery: describe)')
      .option('--check-for-changes', 'checkForChanges() is used (DescribeParameters, DescribeSecret)')
      .option(
        '--replica-region <region>',
        'Secrets Manager replica region read on failover (repeatable)',
        collect,
      ),
  ).action(async (o: IamFlags) => {
    const texts = [...(o.ref ?? [])];
    if (o.file) texts.push(await readInputText(o.file, '--file'));
    if (o.buildspec) {
      const text = o.buildspec === '-' ? await readInputText('-', '--buildspec') : undefined;
      texts.push(
        ...Object.values(
          collectEnv({ base: {}, buildspec: o.buildspec, read: (p) => (p === '-' ? text : undefined) }),
        ),
      );
    }
    const references: Reference[] = texts.flatMap((t) =>
      parseTemplate(t).flatMap((p) => (p.kind === 'ref' ? [p.ref] : [])),
    );
    const levels = o.hierarchy || o.level ? buildLevels(hierarchyFrom(o)) : [];
    const policy = buildIamPolicy({
      region: c.globals().region ?? process.env.AWS_REGION ?? 'us-east-1',
      account: o.account,
      levels,
      parameterNames: o.parameter ?? [],
      references,
      ...(o.key ? { keys: o.key } : {}),
      ...(o.kmsKey ? { kmsKeyArns: o.kmsKey } : {}),
      ...(o.describe ? { discovery: 'describe' as const } : {}),
      ...(o.checkForChanges ? { checkForChanges: true } : {}),
      ...(o.replicaRegion ? { replicaRegions: o.replicaRegion } : {}),
    });
    out(JSON.stringify(policy, null, 2));
  });
}
