/**
 * Preload: `node --import @strata/loader/register app.js` resolves environment references into
 * process.env before the app starts. Reads `STRATA_BUILDSPEC` and `STRATA_ENV_FILE` when set;
 * `STRATA_LOCAL` points at a local tree instead of AWS. On failure it prints one error listing
 * every failing variable and exits 78 (EX_CONFIG) before the app runs.
 */
import { createResolver, isStrataError } from '@strata/core';
import { collectEnv, resolveEnv } from './env.js';

try {
  const env = collectEnv({
    ...(process.env.STRATA_BUILDSPEC ? { buildspec: process.env.STRATA_BUILDSPEC } : {}),
    ...(process.env.STRATA_ENV_FILE ? { envFile: process.env.STRATA_ENV_FILE } : {}),
  });
  const resolver = createResolver(process.env.STRATA_LOCAL ? { local: process.env.STRATA_LOCAL } : {});
  const { env: resolved } = await resolveEnv(env, resolver);
  for (const [k, v] of Object.entries(resolved)) process.env[k] = v;
  resolver.close();
} catch (err) {
  // not ours: cut short (it could say anything)
  process.stderr.write(`strata: ${isStrataError(err) ? err.message : String(err).slice(0, 200)}\n`);
  process.exit(78);
}
