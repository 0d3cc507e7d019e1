/**
 * Pure helpers of the AWS backend: batching, grouping, and turning SDK shapes into Strata's
 * records (after `./shape.ts` has checked them). No I/O.
 */
import type { Parameter } from '@aws-sdk/client-ssm';
import type { ParameterQuery, ParameterRecord, ParameterType, SecretRecord } from '../backend.js';
import { parameterName } from './arn.js';
import { asParameterType } from './shape.js';

/** GetParameters takes at most 10 names. */
export const SSM_BATCH = 10;
/** BatchGetSecretValue takes at most 20 ids. */
export const SM_BATCH = 20;

export function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

export function groupBy<T>(items: T[], key: (t: T) => string): Map<string, T[]> {
  const m = new Map<string, T[]>();
  for (const it of items) {
    const k = key(it);
    const list = m.get(k);
    if (list) list.push(it);
    else m.set(k, [it]);
  }
  return m;
}

/** A parameter the shape check passed (Name and Value are strings). */
export function toRecord(p: Parameter): ParameterRecord {
  return {
    name: p.Name!,
    value: p.Value ?? '',
    type: asParameterType(p.Type) as ParameterType,
    version: p.Version ?? 0,
    ...(p.LastModifiedDate ? { lastModifiedDate: p.LastModifiedDate } : {}),
    ...(p.ARN ? { arn: p.ARN } : {}),
    ...(p.SourceResult ? { fromSecretsManager: true } : {}),
  };
}

const SM_REFERENCE = '/aws/reference/secretsmanager/';

/**
 * Does a returned parameter answer this query? AWS echoes the selector (`:3`, `:label`) in
 * `Selector`; moto does not, so a version is checked against `Version`, and a label is accepted
 * on the name alone (moto gap). `/aws/reference/secretsmanager/ID` comes back named `ID` in moto.
 */
export function matchesQuery(p: Parameter, q: ParameterQuery): boolean {
  const sel = q.version !== undefined ? `:${q.version}` : q.label !== undefined ? `:${q.label}` : '';
  const wantName = parameterName(q.name);
  const nameOk =
    p.Name === q.name ||
    p.ARN === q.name ||
    p.Name === wantName ||
    p.Name === wantName.slice(1) ||
    (q.name.startsWith(SM_REFERENCE) && p.Name === q.name.slice(SM_REFERENCE.length));
  if (!nameOk) return false;
  if (p.Selector !== undefined && p.Selector !== '') return p.Selector === sel;
  if (q.version !== undefined) return p.Version === q.version;
  return true;
}

/** A Secrets Manager value (from BatchGetSecretValue or GetSecretValue) as a record for the id asked. */
export function toSecretRecord(
  id: string,
  sv: {
    Name?: string;
    ARN?: string;
    VersionId?: string;
    VersionStages?: string[];
    SecretString?: string;
    SecretBinary?: Uint8Array;
  },
): SecretRecord {
  return {
    id,
    name: sv.Name!,
    arn: sv.ARN!,
    versionId: sv.VersionId ?? '',
    stages: sv.VersionStages ?? [],
    ...(sv.SecretString !== undefined ? { secretString: sv.SecretString } : {}),
    ...(sv.SecretBinary !== undefined ? { secretBinary: sv.SecretBinary } : {}),
  };
}

/** `name`, `name:3` or `name:label`: how a query is written in GetParameters and in messages. */
export function queryString(q: ParameterQuery): string {
  if (q.version !== undefined) return `${q.name}:${q.version}`;
  if (q.label !== undefined) return `${q.name}:${q.label}`;
  return q.name;
}
