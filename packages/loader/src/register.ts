/**
 * Preload: `node --import @strata/loader/register app.js` resolves environment references into
 * process.env before the app starts. Reads `STRATA_BUILDSPEC` and `STRATA_ENV_FILE` when set;
 * `STRATA_LOCAL` points at a local tree instead of AWS; `STRATA_TIMEOUT` bounds the AWS work in
 * seconds (default 30). On failure it prints one error listing every failing variable and exits
 * 78 (EX_CONFIG) before the app runs.
 */
import { createResolver, isStrataError, StrataError } from '@strata/core';
import { collectEnv, resolveEnv } from './env.js';
import { describeForeignError } from './foreign-error.js';

try {
  const env = collectEnv({
    ...(process.env.STRATA_BUILDSPEC ? { buildspec: process.env.STRATA_BUILDSPEC } : {}),
    ...(process.env.STRATA_ENV_FILE ? { envFile: process.env.STRATA_ENV_FILE } : {}),
  });
  // the same bound as the CLI's --timeout: STRATA_TIMEOUT seconds (default 30) for all AWS work
  const timeoutS = Number(process.env.STRATA_TIMEOUT ?? '30');
  const ms = Number.isFinite(timeoutS) && timeoutS > 0 ? Math.min(timeoutS * 1000, 2 ** 31 - 1) : 30_000;
  const deadline = new AbortController();
  setTimeout(
    () => deadline.abort(new StrataError('UNAVAILABLE', `gave up after ${ms / 1000} s (STRATA_TIMEOUT)`)),
    ms,
  ).unref();
  const resolver = createResolver(
    process.env.STRATA_LOCAL
      ? { local: process.env.STRATA_LOCAL }
      : {
          aws: {
            deadlineMs: ms,
            signal: deadline.signal,
          },
        },
  );
  const { env: resolved } = await resolveEnv(env, resolver);
  for (const [k, v] of Object.entries(resolved)) process.env[k] = v;
  resolver.close();
} catch (err) {
  process.stderr.write(`strata: ${isStrataError(err) ? err.message : describeForeignError(err)}\n`);
  process.exit(78);
}
