/** `strata explain KEY`: which level, parameter and version a key comes from, and what it overrides. */
import { StrataError } from '@strata/core';
import type { Command } from 'commander';
import { MASK } from '../../mask.js';
import {
  type AllowFlags,
  allowFrom,
  allowOptions,
  type CliContext,
  type HierarchyFlags,
  hierarchyFrom,
  hierarchyOptions,
} from '../options.js';
import { out } from '../output.js';

export function registerExplain(program: Command, c: CliContext): void {
  allowOptions(
    hierarchyOptions(
      program
        .command('explain')
        .description('say which level, parameter and version a key comes from, and what it overrides')
        .argument('<key>'),
    ),
  ).action(async (key: string, o: HierarchyFlags & AllowFlags) => {
    const h = await c.session.resolver().loadHierarchy(hierarchyFrom(o), allowFrom(o));
    const e = h.entries.get(key);
    if (!e) {
      throw new StrataError(
        'NOT_FOUND',
        `key ${key} is not set at any level (${h.levels.map((l) => l.path).join(', ')})`,
        { key },
      );
    }
    const o2 = e.origin;
    if (c.globals().json) {
      out(JSON.stringify({ key, secret: e.secret, origin: o2, references: e.references ?? [] }, null, 2));
      return;
    }
    out(`${key} = ${e.secret ? MASK : e.value}`);
    out(`  from       ${o2.parameter} (version ${o2.version}, ${o2.type})`);
    out(`  level      ${o2.level}: ${o2.levelPath}`);
    for (const ov of o2.overrides)
      out(`  overrides  ${ov.parameter} (version ${ov.version}, level ${ov.level})`);
    if (o2.overrides.length === 0) out('  overrides  nothing (no other level sets this key)');
    for (const ref of e.references ?? [])
      out(`  resolves   ${ref.reference ?? ref.id}${ref.version ? ` (version ${ref.version})` : ''}`);
  });
}
