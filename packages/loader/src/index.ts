export {
  type EnvBlock,
  envBlockToReferences,
  parameterSpecToReference,
  parseBuildspecEnv,
  parseEnvFile,
  secretsManagerSpecToReference,
} from './buildspec.js';
export {
  type ConfigOptions,
  type KeySource,
  type LoadedConfig,
  loadConfig,
  loadConfigDetailed,
} from './config.js';
export { collectEnv, type EnvSources, resolveEnv } from './env.js';
export {
  buildIamPolicy,
  keyVariants,
  type PolicyDocument,
  type PolicyInput,
  type PolicyStatement,
} from './iam.js';
export { normalizeKey, schemaKeys } from './keys.js';
export { freezeMasked, MASK, maskedCopy } from './mask.js';
export {
  readSealedFile,
  type SealedValue,
  type SealOptions,
  type SealResult,
  sealText,
  unsealText,
} from './seal.js';
export {
  type ConfigChange,
  type ConfigHandle,
  type RefreshErrorInfo,
  type WatchOptions,
  watchConfig,
} from './watch.js';
