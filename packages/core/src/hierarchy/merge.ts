/**
 * Merging the records fetched for each level into one set of keys: the most specific level wins,
 * a level's keys replace the lower levels' keys in the same subtree, and conflicts inside one level
 * are errors (see `./hierarchy.ts`). Pure.
 */
import type { ParameterRecord } from '../backend.js';
import { type Issue, loadFailed } from '../errors.js';
import { keyFor, type Level } from './levels.js';
import { invalid, shortName, unsafeKeySegment } from './names.js';

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
