/** ARN helpers: calls for a resource ARN go to that ARN's region. */
export interface Arn {
  partition: string;
  service: string;
  region: string;
  account: string;
  resource: string;
}

export function parseArn(value: string): Arn | undefined {
  if (!value.startsWith('arn:')) return undefined;
  const parts = value.split(':');
  if (parts.length < 6) return undefined;
  const [, partition, service, region, account] = parts as [string, string, string, string, string];
  return { partition, service, region, account, resource: parts.slice(5).join(':') };
}

export function regionOf(nameOrArn: string, fallback: string): string {
  const arn = parseArn(nameOrArn);
  return arn?.region ? arn.region : fallback;
}

/** `arn:aws:ssm:…:parameter/a/b` → `/a/b`; a parameter name is returned as it is. */
export function parameterName(nameOrArn: string): string {
  const arn = parseArn(nameOrArn);
  if (arn?.service !== 'ssm') return nameOrArn;
  return `/${arn.resource.replace(/^parameter\/?/, '')}`;
}

/** `arn:aws:secretsmanager:…:secret:prod/db-AbCdEf` → `prod/db` (AWS's 6-character suffix dropped); a name as it is. */
export function secretName(idOrArn: string): string {
  const arn = parseArn(idOrArn);
  if (arn?.service !== 'secretsmanager') return idOrArn;
  return arn.resource.replace(/^secret:/, '').replace(/-[A-Za-z0-9]{6}$/, '');
}
