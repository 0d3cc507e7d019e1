/**
 * The issue-5 operator workload, as data (pure): 100 SSM parameters, 2 Secrets Manager secrets and
 * 1,000 SecretSync specs over 10 namespaces, with the expected content of every target Secret.
 *
 * - Parameters: `/bench/p000` … `/bench/p094` (read through `refs`) and `/bench/shared/p095` …
 *   `/bench/shared/p099` (read through the hierarchy level `/bench/shared`); every 4th one
 *   (p001, p005, …) is a SecureString.
 * - Dependents: p000–p009 have exactly 100 dependent SecretSyncs (the rotation targets); p010–p094
 *   have 50–100 (`50 + (37·p mod 51)`); the 5 shared ones have exactly 100 (every resource with
 *   r mod 10 = 3 reads the level). Ref parameters are dealt out to resources with a running cursor,
 *   so each resource holds 7 or 8 of them and a parameter's dependents span all 10 namespaces.
 * - Secrets: `bench/s0` (read by the 100 resources with r mod 10 = 5) and `bench/s1` (r mod 10 = 7),
 *   JSON `{ username, password }`, referenced as `…:SecretString:password`.
 */

const NAMESPACE_COUNT = 10;
const RESOURCE_COUNT = 1000;
const PARAM_COUNT = 100;
const SHARED_FROM = 95; // p095..p099 live under the hierarchy level
const SHARED_LEVEL = '/bench/shared';
export const SECRET_IDS = ['bench/s0', 'bench/s1'] as const;
const HOT_PARAMS = 10; // p000..p009: exactly 100 dependents each

const pad3 = (n: number) => String(n).padStart(3, '0');

const namespaceName = (i: number) => `bench-${i}`;
export const NAMESPACES = Array.from({ length: NAMESPACE_COUNT }, (_, i) => namespaceName(i));

export interface BenchParam {
  index: number;
  name: string;
  /** The Secret key it lands under (`p037`), whether by `refs` or by the hierarchy. */
  key: string;
  type: 'String' | 'SecureString';
  shared: boolean;
}

export const PARAMS: BenchParam[] = Array.from({ length: PARAM_COUNT }, (_, i) => {
  const shared = i >= SHARED_FROM;
  return {
    index: i,
    name: shared ? `${SHARED_LEVEL}/p${pad3(i)}` : `/bench/p${pad3(i)}`,
    key: `p${pad3(i)}`,
    type: i % 4 === 1 ? 'SecureString' : 'String',
    shared,
  };
});

const paramValue = (p: BenchParam, version: number) =>
  `${p.type === 'SecureString' ? 'secure' : 'plain'}-${p.key}-v${version}-${'x'.repeat(24)}`;
export const secretValue = (id: string, version: number) =>
  JSON.stringify({ username: `${id.replace('/', '-')}-user`, password: `${id}-pw-v${version}` });
export const secretKey = (id: string) => `${id.split('/')[1]}-password`;

/** Planned dependents of each ref parameter. */
function plannedDependents(p: number): number {
  if (p < HOT_PARAMS) return 100;
  return 50 + ((37 * p) % 51);
}

export interface BenchResource {
  index: number;
  namespace: string;
  name: string;
  key: string; // namespace/name
  target: string;
  /** Ref parameters (indexes into PARAMS). */
  refParams: number[];
  hierarchy: boolean;
  secret?: (typeof SECRET_IDS)[number];
  spec: Record<string, unknown>;
}

function buildResources(): BenchResource[] {
  const refs: number[][] = Array.from({ length: RESOURCE_COUNT }, () => []);
  let cursor = 0;
  for (let p = 0; p < SHARED_FROM; p++) {
    for (let k = 0; k < plannedDependents(p); k++) refs[(cursor + k) % RESOURCE_COUNT]!.push(p);
    cursor = (cursor + plannedDependents(p)) % RESOURCE_COUNT;
  }
  return refs.map((refParams, r) => {
    const namespace = namespaceName(r % NAMESPACE_COUNT);
    const name = `sync-${pad3(r)}`;
    const hierarchy = r % 10 === 3;
    const secret = r % 10 === 5 ? SECRET_IDS[0] : r % 10 === 7 ? SECRET_IDS[1] : undefined;
    const refMap: Record<string, string> = {};
    for (const p of refParams) refMap[PARAMS[p]!.key] = `<<resolve:ssm:${PARAMS[p]!.name}>>`;
    if (secret) refMap[secretKey(secret)] = `<<resolve:secretsmanager:${secret}:SecretString:password>>`;
    const sources: Array<Record<string, unknown>> = [{ refs: refMap }];
    if (hierarchy) sources.push({ hierarchy: { levels: [SHARED_LEVEL] } });
    return {
      index: r,
      namespace,
      name,
      key: `${namespace}/${name}`,
      target: `${name}-secret`,
      refParams,
      hierarchy,
      ...(secret ? { secret } : {}),
      spec: { target: { name: `${name}-secret` }, sources },
    };
  });
}

