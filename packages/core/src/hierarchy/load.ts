/**
 * Loading a hierarchy: fetch each level's parameters, merge them (./merge.ts), then resolve the
 * references inside the merged values under the no-leak rule (./reference-rule.ts). Three fetch
 * strategies, fastest first when the caller knows more:
 *
 * - `parameters` (names from an earlier load): exactly those names with GetParameters, each owned
 *   by the most specific level that may read it; names no level may read are never fetched.
 * - `keys` (from a schema): each key asked for at every level it could live at.
 * - neither: each level listed by path (or DescribeParameters with `discovery: 'describe'`),
 *   levels concurrently.
 */

import type { ParameterRecord } from '../backend.js';
import { toIssue } from '../engine/issues.js';
import { type References, referenceSource } from '../engine/references.js';
import type { SourceReader } from '../engine/sources.js';
import type { SourceInfo } from '../engine/types.js';
import { type Issue, isStrataError, loadFailed, StrataError } from '../errors.js';
import { hasReference, type Reference } from '../reference/parser.js';
import { buildLevels, type HierarchyInput, keyFor, type Level, namesForKeys } from './levels.js';
import { type MergedEntry, mergeLevels, type Origin } from './merge.js';
import { shortName } from './names.js';
import { type ReferenceAllowList, referenceBranchProblem } from './reference-rule.js';
import { toTree } from './tree.js';

export interface HierarchyEntry {
  key: string;
  value: string;
  secret: boolean;
  origin: Origin;
  /** Set when the parameter's value contained references that were resolved. */
  references?: SourceInfo[];
}

export interface HierarchyResult {
  levels: Level[];
  entries: Map<string, HierarchyEntry>;
  /** Names returned by AWS but excluded by the no-leak rule. */
  ignored: string[];
  /** Nested plain object of the values. */
  tree(): Record<string, unknown>;
  /** The parameter names that supplied or were overridden by the entries: pass them as `parameters` to reload cheaply. */
  parameterNames(): string[];
}

export interface LoadHierarchyOptions {
  /**
   * Keys known in advance (from a schema): fetched directly with GetParameters instead of by
   * path. A key's level is not known, so each key is asked for at every level it could live at.
   */
  keys?: string[];
  /**
   * Full parameter names known in advance, e.g. `previous.parameterNames()` from an earlier load:
   * exactly these are fetched with GetParameters (10 a call, concurrently) — the fewest calls.
   * Names the leak rule rejects are ignored. Parameters created since are not discovered.
   */
  parameters?: string[];
  /** Resolve `<<resolve:…>>` inside parameter values. Default true. */
  resolveReferences?: boolean;
  /**
   * References inside the loaded values (at any depth) may not name a sibling branch of the
   * hierarchy (see `referenceBranchProblem`); these shared parameters and secrets are allowed
   * anyway. Refused references fail with REFERENCE_DENIED and are never fetched.
   */
  allowReferences?: ReferenceAllowList;
  /**
   * A further check for every reference inside the loaded values (at any depth), after the no-leak
   * rule: return why it may not be read (it fails with REFERENCE_DENIED, never fetched), or
   * undefined. The operator checks its SourcePolicy grants here.
   */
  checkReference?: (ref: Reference) => string | undefined;
}

/** Records fetched for each level (by level index), and what failed. */
interface Fetched {
  recordsByLevel: ParameterRecord[][];
  issues: Issue[];
}

/** Exactly these names; each is owned by the most specific level that may read it, others are never fetched. */
async function fetchNames(reader: SourceReader, levels: Level[], names: string[]): Promise<Fetched> {
  const recordsByLevel: ParameterRecord[][] = levels.map(() => []);
  const issues: Issue[] = [];
  const owned: Array<{ name: string; level: number }> = [];
  for (const name of new Set(names)) {
    for (let l = levels.length - 1; l >= 0; l--) {
      if (keyFor(levels, l, name) !== undefined) {
        owned.push({ name, level: l });
        break;
      }
    }
  }
  const got = await Promise.allSettled(owned.map((o) => reader.getParameter({ name: o.name })));
  got.forEach((g, i) => {
    const o = owned[i]!;
    if (g.status === 'fulfilled') recordsByLevel[o.level]!.push(g.value);
    else if (!(isStrataError(g.reason) && g.reason.code === 'NOT_FOUND'))
      issues.push(toIssue(g.reason, undefined, o.name));
  });
  return { recordsByLevel, issues };
}

