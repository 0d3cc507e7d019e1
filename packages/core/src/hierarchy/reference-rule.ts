/**
 * The no-leak rule applied to references found inside values a hierarchy loads: such a reference
 * may not reach a sibling branch of the hierarchy unless an allow-list names it. Pure.
 */
import { parameterName, secretName } from '../aws/arn.js';
import type { Reference } from '../reference/parser.js';
import { isUnder, keyFor, type Level } from './levels.js';
import { shortName } from './names.js';

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
