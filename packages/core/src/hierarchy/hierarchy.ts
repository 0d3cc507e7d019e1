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
 * Everything here is a pure function over data; fetching happens in the resolver.
 */
import { parameterName, secretName } from '../aws/arn.js';
import type { ParameterRecord } from '../backend.js';
import { type Issue, loadFailed, StrataError } from '../errors.js';
import { PARAMETER_DEPTH_MAX, PARAMETER_NAME_MAX, type Reference } from '../reference/parser.js';

export type { ParameterRecord } from '../backend.js';

/** A level as written by the caller: a path, optionally with explicit recursion and exclusions. */
export interface LevelSpec {
  /** An SSM path such as `/acme/shop`. Leading/trailing and doubled slashes are normalized. */
  path: string;
  /** Read the level recursively. Default: true for the last level, false for the others. */
  recursive?: boolean;
  /** First-segment sub-paths of this level that are never read (`['prod', 'staging']`). */
  exclude?: string[];
}

/** A normalized level: leading '/', no trailing '/', no '//'. */
export interface Level {
  /** Position in the hierarchy, 0 = most general (lowest precedence). */
  index: number;
  path: string;
  recursive: boolean;
  /** Single path segments, relative to `path`, never read. */
  exclude: string[];
}

/**
 * A hierarchy, as a template with variables (`/{dept}/{app}/{env}`, each segment one level)
 * or as an explicit list of levels, most general first.
 */
export type HierarchyInput =
  | { template: string; vars: Record<string, string> }
  | { levels: Array<string | LevelSpec> };

/** Result of merging the records of every level. */
export interface MergedEntry {
  key: string;
  value: string;
  /** True when the winning parameter is a SecureString. */
  secret: boolean;
  origin: Origin;
}

/** Where a merged key came from. Never holds a value. */
export interface Origin {
  key: string;
  /** Index of the winning level. */
  level: number;
  levelPath: string;
  /** Full name of the winning parameter. */
  parameter: string;
  version: number;
  type: ParameterRecord['type'];
  /**
   * Parameters of lower levels hidden by this one, most specific level first: the same key, or
   * (see the conflict rule) a key in the same subtree.
   */
  overrides: Array<{ level: number; parameter: string; version: number }>;
}

export interface MergeResult {
  /** Merged entries, sorted by key. */
  entries: Map<string, MergedEntry>;
  /** parameters returned that were ignored because of the leak rule (names only) */
  ignored: string[];
}

