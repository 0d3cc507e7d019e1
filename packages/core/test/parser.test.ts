import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { StrataError } from '../src/errors.js';
import {
  formatReference,
  formatTemplate,
  hasReference,
  type KmsReference,
  parseReference,
  parseTemplate,
  type Reference,
  referenceKey,
  type SecretsManagerReference,
  type SsmReference,
  type TemplatePart,
} from '../src/reference/parser.js';

/** Runs `fn`, expects a PARSE_ERROR at `position`, and returns it. */
function parseError(fn: () => unknown, position: number, ...fragments: string[]): StrataError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StrataError);
  const err = caught as StrataError;
  expect(err.code).toBe('PARSE_ERROR');
  expect(err.position).toBe(position);
  expect(err.message).toMatch(new RegExp(`^invalid reference at ${position}: `));
  for (const f of fragments) expect(err.message).toContain(f);
  return err;
}

function invalidInput(fn: () => unknown): StrataError {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(StrataError);
  expect((caught as StrataError).code).toBe('INVALID_INPUT');
  return caught as StrataError;
}

const ARN = 'arn:aws:ssm:us-east-1:123456789012:parameter/a/b';
const SECRET_ARN = 'arn:aws:secretsmanager:eu-west-1:123456789012:secret:prod/db-AbCdEf';

describe('parseReference: ssm', () => {
  it('parses a plain name, a path and ssm-secure', () => {
    expect(parseReference('<<resolve:ssm:my-param>>')).toStrictEqual({
      service: 'ssm',
      name: 'my-param',
      secure: false,
    });
    expect(parseReference('<<resolve:ssm:/a/b-c/d_e.f>>')).toStrictEqual({
      service: 'ssm',
      name: '/a/b-c/d_e.f',
      secure: false,
    });
    expect(parseReference('<<resolve:ssm-secure:/db/password>>')).toStrictEqual({
      service: 'ssm',
      name: '/db/password',
      secure: true,
    });
    expect(parseReference('<<resolve:ssm-secure:/db/password:4>>')).toStrictEqual({
      service: 'ssm',
      name: '/db/password',
      secure: true,
      version: 4,
    });
  });

  it('parses version numbers and labels', () => {
    expect(parseReference('<<resolve:ssm:/a/b:3>>')).toStrictEqual({
      service: 'ssm',
      name: '/a/b',
      secure: false,
      version: 3,
    });
    expect(parseReference('<<resolve:ssm:/a/b:007>>')).toMatchObject({ version: 7 });
    expect(parseReference('<<resolve:ssm:/a/b:prod-live_1.x>>')).toStrictEqual({
      service: 'ssm',
      name: '/a/b',
      secure: false,
      label: 'prod-live_1.x',
    });
    expect(parseReference(`<<resolve:ssm:/a:${'L'.repeat(100)}>>`)).toMatchObject({ label: 'L'.repeat(100) });
    expect(parseReference(`<<resolve:ssm:/a:${Number.MAX_SAFE_INTEGER}>>`)).toMatchObject({
      version: Number.MAX_SAFE_INTEGER,
    });
  });

  it('parses a full ARN as one unit, with and without a version', () => {
    expect(parseReference(`<<resolve:ssm:${ARN}>>`)).toStrictEqual({
      service: 'ssm',
      name: ARN,
      secure: false,
    });
    expect(parseReference(`<<resolve:ssm:${ARN}:12>>`)).toStrictEqual({
      service: 'ssm',
      name: ARN,
      secure: false,
      version: 12,
    });
    expect(parseReference(`<<resolve:ssm-secure:${ARN}:live>>`)).toStrictEqual({
      service: 'ssm',
      name: ARN,
      secure: true,
      label: 'live',
    });
    for (const arn of [
      'arn:aws-cn:ssm:cn-north-1:123456789012:parameter/x',
      'arn:aws-us-gov:ssm:us-gov-west-1:123456789012:parameter/my-param',
    ]) {
      expect(parseReference(`<<resolve:ssm:${arn}>>`)).toMatchObject({ name: arn });
    }
  });

  it('treats a parameter called arn with at most a version as a name', () => {
    expect(parseReference('<<resolve:ssm:arn>>')).toStrictEqual({
      service: 'ssm',
      name: 'arn',
      secure: false,
    });
    expect(parseReference('<<resolve:ssm:arn:3>>')).toStrictEqual({
      service: 'ssm',
      name: 'arn',
      secure: false,
      version: 3,
    });
  });

  it('keeps /aws/reference/secretsmanager/ names as they are', () => {
    expect(parseReference('<<resolve:ssm:/aws/reference/secretsmanager/prod/db>>')).toStrictEqual({
      service: 'ssm',
      name: '/aws/reference/secretsmanager/prod/db',
      secure: false,
    });
    // Secrets Manager characters are allowed after the prefix.
    expect(
      parseReference('<<resolve:ssm-secure:/aws/reference/secretsmanager/a+b=c@d:AWSPREVIOUS>>'),
    ).toStrictEqual({
      service: 'ssm',
      name: '/aws/reference/secretsmanager/a+b=c@d',
      secure: true,
      label: 'AWSPREVIOUS',
    });
  });

  it('rejects malformed ssm references with positions', () => {
    parseError(() => parseReference('<<resolve:ssm:>>'), 14, 'empty parameter name', "'<<resolve:ssm:'");
    parseError(() => parseReference('<<resolve:ssm>>'), 13, 'missing parameter name');
    parseError(() => parseReference('<<resolve:ssm:/a:0>>'), 17, 'version must be a positive integer');
    parseError(() => parseReference('<<resolve:ssm:/a:000>>'), 17, 'positive integer');
    parseError(() => parseReference('<<resolve:ssm:/a:99999999999999999999>>'), 17, 'too large');
    parseError(() => parseReference('<<resolve:ssm:/a:>>'), 17, 'empty version');
    parseError(() => parseReference('<<resolve:ssm:/a:1abc>>'), 17, 'cannot start with a digit');
    parseError(() => parseReference(`<<resolve:ssm:/a:${'L'.repeat(101)}>>`), 17, 'longer than 100');
    parseError(() => parseReference('<<resolve:ssm:/a:la$bel>>'), 19, 'invalid character in label');
    parseError(
      () => parseReference('<<resolve:ssm:/a$b>>'),
      16,
      'invalid character in parameter name',
      "in '<<resolve:ssm:'",
    );
    parseError(() => parseReference('<<resolve:ssm:/a:1:2>>'), 18, 'unexpected extra segment');
    parseError(() => parseReference('<<resolve:ssm:/aws/reference/secretsmanager/>>'), 44, 'empty secret id');
  });

  it('rejects malformed parameter ARNs', () => {
    parseError(() => parseReference('<<resolve:ssm:arn:aws:ssm:us-east-1>>'), 14, 'incomplete parameter ARN');
    parseError(
      () => parseReference('<<resolve:ssm:arn:aws-xx:ssm:us-east-1:123456789012:parameter/a>>'),
      18,
      'unknown ARN partition',
    );
    parseError(
      () => parseReference('<<resolve:ssm:arn:aws:sns:us-east-1:123456789012:parameter/a>>'),
      22,
      "service 'ssm'",
    );
    parseError(
      () => parseReference('<<resolve:ssm:arn:aws:ssm:US-EAST:123456789012:parameter/a>>'),
      26,
      'invalid region',
    );
    parseError(
      () => parseReference('<<resolve:ssm:arn:aws:ssm:us-east-1:1234:parameter/a>>'),
      36,
      '12 digits',
    );
    parseError(
      () => parseReference('<<resolve:ssm:arn:aws:ssm:us-east-1:123456789012:secret/a>>'),
      49,
      "'parameter/NAME'",
    );
    parseError(
      () => parseReference('<<resolve:ssm:arn:aws:ssm:us-east-1:123456789012:parameter/>>'),
      59,
      'empty parameter name',
    );
    parseError(() => parseReference(`<<resolve:ssm:${ARN}:1:2>>`), 14 + ARN.length + 2, 'extra segment');
  });
});

