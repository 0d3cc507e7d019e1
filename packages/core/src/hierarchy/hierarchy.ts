/**
 * Hierarchies: layered SSM parameter paths merged into one set of config keys.
 *
 * A hierarchy is an ordered list of parameter-path levels, most general first:
 *
 * ```
 * /acme                (level 0, lowest precedence)
 * /acme/shop           (level 1)
 * /acme/shop/dev       (level 2, highest precedence)
 * ```
 *
 * - Keys. Path segments below a level become a dotted key: `/acme/shop/dev/db/url` read by
 *   level 2 is the key `db.url`.
 * - Precedence. The most specific level that has a key wins; the entry's `origin` names the
 *   winning parameter and version, and `overrides` lists the lower levels it shadows
 *   (most specific first).
 *
 * The no-leak rule (what a level reads):
 *
 * 1. By default only the last (most specific) level is read recursively. Every ancestor level
 *    contributes only its direct children (`/acme/shop/timeout`, never `/acme/shop/x/y`),
 *    because any deeper sub-path of an ancestor may be a sibling branch of the one being
 *    loaded (`/acme/shop/prod/…`, `/acme/other-app/…`).
 * 2. A level may opt in to recursion with `{ path, recursive: true, exclude: [...] }`.
 *    `exclude` lists first-segment sub-paths of that level (`'prod'` means `<path>/prod` and
 *    everything under it) that are never read. A level may also opt out
 *    (`recursive: false` on the last level).
 * 3. An ancestor never reads the branch that leads to a deeper level: for `/acme` with the
 *    deeper level `/acme/shop`, nothing in `/acme/shop` or under it is read through `/acme`
 *    (including a parameter named exactly `/acme/shop`); that branch belongs to the deeper
 *    levels. When a deeper level skips a segment (`/acme` then `/acme/shop/dev`), the whole
 *    first segment (`/acme/shop/**`) is still excluded from `/acme`, so `/acme/shop/prod`
 *    cannot leak through it.
 * 4. Rule 3 only covers the branch towards the deeper levels. Siblings of it
 *    (`/acme/other-app/…`, `/acme/shop/prod/…` for a recursive `/acme/shop`) ARE read by a
 *    recursive ancestor unless listed in its `exclude`. A recursive ancestor therefore needs
 *    `exclude` for every sibling app or environment that lives under it; the default
 *    (non-recursive ancestors) needs none.
 *
 * Levels need not nest (`['/shared', '/acme/shop/dev']` is allowed) but must be ordered most
 * general first: a level may not be an ancestor of an earlier one, and no path may repeat.
 *
 * Key conflicts: a key cannot be both a value and the parent of other keys (`db` and
 * `db.url`). Within one level that is an error (as is two parameters mapping to the same key,
 * e.g. `/p/db.url` and `/p/db/url`). Across levels the more specific level wins the whole
 * subtree, as if each level's tree were laid over the previous ones: `db` at level 2 hides
 * `db.url` and `db.port` from level 1; `db.url` at level 2 hides `db` from level 1. The hidden
 * parameters are listed in the winners' `overrides`.
 *
 * Everything here is a pure function over data (`levels.ts`: levels and the rule as `keyFor`;
 * `merge.ts`: precedence and conflicts; `reference-rule.ts`: the rule for references inside values;
 * `tree.ts`: dotted keys to objects); fetching happens in `load.ts`.
 */
export {
  buildLevels,
  type HierarchyInput,
  type Level,
  type LevelSpec,
  namesForKeys,
} from './levels.js';
export type { Origin } from './merge.js';
export { shortName, unsafeKeySegment } from './names.js';
export { type ReferenceAllowList, referenceBranchProblem } from './reference-rule.js';
