/**
 * Least-privilege IAM policy for what a config reads. Pure.
 * - SSM: ssm:GetParameters and ssm:GetParameter on the parameter ARNs read by name;
 *   ssm:GetParametersByPath on each hierarchy level (the level's ARN and, for recursive
 *   levels, `level/*`); `/aws/reference/secretsmanager/ID` needs secretsmanager:GetSecretValue too.
 * - Secrets Manager: secretsmanager:GetSecretValue on each secret (name + `-??????` suffix when
 *   given by name), secretsmanager:BatchGetSecretValue on `*` (AWS evaluates the per-secret
 *   GetSecretValue; BatchGetSecretValue has no resource type).
 * - KMS: kms:Decrypt on the KMS keys with a `kms:ViaService` condition for SSM and Secrets
 *   Manager (SecureStrings and secrets are decrypted by those services on your behalf), and a
 *   separate unconditioned statement when `<<resolve:kms:…>>` references are decrypted directly.
 */
import { type Level, parseArn, type Reference } from '@strata/core';

export interface PolicyInput {
  region: string;
  account: string;
  partition?: string;
  levels: Level[];
  /** Parameter names fetched directly (known keys). */
  parameterNames: string[];
  references: Reference[];
  /** KMS key ARNs that protect SecureStrings/secrets; default: any key, via the services only. */
  kmsKeyArns?: string[];
}

export interface PolicyDocument {
  Version: '2012-10-17';
  Statement: Array<{
    Sid: string;
    Effect: 'Allow';
    Action: string[];
    Resource: string[] | string;
    Condition?: Record<string, Record<string, string[]>>;
  }>;
}

export function buildIamPolicy(input: PolicyInput): PolicyDocument {
  const p = input.partition ?? 'aws';
  const paramArn = (name: string) => {
    const arn = parseArn(name);
    if (arn) return name.replace(/:\d+$|:[A-Za-z][\w.-]*$/, (m) => (name.split(':').length > 6 ? '' : m));
    return `arn:${p}:ssm:${input.region}:${input.account}:parameter${name.startsWith('/') ? '' : '/'}${name}`;
  };
  const secretArn = (id: string) => {
    if (parseArn(id)) return id;
    return `arn:${p}:secretsmanager:${input.region}:${input.account}:secret:${id}-??????`;
  };
  const byName = new Set<string>(input.parameterNames.map(paramArn));
  const secretIds = new Set<string>();
  let directKms = false;
  for (const ref of input.references) {
    if (ref.service === 'ssm') {
      if (ref.name.startsWith('/aws/reference/secretsmanager/')) {
        secretIds.add(ref.name.slice('/aws/reference/secretsmanager/'.length));
        byName.add(`arn:${p}:ssm:${input.region}:${input.account}:parameter/aws/reference/secretsmanager/*`);
      } else byName.add(paramArn(ref.name));
    } else if (ref.service === 'secretsmanager') secretIds.add(ref.secretId);
    else directKms = true;
  }
  const pathResources = new Set<string>();
  for (const l of input.levels) {
    const base = `arn:${p}:ssm:${input.region}:${input.account}:parameter${l.path}`;
    pathResources.add(base);
    if (l.recursive) pathResources.add(`${base}/*`);
  }
  const statements: PolicyDocument['Statement'] = [];
  if (pathResources.size > 0) {
    statements.push({
      Sid: 'StrataReadHierarchy',
      Effect: 'Allow',
      Action: ['ssm:GetParametersByPath'],
      Resource: [...pathResources].sort(),
    });
  }
  if (byName.size > 0) {
    statements.push({
      Sid: 'StrataReadParameters',
      Effect: 'Allow',
      Action: ['ssm:GetParameter', 'ssm:GetParameters'],
      Resource: [...byName].sort(),
    });
  }
  if (secretIds.size > 0) {
    statements.push({
      Sid: 'StrataReadSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
      Resource: [...secretIds].map(secretArn).sort(),
    });
    statements.push({
      Sid: 'StrataBatchReadSecrets',
      Effect: 'Allow',
      Action: ['secretsmanager:BatchGetSecretValue'],
      Resource: '*',
    });
  }
  const keys =
    input.kmsKeyArns && input.kmsKeyArns.length > 0
      ? [...input.kmsKeyArns].sort()
      : [`arn:${p}:kms:${input.region}:${input.account}:key/*`];
  const via = [
    ...(pathResources.size > 0 || byName.size > 0 ? [`ssm.${input.region}.amazonaws.com`] : []),
    ...(secretIds.size > 0 ? [`secretsmanager.${input.region}.amazonaws.com`] : []),
  ];
  if (via.length > 0) {
    statements.push({
      Sid: 'StrataDecryptViaServices',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: keys,
      Condition: { StringEquals: { 'kms:ViaService': via } },
    });
  }
  if (directKms)
    statements.push({
      Sid: 'StrataDecryptReferences',
      Effect: 'Allow',
      Action: ['kms:Decrypt'],
      Resource: keys,
    });
  return { Version: '2012-10-17', Statement: statements };
}
