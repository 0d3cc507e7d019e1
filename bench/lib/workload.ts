/**
 * The issue-3 workload, as data: the 200-key `/acme/shop/dev` tree, 120 prod keys that must
 * never surface, 20 Secrets Manager secrets and 50 references; plus the 1,000-key tree of the
 * quota scenario. Seeding goes straight to moto (not through the fault proxy), concurrently.
 */
import { CreateSecretCommand, SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { type ParameterType, PutParameterCommand, SSMClient } from '@aws-sdk/client-ssm';

export const REGION = 'us-east-1';
export const CREDENTIALS = { accessKeyId: 'testing', secretAccessKey: 'testing' };

export const LEVELS = ['/acme', '/acme/shop', '/acme/shop/dev'] as const;
export const PROD_PATH = '/acme/shop/prod';
export const LEAK_MARKER = 'PROD-LEAK';

export interface Param {
  name: string;
  value: string;
  type: ParameterType;
  /** Hierarchy key (`db.k00`) for the 200 tree keys; undefined for prod and reference parameters. */
  key?: string;
}

const DEV_GROUPS = ['db', 'cache', 'api', 'queue', 'feature', 'log'];
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** /acme: 20 flat keys (4 SecureString); /acme/shop: 60 flat (12); /acme/shop/dev: 120 nested one level (24). */
export function treeParams(): Param[] {
  const out: Param[] = [];
  for (let i = 0; i < 20; i++) {
    out.push({
      name: `/acme/g${pad(i)}`,
      key: `g${pad(i)}`,
      value: `acme-g${pad(i)}`,
      type: i < 4 ? 'SecureString' : 'String',
    });
  }
  for (let i = 0; i < 60; i++) {
    out.push({
      name: `/acme/shop/s${pad(i)}`,
      key: `s${pad(i)}`,
      value: `shop-s${pad(i)}`,
      type: i < 12 ? 'SecureString' : 'String',
    });
  }
  for (const g of DEV_GROUPS) {
    for (let i = 0; i < 20; i++) {
      out.push({
        name: `/acme/shop/dev/${g}/k${pad(i)}`,
        key: `${g}.k${pad(i)}`,
        value: `dev-${g}-k${pad(i)}`,
        type: i < 4 ? 'SecureString' : 'String',
      });
    }
  }
  return out;
}

/** 120 keys under /acme/shop/prod: 100 mirroring dev's nested keys, 20 flat. Values carry LEAK_MARKER. */
export function prodParams(): Param[] {
  const out: Param[] = [];
  for (const g of DEV_GROUPS.slice(0, 5)) {
    for (let i = 0; i < 20; i++) {
      out.push({
        name: `${PROD_PATH}/${g}/k${pad(i)}`,
        value: `${LEAK_MARKER}-${g}-k${pad(i)}`,
        type: i < 4 ? 'SecureString' : 'String',
      });
    }
  }
  for (let i = 0; i < 20; i++) {
    out.push({ name: `${PROD_PATH}/p${pad(i)}`, value: `${LEAK_MARKER}-p${pad(i)}`, type: 'String' });
  }
  return out;
}

export interface SecretDef {
  id: string;
  json: Record<string, string>;
}

export function secrets(): SecretDef[] {
  return Array.from({ length: 20 }, (_, i) => ({
    id: `bench/acme/svc${pad(i)}`,
    json: {
      username: `user-${pad(i)}`,
      password: `pw-${pad(i)}-${'x'.repeat(24)}`,
      host: `svc${pad(i)}.internal`,
      port: String(5400 + i),
    },
  }));
}

/**
 * Parameters the references go through, outside the hierarchy (so by-path loads never see them):
 * /shared/refs/outerN -> <<resolve:ssm:/shared/refs/innerN>> -> <<resolve:secretsmanager:…:host>>
 * (nested two deep), and five SecureString tokens for ssm-secure.
 */
export function refParams(): Param[] {
  const out: Param[] = [];
  for (let i = 0; i < 10; i++) {
    out.push({
      name: `/shared/refs/outer${pad(i)}`,
      value: `<<resolve:ssm:/shared/refs/inner${pad(i)}>>`,
      type: 'String',
    });
    out.push({
      name: `/shared/refs/inner${pad(i)}`,
      value: `<<resolve:secretsmanager:bench/acme/svc${pad(i)}:SecretString:host>>`,
      type: 'String',
    });
  }
  for (let i = 0; i < 5; i++) {
    out.push({ name: `/shared/refs/token${pad(i)}`, value: `token-${pad(i)}`, type: 'SecureString' });
  }
  return out;
}

export interface RefDef {
  key: string;
  ref: string;
  expected: string;
}

/**
 * 50 references: 20 `password` + 15 `username` JSON keys over the 20 secrets (several references
 * per secret), 10 nested two deep (ssm -> ssm -> secretsmanager `host`), 5 ssm-secure tokens.
 */
export function references(): RefDef[] {
  const s = secrets();
  const out: RefDef[] = [];
  for (let i = 0; i < 20; i++) {
    out.push({
      key: `r${pad(out.length)}`,
      ref: `<<resolve:secretsmanager:${s[i]!.id}:SecretString:password>>`,
      expected: s[i]!.json.password!,
    });
  }
  for (let i = 0; i < 15; i++) {
    out.push({
      key: `r${pad(out.length)}`,
      ref: `<<resolve:secretsmanager:${s[i]!.id}:SecretString:username>>`,
      expected: s[i]!.json.username!,
    });
  }
  for (let i = 0; i < 10; i++) {
    out.push({
      key: `r${pad(out.length)}`,
      ref: `<<resolve:ssm:/shared/refs/outer${pad(i)}>>`,
      expected: s[i]!.json.host!,
    });
  }
  for (let i = 0; i < 5; i++) {
    out.push({
      key: `r${pad(out.length)}`,
      ref: `<<resolve:ssm-secure:/shared/refs/token${pad(i)}>>`,
      expected: `token-${pad(i)}`,
    });
  }
  return out;
}

export const BULK_LEVEL = '/bulk/app/dev';
/** The quota scenario: 1,000 flat String keys under one level. */
export function bulkParams(): Param[] {
  return Array.from({ length: 1000 }, (_, i) => ({
    name: `${BULK_LEVEL}/k${pad(i, 4)}`,
    key: `k${pad(i, 4)}`,
    value: `bulk-${pad(i, 4)}`,
    type: 'String' as const,
  }));
}

/** Runs `fn` over `items` with at most `n` in flight. */
export async function pool<T, R>(items: T[], n: number, fn: (t: T) => Promise<R>): Promise<R[]> {
  const out: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

export async function seedParams(motoEndpoint: string, params: Param[]): Promise<void> {
  const ssm = new SSMClient({ endpoint: motoEndpoint, region: REGION, credentials: CREDENTIALS });
  try {
    await pool(params, 16, (p) =>
      ssm.send(new PutParameterCommand({ Name: p.name, Value: p.value, Type: p.type, Overwrite: true })),
    );
  } finally {
    ssm.destroy();
  }
}

export async function seedSecrets(motoEndpoint: string, defs: SecretDef[]): Promise<void> {
  const sm = new SecretsManagerClient({ endpoint: motoEndpoint, region: REGION, credentials: CREDENTIALS });
  try {
    await pool(defs, 16, (d) =>
      sm.send(new CreateSecretCommand({ Name: d.id, SecretString: JSON.stringify(d.json) })),
    );
  } finally {
    sm.destroy();
  }
}
