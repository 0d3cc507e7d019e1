/**
 * Least-privilege IAM policy for what a config reads: exactly the AWS calls Strata makes, on
 * exactly the resources it reads, and nothing a sibling branch could be read through. Pure.
 *
 * - Hierarchy listing (`ssm:GetParametersByPath`, authorized against the requested path): the
 *   levels read recursively (by default only the most specific one) on their path; the ancestor
 *   levels, which Strata reads one level deep, on their path with `ssm:Recursive` not `true` — a
 *   recursive read of `/acme` would return `/acme/shop/prod/**`.
 * - Reads by name (`ssm:GetParameters`, authorized per name: `loadConfig` with a schema, reloads,
 *   references): the recursive levels' subtrees (`level/*`); for ancestor levels only the exact
 *   names of the known `keys` (an IAM wildcard cannot stop at one level, so `/acme/*` would grant
 *   `/acme/shop/prod/…`); the parameters named by references and `parameterNames`.
 *   `/aws/reference/secretsmanager/ID` also needs the secret.
 * - `ssm:DescribeParameters` (no resource type: `*`; it lists names and metadata, never values)
 *   only with `discovery: 'describe'` or `checkForChanges`.
 * - Secrets Manager: `secretsmanager:GetSecretValue` on each secret (name + `-??????` when given
 *   by name; AWS authorizes BatchGetSecretValue per secret with it), `BatchGetSecretValue` on `*`
 *   (it has no resource type), `DescribeSecret` only with `checkForChanges`.
 * - KMS: `kms:Decrypt` through SSM and Secrets Manager (`kms:ViaService` for every region a
 *   parameter or secret is read in); `<<resolve:kms:…>>` references decrypted directly: one
 *   statement per distinct encryption context with a `kms:EncryptionContext:KEY` condition per
 *   key, and for a raw ciphertext without context a `Null` condition on `kms:EncryptionContextKeys`
 *   (no context at all). An Encryption SDK message without a context in its reference cannot be
 *   scoped by context (its context is the message's): give the reference one.
 */
import {
  decodeCiphertext,
  detectFormat,
  type Level,
  namesForKeys,
  parameterName,
  parseArn,
  type Reference,
  secretName,
} from '@strata/core';

export interface PolicyInput {
  region: string;
  account: string;
  partition?: string;
  levels: Level[];
  /**
   * Config keys read by name at every level (`loadConfig` with a schema fetches these; spelled as
   * the schema does, kebab-case variants are added as the loader asks for them).
   */
  keys?: string[];
  /** Parameter names fetched directly. */
  parameterNames: string[];
  references: Reference[];
  /** KMS key ARNs that protect SecureStrings/secrets/references; default: any key of the account in the regions read. */
  kmsKeyArns?: string[];
  /** `discovery: 'describe'` lists levels with DescribeParameters. */
  discovery?: 'by-path' | 'describe';
  /** `checkForChanges()` (the operator, long-running servers): DescribeParameters and DescribeSecret. */
  checkForChanges?: boolean;
  /** Secrets Manager replica regions read on failover. */
  replicaRegions?: string[];
}

type PolicyCondition = Record<string, Record<string, string | string[]>>;

export interface PolicyStatement {
  Sid: string;
  Effect: 'Allow';
  Action: string[];
  Resource: string[] | string;
  Condition?: PolicyCondition;
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: PolicyStatement[];
}

const SM_REFERENCE = '/aws/reference/secretsmanager/';

/** Hierarchy spellings the loader asks for: as written, and kebab-case (`logLevel` → `log-level`). */
export function keyVariants(key: string): string[] {
  const kebab = key
    .split('.')
    .map((s) => s.replace(/([a-z0-9])([A-Z])/g, '$1-$2').toLowerCase())
    .join('.');
  return kebab === key ? [key] : [key, kebab];
}

const sorted = (set: Iterable<string>) => [...new Set(set)].sort();