describe('parseReference: secretsmanager', () => {
  const base = { service: 'secretsmanager', secretId: 'prod/db' } as const;

  it('parses each optional segment', () => {
    expect(parseReference('<<resolve:secretsmanager:prod/db>>')).toStrictEqual(base);
    expect(parseReference('<<resolve:secretsmanager:prod/db:SecretString>>')).toStrictEqual(base);
    expect(parseReference('<<resolve:secretsmanager:prod/db:SecretString:password>>')).toStrictEqual({
      ...base,
      jsonKey: 'password',
    });
    expect(
      parseReference('<<resolve:secretsmanager:prod/db:SecretString:password:AWSPREVIOUS>>'),
    ).toStrictEqual({
      ...base,
      jsonKey: 'password',
      versionStage: 'AWSPREVIOUS',
    });
    expect(
      parseReference(
        '<<resolve:secretsmanager:prod/db:SecretString:password:AWSPENDING:0f6e2a54-1c2b-4d8e-9f00-aa11bb22cc33>>',
      ),
    ).toStrictEqual({
      ...base,
      jsonKey: 'password',
      versionStage: 'AWSPENDING',
      versionId: '0f6e2a54-1c2b-4d8e-9f00-aa11bb22cc33',
    });
  });

  it('treats empty segments as not given', () => {
    expect(parseReference('<<resolve:secretsmanager:prod/db:SecretString::AWSPREVIOUS>>')).toStrictEqual({
      ...base,
      versionStage: 'AWSPREVIOUS',
    });
    expect(parseReference('<<resolve:secretsmanager:prod/db:SecretString:::v-1>>')).toStrictEqual({
      ...base,
      versionId: 'v-1',
    });
    expect(parseReference('<<resolve:secretsmanager:prod/db:SecretString:::>>')).toStrictEqual(base);
    expect(parseReference('<<resolve:secretsmanager:prod/db:SecretString:user::>>')).toStrictEqual({
      ...base,
      jsonKey: 'user',
    });
  });

  it('keeps dotted and unicode JSON keys as plain strings', () => {
    expect(parseReference('<<resolve:secretsmanager:app:SecretString:db.primary.password>>')).toMatchObject({
      jsonKey: 'db.primary.password',
    });
    expect(parseReference('<<resolve:secretsmanager:app:SecretString:пароль/ключ>>')).toMatchObject({
      jsonKey: 'пароль/ключ',
    });
  });

  it('parses secret names with every allowed character and full ARNs', () => {
    expect(parseReference('<<resolve:secretsmanager:a/b_c+d=e.f@g-h>>')).toStrictEqual({
      service: 'secretsmanager',
      secretId: 'a/b_c+d=e.f@g-h',
    });
    expect(parseReference(`<<resolve:secretsmanager:${SECRET_ARN}>>`)).toStrictEqual({
      service: 'secretsmanager',
      secretId: SECRET_ARN,
    });
    expect(
      parseReference(`<<resolve:secretsmanager:${SECRET_ARN}:SecretString:password::v1>>`),
    ).toStrictEqual({
      service: 'secretsmanager',
      secretId: SECRET_ARN,
      jsonKey: 'password',
      versionId: 'v1',
    });
    expect(parseReference('<<resolve:secretsmanager:arn:SecretString:k>>')).toStrictEqual({
      service: 'secretsmanager',
      secretId: 'arn',
      jsonKey: 'k',
    });
  });

  it('rejects malformed secretsmanager references with positions', () => {
    parseError(
      () => parseReference('<<resolve:secretsmanager:prod/db:SecretBinary>>'),
      33,
      "'SecretBinary' is not supported",
      "only 'SecretString'",
    );
    parseError(() => parseReference('<<resolve:secretsmanager:prod/db:>>'), 33, "expected 'SecretString'");
    parseError(() => parseReference('<<resolve:secretsmanager:>>'), 25, 'empty secret id');
    parseError(() => parseReference('<<resolve:secretsmanager>>'), 24, 'missing secret id');
    parseError(
      () => parseReference('<<resolve:secretsmanager:prod!db>>'),
      29,
      'invalid character in secret id',
      "in '<<resolve:secretsmanager:'",
    );
    parseError(
      () => parseReference('<<resolve:secretsmanager:x:SecretString:k:s:i:extra>>'),
      45,
      'unexpected extra segment',
    );
    parseError(
      () => parseReference('<<resolve:secretsmanager:x:SecretString:a<b>>'),
      41,
      'invalid character in JSON key',
    );
    parseError(
      () => parseReference('<<resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:db>>'),
      25,
      'incomplete secret ARN',
    );
    parseError(
      () => parseReference('<<resolve:secretsmanager:arn:aws:secretsmanager:us-east-1:123456789012:key:db>>'),
      71,
      "expected 'secret'",
    );
    parseError(
      () => parseReference('<<resolve:secretsmanager:arn:aws:ssm:us-east-1:123456789012:secret:db>>'),
      33,
      "service 'secretsmanager'",
    );
  });
});

