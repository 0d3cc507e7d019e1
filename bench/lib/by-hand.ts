/**
 * What a user without Strata writes to resolve `<<resolve:…>>` references: a small loop that,
 * depth by depth, collects the SSM names and secret ids still needed, fetches them (all of one
 * depth at once), substitutes and repeats. The fetchers decide how the calls are made: raw SDK
 * calls sent all at once (the floor), or Powertools' providers.
 *
 * Covers only what the benchmark uses: `ssm:NAME`, `ssm-secure:NAME`,
 * `secretsmanager:ID:SecretString:JSON-KEY`.
 */
import { BatchGetSecretValueCommand, type SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { GetParametersCommand, type SSMClient } from '@aws-sdk/client-ssm';

const REF = /<<resolve:(ssm|ssm-secure|secretsmanager):([^>]+)>>/g;

export interface RefFetchers {
  /** Decrypted values by name. */
  ssm(names: string[]): Promise<Map<string, string>>;
  /** SecretString by id. */
  secrets(ids: string[]): Promise<Map<string, string>>;
}

export async function resolveRefsByHand(
  refs: Record<string, string>,
  fetch: RefFetchers,
  maxDepth = 5,
): Promise<Map<string, string>> {
  const ssmValues = new Map<string, string>();
  const secretValues = new Map<string, string>();
  const current = new Map(Object.entries(refs));
  /** Replaces every reference whose value is known, again and again while that changes anything. */
  const substitute = () => {
    for (const [k, v] of current) {
      let before: string;
      let after = v;
      let rounds = 0;
      do {
        before = after;
        after = before.replace(REF, (whole, svc: string, body: string) => {
          if (svc !== 'secretsmanager') return ssmValues.get(body) ?? whole;
          const [id, , jsonKey] = body.split(':');
          const raw = secretValues.get(id!);
          if (raw === undefined) return whole;
          return jsonKey ? String((JSON.parse(raw) as Record<string, unknown>)[jsonKey]) : raw;
        });
      } while (after !== before && ++rounds < 10);
      current.set(k, after);
    }
  };
  for (let depth = 0; depth < maxDepth; depth++) {
    substitute(); // values already fetched (a secret seen at an earlier depth) need no call
    const names = new Set<string>();
    const ids = new Set<string>();
    for (const v of current.values()) {
      for (const m of v.matchAll(REF)) {
        if (m[1] === 'secretsmanager') ids.add(m[2]!.split(':')[0]!);
        else names.add(m[2]!);
      }
    }
    if (names.size === 0 && ids.size === 0) break;
    const [p, s] = await Promise.all([
      names.size > 0 ? fetch.ssm([...names]) : new Map<string, string>(),
      ids.size > 0 ? fetch.secrets([...ids]) : new Map<string, string>(),
    ]);
    for (const [k, v] of p) ssmValues.set(k, v);
    for (const [k, v] of s) secretValues.set(k, v);
  }
  substitute();
  return current;
}

function chunk<T>(items: T[], size: number): T[][] {
  const out: T[][] = [];
  for (let i = 0; i < items.length; i += size) out.push(items.slice(i, i + size));
  return out;
}

/** GetParameters(10 names, WithDecryption) for every chunk at once. */
export async function getParametersAllAtOnce(ssm: SSMClient, names: string[]): Promise<Map<string, string>> {
  const pages = await Promise.all(
    chunk(names, 10).map((c) => ssm.send(new GetParametersCommand({ Names: c, WithDecryption: true }))),
  );
  const out = new Map<string, string>();
  for (const page of pages) for (const p of page.Parameters ?? []) out.set(p.Name!, p.Value ?? '');
  return out;
}

/** BatchGetSecretValue(20 ids) for every chunk at once. */
export async function batchGetSecretsAllAtOnce(
  sm: SecretsManagerClient,
  ids: string[],
): Promise<Map<string, string>> {
  const pages = await Promise.all(
    chunk(ids, 20).map((c) => sm.send(new BatchGetSecretValueCommand({ SecretIdList: c }))),
  );
  const out = new Map<string, string>();
  for (const page of pages) for (const s of page.SecretValues ?? []) out.set(s.Name!, s.SecretString ?? '');
  return out;
}

/**
 * Like getParametersAllAtOnce, but waits for every call to settle (a rejected `Promise.all` would
 * leave the SDK's retries of the other calls running into whatever is measured next) and reports
 * the chunks that failed instead of throwing.
 */
export async function getParametersAllSettled(
  ssm: SSMClient,
  names: string[],
): Promise<{ values: Map<string, string>; failedCalls: number; firstError?: string }> {
  const pages = await Promise.allSettled(
    chunk(names, 10).map((c) => ssm.send(new GetParametersCommand({ Names: c, WithDecryption: true }))),
  );
  const values = new Map<string, string>();
  let failedCalls = 0;
  let firstError: string | undefined;
  for (const page of pages) {
    if (page.status === 'rejected') {
      failedCalls++;
      const e = page.reason as Error;
      firstError ??= `${e.name}: ${e.message.slice(0, 120)}`;
      continue;
    }
    for (const p of page.value.Parameters ?? []) values.set(p.Name!, p.Value ?? '');
  }
  return { values, failedCalls, ...(firstError ? { firstError } : {}) };
}
