/**
 * The I/O boundary of @strata/core. A backend answers three kinds of questions; the AWS
 * backend (./aws) asks AWS, the local backend (./local) reads a file or directory. The resolver
 * (batching, caching, references, hierarchies) only talks to this interface.
 */
import type { StrataError } from './errors.js';

export type ParameterType = 'String' | 'StringList' | 'SecureString';

export interface ParameterRecord {
  name: string;
  value: string;
  type: ParameterType;
  version: number;
  lastModifiedDate?: Date;
  arn?: string;
  /** For `/aws/reference/secretsmanager/…`: the value came from Secrets Manager. */
  fromSecretsManager?: boolean;
}

/** A parameter asked for by name: `name`, `name:3` (version) or `name:label`. */
export interface ParameterQuery {
  /** Name or full ARN. */
  name: string;
  version?: number;
  label?: string;
}

export interface SecretRecord {
  /** The id as requested (name or ARN). */
  id: string;
  name: string;
  arn: string;
  versionId: string;
  stages: string[];
  secretString?: string;
  secretBinary?: Uint8Array;
}

export interface SecretQuery {
  secretId: string;
  versionStage?: string;
  versionId?: string;
}

export type Outcome<T> = { ok: true; value: T } | { ok: false; error: StrataError };

export interface ParameterBackend {
  /** Region used when a name is not an ARN. */
  readonly region: string;
  /** Fetches parameters by name, decrypted. One outcome per query, in order. */
  getParameters(queries: ParameterQuery[]): Promise<Outcome<ParameterRecord>[]>;
  /** Lists and fetches (decrypted) every parameter under `path`. */
  getParametersByPath(path: string, opts: { recursive: boolean }): Promise<ParameterRecord[]>;
  /** Versions of the parameters under `path` without their values, when the backend can (DescribeParameters). */
  describeByPath?(
    path: string,
    opts: { recursive: boolean },
  ): Promise<Array<{ name: string; version: number }>>;
}

export interface SecretBackend {
  readonly region: string;
  getSecrets(queries: SecretQuery[]): Promise<Outcome<SecretRecord>[]>;
  /** The version id currently holding AWSCURRENT (DescribeSecret), to skip unchanged values on refresh. */
  currentVersionId?(secretId: string): Promise<string | undefined>;
}

export interface KmsBackend {
  readonly region: string;
  decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array>;
}

export interface Backend {
  readonly kind: 'aws' | 'local';
  readonly ssm: ParameterBackend;
  readonly secrets: SecretBackend;
  readonly kms: KmsBackend;
}
