/** Resolves environment references: values containing `<<resolve:…>>`, buildspec env blocks, env files. */
import { hasReference, type Resolver } from '@strata/core';
import { parseBuildspecEnv, parseEnvFile } from './buildspec.js';
import { readFileChecked } from './read-file.js';

export interface EnvSources {
  /** Base environment (default process.env); its values with references are resolved too. */
  base?: Record<string, string | undefined>;
  /** buildspec.yml (or a Strata file with an `env` block). */
  buildspec?: string;
  /** dotenv file (`node --env-file` syntax, see `parseEnvFile`); values may contain references. */
  envFile?: string;
  /**
   * Reads a file's text instead of the file system (e.g. the CLI's `-` for stdin); return
   * undefined to read the file. `what` is `env file` or `buildspec`.
   */
  read?: (path: string, what: 'env file' | 'buildspec') => string | undefined;
}

function readText(path: string, what: 'env file' | 'buildspec', read: EnvSources['read']): string {
  return read?.(path, what) ?? readFileChecked(path, what).toString('utf8');
}

/** The unresolved environment: base < env file < buildspec (later wins). */
export function collectEnv(src: EnvSources): Record<string, string> {
  // null prototype: Object.assign and `out[k] =` store a `__proto__` variable as an entry
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(src.base ?? process.env)) if (v !== undefined) out[k] = v;
  if (src.envFile) Object.assign(out, parseEnvFile(readText(src.envFile, 'env file', src.read), src.envFile));
  if (src.buildspec)
    Object.assign(out, parseBuildspecEnv(readText(src.buildspec, 'buildspec', src.read), src.buildspec));
  return out;
}

/**
 * Resolves every value that contains a reference. All-or-nothing: on any failure one error
 * lists every failing variable, and nothing is returned (no partial environment).
 */
export async function resolveEnv(
  env: Record<string, string>,
  resolver: Resolver,
): Promise<{ env: Record<string, string>; resolved: string[]; secret: string[] }> {
  const withRefs = Object.fromEntries(Object.entries(env).filter(([, v]) => hasReference(v)));
  const out: Record<string, string> = Object.assign(Object.create(null), env);
  if (Object.keys(withRefs).length === 0) return { env: out, resolved: [], secret: [] };
  const resolved = await resolver.resolveMap(withRefs);
  const secret: string[] = [];
  for (const [k, r] of Object.entries(resolved)) {
    out[k] = r.value;
    if (r.secret) secret.push(k);
  }
  return { env: out, resolved: Object.keys(resolved).sort(), secret: secret.sort() };
}
