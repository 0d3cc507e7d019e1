/**
 * The public API of @strata/loader (listed in the README's "API" section; nothing else is
 * exported). The preload is `@strata/loader/register`, the CLI `@strata/loader/cli` and the
 * `strata` bin.
 */
export { type EnvBlock, envBlockToReferences, parseBuildspecEnv } from './buildspec.js';
export {
  type ConfigOptions,
  type KeySource,
  type LoadedConfig,
  loadConfig,
  loadConfigDetailed,
} from './config.js';
export { collectEnv, type EnvSources, resolveEnv } from './env.js';
export { buildIamPolicy, type PolicyDocument, type PolicyInput, type PolicyStatement } from './iam.js';
export {
  type ConfigChange,
  type ConfigHandle,
  type RefreshErrorInfo,
  type WatchOptions,
  watchConfig,
} from './watch.js';
