/**
 * Freshness: which cached reads a changed source affects (`SourceSet`), and asking AWS what changed
 * without fetching values (`changedSources`).
 */
import { parameterName, secretName } from '../aws/arn.js';
import type { Backend } from '../backend.js';
import type { CacheEntry } from './cache.js';
import { type CacheKey, isPinned } from './cache-key.js';

/**
 * Sources given by name: parameter names or ARNs, secret names or ARNs, or paths. A cached read
 * matches when it read one of them: the parameter itself (any version or label), a listing of a
 * path that is one of them, lies under one of them, or contains one of them (a listing of an
 * ancestor path), a secret (any stage or version). kms reads never match.
 */
export class SourceSet {
  private readonly params: Set<string>;
  private readonly secrets: Set<string>;
  /** every ancestor path of a given name: a listing of one of them contains it */
  private readonly ancestors = new Set<string>();
  readonly empty: boolean;

  constructor(sources: Iterable<string>) {
    const list = [...sources];
    this.empty = list.length === 0;
    this.params = new Set(list.map((s) => parameterName(s)));
    this.secrets = new Set(list.map((s) => secretName(s)));
    for (const p of this.params)
      for (let i = p.lastIndexOf('/'); i > 0; i = p.lastIndexOf('/', i - 1))
        this.ancestors.add(p.slice(0, i));
  }

  private underGiven(path: string): boolean {
    for (let i = path.lastIndexOf('/'); i > 0; i = path.lastIndexOf('/', i - 1))
      if (this.params.has(path.slice(0, i))) return true;
    return false;
  }

  matches(key: CacheKey): boolean {
    switch (key.kind) {
      case 'param':
        return this.params.has(parameterName(key.name));
      case 'path':
        return this.params.has(key.path) || this.ancestors.has(key.path) || this.underGiven(key.path);
      case 'secret':
        return this.secrets.has(secretName(key.secretId));
      case 'kms':
        return false;
    }
  }
}

/**
 * The sources among `entries` that changed, where AWS can tell without fetching values:
 * DescribeSecret's current version id for secrets, DescribeParameters versions for paths, the
 * parameter's version for parameters. Pinned reads (a version, label, stage or version id) never
 * change and are not asked about. Returns ids (never values), sorted, without duplicates; a check
 * that fails is treated as "no change".
 */
export async function changedSources(entries: Iterable<CacheEntry>, backend: Backend): Promise<string[]> {
  const changed: string[] = [];
  const jobs: Promise<void>[] = [];
  const { ssm, secrets } = backend;
  for (const e of entries) {
    if (isPinned(e.key)) continue;
    if (entryOf(e, 'secret')) {
      const { id, versionId } = e.record;
      if (secrets.currentVersionId)
        jobs.push(
          secrets.currentVersionId(id).then((cur) => {
            if (cur !== versionId) changed.push(id);
          }),
        );
    } else if (entryOf(e, 'path')) {
      const { path, recursive } = e.key;
      const before = new Map(e.records.map((r) => [r.name, r.version]));
      if (ssm.describeByPath)
        jobs.push(
          ssm.describeByPath(path, { recursive }).then((now) => {
            const same = now.length === before.size && now.every((p) => before.get(p.name) === p.version);
            if (!same) changed.push(path);
          }),
        );
    } else if (entryOf(e, 'param')) {
      const { name, version } = e.record;
      jobs.push(
        ssm.getParameters([{ name }]).then(([o]) => {
          if (!o?.ok || o.value.version !== version) changed.push(name);
        }),
      );
    }
  }
  await Promise.allSettled(jobs);
  return [...new Set(changed)].sort();
}

/** Narrows an entry by the kind of its key. */
function entryOf<K extends CacheKey['kind']>(
  e: CacheEntry,
  kind: K,
): e is Extract<CacheEntry, { key: { kind: K } }> {
  return e.key.kind === kind;
}
