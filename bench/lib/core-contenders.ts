/**
 * Core scenario 1's contenders (issue 3): Strata in five modes, Powertools by name and by path,
 * and a hand-written floor, each loading the 200-key tree with or without the 50 references.
 */
import { SecretsProvider } from '@aws-lambda-powertools/parameters/secrets';
import { SSMProvider } from '@aws-lambda-powertools/parameters/ssm';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SSMClient } from '@aws-sdk/client-ssm';
import { type LoadHierarchyOptions, Resolver, type StatsSnapshot } from '@strata/core';
import {
  batchGetSecretsAllAtOnce,
  getParametersAllAtOnce,
  type RefFetchers,
  resolveRefsByHand,
} from './by-hand.js';
import { CREDENTIALS, LEVELS, prodParams, REGION, references, secrets, treeParams } from './workload.js';

export const TREE = treeParams();
export const PROD = prodParams();
const REFS = references();
export const SECRETS = secrets();
const REF_MAP = Object.fromEntries(REFS.map((r) => [r.key, r.ref]));
const TREE_NAMES = TREE.map((p) => p.name);
const TREE_KEYS = TREE.map((p) => p.key!);

/** What a correct load returns: parameter name -> value, and `ref:rNN` -> value. */
export function expected(withRefs: boolean): Map<string, string> {
  const m = new Map(TREE.map((p) => [p.name, p.value]));
  if (withRefs) for (const r of REFS) m.set(`ref:${r.key}`, r.expected);
  return m;
}

export interface RunOut {
  /** Canonical result: full parameter name (or `ref:rNN`) -> value. */
  values: Map<string, string>;
  /** Values handed back by the API used, before any merge. */
  raw: number;
  /** Strata: names AWS returned that the no-leak rule dropped. */
  ignored?: number;
  stats?: StatsSnapshot;
}

export interface Contender {
  id: string;
  label: string;
  strata: boolean;
  run(endpoint: string, withRefs: boolean): Promise<RunOut>;
}

/** Diagnostic knob: Strata's `aws.concurrency` (calls in flight per resolver); unset = the core's default. */
export const STRATA_CONCURRENCY = process.env.BENCH_STRATA_CONCURRENCY
  ? Number(process.env.BENCH_STRATA_CONCURRENCY)
  : undefined;
export const strataOptions = (endpoint: string) => ({
  aws: {
    endpoint,
    region: REGION,
    credentials: CREDENTIALS,
    ...(STRATA_CONCURRENCY ? { concurrency: STRATA_CONCURRENCY } : {}),
  },
});

function strataContender(
  id: string,
  label: string,
  mode: 'by-path' | 'describe' | 'keys' | 'names' | 'parameters',
): Contender {
  return {
    id,
    label,
    strata: true,
    async run(endpoint, withRefs) {
      const r = new Resolver({
        ...strataOptions(endpoint),
        discovery: mode === 'describe' ? 'describe' : 'by-path',
      });
      try {
        const values = new Map<string, string>();
        let raw = 0;
        let ignored = 0;
        if (mode === 'names') {
          // keys known as full parameter names (e.g. the origins of a previous load)
          const map: Record<string, string> = Object.fromEntries(
            TREE_NAMES.map((n) => [`tree:${n}`, `<<resolve:ssm:${n}>>`]),
          );
          if (withRefs) Object.assign(map, REF_MAP);
          const out = await r.resolveMap(map);
          for (const [k, v] of Object.entries(out)) {
            values.set(k.startsWith('tree:') ? k.slice(5) : `ref:${k}`, v.value);
            raw++;
          }
        } else {
          const [h, refs] = await Promise.all([
            r.loadHierarchy(
              { levels: [...LEVELS] },
              mode === 'keys'
                ? { keys: [...TREE_KEYS] }
                : mode === 'parameters'
                  ? // newer cores: full names from a previous load (`previous.parameterNames()`)
                    ({ parameters: [...TREE_NAMES] } as LoadHierarchyOptions)
                  : {},
            ),
            withRefs ? r.resolveMap(REF_MAP) : undefined,
          ]);
          for (const e of h.entries.values()) values.set(e.origin.parameter, e.value);
          for (const [k, v] of Object.entries(refs ?? {})) values.set(`ref:${k}`, v.value);
          raw = values.size;
          ignored = h.ignored.length;
          if (mode === 'parameters' && !('parameterNames' in h)) {
            throw new Error(
              'this @strata/core has no loadHierarchy({ parameters }) (it fell back to by-path)',
            );
          }
        }
        return { values, raw, ignored, stats: r.statsSnapshot() };
      } finally {
        r.close();
      }
    },
  };
}