describe('parseReference: kms', () => {
  const ct = Buffer.from('hello world').toString('base64'); // aGVsbG8gd29ybGQ=
  const ctUrl = Buffer.from([0xfb, 0xff, 0xfe, 0x01]).toString('base64url'); // -__-AQ

  it('parses standard base64 and base64url ciphertexts', () => {
    expect(parseReference(`<<resolve:kms:${ct}>>`)).toStrictEqual({ service: 'kms', ciphertext: ct });
    expect(parseReference(`<<resolve:kms:${ctUrl}>>`)).toStrictEqual({ service: 'kms', ciphertext: ctUrl });
    expect(parseReference('<<resolve:kms:+/+/AA==>>')).toStrictEqual({
      service: 'kms',
      ciphertext: '+/+/AA==',
    });
    expect(parseReference('<<resolve:kms:-_-_AA==>>')).toStrictEqual({
      service: 'kms',
      ciphertext: '-_-_AA==',
    });
  });

  it('parses a percent-encoded encryption context', () => {
    const ctx = `app=my%2Capp%3Dx%3Ay%3E,env=prod,${encodeURIComponent('ключ')}=${encodeURIComponent('a b')},empty=`;
    expect(parseReference(`<<resolve:kms:${ct}:${ctx}>>`)).toStrictEqual({
      service: 'kms',
      ciphertext: ct,
      context: { app: 'my,app=x:y>', env: 'prod', ключ: 'a b', empty: '' },
    });
    // unencoded characters that need no escaping are accepted too
    expect(parseReference(`<<resolve:kms:${ct}:path=/a/b,name=café>>`)).toMatchObject({
      context: { path: '/a/b', name: 'café' },
    });
    // an empty context is {}
    expect(parseReference(`<<resolve:kms:${ct}:>>`)).toStrictEqual({
      service: 'kms',
      ciphertext: ct,
      context: {},
    });
  });

  it('keeps a __proto__ key as data', () => {
    const ref = parseReference(`<<resolve:kms:${ct}:__proto__=x>>`) as KmsReference;
    expect(Object.keys(ref.context ?? {})).toEqual(['__proto__']);
    expect(Object.getPrototypeOf(ref.context)).toBe(Object.prototype);
    expect(formatReference(ref)).toBe(`<<resolve:kms:${ct}:__proto__=x>>`);
  });

  it('rejects bad ciphertexts and contexts with positions', () => {
    parseError(() => parseReference('<<resolve:kms:>>'), 14, 'empty ciphertext');
    parseError(() => parseReference('<<resolve:kms>>'), 13, 'missing ciphertext');
    parseError(() => parseReference('<<resolve:kms:AAAA*AAA>>'), 18, 'invalid base64 character');
    parseError(() => parseReference('<<resolve:kms:AA+A-A==>>'), 18, 'base64 ciphertext');
    parseError(() => parseReference('<<resolve:kms:AA=A>>'), 17, "padding '=' must come last");
    parseError(() => parseReference('<<resolve:kms:AAA===>>'), 19, 'too much');
    parseError(() => parseReference('<<resolve:kms:AAAAA>>'), 14, 'invalid base64 length');
    parseError(() => parseReference('<<resolve:kms:AA=>>'), 16, 'wrong base64 padding');
    parseError(() => parseReference('<<resolve:kms:=>>'), 14, "padding '=' must come last");
    parseError(() => parseReference('<<resolve:kms:AAAA:novalue>>'), 19, 'expected KEY=VALUE');
    parseError(() => parseReference('<<resolve:kms:AAAA:a=1,a=2>>'), 23, 'duplicate encryption context key');
    parseError(() => parseReference('<<resolve:kms:AAAA:a=1,,b=2>>'), 23, 'empty entry');
    parseError(() => parseReference('<<resolve:kms:AAAA:=1>>'), 19, 'empty encryption context key');
    parseError(() => parseReference('<<resolve:kms:AAAA:a=b=c>>'), 22, 'invalid character');
    parseError(() => parseReference('<<resolve:kms:AAAA:a=%zz>>'), 21, 'invalid percent-encoding');
    parseError(() => parseReference('<<resolve:kms:AAAA:a=%ff>>'), 21, 'not UTF-8');
    parseError(() => parseReference('<<resolve:kms:AAAA:a=b:c=d>>'), 22, 'extra segment', '%3A');
  });
});

