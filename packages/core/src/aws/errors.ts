/** Maps AWS SDK errors onto Strata's error codes. Messages name the operation and source, never values. */
import { type ErrorCode, StrataError } from '../errors.js';

const THROTTLE = new Set([
  'ThrottlingException',
  'Throttling',
  'ThrottledException',
  'TooManyRequestsException',
  'RequestLimitExceeded',
  'RequestThrottled',
  'RequestThrottledException',
  'ProvisionedThroughputExceededException',
  'LimitExceededException',
]);
const UNAVAILABLE = new Set([
  'InternalServerError',
  'InternalServerErrorException',
  'InternalFailure',
  'InternalError',
  'InternalServiceError',
  'InternalServiceErrorException',
  'ServiceUnavailable',
  'ServiceUnavailableException',
  'KMSInternalException',
  'DependencyTimeoutException',
  'TimeoutError',
  'RequestTimeout',
  'RequestTimeoutException',
]);
const NOT_FOUND = new Set([
  'ParameterNotFound',
  'ParameterVersionNotFound',
  'ResourceNotFoundException',
  'NotFoundException',
  'NotFoundError',
]);
const DENIED = new Set([
  'AccessDeniedException',
  'AccessDenied',
  'UnauthorizedOperation',
  'UnrecognizedClientException',
]);
const DECRYPT = new Set(['InvalidCiphertextException', 'IncorrectKeyException', 'KMSInvalidStateException']);
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'EPIPE',
  'ETIMEDOUT',
  'EAI_AGAIN',
  'ECONNABORTED',
  'UND_ERR_SOCKET',
]);

interface SdkLikeError {
  name?: string;
  code?: string;
  message?: string;
  $metadata?: { httpStatusCode?: number };
  $retryable?: unknown;
  $response?: { headers?: Record<string, string | undefined> };
}

/** The SDK could not parse the body (JSON.parse failed: an HTML page, a truncated body). */
function isUnparseable(e: SdkLikeError): boolean {
  return e.name === 'SyntaxError' || /Deserialization error/.test(e.message ?? '');
}

export function classifyAwsError(err: unknown): ErrorCode {
  if (err instanceof StrataError) return err.code;
  const e = (err ?? {}) as SdkLikeError;
  const name = e.name ?? '';
  const status = e.$metadata?.httpStatusCode;
  if (THROTTLE.has(name) || status === 429) return 'THROTTLED';
  if (NOT_FOUND.has(name)) return 'NOT_FOUND';
  if (DENIED.has(name) || status === 403) return 'ACCESS_DENIED';
  if (DECRYPT.has(name)) return 'DECRYPT_FAILED';
  if (UNAVAILABLE.has(name) || (status !== undefined && status >= 500)) return 'UNAVAILABLE';
  if (name === 'AbortError' || (e.code !== undefined && NETWORK_CODES.has(e.code))) return 'UNAVAILABLE';
  if (isUnparseable(e) && (status === undefined || status < 400)) return 'BAD_RESPONSE';
  if (/socket hang up|ECONNRESET|EPIPE|network|timed? ?out/i.test(e.message ?? '') && status === undefined)
    return 'UNAVAILABLE';
  if (status !== undefined && status >= 400 && status < 500) return 'VALIDATION';
  return 'AWS_ERROR';
}

/** Wraps an SDK error: `ssm:GetParameters /app/db/url: ParameterNotFound`. */
export function toStrataError(err: unknown, operation: string, source: string): StrataError {
  if (err instanceof StrataError) return err;
  const code = classifyAwsError(err);
  const e = (err ?? {}) as SdkLikeError;
  if (isUnparseable(e)) {
    // JSON.parse's message quotes a piece of the body, which could be part of a value: never shown.
    const status = e.$metadata?.httpStatusCode;
    const ctype = e.$response?.headers?.['content-type'];
    const what = `HTTP ${status ?? '?'} with a body that is not AWS JSON${ctype ? ` (${ctype.split(';')[0]})` : ''}`;
    return new StrataError(
      code,
      code === 'BAD_RESPONSE'
        ? `${operation} ${source}: unexpected response from AWS (${what}); is a proxy or load balancer in the way?`
        : `${operation} ${source}: ${what}`,
      { source }, // no cause: the SDK's error holds the body
    );
  }
  const what = e.name && e.name !== 'Error' ? e.name : (e.code ?? 'error');
  // AWS error messages describe the request (ARNs, actions), not parameter values; cap them anyway.
  const detail = e.message ? `: ${e.message.slice(0, 300)}` : '';
  // a batch names up to 10 parameters (or 20 secrets): keep them, but bounded
  const where = source.length > 600 ? `${source.slice(0, 600)}…` : source;
  return new StrataError(code, `${operation} ${where}: ${what}${detail}`, { cause: err, source: where });
}
