/**
 * SourcePolicy evaluation (pure). Default deny: a namespace reads a source only if some policy
 * that selects the namespace grants it.
 * - SSM: a granted path `/acme/shop` covers `/acme/shop` and everything under `/acme/shop/`
 *   (segment boundary: `/acme/shopping` is not covered). Hierarchy levels and every parameter a
 *   reference names must be covered. `/aws/reference/secretsmanager/ID` needs a Secrets Manager
 *   grant for ID.
 * - Secrets Manager: exact names, prefixes ending in `*`, or ARNs (an ARN grant also covers its
 *   name; a name grant covers ARNs of that name in any region of the account — names are what
 *   users see).
 * - KMS: `<<resolve:kms:…>>` references need a `kms.keyIds` entry; the key of a ciphertext is not
 *   known before decrypting, so any grant (or `*`) allows them — document which keys in the policy.
 */
import {
  buildLevels,
  type HierarchyInput,
  parameterName,
  parseArn,
  parseTemplate,
  type Reference,
  StrataError,
  secretName,
} from '@strata/core';
import type { HierarchySource, LabelSelector, SecretSyncSpec, SourcePolicy } from './types.js';

export interface Grants {
  ssmPaths: string[];
  secretNames: string[];
  kmsKeys: string[];
}

function matchesSelector(labels: Record<string, string>, sel: LabelSelector | undefined): boolean {
  if (!sel) return false;
  for (const [k, v] of Object.entries(sel.matchLabels ?? {})) if (labels[k] !== v) return false;
  for (const e of sel.matchExpressions ?? []) {
    const has = Object.hasOwn(labels, e.key);
    const v = labels[e.key];
    if (e.operator === 'Exists' && !has) return false;
    if (e.operator === 'DoesNotExist' && has) return false;
    if (e.operator === 'In' && !(has && (e.values ?? []).includes(v!))) return false;
    if (e.operator === 'NotIn' && has && (e.values ?? []).includes(v!)) return false;
  }
  return Object.keys(sel.matchLabels ?? {}).length > 0 || (sel.matchExpressions ?? []).length > 0;
}

/** The union of every policy's grants that selects this namespace. */
export function grantsFor(
  namespace: string,
  namespaceLabels: Record<string, string>,
  policies: SourcePolicy[],
): Grants {
  const g: Grants = { ssmPaths: [], secretNames: [], kmsKeys: [] };
  for (const p of policies) {
    const ns = p.spec.namespaces;
    const selected = (ns.names ?? []).includes(namespace) || matchesSelector(namespaceLabels, ns.selector);
    if (!selected) continue;
    g.ssmPaths.push(...(p.spec.ssm?.paths ?? []));
    g.secretNames.push(...(p.spec.secretsManager?.names ?? []));
    g.kmsKeys.push(...(p.spec.kms?.keyIds ?? []));
  }
  return g;
}

function normPath(p: string): string {
  return `/${p}`.replace(/\/+/g, '/').replace(/\/$/, '');
}

export function pathAllowed(path: string, grants: string[]): boolean {
  const p = normPath(path);
  return grants.some((g) => {
    const gp = normPath(g);
    return gp === '' || p === gp || p.startsWith(`${gp}/`);
  });
}

export function secretAllowed(id: string, grants: string[]): boolean {
  const name = secretName(id);
  return grants.some((g) => {
    if (g === '*') return true;
    if (g === id) return true;
    const gname = parseArn(g) ? secretName(g) : g;
    if (gname.endsWith('*')) return name.startsWith(gname.slice(0, -1));
    return gname === name;
  });
}

/** Every source a spec reads, as printable ids (for status and for the dependency index). */
export interface SpecSources {
  paths: Array<{ path: string; recursive: boolean }>;
  parameters: string[];
  secrets: string[];
  kms: number;
}

/** A spec's hierarchy as core's `HierarchyInput` (levels, or a template with its vars). */
export function hierarchyInput(h: HierarchySource): HierarchyInput {
  return h.levels ? { levels: h.levels } : { template: h.template!, vars: h.vars ?? {} };
}

export function sourcesOf(spec: SecretSyncSpec): SpecSources {
  const out: SpecSources = { paths: [], parameters: [], secrets: [], kms: 0 };
  const addRef = (ref: Reference) => {
    if (ref.service === 'ssm') {
      const name = parameterName(ref.name);
      if (name.startsWith('/aws/reference/secretsmanager/'))
        out.secrets.push(name.slice('/aws/reference/secretsmanager/'.length));
      else out.parameters.push(name);
    } else if (ref.service === 'secretsmanager') out.secrets.push(ref.secretId);
    else out.kms++;
  };
  for (const s of spec.sources) {
    if (s.hierarchy) {
      for (const l of buildLevels(hierarchyInput(s.hierarchy)))
        out.paths.push({ path: l.path, recursive: l.recursive });
    }
    for (const v of Object.values(s.refs ?? {})) {
      for (const part of parseTemplate(v)) if (part.kind === 'ref') addRef(part.ref);
    }
    if (s.secretJSON) out.secrets.push(s.secretJSON.secretId);
  }
  return out;
}

/** The sources the grants do not cover (printable, never values). Empty: allowed. */
export function deniedSources(spec: SecretSyncSpec, grants: Grants): string[] {
  let src: SpecSources;
  try {
    src = sourcesOf(spec);
  } catch (err) {
    if (err instanceof StrataError) throw err;
    throw new StrataError('INVALID_INPUT', 'invalid sources');
  }
  const denied: string[] = [];
  for (const p of src.paths) if (!pathAllowed(p.path, grants.ssmPaths)) denied.push(`ssm path ${p.path}`);
  for (const p of src.parameters) if (!pathAllowed(p, grants.ssmPaths)) denied.push(`ssm parameter ${p}`);
  for (const s of src.secrets) if (!secretAllowed(s, grants.secretNames)) denied.push(`secret ${s}`);
  // an allow-list for references inside hierarchy values widens nothing beyond the grants
  for (const s of spec.sources) {
    for (const p of s.hierarchy?.allowReferences?.ssm ?? [])
      if (!pathAllowed(p.replace(/\/\*$/, ''), grants.ssmPaths)) denied.push(`allowReferences ssm path ${p}`);
    for (const n of s.hierarchy?.allowReferences?.secretsManager ?? [])
      if (!secretAllowed(n, grants.secretNames)) denied.push(`allowReferences secret ${n}`);
  }
  if (src.kms > 0 && grants.kmsKeys.length === 0) denied.push('kms decryption');
  return [...new Set(denied)];
}

/** Why a reference (found anywhere, at any depth) is not covered by the grants, or undefined. */
export function referenceNotGranted(ref: Reference, grants: Grants): string | undefined {
  if (ref.service === 'ssm') {
    const name = parameterName(ref.name);
    const sm = '/aws/reference/secretsmanager/';
    if (name.startsWith(sm)) {
      const id = name.slice(sm.length);
      return secretAllowed(id, grants.secretNames) ? undefined : `no SourcePolicy grants the secret ${id}`;
    }
    return pathAllowed(name, grants.ssmPaths)
      ? undefined
      : `no SourcePolicy grants the ssm parameter ${name}`;
  }
  if (ref.service === 'secretsmanager') {
    return secretAllowed(ref.secretId, grants.secretNames)
      ? undefined
      : `no SourcePolicy grants the secret ${ref.secretId}`;
  }
  return grants.kmsKeys.length > 0 ? undefined : 'no SourcePolicy grants kms decryption';
}