describe('parseReference: general errors', () => {
  it('names an unknown reference type', () => {
    const err = parseError(
      () => parseReference('<<resolve:s3:bucket/key>>'),
      10,
      'unknown reference type (expected ssm, ssm-secure, secretsmanager or kms)',
      "in '<<resolve:'",
    );
    // the unknown type is not echoed: it did not pass validation
    expect(err.message).not.toContain('s3');
    expect(err.source).toBe('<<resolve:');
    parseError(() => parseReference('<<resolve::x>>'), 10, 'missing reference type');
    parseError(() => parseReference('<<resolve:>>'), 10, 'missing reference type');
  });

  it('reports a missing >> at the opening', () => {
    parseError(() => parseReference('<<resolve:ssm:/a/b'), 0, "missing closing '>>'");
    parseError(() => parseReference('<<resolve:ssm:/a/b>'), 0, "missing closing '>>'");
  });

  it('reports whitespace at its position', () => {
    parseError(() => parseReference('<<resolve:ssm:/a b>>'), 16, 'whitespace is not allowed');
    // the echo stops at the whitespace: text after a broken reference is never shown
    parseError(() => parseReference('<<resolve:ssm:/a\n>>'), 16, 'whitespace', "in '<<resolve:ssm:'");
    parseError(() => parseReference('<<resolve:secretsmanager:x:SecretString:a\tb>>'), 41, 'whitespace');
    parseError(() => parseReference('<<resolve:ssm:/a\u00a0>>'), 16, 'whitespace');
  });

  it('requires exactly one reference', () => {
    parseError(() => parseReference(''), 0, "expected a reference starting with '<<resolve:'");
    parseError(() => parseReference(' <<resolve:ssm:a>>'), 0, 'expected a reference');
    parseError(() => parseReference('\\<<resolve:ssm:a>>'), 0, 'expected a reference');
    parseError(() => parseReference('<<resolve:ssm:a>>x'), 17, 'unexpected text after');
    parseError(() => parseReference('<<resolve:ssm:a>>>'), 17, 'unexpected text after');
    parseError(() => parseReference('<<resolve:ssm:a>><<resolve:ssm:b>>'), 17, 'unexpected text after');
    parseError(() => parseReference(42 as unknown as string), 0, 'expected a string');
  });

  it('truncates the echoed reference to about 80 characters', () => {
    const long = `<<resolve:ssm:/${'a'.repeat(200)}:0>>`;
    const err = parseError(() => parseReference(long), 216, 'positive integer');
    expect(err.message).toContain(`'${long.slice(0, 80)}…'`);
    expect(err.message).not.toContain(long.slice(0, 81));
    // a 2,100-character name is refused as AWS refuses it, and echoed cut short
    const huge = `<<resolve:ssm:/${'n'.repeat(2100)}>>`;
    const e2 = parseError(() => parseReference(huge), 14, 'longer than 1,011 characters');
    expect(e2.message.length).toBeLessThan(250);
    expect(e2.source!.length).toBeLessThanOrEqual(80);
  });
});

describe('parseTemplate', () => {
  it('returns plain text as one part, and nothing for an empty string', () => {
    expect(parseTemplate('')).toEqual([]);
    expect(parseTemplate('plain text')).toEqual([{ kind: 'text', text: 'plain text' }]);
    expect(parseTemplate('a << b <<res <<resolve >> c')).toEqual([
      { kind: 'text', text: 'a << b <<res <<resolve >> c' },
    ]);
    expect(parseTemplate('C:\\dir\\\\x\\')).toEqual([{ kind: 'text', text: 'C:\\dir\\\\x\\' }]);
  });

  it('finds a reference embedded in a string, with offsets into the input', () => {
    const input = 'postgres://app:<<resolve:secretsmanager:prod/db:SecretString:password>>@db/app';
    const raw = '<<resolve:secretsmanager:prod/db:SecretString:password>>';
    expect(parseTemplate(input)).toEqual([
      { kind: 'text', text: 'postgres://app:' },
      {
        kind: 'ref',
        ref: { service: 'secretsmanager', secretId: 'prod/db', jsonKey: 'password' },
        raw,
        start: 15,
        end: 15 + raw.length,
      },
      { kind: 'text', text: '@db/app' },
    ]);
  });

  it('finds several references, adjacent ones included', () => {
    const input = '<<resolve:ssm:/u>>:<<resolve:ssm-secure:/p:2>><<resolve:kms:AAAA>>!';
    const parts = parseTemplate(input);
    expect(parts.map((p) => p.kind)).toEqual(['ref', 'text', 'ref', 'ref', 'text']);
    expect(parts[0]).toMatchObject({ ref: { name: '/u' }, start: 0, end: 18 });
    expect(parts[1]).toEqual({ kind: 'text', text: ':' });
    expect(parts[2]).toMatchObject({ ref: { name: '/p', secure: true, version: 2 }, start: 19, end: 46 });
    expect(parts[3]).toMatchObject({ ref: { service: 'kms', ciphertext: 'AAAA' }, start: 46, end: 66 });
    expect(parts[4]).toEqual({ kind: 'text', text: '!' });
    for (const p of parts) if (p.kind === 'ref') expect(input.slice(p.start, p.end)).toBe(p.raw);
  });

  it('finds a reference right after a stray <', () => {
    expect(parseTemplate('<<<resolve:ssm:x>>>')).toEqual([
      { kind: 'text', text: '<' },
      {
        kind: 'ref',
        ref: { service: 'ssm', name: 'x', secure: false },
        raw: '<<resolve:ssm:x>>',
        start: 1,
        end: 18,
      },
      { kind: 'text', text: '>' },
    ]);
  });

  it('handles escapes: \\<<resolve: is text, \\\\<<resolve: is a backslash and a reference', () => {
    expect(parseTemplate('say \\<<resolve:ssm:x>> here')).toEqual([
      { kind: 'text', text: 'say <<resolve:ssm:x>> here' },
    ]);
    expect(parseTemplate('\\<<resolve:')).toEqual([{ kind: 'text', text: '<<resolve:' }]);
    expect(parseTemplate('a\\\\<<resolve:ssm:x>>')).toEqual([
      { kind: 'text', text: 'a\\' },
      {
        kind: 'ref',
        ref: { service: 'ssm', name: 'x', secure: false },
        raw: '<<resolve:ssm:x>>',
        start: 3,
        end: 20,
      },
    ]);
    expect(parseTemplate('\\\\\\<<resolve:ssm:x>>')).toEqual([{ kind: 'text', text: '\\<<resolve:ssm:x>>' }]);
    // only backslashes right before <<resolve: are special
    expect(parseTemplate('\\<<x \\\\ \\')).toEqual([{ kind: 'text', text: '\\<<x \\\\ \\' }]);
    // an escaped reference does not hide a real one after it
    expect(parseTemplate('\\<<resolve:<<resolve:ssm:y>>').map((p) => p.kind)).toEqual(['text', 'ref']);
  });

  it('reports errors with positions in the whole input', () => {
    parseError(
      () => parseTemplate('url=<<resolve:ssm:/a/b and more'),
      4,
      "missing closing '>>'",
      "in '<<resolve:ssm:'",
    );
    // an unterminated reference followed by literal text (a password, say) does not echo that text
    expect(() => parseTemplate('pw=<<resolve:ssm:/a hunter2')).toThrow(
      expect.not.objectContaining({ message: expect.stringContaining('hunter2') }),
    );
    parseError(() => parseTemplate('x: <<resolve:s3:x>>'), 13, 'unknown reference type');
    parseError(() => parseTemplate('<<resolve:ssm:a>> <<resolve:ssm:>>'), 32, 'empty parameter name');
    parseError(() => parseTemplate('a <<resolve:ssm:/x and <<resolve:ssm:/y>>'), 18, 'whitespace');
    parseError(() => parseTemplate('v=<<resolve:ssm:/a:0>>'), 19, 'positive integer');
    parseError(() => parseTemplate('k=<<resolve:secretsmanager:db:SecretBinary>>'), 30, 'SecretBinary');
    parseError(() => parseTemplate('k=<<resolve:kms:AB$D>>'), 18, 'invalid base64 character');
    parseError(() => parseTemplate('\\\\<<resolve:ssm'), 2, "missing closing '>>'");
  });
});

