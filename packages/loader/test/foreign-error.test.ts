import { describe, expect, it } from 'vitest';
import { describeForeignError } from '../src/foreign-error.js';

describe('an error that is not a StrataError', () => {
  const e = Object.assign(new ReferenceError('Unresolved alias: hunter2-secret'), { code: 'X_CODE' });

  it('is described by its class and code, never its message (it may quote input)', () => {
    const text = describeForeignError(e, {});
    expect(text).toContain('ReferenceError X_CODE');
    expect(text).not.toContain('hunter2');
    expect(text).toContain('STRATA_DEBUG=1');
  });

  it('shows its message only when asked with STRATA_DEBUG=1', () => {
    expect(describeForeignError(e, { STRATA_DEBUG: '1' })).toContain('Unresolved alias: hunter2-secret');
    expect(describeForeignError('plain string', {})).toContain('unexpected error (string)');
  });
});
