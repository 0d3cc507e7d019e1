/** Options several commands share: repeatable flags, hierarchy flags, reference allow-lists. */
import type { HierarchyInput, LoadHierarchyOptions } from '@strata/core';
import { StrataError } from '@strata/core';
import type { Command } from 'commander';
import type { GlobalOpts, Session } from './session.js';

/** What every command gets: the global flags and the run's session (deadline, Backend). */
export interface CliContext {
  globals: () => GlobalOpts;
  session: Session;
}

/** A repeatable option's parser: `--x a --x b` → `['a', 'b']`. */
export const collect = (v: string, prev: string[] = []): string[] => [...prev, v];

export interface HierarchyFlags {
  hierarchy?: string;
  var?: string[];
  level?: string[];
}

export interface AllowFlags {
  allowRef?: string[];
  allowSecret?: string[];
}

function parseVars(list: string[] = []): Record<string, string> {
  const vars: Record<string, string> = Object.create(null);
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new StrataError('INVALID_INPUT', `--var ${kv}: expected NAME=VALUE`);
    vars[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return vars;
}

export function hierarchyFrom(o: HierarchyFlags): HierarchyInput {
  if (o.level && o.level.length > 0) return { levels: o.level };
  if (o.hierarchy) return { template: o.hierarchy, vars: parseVars(o.var) };
  throw new StrataError(
    'INVALID_INPUT',
    'give --hierarchy TEMPLATE (with --var NAME=VALUE) or --level PATH (repeatable)',
  );
}

export function hierarchyOptions(cmd: Command): Command {
  return cmd
    .option('--hierarchy <template>', 'hierarchy template, e.g. /{dept}/{app}/{env}')
    .option('--var <name=value>', 'template variable (repeatable)', collect)
    .option('--level <path>', 'explicit level, most general first (repeatable)', collect);
}

/** `--allow-ref PATH` / `--allow-secret NAME`: shared sources references in values may name. */
export function allowOptions(cmd: Command): Command {
  return cmd
    .option(
      '--allow-ref <path>',
      'an SSM path (and everything below it) that references inside values may name although it is in a sibling branch (repeatable)',
      collect,
    )
    .option(
      '--allow-secret <name>',
      'a secret (name, name prefix ending in *, or ARN) that references inside values may name although it is in a sibling branch (repeatable)',
      collect,
    );
}

export function allowFrom(o: AllowFlags): LoadHierarchyOptions {
  if (!o.allowRef && !o.allowSecret) return {};
  return {
    allowReferences: {
      ...(o.allowRef ? { ssm: o.allowRef } : {}),
      ...(o.allowSecret ? { secretsManager: o.allowSecret } : {}),
    },
  };
}