describe('hasReference', () => {
  it('is true exactly when the string contains <<resolve:', () => {
    expect(hasReference('plain')).toBe(false);
    expect(hasReference('a << b')).toBe(false);
    expect(hasReference('<<resolve:ssm:x>>')).toBe(true);
    expect(hasReference('x<<resolve:s3:bad')).toBe(true);
    expect(hasReference('\\<<resolve:ssm:x>>')).toBe(true);
    expect(hasReference(undefined as unknown as string)).toBe(false);
  });

  it('is false only for strings parseTemplate returns unchanged', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary' }), (s) => {
        if (!hasReference(s)) expect(parseTemplate(s)).toEqual(s === '' ? [] : [{ kind: 'text', text: s }]);
      }),
    );
  });
});

describe('formatReference and referenceKey', () => {
  it('prints canonical forms', () => {
    expect(formatReference({ service: 'ssm', name: '/a', secure: false })).toBe('<<resolve:ssm:/a>>');
    expect(formatReference({ service: 'ssm', name: '/a', secure: true, version: 3 })).toBe(
      '<<resolve:ssm-secure:/a:3>>',
    );
    expect(formatReference({ service: 'ssm', name: ARN, secure: false, label: 'live' })).toBe(
      `<<resolve:ssm:${ARN}:live>>`,
    );
    expect(formatReference({ service: 'secretsmanager', secretId: 'db' })).toBe(
      '<<resolve:secretsmanager:db>>',
    );
    expect(formatReference({ service: 'secretsmanager', secretId: 'db', versionStage: 'AWSPREVIOUS' })).toBe(
      '<<resolve:secretsmanager:db:SecretString::AWSPREVIOUS>>',
    );
    expect(formatReference({ service: 'secretsmanager', secretId: 'db', jsonKey: 'k', versionId: 'v' })).toBe(
      '<<resolve:secretsmanager:db:SecretString:k::v>>',
    );
    expect(formatReference({ service: 'kms', ciphertext: 'AAAA', context: { z: 'a,b', a: 'x:y=z' } })).toBe(
      '<<resolve:kms:AAAA:a=x%3Ay%3Dz,z=a%2Cb>>',
    );
    expect(formatReference({ service: 'kms', ciphertext: 'AAAA', context: {} })).toBe(
      '<<resolve:kms:AAAA:>>',
    );
  });

  it('rejects references that would not parse back', () => {
    invalidInput(() => formatReference({ service: 'ssm', name: '', secure: false }));
    invalidInput(() => formatReference({ service: 'ssm', name: 'a b', secure: false }));
    invalidInput(() => formatReference({ service: 'ssm', name: '/a', secure: false, version: 0 }));
    invalidInput(() => formatReference({ service: 'ssm', name: '/a', secure: false, version: 1.5 }));
    invalidInput(() => formatReference({ service: 'ssm', name: '/a', secure: false, version: Number.NaN }));
    invalidInput(() =>
      formatReference({ service: 'ssm', name: '/a', secure: false, version: 1, label: 'x' }),
    );
    invalidInput(() => formatReference({ service: 'ssm', name: '/a', secure: false, label: '9x' }));
    invalidInput(() => formatReference({ service: 'ssm', name: '/a' } as SsmReference));
    invalidInput(() => formatReference({ service: 'secretsmanager', secretId: 'db', jsonKey: 'a:b' }));
    invalidInput(() => formatReference({ service: 'secretsmanager', secretId: 'db', jsonKey: '' }));
    invalidInput(() => formatReference({ service: 'secretsmanager', secretId: 'db', versionStage: 'a>' }));
    invalidInput(() => formatReference({ service: 'kms', ciphertext: 'not base64!' }));
    invalidInput(() => formatReference({ service: 'kms', ciphertext: 'AAAA', context: { '': 'x' } }));
    invalidInput(() => formatReference({ service: 'kms', ciphertext: 'AAAA', context: { k: '\ud800' } }));
    invalidInput(() =>
      formatReference({ service: 'kms', ciphertext: 'AAAA', context: { k: 1 as unknown as string } }),
    );
    invalidInput(() => formatReference({ service: 's3', key: 'x' } as unknown as Reference));
    invalidInput(() => formatReference(null as unknown as Reference));
  });

  it('gives equal keys to equal references and different keys otherwise', () => {
    const key = (s: string) => referenceKey(parseReference(s));
    expect(key('<<resolve:ssm:/a:007>>')).toBe(key('<<resolve:ssm:/a:7>>'));
    expect(key('<<resolve:ssm:/a>>')).not.toBe(key('<<resolve:ssm-secure:/a>>'));
    expect(key('<<resolve:ssm:/a>>')).not.toBe(key('<<resolve:ssm:/a:1>>'));
    expect(key('<<resolve:secretsmanager:db:SecretString>>')).toBe(key('<<resolve:secretsmanager:db>>'));
    expect(key('<<resolve:secretsmanager:db:SecretString:k::>>')).toBe(
      key('<<resolve:secretsmanager:db:SecretString:k>>'),
    );
    expect(key('<<resolve:kms:AAAA:b=2,a=1>>')).toBe(key('<<resolve:kms:AAAA:a=1,b=2>>'));
    expect(key('<<resolve:kms:AAAA:a=%2F>>')).toBe(key('<<resolve:kms:AAAA:a=/>>'));
    expect(key('<<resolve:kms:AAAA:>>')).toBe(key('<<resolve:kms:AAAA>>'));
    expect(key('<<resolve:kms:AAAA:a=1>>')).not.toBe(key('<<resolve:kms:AAAA>>'));
  });
});

