/** What the engine hands back: resolved values and where they came from (never the value in `SourceInfo`). */

export type SourceService = 'ssm' | 'secretsmanager' | 'kms';

/** Where a resolved value came from. Never holds the value. */
export interface SourceInfo {
  service: SourceService;
  /** Parameter name, secret id, or `kms`. */
  id: string;
  reference?: string;
  version?: string;
}

export interface Resolved {
  value: string;
  /** True when any part came from a SecureString, Secrets Manager or KMS. */
  secret: boolean;
  sources: SourceInfo[];
}
