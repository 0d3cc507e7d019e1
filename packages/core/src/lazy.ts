import { StrataError } from './errors.js';

/**
 * A module imported once, on first use, so that importing Strata does not load it. A failed
 * import (EMFILE under load, a broken install) fails that call with `UNAVAILABLE` naming the
 * module, and is tried again by the next call: it is never remembered.
 */
export function lazyModule<T>(service: string, name: string, load: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | undefined;
  return () => {
    pending ??= load().catch((err: unknown) => {
      pending = undefined;
      throw new StrataError('UNAVAILABLE', `${service}: the module ${name} could not be loaded`, {
        source: service,
        cause: err,
      });
    });
    return pending;
  };
}
