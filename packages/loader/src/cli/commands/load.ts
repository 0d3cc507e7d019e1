/** `strata load`: a hierarchy's merged tree, secrets masked unless `--reveal`. */
import type { Command } from 'commander';
import { MASK, maskedCopy } from '../../mask.js';
import {
  type AllowFlags,
  allowFrom,
  allowOptions,
  type CliContext,
  type HierarchyFlags,
  hierarchyFrom,
  hierarchyOptions,
} from '../options.js';
import { err, out } from '../output.js';

export function registerLoad(program: Command, c: CliContext): void {
  allowOptions(
    hierarchyOptions(
      program
        .command('load')
        .description('load a hierarchy and print the merged tree (secrets masked unless --reveal)')
        .option('--reveal', 'print secret values'),
    ),
  ).action(async (o: HierarchyFlags & AllowFlags & { reveal?: boolean }) => {
    const h = await c.session.resolver().loadHierarchy(hierarchyFrom(o), allowFrom(o));
    const secrets = new Set([...h.entries.values()].filter((e) => e.secret).map((e) => e.key));
    const tree = h.tree();
    const shown = o.reveal ? tree : maskedCopy(tree, secrets);
    if (c.globals().json) out(JSON.stringify(shown, null, 2));
    else {
      // entries come sorted by key (mergeLevels); localeCompare would cost seconds at 100k keys
      for (const e of h.entries.values()) {
        out(
          `${e.key} = ${e.secret && !o.reveal ? MASK : e.value}    (${e.origin.parameter} v${e.origin.version})`,
        );
      }
      err(
        `${h.entries.size} keys from ${h.levels.length} levels (${h.levels.map((l) => l.path).join(', ')})`,
      );
    }
  });
}