describe('formatTemplate', () => {
  const x: Reference = { service: 'ssm', name: 'x', secure: false };
  const ref = (r: Reference): TemplatePart => ({ kind: 'ref', ref: r, raw: '', start: 0, end: 0 });

  it('escapes literal <<resolve: and backslashes before references', () => {
    expect(formatTemplate([{ kind: 'text', text: 'a <<resolve:ssm:x>> b' }])).toBe('a \\<<resolve:ssm:x>> b');
    expect(formatTemplate([{ kind: 'text', text: '\\<<resolve:' }])).toBe('\\\\\\<<resolve:');
    expect(formatTemplate([{ kind: 'text', text: 'dir\\' }, ref(x)])).toBe('dir\\\\<<resolve:ssm:x>>');
    expect(formatTemplate([{ kind: 'text', text: 'end\\' }])).toBe('end\\');
    expect(
      formatTemplate([
        { kind: 'text', text: '<<res' },
        { kind: 'text', text: 'olve:' },
      ]),
    ).toBe('\\<<resolve:');
    expect(formatTemplate([ref(x), { kind: 'text', text: '@' }, ref(x)])).toBe(
      '<<resolve:ssm:x>>@<<resolve:ssm:x>>',
    );
    expect(formatTemplate([])).toBe('');
  });

  it('rejects malformed parts', () => {
    invalidInput(() => formatTemplate([{ kind: 'other' } as unknown as TemplatePart]));
    invalidInput(() => formatTemplate([ref({ service: 'ssm', name: '', secure: false })]));
  });
});

// ---------------------------------------------------------------------------------------------
// Property tests

const LOWER = 'abcdefghijklmnopqrstuvwxyz';
const ALNUM = `${LOWER}${LOWER.toUpperCase()}0123456789`;
const chars = (set: string, minLength = 1, maxLength = 20) =>
  fc.string({ unit: fc.constantFrom(...set), minLength, maxLength });

/** Strings of any code points except whitespace, controls, `:`, `<` and `>` (JSON keys, stages, ids). */
const freeText = fc
  .string({ unit: 'binary', minLength: 1, maxLength: 20 })
  .map((s) => s.replace(/[\s\p{Cc}:<>]/gu, 'x'));

const partition = fc.constantFrom('aws', 'aws-cn', 'aws-us-gov');
const region = chars(`${LOWER}0123456789-`, 1, 15);
const account = chars('0123456789', 12, 12);
const secretName = chars(`${ALNUM}/_+=.@-`);

/** A segment AWS accepts: not `.` or `..`. */
const segment = chars(`${ALNUM}_.-`).filter((x) => x !== '.' && x !== '..');
/** Names AWS accepts (see the parser header): no reserved `aws`/`ssm` start, at most 15 levels. */
const notReserved = (n: string) => !/^\/?(aws|ssm)/i.test(n);
const paramName = fc.oneof(
  segment.filter(notReserved),
  fc
    .array(segment, { minLength: 1, maxLength: 5 })
    .map((s) => `/${s.join('/')}`)
    .filter(notReserved),
  secretName.map((s) => `/aws/reference/secretsmanager/${s}`),
  fc
    .tuple(partition, region, account, fc.array(segment, { minLength: 1, maxLength: 5 }))
    .filter(([, , , n]) => notReserved(n[0]!))
    .map(([p, r, a, n]) => `arn:${p}:ssm:${r}:${a}:parameter/${n.join('/')}`),
  fc.constant('arn'),
);

const label = fc
  .tuple(chars(`${LOWER}${LOWER.toUpperCase()}._-`, 1, 1), chars(`${ALNUM}._-`, 0, 99))
  .map(([a, b]) => a + b)
  .filter(notReserved);

const ssmRef: fc.Arbitrary<SsmReference> = fc
  .tuple(
    paramName,
    fc.boolean(),
    fc.oneof(
      fc.constant({}),
      fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }).map((version) => ({ version })),
      label.map((l) => ({ label: l })),
    ),
  )
  .map(([name, secure, sel]) => ({ service: 'ssm', name, secure, ...sel }));

const secretId = fc.oneof(
  secretName,
  fc
    .tuple(partition, region, account, secretName)
    .map(([p, r, a, n]) => `arn:${p}:secretsmanager:${r}:${a}:secret:${n}`),
  fc.constantFrom('arn', 'SecretString'),
);

