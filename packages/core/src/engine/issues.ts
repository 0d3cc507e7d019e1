/** Turning a failure into one issue of a LOAD_FAILED error (never a value). */
import { type Issue, isStrataError } from '../errors.js';

export function toIssue(err: unknown, key?: string, source?: string): Issue {
  if (isStrataError(err)) {
    const first = err.issues[0];
    return {
      code: err.code === 'LOAD_FAILED' ? (first?.code ?? 'AWS_ERROR') : err.code,
      message: err.message,
      ...(key !== undefined ? { key } : {}),
      ...((err.source ?? source) !== undefined ? { source: err.source ?? source } : {}),
    };
  }
  return {
    code: 'AWS_ERROR',
    message: err instanceof Error ? `${err.name}: ${err.message.slice(0, 200)}` : 'unknown error',
    ...(key !== undefined ? { key } : {}),
    ...(source !== undefined ? { source } : {}),
  };
}
