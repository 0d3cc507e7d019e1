// The public API of @strata/core, listed in README.md ("API"). Internals are not exported: tests
// import them from their `src/` modules.
export { parameterName, parseArn, secretName } from './aws/arn.js';
export { AwsBackend, type AwsBackendOptions } from './aws/backend.js';
export type { CallProgress } from './aws/caller.js';
export type * from './backend.js';
export {
  describeParseError,
  type ErrorCode,
  formatIssues,
  type Issue,
  isStrataError,
  issuesOf,
  loadFailed,
  StrataError,
} from './errors.js';
export {
  buildLevels,
  type HierarchyInput,
  type Level,
  type LevelSpec,
  namesForKeys,
  type Origin,
  type ReferenceAllowList,
  referenceBranchProblem,
  shortName,
  unsafeKeySegment,
} from './hierarchy/hierarchy.js';
export {
  type CiphertextFormat,
  createKmsCrypto,
  type DecryptResult,
  decodeCiphertext,
  detectFormat,
  type EncryptMode,
  type EncryptOptions,
  type EncryptResult,
  type KmsCacheOptions,
  type KmsCrypto,
  type KmsCryptoOptions,
  kmsReference,
  type ReEncryptOptions,
} from './kms/index.js';
export {
  LocalBackend,
  type LocalTree,
  localKmsCiphertext,
  parseLocalTree,
  parseYamlText,
  readLocalTree,
} from './local/backend.js';
export {
  formatReference,
  hasReference,
  parseReference,
  parseTemplate,
  type Reference,
  type TemplatePart,
} from './reference/parser.js';
export {
  createResolver,
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
export type { RetryOptions } from './retry.js';
export type { Runtime } from './runtime.js';
// Stats: the counters every Backend carries (a custom backend creates one)
export { Stats, type StatsSnapshot } from './stats.js';
