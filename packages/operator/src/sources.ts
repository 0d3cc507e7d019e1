/** Resolving a SecretSync's sources with the shared resolver, and the source → resource index. */
import {
  buildLevels,
  type Issue,
  issuesOf,
  loadFailed,
  type Reference,
  type Resolver,
  StrataError,
  secretName,
  unsafeKeySegment,
} from '@strata/core';
import { type Grants, hierarchyInput, referenceNotGranted, type SpecSources, sourcesOf } from './policy.js';
import type { SecretSyncSpec } from './types.js';

export interface ResolvedData {
  data: Record<string, string>;
  /** `ssm:/a/b` → version, `secret:prod/db` → version id. Never values. */
  versions: Array<{ source: string; version: string }>;
}

/**
 * Resolves a spec's sources. With `grants`, every reference found inside a loaded value (at any
 * depth: a hierarchy value, the value a ref points to, …) must be granted too, or the source fails
 * with REFERENCE_DENIED: a value cannot reach what the namespace was not given.
 */
export async function resolveSources(
  spec: SecretSyncSpec,
  resolver: Resolver,
  grants?: Grants,
): Promise<ResolvedData> {
  const checkReference = grants ? (ref: Reference) => referenceNotGranted(ref, grants) : undefined;
  // null prototype: a key named `__proto__` is an entry (and is refused below), never a prototype
  const data: Record<string, string> = Object.create(null);
  const versions = new Map<string, string>();
  const problems: Issue[] = [];
  await Promise.all(
    spec.sources.map(async (s, i) => {
      if (s.hierarchy) {
        try {
          const h = await resolver.loadHierarchy(hierarchyInput(s.hierarchy), {
            ...(s.hierarchy.keys ? { keys: s.hierarchy.keys } : {}),
            ...(s.hierarchy.allowReferences ? { allowReferences: s.hierarchy.allowReferences } : {}),
            ...(checkReference ? { checkReference } : {}),
          });
          for (const e of h.entries.values()) {
            data[`${s.hierarchy.prefix ?? ''}${e.key}`] = e.value;
            versions.set(`ssm:${e.origin.parameter}`, String(e.origin.version));
            for (const r of e.references ?? [])
              if (r.version) versions.set(`${r.service === 'ssm' ? 'ssm' : 'secret'}:${r.id}`, r.version);
          }
        } catch (err) {
          problems.push(...issuesOf(err, `sources[${i}].hierarchy`));
        }
      }
      if (s.refs) {
        try {
          const out = await resolver.resolveMap(s.refs, checkReference ? { checkReference } : {});
          for (const [k, r] of Object.entries(out)) {
            data[k] = r.value;
            for (const src of r.sources)
              if (src.version)
                versions.set(`${src.service === 'ssm' ? 'ssm' : 'secret'}:${src.id}`, src.version);
          }
        } catch (err) {
          problems.push(...issuesOf(err, `sources[${i}].refs`));
        }
      }
      if (s.secretJSON) {
        try {
          const rec = await resolver.getSecret({
            secretId: s.secretJSON.secretId,
            ...(s.secretJSON.versionStage ? { versionStage: s.secretJSON.versionStage } : {}),
          });
          let doc: unknown;
          try {
            doc = JSON.parse(rec.secretString ?? '');
          } catch {
            throw new StrataError('VALIDATION', `secret ${s.secretJSON.secretId} is not a JSON object`, {
              source: s.secretJSON.secretId,
            });
          }
          if (doc === null || typeof doc !== 'object' || Array.isArray(doc)) {
            throw new StrataError('VALIDATION', `secret ${s.secretJSON.secretId} is not a JSON object`, {
              source: s.secretJSON.secretId,
            });
          }
          const unsafe = Object.keys(doc).filter((k) => unsafeKeySegment(k) !== undefined);
          if (unsafe.length > 0) {
            throw new StrataError(
              'INVALID_INPUT',
              `secret ${s.secretJSON.secretId} has JSON key(s) ${unsafe.map((k) => JSON.stringify(k.slice(0, 60))).join(', ')} naming object internals, which Strata refuses`,
              { source: s.secretJSON.secretId },
            );
          }
          for (const [k, v] of Object.entries(doc))
            data[`${s.secretJSON.prefix ?? ''}${k}`] = typeof v === 'string' ? v : JSON.stringify(v);
          versions.set(`secret:${rec.name}`, rec.versionId);
        } catch (err) {
          problems.push(...issuesOf(err, `sources[${i}].secretJSON`));
        }
      }
    }),
  );
  if (problems.length > 0) throw loadFailed(problems, 'resolving sources');
  return {
    data,
    versions: [...versions]
      .map(([source, version]) => ({ source, version }))
      .sort((a, b) => a.source.localeCompare(b.source)),
  };
}

/** Which resources depend on which sources, so an event requeues only those. */
export class DependencyIndex {
  private byKey = new Map<string, SpecSources>();

  set(key: string, spec: SecretSyncSpec): void {
    try {
      this.byKey.set(key, sourcesOf(spec));
    } catch {
      this.byKey.delete(key);
    }
  }

  delete(key: string): void {
    this.byKey.delete(key);
  }

  /** Resources reading this SSM parameter (directly, or through a hierarchy level that covers it). */
  forParameter(name: string): string[] {
    const out: string[] = [];
    for (const [key, s] of this.byKey) {
      const direct = s.parameters.includes(name);
      const viaPath = s.paths.some((p) => {
        if (!name.startsWith(`${p.path}/`)) return false;
        return p.recursive || !name.slice(p.path.length + 1).includes('/');
      });
      if (direct || viaPath) out.push(key);
    }
    return out;
  }

  /** Resources reading this secret (event ids may be names or ARNs; references too). */
  forSecret(id: string): string[] {
    const name = secretName(id);
    const out: string[] = [];
    for (const [key, s] of this.byKey)
      if (s.secrets.some((x) => x === id || secretName(x) === name)) out.push(key);
    return out;
  }

  get size(): number {
    return this.byKey.size;
  }
}

/** A source read by id: an SSM parameter name, or a secret name or ARN. */
export interface SourceRef {
  kind: 'ssm' | 'secret';
  id: string;
}

/**
 * The sources a reconcile read that its spec does not name: parameters and secrets referenced
 * inside values (nested references) and the names a `keys` hierarchy fetched one by one. A
 * refresh re-reads them too; an event for one of them requeues the SecretSync.
 */
export function unnamedSources(spec: SecretSyncSpec, versions: Array<{ source: string }>): SourceRef[] {
  let named: SpecSources;
  const levels: Array<{ path: string; recursive: boolean }> = [];
  try {
    named = sourcesOf(spec);
    for (const s of spec.sources)
      if (s.hierarchy && !s.hierarchy.keys?.length) levels.push(...buildLevels(hierarchyInput(s.hierarchy)));
  } catch {
    return [];
  }
  const params = new Set(named.parameters);
  const secrets = new Set(named.secrets.map((x) => secretName(x)));
  const listed = (name: string) =>
    levels.some((l) =>
      l.recursive
        ? name.startsWith(`${l.path}/`)
        : name.startsWith(`${l.path}/`) && !name.slice(l.path.length + 1).includes('/'),
    );
  const out: SourceRef[] = [];
  for (const { source } of versions) {
    if (source.startsWith('ssm:')) {
      const name = source.slice(4);
      if (!params.has(name) && !listed(name)) out.push({ kind: 'ssm', id: name });
    } else if (source.startsWith('secret:')) {
      const id = source.slice(7);
      if (!secrets.has(secretName(id))) out.push({ kind: 'secret', id });
    }
  }
  return out;
}