const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const KEY_SEGMENT = /^[A-Za-z0-9_-]+$/;
const VARIABLE = /\{([^{}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/**
 * Key segments that name JavaScript object internals. A parameter, a JSON key or a file key spelled
 * like this could alter object prototypes (`Object.prototype.polluted`) wherever a tree is built
 * with plain assignment, and zod drops `__proto__` silently: every load refuses them with a clear
 * INVALID_INPUT naming the parameter or key.
 */
export const UNSAFE_KEY_SEGMENTS: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

/** The first unsafe segment of a dotted key or a parameter path (`a.__proto__.b`, `/a/constructor`), or undefined. */
export function unsafeKeySegment(key: string): string | undefined {
  return key.split(/[./]/).find((s) => UNSAFE_KEY_SEGMENTS.has(s));
}

/** Text for a message: at most `max` characters of a name, then `…`. */
export function shortName(name: string, max = 120): string {
  return name.length > max ? `${name.slice(0, max)}…` : name;
}

function invalid(message: string, source?: string): StrataError {
  return new StrataError('INVALID_INPUT', message, source === undefined ? {} : { source });
}

/** Why a path segment is not usable, or undefined when it is. */
function segmentProblem(segment: string): string | undefined {
  if (segment === '') return 'is empty';
  if (segment === '.' || segment === '..') return `is "${segment}"`;
  if (segment.includes('/')) return 'contains "/"';
  if (!SEGMENT.test(segment)) return 'contains characters outside [A-Za-z0-9_.-]';
  return undefined;
}

function normalizePath(raw: string, what: string): string {
  if (typeof raw !== 'string') throw invalid(`${what}: path must be a string`);
  const shown = shortName(raw);
  const segments = raw.split('/').filter((s) => s !== '');
  if (segments.length === 0) throw invalid(`${what}: path "${shown}" has no segments`, shown);
  for (const s of segments) {
    const problem = segmentProblem(s);
    if (problem) throw invalid(`${what}: path "${shown}" has a segment that ${problem}`, shown);
  }
  if (segments.length > PARAMETER_DEPTH_MAX)
    throw invalid(`${what}: path "${shown}" has more than ${PARAMETER_DEPTH_MAX} levels`, shown);
  const path = `/${segments.join('/')}`;
  if (path.length > PARAMETER_NAME_MAX)
    throw invalid(`${what}: path "${shown}" is longer than ${PARAMETER_NAME_MAX} characters`, shown);
  return path;
}

function isUnder(name: string, path: string): boolean {
  return name.startsWith(`${path}/`);
}

function expandTemplate(template: string, vars: Record<string, string>): string[] {
  if (typeof template !== 'string') throw invalid('hierarchy template must be a string');
  const where = `hierarchy template "${template}"`;
  const segments = template.split('/').filter((s) => s !== '');
  if (segments.length === 0) throw invalid(`${where} has no segments`, template);
  const problems: string[] = [];
  const expanded: string[] = [];
  for (const segment of segments) {
    if (segment.replace(VARIABLE, '').match(/[{}]/)) {
      problems.push(`segment "${segment}" has an unbalanced "{" or "}"`);
      continue;
    }
    const before = problems.length;
    const value = segment.replace(VARIABLE, (_match, name: string) => {
      if (!VARIABLE_NAME.test(name)) {
        problems.push(`"{${name}}" is not a valid variable name`);
        return '';
      }
      const v: unknown = vars && Object.hasOwn(vars, name) ? vars[name] : undefined;
      if (v === undefined || v === null) {
        problems.push(`variable "${name}" is not set`);
        return '';
      }
      if (typeof v !== 'string') {
        problems.push(`variable "${name}" is not a string`);
        return '';
      }
      const problem = segmentProblem(v);
      if (problem) problems.push(`variable "${name}" ${problem}`);
      return v;
    });
    if (problems.length > before) continue;
    // Literal text around or instead of variables must be valid too (`/acme corp/{env}`).
    const problem = segmentProblem(value);
    if (problem)
      problems.push(
        `segment "${segment}" ${value === segment ? '' : 'expands to a segment that '}${problem}`,
      );
    expanded.push(value);
  }
  if (problems.length > 0) {
    const unique = [...new Set(problems)];
    throw new StrataError('INVALID_INPUT', `${where}: ${unique.join('; ')}`, {
      source: template,
      issues: unique.map((m) => ({ code: 'INVALID_INPUT', source: template, message: `${where}: ${m}` })),
    });
  }
  return expanded;
}

/**
 * Expands `/{dept}/{app}/{env}` into levels ['/my-dept', '/my-dept/my-app', '/my-dept/my-app/dev'];
 * an unfilled variable, an empty value, a value containing '/' or chars outside [A-Za-z0-9_.-] → StrataError INVALID_INPUT naming the variable and the template.
 * Template may have literal segments: '/acme/{app}/{env}' → levels '/acme', '/acme/shop', '/acme/shop/dev' (each segment of the template is one level).
 *
 * Explicit `levels` are normalized (leading '/', no trailing '/', no '//'); each must have at
 * least one valid segment, paths must be distinct, and no level may be an ancestor of an
 * earlier one (most general first). `exclude` entries are single segments (`'prod'`, a
 * leading or trailing '/' is tolerated). Without `recursive`, the last level is recursive
 * and the others are not.
 */
export function buildLevels(input: HierarchyInput): Level[] {
  if (input === null || typeof input !== 'object')
    throw invalid('hierarchy: expected { template, vars } or { levels }');
  let specs: LevelSpec[];
  if ('template' in input) {
    const segments = expandTemplate(input.template, input.vars);
    specs = segments.map((_, i) => ({ path: `/${segments.slice(0, i + 1).join('/')}` }));
  } else if ('levels' in input && Array.isArray(input.levels)) {
    specs = input.levels.map((l) => (typeof l === 'string' ? { path: l } : l));
  } else {
    throw invalid('hierarchy: expected { template, vars } or { levels }');
  }
  if (specs.length === 0) throw invalid('hierarchy: at least one level is required');

  const last = specs.length - 1;
  const levels: Level[] = specs.map((spec, index) => {
    if (spec === null || typeof spec !== 'object')
      throw invalid(`hierarchy level ${index}: expected a path or { path }`);
    const path = normalizePath(spec.path, `hierarchy level ${index}`);
    const exclude: string[] = [];
    for (const raw of spec.exclude ?? []) {
      const segment = typeof raw === 'string' ? raw.replace(/^\/+|\/+$/g, '') : '';
      const problem = typeof raw === 'string' ? segmentProblem(segment) : 'is not a string';
      if (problem) {
        throw invalid(
          `hierarchy level ${index} (${path}): exclude entry "${String(raw)}" must be one path segment, but it ${problem}`,
          path,
        );
      }
      if (!exclude.includes(segment)) exclude.push(segment);
    }
    return { index, path, recursive: spec.recursive ?? index === last, exclude };
  });

  for (const [j, later] of levels.entries()) {
    for (const earlier of levels.slice(0, j)) {
      if (earlier.path === later.path) {
        throw invalid(
          `hierarchy: level ${earlier.index} and level ${j} are both "${later.path}"`,
          later.path,
        );
      }
      if (isUnder(earlier.path, later.path)) {
        throw invalid(
          `hierarchy: level ${j} (${later.path}) is an ancestor of level ${earlier.index} (${earlier.path}); list levels most general first`,
          later.path,
        );
      }
    }
  }
  return levels;
}

/**
 * Relative key for a parameter name under a level, or undefined if the level must not read it (outside path, too deep for non-recursive, excluded, or inside the next level's branch). Key segments joined with '.'
 *
 * "The next level's branch" is, for every deeper level under this one, the first path segment
 * leading to it (`/acme/shop` for `/acme` when a deeper level is `/acme/shop` or
 * `/acme/shop/dev`); the branch root itself is excluded too.
 */
export function keyFor(levels: Level[], levelIndex: number, parameterName: string): string | undefined {
  const level = levels[levelIndex];
  if (!level) throw invalid(`hierarchy: no level ${levelIndex} (there are ${levels.length})`);
  if (!isUnder(parameterName, level.path)) return undefined;
  const segments = parameterName.slice(level.path.length + 1).split('/');
  const first = segments[0];
  if (first === undefined || segments.some((s) => s === '')) return undefined;
  if (!level.recursive && segments.length > 1) return undefined;
  if (level.exclude.includes(first)) return undefined;
  for (const deeper of levels.slice(levelIndex + 1)) {
    if (!isUnder(deeper.path, level.path)) continue;
    const branch = deeper.path.slice(level.path.length + 1).split('/')[0];
    if (branch === first) return undefined;
  }
  return segments.join('.');
}

interface Candidate {
  key: string;
  level: number;
  record: ParameterRecord;
}

interface Placed {
  candidate: Candidate;
  overrides: Array<{ level: number; parameter: string; version: number }>;
}

function byString(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/** The keys that are proper ancestors of `key`: `a.b.c` → `a`, `a.b`. */
function ancestorsOf(key: string): string[] {
  const parts = key.split('.');
  return parts.slice(1).map((_, i) => parts.slice(0, i + 1).join('.'));
}

/**
 * Merges records fetched per level (recordsByLevel[i] are records fetched for level i; they may include names the rule excludes — those go to `ignored`). Most specific wins; overrides lists lower levels that had the same key (most specific first). secret = type === 'SecureString'. Deterministic order: entries sorted by key. Key conflicts where one key is a prefix path of another (`db` = value and `db.url` = value) are reported as StrataError INVALID_INPUT via loadFailed listing each conflict, unless the conflicting keys come from different levels, in which case the more specific level wins for the whole subtree (document it).
 *
 * Details:
 * - A record is only ever considered for the level it was fetched for. `ignored` holds the
 *   names (sorted, deduplicated) that no level accepted; a name rejected by level 0 but used
 *   by level 2 (both listings returned it) is not in `ignored`.
 * - The same name returned twice for one level is counted once (the highest version).
 * - Conflicts inside one level (a key and a key below it, or two parameters with the same
 *   key such as `db.url` and `db/url`) throw `loadFailed` (code LOAD_FAILED) whose issues are
 *   each INVALID_INPUT, naming keys and parameters, never values.
 * - Across levels, a level's keys replace every lower-level key in the same subtree (see the
 *   header); the hidden parameters appear in `overrides` of the entries that hide them.
 */
export function mergeLevels(levels: Level[], recordsByLevel: ParameterRecord[][]): MergeResult {
  if (recordsByLevel.length > levels.length) {
    throw invalid(
      `hierarchy: records for ${recordsByLevel.length} levels, but there are ${levels.length} levels`,
    );
  }
  const rejected = new Set<string>();
  const used = new Set<string>();
  const perLevel: Candidate[][] = [];
  const issues: Issue[] = [];

  for (const level of levels) {
    const byName = new Map<string, Candidate>();
    for (const record of recordsByLevel[level.index] ?? []) {
      const key = keyFor(levels, level.index, record.name);
      if (key === undefined) {
        rejected.add(record.name);
        continue;
      }
      const unsafe = unsafeKeySegment(key);
      if (unsafe !== undefined) {
        issues.push({
          code: 'INVALID_INPUT',
          key: shortName(key),
          source: shortName(record.name),
          message: `parameter ${shortName(record.name)} has the path segment "${unsafe}", which Strata refuses as a key (it names a JavaScript object internal); rename the parameter`,
        });
        used.add(record.name);
        continue;
      }
      used.add(record.name);
      const seen = byName.get(record.name);
      if (!seen || record.version > seen.record.version)
        byName.set(record.name, { key, level: level.index, record });
    }
    const candidates = [...byName.values()].sort(
      (a, b) => byString(a.key, b.key) || byString(a.record.name, b.record.name),
    );
    const byKey = new Map<string, Candidate>();
    for (const c of candidates) {
      const other = byKey.get(c.key);
      if (other) {
        issues.push({
          code: 'INVALID_INPUT',
          key: c.key,
          source: c.record.name,
          message: `parameters ${other.record.name} and ${c.record.name} of level ${level.index} (${level.path}) both map to key "${c.key}"`,
        });
      } else byKey.set(c.key, c);
    }
    for (const c of byKey.values()) {
      for (const ancestor of ancestorsOf(c.key)) {
        const parent = byKey.get(ancestor);
        if (!parent) continue;
        issues.push({
          code: 'INVALID_INPUT',
          key: ancestor,
          source: parent.record.name,
          message: `key "${ancestor}" (${parent.record.name}) has a value and also the key "${c.key}" (${c.record.name}) below it, both at level ${level.index} (${level.path})`,
        });
      }
    }
    perLevel.push([...byKey.values()]);
  }
  if (issues.length > 0) throw loadFailed(issues, 'merging hierarchy levels');

  // Lay each level over the previous ones. Within a level there are no related keys (checked
  // above), so every candidate of the level replaces the related keys placed by lower levels.
  // `under` indexes every placed key by each of its proper ancestors, so the keys a candidate
  // hides (itself, its ancestors, its descendants) are found without scanning: linear overall.
  const placed = new Map<string, Placed>();
  const under = new Map<string, Set<string>>();
  const place = (key: string, p: Placed) => {
    placed.set(key, p);
    for (const a of ancestorsOf(key)) {
      const set = under.get(a);
      if (set) set.add(key);
      else under.set(a, new Set([key]));
    }
  };
  const remove = (key: string) => {
    placed.delete(key);
    for (const a of ancestorsOf(key)) {
      const set = under.get(a);
      set?.delete(key);
      if (set?.size === 0) under.delete(a);
    }
  };
  const relatedPlaced = (key: string): Placed[] => {
    const out: Placed[] = [];
    const same = placed.get(key);
    if (same) out.push(same);
    for (const a of ancestorsOf(key)) {
      const p = placed.get(a);
      if (p) out.push(p);
    }
    for (const d of under.get(key) ?? []) out.push(placed.get(d)!);
    return out;
  };
  for (const candidates of perLevel) {
    const hidden = new Map<string, Placed[]>();
    for (const c of candidates) hidden.set(c.key, relatedPlaced(c.key));
    for (const c of candidates) {
      const below = hidden.get(c.key) ?? [];
      for (const p of below) remove(p.candidate.key);
      const overrides = new Map<string, { level: number; parameter: string; version: number }>();
      for (const p of below) {
        const self = {
          level: p.candidate.level,
          parameter: p.candidate.record.name,
          version: p.candidate.record.version,
        };
        for (const o of [self, ...p.overrides]) overrides.set(`${o.level}\u0000${o.parameter}`, o);
      }
      place(c.key, {
        candidate: c,
        overrides:
          overrides.size === 0
            ? []
            : [...overrides.values()].sort((a, b) => b.level - a.level || byString(a.parameter, b.parameter)),
      });
    }
  }

  const entries = new Map<string, MergedEntry>();
  for (const key of [...placed.keys()].sort(byString)) {
    const { candidate, overrides } = placed.get(key)!;
    const { record, level } = candidate;
    entries.set(key, {
      key,
      value: record.value,
      secret: record.type === 'SecureString',
      origin: {
        key,
        level,
        levelPath: levels[level]!.path,
        parameter: record.name,
        version: record.version,
        type: record.type,
        overrides,
      },
    });
  }
  const ignored = [...rejected].filter((n) => !used.has(n)).sort(byString);
  return { entries, ignored };
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  if (v === null || typeof v !== 'object' || Array.isArray(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  // defineProperty so that keys such as `__proto__` become plain own properties.
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Builds a nested plain object from dotted keys: { db: { url: '…' } }.
 *
 * Throws StrataError INVALID_INPUT for an empty key or segment (`a..b`), a repeated key, and a
 * key that is both a value and a parent (`db` and `db.url`). Values are never in messages.
 */
export function toTree(entries: Iterable<{ key: string; value: unknown }>): Record<string, unknown> {
  const root: Record<string, unknown> = {};
  const leaves = new Set<object>();
  for (const { key, value } of entries) {
    const parts = key.split('.');
    if (parts.some((p) => p === '')) throw invalid(`key "${shortName(key)}" has an empty segment`);
    const unsafe = unsafeKeySegment(key);
    if (unsafe !== undefined)
      throw invalid(`key "${shortName(key)}" has the segment "${unsafe}", which is refused`);
    let node = root;
    for (const [i, part] of parts.entries()) {
      const existing = Object.hasOwn(node, part) ? node[part] : undefined;
      const has = Object.hasOwn(node, part);
      if (i === parts.length - 1) {
        if (has) {
          const what =
            isPlainObject(existing) && !leaves.has(existing) ? 'the parent of other keys' : 'set twice';
          throw invalid(`key "${key}" is ${what}`);
        }
        defineOwn(node, part, value);
        if (isPlainObject(value)) leaves.add(value);
        break;
      }
      if (!has) {
        const child: Record<string, unknown> = {};
        defineOwn(node, part, child);
        node = child;
      } else if (isPlainObject(existing) && !leaves.has(existing)) {
        node = existing;
      } else {
        throw invalid(
          `key "${parts.slice(0, i + 1).join('.')}" has a value and also the key "${key}" below it`,
        );
      }
    }
  }
  return root;
}

/**
 * Flattens a nested object (as from a zod schema shape or a YAML file) back into dotted keys.
 *
 * Only plain objects are descended into; arrays, dates, class instances (a zod type) and empty
 * objects are values. A property name that contains '.' is taken as already dotted; an empty
 * name, or two paths giving the same key (`{ 'a.b': 1, a: { b: 2 } }`), throws INVALID_INPUT.
 */
export function flatten(obj: Record<string, unknown>, prefix?: string): Map<string, unknown> {
  const out = new Map<string, unknown>();
  const walk = (node: Record<string, unknown>, base: string | undefined): void => {
    for (const name of Object.keys(node)) {
      const key = base === undefined || base === '' ? name : `${base}.${name}`;
      if (name === '' || key.split('.').some((p) => p === ''))
        throw invalid(`key "${key}" has an empty segment`);
      const value = node[name];
      if (isPlainObject(value) && Object.keys(value).length > 0) {
        walk(value, key);
      } else {
        if (out.has(key)) throw invalid(`key "${key}" appears twice`);
        out.set(key, value);
      }
    }
  };
  walk(obj, prefix);
  return out;
}

/**
 * Parameter names to fetch directly when keys are known in advance (from a schema): for each key, one name per level: `${level.path}/${key.replaceAll('.', '/')}`, honoring the rule (a nested key at a non-recursive ancestor is not asked for).
 *
 * Keys are deduplicated, kept in the given order, levels in ascending order. A key segment
 * must match [A-Za-z0-9_-]+ (otherwise INVALID_INPUT naming the key).
 */
export function namesForKeys(
  levels: Level[],
  keys: string[],
): Array<{ level: number; key: string; name: string }> {
  const out: Array<{ level: number; key: string; name: string }> = [];
  for (const key of new Set(keys)) {
    const segments = key.split('.');
    if (!segments.every((s) => KEY_SEGMENT.test(s) && !UNSAFE_KEY_SEGMENTS.has(s))) {
      throw invalid(`key "${key}" is not a valid parameter key: segments must match [A-Za-z0-9_-]+`);
    }
    for (const level of levels) {
      const name = `${level.path}/${segments.join('/')}`;
      if (keyFor(levels, level.index, name) === key) out.push({ level: level.index, key, name });
    }
  }
  return out;
}

/**
 * Sources a reference inside a hierarchy value may name although they lie in a sibling branch
 * (shared parameters or secrets): SSM paths (each covers itself and everything below it, on a
 * segment boundary; a trailing `/*` is tolerated) and Secrets Manager names (exact, a prefix ending
 * in `*`, or an ARN).
 */
export interface ReferenceAllowList {
  ssm?: string[];
  secretsManager?: string[];
}

function pathCovered(path: string, entries: readonly string[] | undefined): boolean {
  return (entries ?? []).some((raw) => {
    const e = `/${raw}`.replace(/\/\*$/, '').replace(/\/+/g, '/').replace(/\/$/, '');
    return e === '' || path === e || path.startsWith(`${e}/`);
  });
}

function secretCovered(name: string, entries: readonly string[] | undefined): boolean {
  return (entries ?? []).some((raw) => {
    const e = secretName(raw);
    return e.endsWith('*') ? name.startsWith(e.slice(0, -1)) : e === name;
  });
}

/**
 * The no-leak rule for references found inside values a hierarchy loads (at any depth): a
 * reference may not name a parameter, or a secret whose name follows the same path convention
 * (`acme/shop/prod/db` read as `/acme/shop/prod/db`), that lies under a level of the hierarchy but
 * that the hierarchy itself would not read — a sibling branch such as `/acme/shop/prod/**` when
 * loading `/acme/shop/dev`. Names outside every level (`/shared/x`, a secret `prod-db`) and kms
 * ciphertexts are not restricted by this rule. `allow` lists exceptions. Returns why the
 * reference is refused (naming the parameter or secret, never a value), or undefined. Pure.
 */
export function referenceBranchProblem(
  levels: Level[],
  ref: Reference,
  allow: ReferenceAllowList = {},
): string | undefined {
  let kind: 'ssm parameter' | 'secret';
  let name: string;
  let path: string;
  if (ref.service === 'kms') return undefined;
  if (ref.service === 'ssm') {
    const p = parameterName(ref.name);
    const sm = '/aws/reference/secretsmanager/';
    if (p.startsWith(sm)) {
      kind = 'secret';
      name = p.slice(sm.length);
    } else {
      kind = 'ssm parameter';
      name = p.startsWith('/') ? p : `/${p}`;
    }
  } else {
    kind = 'secret';
    name = secretName(ref.secretId);
  }
  path = name.startsWith('/') ? name : `/${name}`;
  path = path.replace(/\/+/g, '/');
  const inside = levels.some((l) => path === l.path || isUnder(path, l.path));
  if (!inside) return undefined;
  if (levels.some((l) => keyFor(levels, l.index, path) !== undefined)) return undefined;
  if (kind === 'ssm parameter' ? pathCovered(path, allow.ssm) : secretCovered(name, allow.secretsManager))
    return undefined;
  return `${kind} ${shortName(name)} is in a sibling branch of the hierarchy (${levels.map((l) => l.path).join(', ')}): a value loaded by it cannot reference it unless allowReferences lists it`;
}
