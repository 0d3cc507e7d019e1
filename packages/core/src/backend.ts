/**
 * The I/O boundary of @strata/core. A backend answers three kinds of questions; the AWS
 * backend (./aws) asks AWS, the local backend (./local) reads a file or directory. The resolver
 * (batching, caching, references, hierarchies) only talks to this interface.
 */
import type { StrataError } from './errors.js';
import type { Stats } from './stats.js';

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

/** A parameter to write (PutParameter). */
export interface PutParameterInput {
  /** Full name (or ARN). */
  name: string;
  value: string;
  type: ParameterType;
  /** Standard (values up to 4 KB) or Advanced (up to 8 KB). Default: the account's default tier. */
  tier?: 'Standard' | 'Advanced';
  /** KMS key for a SecureString (default: the account's `aws/ssm` key). */
  keyId?: string;
  /** Replace an existing parameter. Default true; with false an existing one is a VALIDATION error. */
  overwrite?: boolean;
}

export interface PutParameterResult {
  name: string;
  /** The version the write created. */
  version: number;
  tier?: string;
}

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
  /**
   * Writes one parameter. Both built-in backends can (AWS: PutParameter with Strata's rate limit,
   * timeouts and retries; local: the file or directory, atomically). A backend without it is
   * read-only: the CLI refuses to write through it.
   */
  putParameter?(input: PutParameterInput): Promise<PutParameterResult>;
}

export interface SecretBackend {
  readonly region: string;
  getSecrets(queries: SecretQuery[]): Promise<Outcome<SecretRecord>[]>;
  /** The version id currently holding AWSCURRENT (DescribeSecret), to skip unchanged values on refresh. */
  currentVersionId?(secretId: string): Promise<string | undefined>;
}

/** A KMS key: key id, key ARN, alias name (`alias/x`) or alias ARN. A key ARN picks its region. */
export type KmsKeyId = string;

export interface KmsEncryptInput {
  keyId: KmsKeyId;
  /** At most 4,096 bytes (KMS Encrypt's limit). */
  plaintext: Uint8Array;
  context?: Record<string, string>;
}

export interface KmsDecryptInput {
  ciphertext: Uint8Array;
  /** The key that must have encrypted it (required by AWS for asymmetric keys; checked when given). */
  keyId?: KmsKeyId;
  context?: Record<string, string>;
}

export interface KmsDataKeyInput {
  keyId: KmsKeyId;
  /** Data key length in bytes (32 for AES-256). */
  bytes: number;
  context?: Record<string, string>;
}

export interface KmsReEncryptInput {
  ciphertext: Uint8Array;
  toKeyId: KmsKeyId;
  /** The encryption context the ciphertext was encrypted with. */
  context?: Record<string, string>;
  /** The encryption context for the new ciphertext. Default: `context`. */
  toContext?: Record<string, string>;
}

/**
 * KMS for references and for envelope encryption (`../kms`). `decrypt` is all the resolver needs;
 * the optional operations are what `createKmsCrypto` and the CLI use (both the AWS and the local
 * backend have them). `keyId` in a result is the key ARN KMS reports. Implementations never log or
 * keep plaintexts.
 */
export interface KmsBackend {
  readonly region: string;
  decrypt(ciphertext: Uint8Array, context?: Record<string, string>): Promise<Uint8Array>;
  /** KMS Decrypt, also saying which key decrypted (the Encryption SDK checks it). */
  decryptWithKey?(input: KmsDecryptInput): Promise<{ keyId: string; plaintext: Uint8Array }>;
  /** KMS Encrypt (at most 4,096 bytes). */
  encrypt?(input: KmsEncryptInput): Promise<{ keyId: string; ciphertext: Uint8Array }>;
  /** KMS GenerateDataKey: a plaintext data key and the same key encrypted under `keyId`. */
  generateDataKey?(
    input: KmsDataKeyInput,
  ): Promise<{ keyId: string; plaintext: Uint8Array; ciphertext: Uint8Array }>;
  /** KMS ReEncrypt: decrypts and re-encrypts inside KMS; the plaintext never leaves it. */
  reEncrypt?(input: KmsReEncryptInput): Promise<{ keyId: string; ciphertext: Uint8Array }>;
  /** KMS GenerateRandom: 1 to 1,024 random bytes. */
  generateRandom?(bytes: number): Promise<Uint8Array>;
}

export interface Backend {
  readonly kind: 'aws' | 'local';
  readonly ssm: ParameterBackend;
  readonly secrets: SecretBackend;
  readonly kms: KmsBackend;
  /** Calls, retries, throttles and errors of this backend (a resolver over it adds its cache counters). */
  readonly stats: Stats;
  /**
   * Releases what the backend holds: the AWS backend destroys the SDK clients it created (clients
   * passed in are left open; a later call creates fresh ones); the local backend holds nothing.
   * Call it when done with the backend, not while calls are in flight.
   */
  close(): Promise<void>;
}
