/**
 * One error family for Strata. Every error has a stable `code`; a load that fails carries
 * every problem at once in `issues` (like zod's ZodError). Messages name keys, parameters and
 * references, never values.
 */

export type ErrorCode =
  /** A `<<resolve:…>>` reference or template could not be parsed. */
  | 'PARSE_ERROR'
  /** Bad input from the caller: options, templates, a hierarchy variable left unfilled. */
  | 'INVALID_INPUT'
  /** A parameter, secret, version, label, stage or JSON key does not exist. */
  | 'NOT_FOUND'
  /** AWS refused the call (IAM, KMS key policy, SCP). Not retried. */
  | 'ACCESS_DENIED'
  /**
   * A reference inside a value a hierarchy loaded names a sibling branch of that hierarchy (the
   * no-leak rule) and is not on the allow-list. Never fetched.
   */
  | 'REFERENCE_DENIED'
  /** AWS rejected the request as invalid (bad name, wrong type, wrong encryption context). Not retried. */
  | 'VALIDATION'
  /** Throttled and out of retries. */
  | 'THROTTLED'
  /** A timeout, connection reset or 5xx, out of retries. */
  | 'UNAVAILABLE'
  /** A reference resolves back to itself. */
  | 'CYCLE'
  /** References nest deeper than the limit. */
  | 'DEPTH_EXCEEDED'
  /** A value is not what the reference asked for (e.g. ssm-secure on a String). */
  | 'TYPE_MISMATCH'
  /** Decryption failed (wrong key or encryption context, corrupt ciphertext). */
  | 'DECRYPT_FAILED'
  /**
   * AWS (or something between: a proxy, a load balancer) answered with a response Strata cannot
   * use: not JSON, a required field missing or of the wrong type. Not retried.
   */
  | 'BAD_RESPONSE'
  /** Several problems; see `issues`. */
  | 'LOAD_FAILED'
  /** Anything else from AWS. */
  | 'AWS_ERROR';

export interface Issue {
  code: Exclude<ErrorCode, 'LOAD_FAILED'>;
  /** The config key the problem is about (`db.url`), when there is one. */
  key?: string;
  /** The source: parameter name, secret id or printed reference. Never a value. */
  source?: string;
  message: string;
}

export interface StrataErrorOptions {
  cause?: unknown;
  issues?: Issue[];
  source?: string;
  key?: string;
  /** Character offset in the parsed input (PARSE_ERROR). */
  position?: number;
  /** The reference chain for CYCLE / DEPTH_EXCEEDED. */
  chain?: string[];
}

export class StrataError extends Error {
  override name = 'StrataError';
  readonly code: ErrorCode;
  readonly issues: Issue[];
  readonly source: string | undefined;
  readonly key: string | undefined;
  readonly position: number | undefined;
  readonly chain: string[] | undefined;

  constructor(code: ErrorCode, message: string, opts: StrataErrorOptions = {}) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.code = code;
    this.source = opts.source;
    this.key = opts.key;
    this.position = opts.position;
    this.chain = opts.chain;
    this.issues =
      opts.issues ??
      (code === 'LOAD_FAILED'
        ? []
        : [
            {
              code,
              message,
              ...(opts.key === undefined ? {} : { key: opts.key }),
              ...(opts.source === undefined ? {} : { source: opts.source }),
            },
          ]);
  }

  /** True for errors worth retrying (throttling, timeouts, resets, 5xx). */
  get retryable(): boolean {
    return this.code === 'THROTTLED' || this.code === 'UNAVAILABLE';
  }

  toJSON(): { name: string; code: ErrorCode; message: string; issues: Issue[] } {
    return { name: this.name, code: this.code, message: this.message, issues: this.issues };
  }
}

export function isStrataError(err: unknown): err is StrataError {
  return err instanceof StrataError;
}

/** Formats a list of issues, one per line: `- db.url (/app/dev/db/url): NOT_FOUND parameter not found`. */
export function formatIssues(issues: readonly Issue[]): string {
  return issues
    .map((i) => {
      const where = [i.key, i.source && i.key !== i.source ? `(${i.source})` : undefined]
        .filter(Boolean)
        .join(' ');
      return `- ${where ? `${where}: ` : ''}${i.message} [${i.code}]`;
    })
    .join('\n');
}

/** One error for many problems: "3 problems loading config:\n- …". */
export function loadFailed(issues: Issue[], what = 'loading configuration'): StrataError {
  const n = issues.length;
  return new StrataError(
    'LOAD_FAILED',
    `${n} problem${n === 1 ? '' : 's'} ${what}:\n${formatIssues(issues)}`,
    {
      issues,
    },
  );
}

/**
 * The issues an error stands for, each tagged with `key` (and `source`) where it has none: for
 * aggregating many failures into one `loadFailed`. A foreign error becomes one AWS_ERROR issue
 * whose message is cut short (it is not ours and could say anything).
 */
export function issuesOf(err: unknown, key: string, source?: string): Issue[] {
  if (isStrataError(err)) {
    return err.issues.map((i) => ({
      ...i,
      key: i.key ?? key,
      ...(i.source || source ? { source: i.source ?? source } : {}),
    }));
  }
  return [
    { code: 'AWS_ERROR', key, message: err instanceof Error ? err.message.slice(0, 200) : 'unknown error' },
  ];
}

/**
 * A YAML/JSON parse error as text that quotes nothing of the document (the parser's own message
 * can quote the offending text, which may be a secret): its position and code only.
 */
export function describeParseError(err: unknown): string {
  const e = (err ?? {}) as { code?: unknown; linePos?: Array<{ line: number; col: number }> };
  const at = e.linePos?.[0] ? `at line ${e.linePos[0].line}, column ${e.linePos[0].col}` : 'somewhere';
  return `${at}${typeof e.code === 'string' ? ` (${e.code})` : ''}`;
}
