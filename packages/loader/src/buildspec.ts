/**
 * CodeBuild-style environment references: the `env` block of a buildspec.yml
 * (`parameter-store:` and `secrets-manager:` maps) or of a Strata file, turned into
 * `<<resolve:…>>` references. Pure.
 *
 *   env:
 *     variables:        { STAGE: prod }                       # literal values
 *     parameter-store:  { DB_URL: /app/prod/db/url }          # SSM, SecureString decrypted
 *     secrets-manager:  { DB_PASS: prod/db:password }         # secret-id:json-key:version-stage:version-id
 */

import { createRequire } from 'node:module';
import { parseEnv } from 'node:util';
import {
  describeParseError,
  formatReference,
  parseReference,
  type Reference,
  StrataError,
  shortName,
} from '@strata/core';
import type * as Yaml from 'yaml';

export interface EnvBlock {
  variables?: Record<string, string>;
  'parameter-store'?: Record<string, string>;
  'secrets-manager'?: Record<string, string>;
}

/** The reason of a parser or printer error, without its echo. */
function reasonOf(err: unknown): string {
  const m = err instanceof Error ? err.message : '';
  return m
    .replace(/^invalid reference at \d+: /, '')
    .replace(/^cannot format reference: /, '')
    .replace(/ in '.*'$/s, '');
}

/**
 * A buildspec value is a name, never template text: characters that could end a reference or
 * start another (`<`, `>`, whitespace) are refused, and the reference is printed from a validated
 * object (`formatReference`), not spliced together.
 */
function printRef(ref: Reference, section: string, variable: string, spec: string): string {
  if (spec === '' || /[<>\s\p{Cc}]/u.test(spec)) {
    throw new StrataError(
      'INVALID_INPUT',
      `${section} ${variable}: not a valid ${section === 'parameter-store' ? 'parameter name' : 'secret reference'} (it is a name, not template text)`,
      { key: variable },
    );
  }
  try {
    return formatReference(ref);
  } catch (err) {
    throw new StrataError('INVALID_INPUT', `${section} ${variable}: ${reasonOf(err)}`, { key: variable });
  }
}

/** A `parameter-store` value (`/app/db/url`, `/app/db/url:3`, `name:label`) → a reference. */
function parameterSpecToReference(spec: string, variable: string): string {
  if (spec === '' || /[<>\s\p{Cc}]/u.test(spec))
    return printRef({ service: 'ssm', name: '', secure: false }, 'parameter-store', variable, spec);
  let ref: Reference;
  try {
    ref = parseReference(`<<resolve:ssm:${spec}>>`);
  } catch (err) {
    throw new StrataError('INVALID_INPUT', `parameter-store ${variable}: ${reasonOf(err)}`, {
      key: variable,
    });
  }
  return printRef(ref, 'parameter-store', variable, spec);
}

/** `secret-id:json-key:version-stage:version-id` (secret-id may be an ARN) → a reference. */
export function secretsManagerSpecToReference(spec: string, variable: string): string {
  if (spec === '' || /[<>\s\p{Cc}]/u.test(spec))
    return printRef({ service: 'secretsmanager', secretId: '' }, 'secrets-manager', variable, spec);
  let secretId: string;
  let rest: string[];
  if (spec.startsWith('arn:')) {
    const parts = spec.split(':');
    if (parts.length < 7) {
      throw new StrataError(
        'INVALID_INPUT',
        `secrets-manager ${variable}: '${shortName(spec, 120)}' is not a valid secret ARN`,
        {
          key: variable,
        },
      );
    }
    secretId = parts.slice(0, 7).join(':');
    rest = parts.slice(7);
  } else {
    [secretId = '', ...rest] = spec.split(':');
  }
  if (!secretId)
    throw new StrataError('INVALID_INPUT', `secrets-manager ${variable}: empty secret id`, { key: variable });
  if (rest.length > 3) {
    throw new StrataError(
      'INVALID_INPUT',
      `secrets-manager ${variable}: too many ':' segments (secret-id:json-key:version-stage:version-id)`,
      {
        key: variable,
      },
    );
  }
  const [jsonKey = '', versionStage = '', versionId = ''] = rest;
  return printRef(
    {
      service: 'secretsmanager',
      secretId,
      ...(jsonKey ? { jsonKey } : {}),
      ...(versionStage ? { versionStage } : {}),
      ...(versionId ? { versionId } : {}),
    },
    'secrets-manager',
    variable,
    spec,
  );
}