export const RESOURCES: BenchResource[] = buildResources();
export const RESOURCE_BY_TARGET = new Map(RESOURCES.map((r) => [`${r.namespace}/${r.target}`, r]));

/** Current values (version-aware): parameter name / secret id -> value. */
export class Truth {
  readonly params = new Map<string, string>();
  readonly secrets = new Map<string, string>(); // id -> password
  readonly versions = new Map<string, number>();

  constructor() {
    for (const p of PARAMS) this.setParam(p, 1);
    for (const s of SECRET_IDS) this.setSecret(s, 1);
  }

  setParam(p: BenchParam, version: number): string {
    const v = paramValue(p, version);
    this.params.set(p.name, v);
    this.versions.set(p.name, version);
    return v;
  }

  setSecret(id: string, version: number): string {
    const v = JSON.parse(secretValue(id, version)).password as string;
    this.secrets.set(id, v);
    this.versions.set(id, version);
    return v;
  }

  /** What the target Secret of `r` must hold (decoded). */
  expected(r: BenchResource): Record<string, string> {
    const out: Record<string, string> = {};
    for (const i of r.refParams) out[PARAMS[i]!.key] = this.params.get(PARAMS[i]!.name)!;
    if (r.hierarchy) for (const p of PARAMS.filter((x) => x.shared)) out[p.key] = this.params.get(p.name)!;
    if (r.secret) out[secretKey(r.secret)] = this.secrets.get(r.secret)!;
    return out;
  }
}

export function sameData(a: Record<string, string> | undefined, b: Record<string, string>): boolean {
  if (!a) return false;
  const ka = Object.keys(a);
  if (ka.length !== Object.keys(b).length) return false;
  return ka.every((k) => a[k] === b[k]);
}

/** Resources whose Secret depends on a parameter (from the specs), as `namespace/name` keys. */
export function dependentsOfParam(p: BenchParam): BenchResource[] {
  return RESOURCES.filter((r) => (p.shared ? r.hierarchy : r.refParams.includes(p.index)));
}

export function dependentsOfSecret(id: string): BenchResource[] {
  return RESOURCES.filter((r) => r.secret === id);
}

/** Facts about the specs, for the report. */
export function workloadFacts() {
  const deps = PARAMS.map((p) => dependentsOfParam(p).length);
  const sorted = [...deps].sort((a, b) => a - b);
  const refPairs = RESOURCES.reduce((n, r) => n + r.refParams.length + (r.secret ? 1 : 0), 0);
  const hierarchyPairs = RESOURCES.filter((r) => r.hierarchy).length * (PARAM_COUNT - SHARED_FROM);
  const keysPerResource = RESOURCES.map(
    (r) => r.refParams.length + (r.secret ? 1 : 0) + (r.hierarchy ? PARAM_COUNT - SHARED_FROM : 0),
  ).sort((a, b) => a - b);
  return {
    resources: RESOURCES.length,
    namespaces: NAMESPACE_COUNT,
    params: PARAMS.length,
    secureStrings: PARAMS.filter((p) => p.type === 'SecureString').length,
    refParams: SHARED_FROM,
    sharedParams: PARAM_COUNT - SHARED_FROM,
    secrets: SECRET_IDS.length,
    hierarchyResources: RESOURCES.filter((r) => r.hierarchy).length,
    secretResources: RESOURCES.filter((r) => r.secret).length,
    dependents: { min: sorted[0]!, median: sorted[Math.floor(sorted.length / 2)]!, max: sorted.at(-1)! },
    exactly100: deps.filter((d) => d === 100).length,
    keysPerResource: { min: keysPerResource[0]!, max: keysPerResource.at(-1)! },
    /** (resource, key) pairs: the calls per refresh of a peer that reads one key per call. */
    pairs: refPairs + hierarchyPairs,
    refPairs,
    hierarchyPairs,
    /**
     * Fewest calls a refresh can take with the API limits: ceil(95/10) GetParameters for the ref
     * parameters, 1 GetParametersByPath page for the 5 shared ones, 1 BatchGetSecretValue (2 ids).
     */
    lowerBound: Math.ceil(SHARED_FROM / 10) + 1 + 1,
  };
}