export function buildIamPolicy(input: PolicyInput): PolicyDocument {
  const p = input.partition ?? 'aws';
  const { account } = input;
  const ssmRegions = new Set<string>();
  const smRegions = new Set<string>();
  const kmsRegions = new Set<string>();

  /** A parameter name or ARN → its ARN (region and account of an ARN kept). */
  const paramArn = (nameOrArn: string): string => {
    const arn = parseArn(nameOrArn);
    const region = arn?.region || input.region;
    const acct = arn?.account || account;
    const name = parameterName(nameOrArn);
    ssmRegions.add(region);
    return `arn:${p}:ssm:${region}:${acct}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  };
  const secretArn = (id: string): string => {
    const arn = parseArn(id);
    if (arn) {
      smRegions.add(arn.region);
      // a full ARN (with AWS's 6-character suffix) is exact; a partial one matches the suffix
      return /-[A-Za-z0-9]{6}$/.test(arn.resource) ? id : `${id}-??????`;
    }
    smRegions.add(input.region);
    return `arn:${p}:secretsmanager:${input.region}:${account}:secret:${secretName(id)}-??????`;
  };

  // ---- SSM
  const byPathRecursive = new Set<string>();
  const byPathOneLevel = new Set<string>();
  const byName = new Set<string>();
  for (const l of input.levels) {
    const arn = paramArn(l.path);
    if (l.recursive) {
      byPathRecursive.add(arn);
      byName.add(`${arn}/*`);
    } else byPathOneLevel.add(arn);
  }
  if (input.keys && input.keys.length > 0 && input.levels.length > 0) {
    for (const w of namesForKeys(input.levels, input.keys.flatMap(keyVariants))) {
      if (!input.levels[w.level]!.recursive) byName.add(paramArn(w.name));
    }
  }
  for (const n of input.parameterNames) byName.add(paramArn(n));

  const secretIds = new Set<string>();
  const kmsRefs: Array<{ context: Record<string, string> | undefined; esdk: boolean }> = [];
  for (const ref of input.references) {
    if (ref.service === 'ssm') {
      byName.add(paramArn(ref.name));
      const name = parameterName(ref.name);
      if (name.startsWith(SM_REFERENCE)) {
        const arn = parseArn(ref.name);
        const id = name.slice(SM_REFERENCE.length);
        secretIds.add(
          arn ? `arn:${arn.partition}:secretsmanager:${arn.region}:${arn.account}:secret:${id}` : id,
        );
      }
    } else if (ref.service === 'secretsmanager') secretIds.add(ref.secretId);
    else {
      let esdk = false;
      try {
        esdk = detectFormat(decodeCiphertext(ref.ciphertext)) === 'esdk';
      } catch {
        /* not base64: KMS would refuse it anyway */
      }
      kmsRefs.push({ context: ref.context, esdk });
    }
  }
  const describe = input.discovery === 'describe' || input.checkForChanges === true;

  const statements: PolicyStatement[] = [];
  if (byPathRecursive.size > 0) {
    statements.push({
      Sid: 'StrataListHierarchy',
      Effect: 'Allow',
      Action: ['ssm:GetParametersByPath'],
      Resource: sorted(byPathRecursive),
    });
  }
  if (byPathOneLevel.size > 0) {
    statements.push({
      Sid: 'StrataListAncestorLevelsOneLevelDeep',
      Effect: 'Allow',
      Action: ['ssm:GetParametersByPath'],
      Resource: sorted(byPathOneLevel),
      Condition: { StringNotEqualsIgnoreCase: { 'ssm:Recursive': 'true' } },
    });
  }
  if (byName.size > 0) {
    statements.push({
      Sid: 'StrataReadParameters',
      Effect: 'Allow',
      Action: ['ssm:GetParameters'],
      Resource: sorted(byName),
    });
  }
  if (describe && (input.levels.length > 0 || byName.size > 0)) {
    statements.push({
      Sid: 'StrataDescribeParameters',
      Effect: 'Allow',
      Action: ['ssm:DescribeParameters'],
      Resource: '*',
    });
  }
  if (secretIds.size > 0) {
    const arns = sorted([...secretIds].map(secretArn));
    for (const r of input.replicaRegions ?? []) smRegions.add(r);
    const replicas = (input.replicaRegions ?? []).flatMap((r) =>
      arns.map((a) => a.replace(/^(arn:[^:]+:secretsmanager:)[^:]+:/, `$1${r}:`)),
    );
    statements.push({
      Sid: 'StrataReadSecrets',
      Effect: 'Allow',
      Action: [
        'secretsmanager:GetSecretValue',
        ...(input.checkForChanges ? ['secretsmanager:DescribeSecret'] : []),
      ],
      Resource: sorted([...arns, ...replicas]),
    });
    statements.push({
      Sid: 'StrataBatchReadSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:BatchGetSecretValue'],
      Resource: '*',
    });
  }

  // ---- KMS
  const keysIn = (regions: Iterable<string>) =>
    input.kmsKeyArns && input.kmsKeyArns.length > 0
      ? sorted(input.kmsKeyArns)
      : sorted([...regions].map((r) => `arn:${p}:kms:${r}:${account}:key/*`));
  const via = sorted([
    ...[...ssmRegions].map((r) => `ssm.${r}.amazonaws.com`),
    ...(secretIds.size > 0 ? [...smRegions].map((r) => `secretsmanager.${r}.amazonaws.com`) : []),
  ]);
  if (via.length > 0) {
    statements.push({
      Sid: 'StrataDecryptViaServices',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: keysIn([...ssmRegions, ...(secretIds.size > 0 ? smRegions : [])]),
      Condition: { StringEquals: { 'kms:ViaService': via } },
    });
  }
  kmsRegions.add(input.region);
  const seen = new Set<string>();
  let n = 0;
  for (const r of kmsRefs) {
    const ctx = r.context && Object.keys(r.context).length > 0 ? r.context : undefined;
    let condition: PolicyCondition | undefined;
    if (ctx) {
      const eq: Record<string, string> = {};
      for (const k of Object.keys(ctx).sort()) eq[`kms:EncryptionContext:${k}`] = ctx[k]!;
      condition = { StringEquals: eq };
    } else if (!r.esdk) condition = { Null: { 'kms:EncryptionContextKeys': 'true' } };
    const id = JSON.stringify(condition ?? null);
    if (seen.has(id)) continue;
    seen.add(id);
    n++;
    statements.push({
      Sid: `StrataDecryptReferences${n}`,
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: keysIn(kmsRegions),
      ...(condition ? { Condition: condition } : {}),
    });
  }
  return { Version: '2012-10-17', Statement: statements };
}
