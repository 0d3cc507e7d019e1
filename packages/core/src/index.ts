export { parameterName, parseArn, regionOf, secretName } from './aws/arn.js';
export { AwsBackend, type AwsBackendOptions } from './aws/backend.js';
export type { CallProgress } from './aws/caller.js';
export type * from './backend.js';
export * from './errors.js';
export * from './hierarchy/hierarchy.js';
export * from './kms/index.js';
export {
  LocalBackend,
  type LocalTree,
  localKmsCiphertext,
  parseLocalTree,
  parseYamlText,
  readLocalTree,
  writeFileAtomic,
} from './local/backend.js';
export { DEFAULT_RATE_LIMITS, RateLimiter } from './rate-limit.js';
export * from './reference/parser.js';
export {
  createResolver,
  extractJsonKey,
  type HierarchyEntry,
  type HierarchyResult,
  type LoadHierarchyOptions,
  type Resolved,
  type ResolveMapOptions,
  Resolver,
  type ResolverOptions,
  type SourceInfo,
  type SourceService,
} from './resolver.js';
export { DEFAULT_RETRY, fullJitterDelay, type RetryOptions, withRetry } from './retry.js';
export { type Runtime, systemRuntime } from './runtime.js';
export { Stats, type StatsSnapshot } from './stats.js';
