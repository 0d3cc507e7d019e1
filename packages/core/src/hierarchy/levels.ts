/**
 * Hierarchy levels: a template or an explicit list of paths turned into normalized levels, and the
 * no-leak rule as `keyFor` (which parameter names a level may read, and the key each becomes).
 * The rule itself is described in `./hierarchy.ts`. Pure functions over data.
 */

import { StrataError } from '../errors.js';
import { PARAMETER_DEPTH_MAX, PARAMETER_NAME_MAX } from '../reference/parser.js';
import { invalid, shortName, UNSAFE_KEY_SEGMENTS } from './names.js';

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

const SEGMENT = /^[A-Za-z0-9_.-]+$/;
const KEY_SEGMENT = /^[A-Za-z0-9_-]+$/;
const VARIABLE = /\{([^{}]*)\}/g;
const VARIABLE_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

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

export function isUnder(name: string, path: string): boolean {
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
