/** The data types of the reference grammar (see `./parser.ts` for the grammar). */

export type SsmReference = {
  service: 'ssm';
  name: string;
  secure: boolean;
  version?: number;
  label?: string;
};
export type SecretsManagerReference = {
  service: 'secretsmanager';
  secretId: string;
  jsonKey?: string;
  versionStage?: string;
  versionId?: string;
};
export type KmsReference = { service: 'kms'; ciphertext: string; context?: Record<string, string> };
export type Reference = SsmReference | SecretsManagerReference | KmsReference;
export type TemplatePart =
  | { kind: 'text'; text: string }
  | { kind: 'ref'; ref: Reference; raw: string; start: number; end: number };

/** A reference opens with this and closes with `>>`. */
export const OPEN = '<<resolve:';
export const CLOSE = '>>';

/**
 * Where text being parsed came from, when it is not the caller's own input: a value read from a
 * source (a parameter, a secret, a KMS plaintext). Errors then name `what` and `source` and echo
 * nothing of the text.
 */
export interface ParseOrigin {
  /** How to name the text in a message: `the value of ssm parameter /acme/dev/db/url`. */
  what: string;
  /** The source to put in the error's `source`: the parameter name or secret id. */
  source: string;
}

export interface ParseOptions {
  origin?: ParseOrigin;
}