const secretsRef: fc.Arbitrary<SecretsManagerReference> = fc
  .record(
    { secretId, jsonKey: freeText, versionStage: freeText, versionId: freeText },
    { requiredKeys: ['secretId'] },
  )
  .map((r) => ({ service: 'secretsmanager', ...r }));

const contextText = fc.oneof(
  fc.string({ unit: 'binary', maxLength: 12 }),
  fc.constantFrom(
    '__proto__',
    'constructor',
    'a,b',
    'k=v',
    'x:y',
    '<<resolve:',
    '>>',
    ' sp ',
    '%',
    '%41',
    '\\',
  ),
);

const kmsRef: fc.Arbitrary<KmsReference> = fc
  .tuple(
    fc.uint8Array({ minLength: 1, maxLength: 48 }),
    fc.constantFrom('base64', 'base64url') as fc.Arbitrary<BufferEncoding>,
    fc.option(
      fc.uniqueArray(
        fc.tuple(
          contextText.filter((k) => k !== ''),
          contextText,
        ),
        { selector: (t) => t[0], maxLength: 5 },
      ),
      { nil: undefined },
    ),
  )
  .map(([bytes, enc, ctx]) => ({
    service: 'kms',
    ciphertext: Buffer.from(bytes).toString(enc),
    ...(ctx === undefined ? {} : { context: Object.fromEntries(ctx) }),
  }));

const reference: fc.Arbitrary<Reference> = fc.oneof(ssmRef, secretsRef, kmsRef);

const FRAGMENTS = [
  '<<resolve:',
  '<<',
  '>>',
  '>',
  '<',
  '\\',
  ':',
  ' ',
  'ssm',
  'ssm-secure',
  'secretsmanager',
  'kms',
  's3',
  'SecretString',
  'SecretBinary',
  'arn',
  'aws',
  'us-east-1',
  '123456789012',
  'parameter/',
  'secret',
  '/a/b',
  'AAAA',
  '==',
  '=',
  ',',
  '%',
  '%zz',
  '%ff',
  '0',
  '1',
  'x',
  'é',
  '\u0000',
  '\n',
  '\ud800',
];
const templateish = fc.array(fc.constantFrom(...FRAGMENTS), { maxLength: 30 }).map((a) => a.join(''));
const anyString = fc.oneof(fc.string({ unit: 'binary' }), fc.string(), templateish);

