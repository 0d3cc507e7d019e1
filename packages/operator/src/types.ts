/** The strata.dev/v1alpha1 resources, as TypeScript. Kept in step with charts/strata-operator's CRDs. */
export const GROUP = 'strata.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const SECRETSYNC_PLURAL = 'secretsyncs';
export const SOURCEPOLICY_PLURAL = 'sourcepolicies';
export const FIELD_MANAGER = 'strata-operator';
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'strata-operator';
export const SYNC_LABEL = 'strata.dev/secretsync';
export const HASH_ANNOTATION = 'strata.dev/content-hash';
export const ROLLOUT_ANNOTATION = 'strata.dev/restarted-for';

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

/** Shared sources references inside hierarchy values may name although they lie in a sibling branch. */
export interface AllowReferences {
  ssm?: string[];
  secretsManager?: string[];
}

export type HierarchySource =
  | {
      levels: string[];
      template?: undefined;
      vars?: undefined;
      keys?: string[];
      prefix?: string;
      allowReferences?: AllowReferences;
    }
  | {
      template: string;
      vars?: Record<string, string>;
      levels?: undefined;
      keys?: string[];
      prefix?: string;
      allowReferences?: AllowReferences;
    };

export interface SyncSource {
  hierarchy?: HierarchySource;
  refs?: Record<string, string>;
  secretJSON?: { secretId: string; versionStage?: string; prefix?: string };
}

export interface WorkloadRef {
  kind: 'Deployment' | 'StatefulSet' | 'DaemonSet';
  name: string;
}

export interface Condition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface SecretSyncSpec {
  target: {
    name: string;
    type?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
  sources: SyncSource[];
  refreshInterval?: string;
  creationPolicy?: 'Owner' | 'Merge' | 'Adopt';
  deletionPolicy?: 'Delete' | 'Retain';
  rollout?: WorkloadRef[];
}

export interface SecretSyncStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  lastSyncTime?: string;
  contentHash?: string;
  sourceVersions?: Array<{ source: string; version: string }>;
  syncedKeys?: number;
}

export interface SecretSync {
  apiVersion: typeof API_VERSION;
  kind: 'SecretSync';
  metadata: ObjectMeta;
  spec: SecretSyncSpec;
  status?: SecretSyncStatus;
}

export interface LabelSelector {
  matchLabels?: Record<string, string>;
  matchExpressions?: Array<{
    key: string;
    operator: 'In' | 'NotIn' | 'Exists' | 'DoesNotExist';
    values?: string[];
  }>;
}

export interface SourcePolicySpec {
  namespaces: { names?: string[]; selector?: LabelSelector };
  ssm?: { paths: string[] };
  secretsManager?: { names: string[] };
  kms?: { keyIds: string[] };
}

export interface SourcePolicy {
  apiVersion: typeof API_VERSION;
  kind: 'SourcePolicy';
  metadata: ObjectMeta;
  spec: SourcePolicySpec;
}
