/**
 * The strata.dev/v1alpha1 resources, as TypeScript. The specs and statuses derive from the CRD
 * schemas in ./crd/ (the one source of truth; the chart's CRD YAML is generated from them too).
 */

import type { FromSchema } from './crd/from-schema.js';
import type { secretSyncSchema } from './crd/secretsync.js';
import type { sourcePolicySchema } from './crd/sourcepolicy.js';

export const GROUP = 'strata.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const FIELD_MANAGER = 'strata-operator';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'strata-operator';
export const SYNC_LABEL = 'strata.dev/secretsync';
export const HASH_ANNOTATION = 'strata.dev/content-hash';

export interface ObjectMeta {
  name: string;
  namespace?: string;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  creationTimestamp?: string;
  deletionTimestamp?: string;
}

type SecretSyncProps = (typeof secretSyncSchema)['properties'];
type SourcePolicyProps = (typeof sourcePolicySchema)['properties'];

export type SecretSyncSpec = FromSchema<SecretSyncProps['spec']>;
export type SecretSyncStatus = FromSchema<SecretSyncProps['status']>;
export type SyncSource = SecretSyncSpec['sources'][number];
/** Exactly one of `levels` and `template` is set (the CRD's CEL rules enforce it). */
export type HierarchySource = NonNullable<SyncSource['hierarchy']>;
/** Shared sources references inside hierarchy values may name although they lie in a sibling branch. */
export type AllowReferences = NonNullable<HierarchySource['allowReferences']>;
export type WorkloadRef = NonNullable<SecretSyncSpec['rollout']>[number];
export type Condition = NonNullable<SecretSyncStatus['conditions']>[number];

export interface SecretSync {
  apiVersion: typeof API_VERSION;
  kind: 'SecretSync';
  metadata: ObjectMeta;
  spec: SecretSyncSpec;
  status?: SecretSyncStatus;
}

export type SourcePolicySpec = FromSchema<SourcePolicyProps['spec']>;
export type LabelSelector = NonNullable<SourcePolicySpec['namespaces']['selector']>;

export interface SourcePolicy {
  apiVersion: typeof API_VERSION;
  kind: 'SourcePolicy';
  metadata: ObjectMeta;
  spec: SourcePolicySpec;
}