describe('properties', () => {
  it('parseTemplate returns or throws a PARSE_ERROR with a position inside the input', () => {
    fc.assert(
      fc.property(anyString, (input) => {
        let parts: TemplatePart[];
        try {
          parts = parseTemplate(input);
        } catch (err) {
          expect(err).toBeInstanceOf(StrataError);
          const e = err as StrataError;
          expect(e.code).toBe('PARSE_ERROR');
          expect(typeof e.position).toBe('number');
          expect(Number.isInteger(e.position)).toBe(true);
          expect(e.position).toBeGreaterThanOrEqual(0);
          expect(e.position).toBeLessThanOrEqual(input.length);
          expect(e.message).toMatch(/^invalid reference at \d+: /);
          return;
        }
        let previous = -1;
        for (const p of parts) {
          if (p.kind === 'text') {
            expect(p.text).not.toBe('');
            expect(previous).not.toBe(-2); // no two adjacent text parts
            previous = -2;
          } else {
            expect(p.raw).toBe(input.slice(p.start, p.end));
            expect(p.start).toBeGreaterThanOrEqual(Math.max(previous, 0));
            expect(parseReference(p.raw)).toStrictEqual(p.ref);
            // printing a parsed reference and parsing it again gives the same reference
            expect(parseReference(formatReference(p.ref))).toStrictEqual(p.ref);
            previous = p.end;
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('parseReference(formatReference(r)) deep-equals r for valid references', () => {
    fc.assert(
      fc.property(reference, (r) => {
        const printed = formatReference(r);
        expect(parseReference(printed)).toStrictEqual(r);
        expect(referenceKey(r)).toBe(referenceKey(parseReference(printed)));
        expect(hasReference(printed)).toBe(true);
      }),
      { numRuns: 2000 },
    );
  });

  it('parseTemplate(formatTemplate(parts)) gives the same texts and references', () => {
    const text = fc.oneof(fc.string({ unit: 'binary' }), templateish);
    const part: fc.Arbitrary<TemplatePart> = fc.oneof(
      text.map((t) => ({ kind: 'text' as const, text: t })),
      reference.map((r) => ({ kind: 'ref' as const, ref: r, raw: '', start: 0, end: 0 })),
    );
    const normalize = (parts: TemplatePart[]) => {
      const out: ({ kind: 'text'; text: string } | { kind: 'ref'; ref: Reference })[] = [];
      for (const p of parts) {
        const last = out[out.length - 1];
        if (p.kind === 'ref') out.push({ kind: 'ref', ref: p.ref });
        else if (p.text === '') continue;
        else if (last?.kind === 'text') last.text += p.text;
        else out.push({ kind: 'text', text: p.text });
      }
      return out;
    };
    fc.assert(
      fc.property(fc.array(part, { maxLength: 8 }), (parts) => {
        const printed = formatTemplate(parts);
        const back = parseTemplate(printed);
        expect(normalize(back)).toStrictEqual(normalize(parts));
        // printing is stable
        expect(formatTemplate(back)).toBe(printed);
      }),
      { numRuns: 2000 },
    );
  });

  it('handles long adversarial inputs', () => {
    const n = 100_000;
    const run = (input: string) => {
      try {
        return parseTemplate(input);
      } catch (err) {
        expect(err).toBeInstanceOf(StrataError);
        expect((err as StrataError).code).toBe('PARSE_ERROR');
        return undefined;
      }
    };
    expect(run('<<resolve:ssm:'.repeat(n / 10))).toBeUndefined();
    expect(run('\\'.repeat(n))).toEqual([{ kind: 'text', text: '\\'.repeat(n) }]);
    expect(run(`${'\\'.repeat(n)}<<resolve:ssm:x>>`)?.map((p) => p.kind)).toEqual(['text', 'ref']);
    expect(run('\\<<resolve:'.repeat(n / 10))).toEqual([{ kind: 'text', text: '<<resolve:'.repeat(n / 10) }]);
    expect(run('<<resolve:ssm:/a>>'.repeat(n / 10))).toHaveLength(n / 10);
    expect(run('<<'.repeat(n))).toHaveLength(1);
    expect(run(`<<resolve:ssm:/a${'>'.repeat(n)}`)).toHaveLength(2);
    expect(run(`<<resolve:ssm:${':'.repeat(n)}>>`)).toBeUndefined();
    expect(run(`<<resolve:kms:${'A'.repeat(n)}>>`)).toHaveLength(1);
    const ctx = Array.from({ length: n / 10 }, (_, i) => `k${i}=v`).join(',');
    expect(run(`<<resolve:kms:AAAA:${ctx}>>`)).toHaveLength(1);
    expect(run(`<<resolve:secretsmanager:${'a'.repeat(n)}${':'.repeat(n)}>>`)).toBeUndefined();
    expect(run(`<<resolve:ssm:/a ${'x'.repeat(n)}`)).toBeUndefined();
  });
});

describe('security: names as AWS validates them, and no echo of unvalidated text', () => {
  it('refuses parameter names AWS refuses', () => {
    parseError(() => parseReference('<<resolve:ssm://a//b>>'), 14, "empty path segment ('//'");
    parseError(() => parseReference('<<resolve:ssm:/a/>>'), 14, 'empty path segment');
    parseError(() => parseReference('<<resolve:ssm:/a/../prod/x>>'), 14, "'.' and '..'");
    parseError(() => parseReference('<<resolve:ssm:/a/./b>>'), 14, "'.' and '..'");
    parseError(() => parseReference('<<resolve:ssm:a/b>>'), 14, 'fully qualified');
    parseError(() => parseReference(`<<resolve:ssm:/${'a'.repeat(1011)}>>`), 14, 'longer than 1,011');
    const deep = `/${Array.from({ length: 16 }, (_, i) => `l${i}`).join('/')}`;
    parseError(() => parseReference(`<<resolve:ssm:${deep}>>`), 14, 'more than 15 levels');
    expect(parseReference(`<<resolve:ssm:${deep.replace('/l15', '')}>>`)).toMatchObject({ service: 'ssm' });
    for (const name of ['awsTest', 'SSM-param', '/aws/testparam', '/Ssm/x', 'AWS']) {
      parseError(() => parseReference(`<<resolve:ssm:${name}>>`), 14, "cannot start with 'aws' or 'ssm'");
    }
    // AWS's readable namespaces stay readable
    expect(parseReference('<<resolve:ssm:/aws/service/global-infrastructure/regions>>')).toMatchObject({
      name: '/aws/service/global-infrastructure/regions',
    });
    parseError(() => parseReference('<<resolve:ssm:/a:awsLabel>>'), 17, "labels cannot start with 'aws'");
    parseError(
      () => parseReference(`<<resolve:secretsmanager:${'s'.repeat(513)}>>`),
      25,
      'longer than 512 characters',
    );
    parseError(
      () => parseReference(`<<resolve:secretsmanager:x:SecretString::${'S'.repeat(257)}>>`),
      41,
      'longer than 256 characters',
    );
  });

  it('never echoes text after the part that passed validation', () => {
    // an unterminated reference followed by a literal password (exec, resolve)
    for (const input of [
      "DBURL='<<resolve:ssm:/x:pw=TOPSECRET'",
      'postgres://u:<<resolve:ssm:/a@h/db?password=hunter2',
      '<<resolve:ssm:/a:TOPSECRET!>>',
      '<<resolve:ssm:/a/TOPSECRET$>>',
      '<<resolve:TOPSECRET>>',
      '<<resolve:secretsmanager:x:SecretString:TOPSECRET\u0000>>',
      '<<resolve:kms:AAAA:TOPSECRET=%zz>>',
      '<<resolve:ssm:/a:1:TOPSECRET>>',
    ]) {
      let caught: StrataError | undefined;
      try {
        parseTemplate(input);
      } catch (err) {
        caught = err as StrataError;
      }
      expect(caught?.code, input).toBe('PARSE_ERROR');
      for (const secret of ['TOPSECRET', 'hunter2', 'pw=', 'TOPSE', 'h/db']) {
        expect(caught!.message, input).not.toContain(secret);
        expect(JSON.stringify(caught), input).not.toContain(secret);
      }
    }
    // the type and the valid name are shown
    parseError(
      () => parseTemplate('a=<<resolve:ssm:/acme/db:0>>'),
      25,
      'positive integer',
      "in '<<resolve:ssm:/acme/db'",
    );
  });

  it('with an origin, names the source and position and echoes nothing', () => {
    const origin = { what: 'the value of ssm parameter /acme/dev/db/url', source: '/acme/dev/db/url' };
    const err = parseError(
      () => parseTemplate('postgres://<<resolve:ssm:/acme/dev/pw', { origin }),
      11,
      'in the value of ssm parameter /acme/dev/db/url',
      "missing closing '>>'",
    );
    expect(err.message).not.toContain('<<resolve');
    expect(err.message).not.toContain('postgres');
    expect(err.source).toBe('/acme/dev/db/url');
    const canary = 'CANARY-0f3a9c';
    fc.assert(
      fc.property(anyString, anyString, (a, b) => {
        const input = `${a}${canary}${b}<<resolve:${canary}${a}`;
        try {
          parseTemplate(input, { origin });
        } catch (e) {
          const s = JSON.stringify(e) + (e as Error).message;
          expect(s).not.toContain(canary.slice(0, 8));
          expect((e as StrataError).source).toBe('/acme/dev/db/url');
        }
      }),
      { numRuns: 500 },
    );
  });
});
