/**
 * Checks of AWS response shapes. The SDK types every field as optional and turns a JSON `null`
 * into `undefined`, so a 200 with a missing or wrong field (a proxy in the way, a broken
 * emulator, a truncated rewrite) would otherwise surface as "Cannot read properties of undefined"
 * far from the call, or as silently missing keys. Each check throws StrataError `BAD_RESPONSE`
 * naming the operation, the source and the field — never a value.
 */
import type { ParameterType } from '../backend.js';
import { StrataError } from '../errors.js';

export function badResponse(op: string, source: string, what: string): StrataError {
  return new StrataError(
    'BAD_RESPONSE',
    `${op} ${source}: unexpected response from AWS (${what}); is a proxy or load balancer in the way?`,
    { source },
  );
}

const TYPES = new Set<string>(['String', 'StringList', 'SecureString']);

function isRecord(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === 'object' && !Array.isArray(v);
}

/** `value[field]` must be an array (of records); returns it. */
export function arrayField(
  value: unknown,
  field: string,
  op: string,
  source: string,
  required = true,
): Record<string, unknown>[] {
  if (!isRecord(value)) throw badResponse(op, source, 'no response body');
  const v = value[field];
  if (v === undefined && !required) return [];
  if (!Array.isArray(v))
    throw badResponse(op, source, `${field} is ${v === undefined ? 'missing' : 'not a list'}`);
  v.forEach((item, i) => {
    if (!isRecord(item)) throw badResponse(op, source, `${field}[${i}] is not an object`);
  });
  return v as Record<string, unknown>[];
}

/** A string field; `optional` allows it to be absent. */
export function stringField(
  item: Record<string, unknown>,
  field: string,
  where: string,
  op: string,
  source: string,
  optional = false,
): string | undefined {
  const v = item[field];
  if (v === undefined && optional) return undefined;
  if (typeof v !== 'string' || (!optional && v === '' && field !== 'Value' && field !== 'SecretString'))
    throw badResponse(
      op,
      source,
      `${where}.${field} is ${v === undefined ? 'missing' : 'not a valid string'}`,
    );
  return v;
}

/** A parameter as returned by GetParameters / GetParametersByPath. */
function checkParameter(item: Record<string, unknown>, where: string, op: string, source: string): void {
  stringField(item, 'Name', where, op, source);
  stringField(item, 'Value', where, op, source);
  const type = item.Type;
  if (type !== undefined && !(typeof type === 'string' && TYPES.has(type)))
    throw badResponse(op, source, `${where}.Type is not String, StringList or SecureString`);
  const version = item.Version;
  if (version !== undefined && !(typeof version === 'number' && Number.isInteger(version) && version >= 0))
    throw badResponse(op, source, `${where}.Version is not a version number`);
  stringField(item, 'ARN', where, op, source, true);
  stringField(item, 'Selector', where, op, source, true);
}

/** The parameters of a GetParameters / GetParametersByPath page, checked. */
export function checkParameters(out: unknown, op: string, source: string): void {
  arrayField(out, 'Parameters', op, source).forEach((p, i) => {
    checkParameter(p, `Parameters[${i}]`, op, source);
  });
}

/** A pagination token: a string, and never the one just used (that would page forever). */
export function checkNextToken(
  out: unknown,
  seen: Set<string>,
  op: string,
  source: string,
): string | undefined {
  const token = (out as { NextToken?: unknown }).NextToken;
  if (token === undefined || token === '') return undefined;
  if (typeof token !== 'string') throw badResponse(op, source, 'NextToken is not a string');
  if (seen.has(token)) throw badResponse(op, source, 'NextToken repeats a page already read');
  seen.add(token);
  return token;
}

/** A secret value as returned by GetSecretValue or in BatchGetSecretValue's SecretValues. */
export function checkSecretValue(
  item: Record<string, unknown>,
  where: string,
  op: string,
  source: string,
): void {
  stringField(item, 'Name', where, op, source);
  stringField(item, 'ARN', where, op, source);
  stringField(item, 'VersionId', where, op, source, true);
  stringField(item, 'SecretString', where, op, source, true);
  const stages = item.VersionStages;
  if (stages !== undefined && !(Array.isArray(stages) && stages.every((s) => typeof s === 'string')))
    throw badResponse(op, source, `${where}.VersionStages is not a list of strings`);
  const bin = item.SecretBinary;
  if (bin !== undefined && !(bin instanceof Uint8Array))
    throw badResponse(op, source, `${where}.SecretBinary is not binary`);
}

export function asParameterType(t: unknown): ParameterType {
  return (typeof t === 'string' && TYPES.has(t) ? t : 'String') as ParameterType;
}