/** Variables → values or references, in CodeBuild's order (parameter-store and secrets-manager override variables). */
export function envBlockToReferences(block: EnvBlock, origin = 'env'): Record<string, string> {
  // null prototype: a variable named `__proto__` is an entry like any other
  const out: Record<string, string> = Object.create(null);
  const check = (name: string, v: unknown, section: string) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) {
      throw new StrataError(
        'INVALID_INPUT',
        `${origin}: ${section}.${name}: not a valid environment variable name`,
        { key: name },
      );
    }
    if (typeof v !== 'string' && typeof v !== 'number' && typeof v !== 'boolean') {
      throw new StrataError('INVALID_INPUT', `${origin}: ${section}.${name}: must be a string`, {
        key: name,
      });
    }
  };
  for (const [k, v] of Object.entries(block.variables ?? {})) {
    check(k, v, 'variables');
    out[k] = String(v);
  }
  for (const [k, v] of Object.entries(block['parameter-store'] ?? {})) {
    check(k, v, 'parameter-store');
    out[k] = parameterSpecToReference(String(v), k);
  }
  for (const [k, v] of Object.entries(block['secrets-manager'] ?? {})) {
    check(k, v, 'secrets-manager');
    out[k] = secretsManagerSpecToReference(String(v), k);
  }
  return out;
}

let yamlModule: typeof Yaml | undefined;

/**
 * The `yaml` module, loaded on first use (a buildspec read), not with the loader. Synchronously:
 * under Node `yaml` is CommonJS (the same module `import 'yaml'` gives), so `parseBuildspecEnv`
 * stays synchronous. A failed load is an UNAVAILABLE error naming the module, tried again next call.
 */
function yamlLib(): typeof Yaml {
  if (yamlModule) return yamlModule;
  try {
    yamlModule = createRequire(import.meta.url)('yaml') as typeof Yaml;
  } catch (err) {
    throw new StrataError('UNAVAILABLE', 'loader: the module yaml could not be loaded', {
      source: 'yaml',
      cause: err,
    });
  }
  return yamlModule;
}

/** Reads the `env` block from buildspec.yml text (or a Strata file with a top-level `env`). */
export function parseBuildspecEnv(text: string, origin = 'buildspec.yml'): Record<string, string> {
  const { parse: parseYaml } = yamlLib();
  let doc: unknown;
  try {
    // errors only: the parser's warnings (printed to stderr) quote the document, which may hold secrets
    doc = parseYaml(text, { logLevel: 'error' });
  } catch (err) {
    throw new StrataError('INVALID_INPUT', `${origin} is not valid YAML ${describeParseError(err)}`, {
      source: origin,
    });
  }
  const env = (doc as { env?: unknown } | null)?.env;
  if (env === undefined) return {};
  if (env === null || typeof env !== 'object')
    throw new StrataError('INVALID_INPUT', `${origin}: 'env' must be a mapping`, { source: origin });
  return envBlockToReferences(env as EnvBlock, origin);
}

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const ASSIGNMENT = /^\s*(?:export\s+)?([^=#\s]+)\s*=\s*(["'`]?)/;

/**
 * Parses a dotenv file with Node's own parser (`util.parseEnv`, the one behind `node --env-file`),
 * so a file means the same to Strata and to Node:
 *
 * - `NAME=value` per line, optionally `export NAME=value`; spaces around `=` and the value are
 *   trimmed. A name given twice: the last wins.
 * - `#` starts a comment: a whole line, or after a value (`X=x # note` is `x`). Quote a value that
 *   contains `#`.
 * - Values may be quoted with `'`, `"` or `` ` ``; a quoted value may span lines. Inside double
 *   quotes `\n` is a newline; there are no other escapes (a backslash is kept as is).
 *
 * Strata adds one check Node does not make: every other line must be blank or a comment, and every
 * name must be `[A-Za-z_][A-Za-z0-9_]*` (a line without `=` would otherwise be dropped, or become
 * part of the next name). The error names the file and line, never its text (it may hold a value).
 */
export function parseEnvFile(text: string, origin = '.env'): Record<string, string> {
  const lines = text.split(/\r?\n/);
  const bad = (i: number, why: string) =>
    new StrataError('INVALID_INPUT', `${origin}:${i + 1}: ${why}`, { source: origin });
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^\s*(#|$)/.test(line)) continue;
    const m = ASSIGNMENT.exec(line);
    if (!m) throw bad(i, 'expected NAME=value');
    if (!ENV_NAME.test(m[1]!))
      throw bad(i, 'the name must be letters, digits and _, not starting with a digit');
    // Node's parser assigns it as the object's prototype, i.e. drops it: refuse rather than lose it
    if (m[1] === '__proto__') throw bad(i, 'the name __proto__ is not supported');
    const quote = m[2];
    if (!quote) continue;
    // a quoted value that does not close on its line continues to the line that closes it
    const rest = line.slice(m[0].length);
    if (rest.includes(quote)) continue;
    let j = i + 1;
    while (j < lines.length && !lines[j]!.includes(quote)) j++;
    if (j < lines.length) i = j;
  }
  const out: Record<string, string> = Object.create(null);
  for (const [k, v] of Object.entries(parseEnv(text))) {
    if (!ENV_NAME.test(k)) {
      const at = text.indexOf(k);
      throw bad(at < 0 ? 0 : text.slice(0, at).split('\n').length - 1, 'expected NAME=value');
    }
    out[k] = v ?? '';
  }
  return out;
}
