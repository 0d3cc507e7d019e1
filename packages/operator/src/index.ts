/**
 * The public API of @strata/operator. The operator is an application (the `strata-operator`
 * executable the chart runs); this exports what embedding it or writing its resources in
 * TypeScript needs, and nothing else. Tests import internals from their modules.
 */
export { operatorFromEnv } from './main.js';
export { Operator, type OperatorOptions } from './operator.js';
export {
  type AllowReferences,
  API_VERSION,
  type Condition,
  GROUP,
  type HierarchySource,
  type LabelSelector,
  type ObjectMeta,
  type SecretSync,
  type SecretSyncSpec,
  type SecretSyncStatus,
  type SourcePolicy,
  type SourcePolicySpec,
  type SyncSource,
  VERSION,
  type WorkloadRef,
} from './types.js';