/** Relative keys known in advance: each asked for at every level it could live at. */
async function fetchKeys(reader: SourceReader, levels: Level[], keys: string[]): Promise<Fetched> {
  const recordsByLevel: ParameterRecord[][] = levels.map(() => []);
  const issues: Issue[] = [];
  const wanted = namesForKeys(levels, keys);
  const got = await Promise.allSettled(wanted.map((w) => reader.getParameter({ name: w.name })));
  got.forEach((g, i) => {
    const w = wanted[i]!;
    if (g.status === 'fulfilled') recordsByLevel[w.level]!.push(g.value);
    else if (!(isStrataError(g.reason) && g.reason.code === 'NOT_FOUND'))
      issues.push(toIssue(g.reason, w.key));
  });
  return { recordsByLevel, issues };
}

/** Every level listed (by path or DescribeParameters, as the reader is configured), levels concurrently. */
async function fetchPaths(reader: SourceReader, levels: Level[]): Promise<Fetched> {
  const recordsByLevel: ParameterRecord[][] = levels.map(() => []);
  const issues: Issue[] = [];
  const got = await Promise.allSettled(levels.map((l) => reader.getParametersByPath(l.path, l.recursive)));
  got.forEach((g, i) => {
    if (g.status === 'fulfilled') recordsByLevel[i]!.push(...g.value);
    else issues.push(toIssue(g.reason, undefined, levels[i]!.path));
  });
  return { recordsByLevel, issues };
}

export async function loadHierarchy(
  engine: { reader: SourceReader; refs: References },
  input: HierarchyInput,
  opts: LoadHierarchyOptions = {},
): Promise<HierarchyResult> {
  const { reader, refs } = engine;
  const levels = buildLevels(input);
  const { recordsByLevel, issues } =
    opts.parameters && opts.parameters.length > 0
      ? await fetchNames(reader, levels, opts.parameters)
      : opts.keys && opts.keys.length > 0
        ? await fetchKeys(reader, levels, opts.keys)
        : await fetchPaths(reader, levels);
  if (issues.length > 0) throw loadFailed(issues, 'loading the hierarchy');
  const merged = mergeLevels(levels, recordsByLevel);
  const entries = new Map<string, HierarchyEntry>();
  const withRefs: MergedEntry[] = [];
  for (const [key, e] of merged.entries) {
    entries.set(key, { key, value: e.value, secret: e.secret, origin: e.origin });
    if (opts.resolveReferences !== false && hasReference(e.value)) withRefs.push(e);
  }
  if (withRefs.length > 0) {
    // the no-leak rule binds references too: a value may not reach a sibling branch
    const guard = (ref: Reference): void => {
      const problem = referenceBranchProblem(levels, ref, opts.allowReferences) ?? opts.checkReference?.(ref);
      if (problem) throw new StrataError('REFERENCE_DENIED', problem, { source: referenceSource(ref) });
    };
    const settled = await Promise.allSettled(
      withRefs.map((e) =>
        refs.resolveIn(e.value, [], {
          guard,
          origin: {
            what: `the value of ssm parameter ${shortName(e.origin.parameter)}`,
            source: e.origin.parameter,
          },
        }),
      ),
    );
    settled.forEach((s, i) => {
      const e = withRefs[i]!;
      if (s.status === 'fulfilled') {
        entries.set(e.key, {
          key: e.key,
          value: s.value.value,
          secret: e.secret || s.value.secret,
          origin: e.origin,
          references: s.value.sources,
        });
      } else issues.push(toIssue(s.reason, e.key, e.origin.parameter));
    });
    if (issues.length > 0) throw loadFailed(issues, 'resolving references in the hierarchy');
  }
  return {
    levels,
    entries,
    ignored: merged.ignored,
    tree: () => toTree([...entries.values()].map((e) => ({ key: e.key, value: e.value }))),
    parameterNames: () =>
      [
        ...new Set(
          [...entries.values()].flatMap((e) => [
            e.origin.parameter,
            ...e.origin.overrides.map((o) => o.parameter),
          ]),
        ),
      ].sort(),
  };
}