/** Powertools providers over fresh SDK clients, plus the by-hand reference fetchers over them. */
export function powertools(endpoint: string) {
  const clientConfig = { endpoint, region: REGION, credentials: CREDENTIALS };
  const ssm = new SSMProvider({ clientConfig });
  const sm = new SecretsProvider({ clientConfig });
  const fetchers: RefFetchers = {
    async ssm(names) {
      const got = await ssm.getParametersByName<string>(Object.fromEntries(names.map((n) => [n, {}])), {
        decrypt: true,
      });
      return new Map(Object.entries(got).filter(([k]) => k !== '_errors') as Array<[string, string]>);
    },
    async secrets(ids) {
      const got = await Promise.all(ids.map((id) => sm.get(id)));
      return new Map(ids.map((id, i) => [id, String(got[i])]));
    },
  };
  const close = () => {
    ssm.client.destroy();
    sm.client.destroy();
  };
  return { ssm, fetchers, close };
}

const powertoolsByName: Contender = {
  id: 'pt-names',
  label: 'd. Powertools `getParametersByName` (200 names, decrypt)',
  strata: false,
  async run(endpoint, withRefs) {
    const pt = powertools(endpoint);
    try {
      const [got, refs] = await Promise.all([
        pt.ssm.getParametersByName<string>(Object.fromEntries(TREE_NAMES.map((n) => [n, {}])), {
          decrypt: true,
        }),
        withRefs ? resolveRefsByHand(REF_MAP, pt.fetchers) : undefined,
      ]);
      const values = new Map<string, string>();
      for (const [k, v] of Object.entries(got)) if (k !== '_errors') values.set(k, v as string);
      for (const [k, v] of refs ?? []) values.set(`ref:${k}`, v);
      return { values, raw: values.size };
    } finally {
      pt.close();
    }
  },
};

const powertoolsByPath: Contender = {
  id: 'pt-path',
  label: 'e. Powertools `getMultiple` by path ×3 levels (recursive, decrypt)',
  strata: false,
  async run(endpoint, withRefs) {
    const pt = powertools(endpoint);
    try {
      const [levels, refs] = await Promise.all([
        Promise.all(LEVELS.map((path) => pt.ssm.getMultiple(path, { recursive: true, decrypt: true }))),
        withRefs ? resolveRefsByHand(REF_MAP, pt.fetchers) : undefined,
      ]);
      const values = new Map<string, string>();
      let raw = 0;
      levels.forEach((got, i) => {
        for (const [rel, v] of Object.entries(got ?? {})) {
          values.set(`${LEVELS[i]}/${rel}`, v as string);
          raw++;
        }
      });
      for (const [k, v] of refs ?? []) values.set(`ref:${k}`, v);
      return { values, raw: raw + (refs?.size ?? 0) };
    } finally {
      pt.close();
    }
  },
};

const floor: Contender = {
  id: 'floor',
  label: 'f. Floor: raw `SSMClient`, all 20 GetParameters(10) at once',
  strata: false,
  async run(endpoint, withRefs) {
    const cfg = { endpoint, region: REGION, credentials: CREDENTIALS };
    const ssm = new SSMClient(cfg);
    const sm = new SecretsManagerClient(cfg);
    try {
      const [got, refs] = await Promise.all([
        getParametersAllAtOnce(ssm, TREE_NAMES),
        withRefs
          ? resolveRefsByHand(REF_MAP, {
              ssm: (names) => getParametersAllAtOnce(ssm, names),
              secrets: (ids) => batchGetSecretsAllAtOnce(sm, ids),
            })
          : undefined,
      ]);
      const values = new Map(got);
      for (const [k, v] of refs ?? []) values.set(`ref:${k}`, v);
      return { values, raw: values.size };
    } finally {
      ssm.destroy();
      sm.destroy();
    }
  },
};

export const CONTENDERS: Contender[] = [
  strataContender('strata-path', 'a. Strata, discovery by path (`by-path`)', 'by-path'),
  strataContender('strata-describe', 'b. Strata, discovery `describe`', 'describe'),
  strataContender(
    'strata-keys',
    'c. Strata, known keys (`loadHierarchy(h, { keys })`, 200 relative keys)',
    'keys',
  ),
  strataContender(
    'strata-parameters',
    'c3. Strata, known parameter names (`loadHierarchy(h, { parameters })`, the 200 full names)',
    'parameters',
  ),
  strataContender(
    'strata-names',
    'c2. Strata, known full names (`resolveMap` of 200 `ssm:` refs; diagnostic)',
    'names',
  ),
  powertoolsByName,
  powertoolsByPath,
  floor,
];
