/**
 * The scale workload (issue 12), as data (pure): 1,000 SSM parameters, 100 Secrets Manager secrets
 * and 10,000 sync objects in 100 namespaces, with the expected content of every target Secret.
 * Both peers get the same specs: Strata as SecretSyncs, External Secrets Operator as
 * ExternalSecrets (see ../lib/eso.ts), each in its own 100 namespaces (`<prefix>-00` … `-99`).
 *
 * - Parameters `/scale/p0000` … `/scale/p0999`; every 10th one (p0001, p0011, …) a SecureString.
 * - Secrets `scale/s000` … `scale/s099`, JSON `{ username, password }`.
 * - Object r (0 … 9,999) lives in namespace `r mod 100`, is named `sync-NNNN` and writes the Secret
 *   `sync-NNNN-secret` with 3 keys: parameters `r mod 1000` and `(r + 500) mod 1000`, and the
 *   `password` of secret `floor(r / 100)`. So every parameter has 20 dependents and every secret
 *   exactly 100 (spread over all 100 namespaces): rotating one secret updates 100 Secrets.
 */

export const NAMESPACE_COUNT = 100;
const RESOURCE_COUNT = 10_000;
const PARAM_COUNT = 1_000;
const SECRET_COUNT = 100;
const PARAM_PREFIX = '/scale';
const SECRET_PREFIX = 'scale/';

const pad = (n: number, w: number) => String(n).padStart(w, '0');

export const namespaceName = (prefix: string, i: number) => `${prefix}-${pad(i, 2)}`;
export const namespaces = (prefix: string) =>
  Array.from({ length: NAMESPACE_COUNT }, (_, i) => namespaceName(prefix, i));

export interface ScaleParam {
  index: number;
  name: string;
  key: string;
  type: 'String' | 'SecureString';
}

export const PARAMS: ScaleParam[] = Array.from({ length: PARAM_COUNT }, (_, i) => ({
  index: i,
  name: `${PARAM_PREFIX}/p${pad(i, 4)}`,
  key: `p${pad(i, 4)}`,
  type: i % 10 === 1 ? 'SecureString' : 'String',
}));

export const SECRET_IDS: string[] = Array.from(
  { length: SECRET_COUNT },
  (_, i) => `${SECRET_PREFIX}s${pad(i, 3)}`,
);

const paramValue = (p: ScaleParam, version: number) => `${p.key}-v${version}-${'x'.repeat(20)}`;
const secretString = (id: string, version: number) =>
  JSON.stringify({ username: `${id.replace('/', '-')}-user`, password: `${id}-pw-v${version}` });
/** The Secret key a resource's secret value lands under. */
export const SECRET_KEY = 'password';

export interface ScaleResource {
  index: number;
  /** Namespace index (0 … 99); the namespace name depends on the peer's prefix. */
  ns: number;
  name: string;
  target: string;
  params: [number, number];
  secret: number;
}

export const RESOURCES: ScaleResource[] = Array.from({ length: RESOURCE_COUNT }, (_, r) => ({
  index: r,
  ns: r % NAMESPACE_COUNT,
  name: `sync-${pad(r, 4)}`,
  target: `sync-${pad(r, 4)}-secret`,
  params: [r % PARAM_COUNT, (r + PARAM_COUNT / 2) % PARAM_COUNT],
  secret: Math.floor(r / (RESOURCE_COUNT / SECRET_COUNT)),
}));

/** Dependents of secret `s` (exactly 100). */
export const dependentsOfSecret = (s: number) => RESOURCES.filter((r) => r.secret === s);

/** The SecretSync spec of a resource (Strata). */
export function secretSyncSpec(r: ScaleResource, refreshInterval: string): Record<string, unknown> {
  const refs: Record<string, string> = {};
  for (const p of r.params) refs[PARAMS[p]!.key] = `<<resolve:ssm:${PARAMS[p]!.name}>>`;
  refs[SECRET_KEY] = `<<resolve:secretsmanager:${SECRET_IDS[r.secret]}:SecretString:${SECRET_KEY}>>`;
  return { target: { name: r.target }, refreshInterval, sources: [{ refs }] };
}

/** The equivalent ExternalSecret spec (ESO v1beta1): one data entry per key, two ClusterSecretStores. */
export function externalSecretSpec(
  r: ScaleResource,
  refreshInterval: string,
  stores: { ssm: string; secretsManager: string },
): Record<string, unknown> {
  const store = (name: string) => ({ storeRef: { kind: 'ClusterSecretStore', name } });
  return {
    refreshInterval,
    secretStoreRef: { kind: 'ClusterSecretStore', name: stores.ssm },
    target: { name: r.target, creationPolicy: 'Owner' },
    data: [
      ...r.params.map((p) => ({
        secretKey: PARAMS[p]!.key,
        remoteRef: { key: PARAMS[p]!.name },
        sourceRef: store(stores.ssm),
      })),
      {
        secretKey: SECRET_KEY,
        remoteRef: { key: SECRET_IDS[r.secret], property: SECRET_KEY },
        sourceRef: store(stores.secretsManager),
      },
    ],
  };
}

/** Current values: parameter name / secret id -> value (versioned). */
export class Truth {
  readonly params = new Map<string, string>();
  readonly passwords = new Map<string, string>();
  readonly versions = new Map<string, number>();

  constructor() {
    for (const p of PARAMS) this.setParam(p, 1);
    for (const s of SECRET_IDS) this.setSecret(s, 1);
  }

  setParam(p: ScaleParam, version: number): string {
    const v = paramValue(p, version);
    this.params.set(p.name, v);
    this.versions.set(p.name, version);
    return v;
  }

  /** Records the new version of a secret; returns its SecretString. */
  setSecret(id: string, version: number): string {
    const s = secretString(id, version);
    this.passwords.set(id, (JSON.parse(s) as { password: string }).password);
    this.versions.set(id, version);
    return s;
  }

  expected(r: ScaleResource): Record<string, string> {
    const out: Record<string, string> = {};
    for (const p of r.params) out[PARAMS[p]!.key] = this.params.get(PARAMS[p]!.name)!;
    out[SECRET_KEY] = this.passwords.get(SECRET_IDS[r.secret]!)!;
    return out;
  }
}

/** True when `got` holds exactly the expected keys and values. */
export function sameData(got: Record<string, string> | undefined, want: Record<string, string>): boolean {
  if (!got) return false;
  const keys = Object.keys(got);
  return keys.length === Object.keys(want).length && keys.every((k) => got[k] === want[k]);
}

/**
 * Fewest AWS calls one full refresh can take, from the API limits: GetParameters takes 10 names,
 * BatchGetSecretValue 20 ids.
 */
export const LOWER_BOUND = {
  GetParameters: Math.ceil(PARAM_COUNT / 10),
  BatchGetSecretValue: Math.ceil(SECRET_COUNT / 20),
  total: Math.ceil(PARAM_COUNT / 10) + Math.ceil(SECRET_COUNT / 20),
};

/** (object, key) pairs: what a peer that reads one key per call pays per full refresh. */
export const KEY_PAIRS = RESOURCES.length * 3;
