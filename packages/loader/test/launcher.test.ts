/**
 * The package's `strata` bin is a checked-in launcher (npm links bins at install time, before
 * `dist/` exists) that starts Node with `--`, so Node never reads Strata's arguments.
 */
import { accessSync, constants, readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as {
  bin: Record<string, string>;
  files: string[];
  dependencies: Record<string, string>;
  peerDependencies?: Record<string, string>;
};

describe('the strata launcher', () => {
  it('is a checked-in executable file, shipped in the package', () => {
    const file = new URL(`../${pkg.bin.strata}`, import.meta.url);
    expect(pkg.bin.strata).toBe('./bin/strata.js');
    expect(pkg.files).toContain('bin');
    expect(() => accessSync(file, constants.X_OK)).not.toThrow();
    const [first, second] = readFileSync(file, 'utf8').split('\n');
    expect(first).toBe('#!/bin/sh');
    expect(second).toContain('exec node -- "$0" "$@"');
  });

  it('zod is a peer dependency, not a pinned one', () => {
    expect(pkg.dependencies.zod).toBeUndefined();
    expect(pkg.peerDependencies?.zod).toMatch(/^\^4/);
  });
});
