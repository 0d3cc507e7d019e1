import { isStrataError } from '@strata/core';
import { KubeError } from './kube.js';

/** A failure as one line for logs, status and Events: our own messages, never a foreign stack or a value. */
export function errMessage(err: unknown): string {
  if (isStrataError(err)) return err.message;
  if (err instanceof KubeError) return err.message;
  if (err instanceof Error) return err.message.slice(0, 300);
  return 'unknown error';
}
