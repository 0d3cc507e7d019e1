import { describe, expect, it } from 'vitest';
import { contentHash, decideWrite, desiredSecret } from '../src/desired.js';
import { MalformedEvent, parseEvent } from '../src/events.js';
import { microTime } from '../src/leader.js';
import { deniedSources, grantsFor, pathAllowed, secretAllowed } from '../src/policy.js';
import { DependencyIndex } from '../src/sources.js';
import { nextStatus, parseDuration } from '../src/status.js';
import { API_VERSION, type SecretSync, type SourcePolicy } from '../src/types.js';

const sync = (spec: Partial<SecretSync['spec']> = {}): SecretSync => ({
  apiVersion: API_VERSION,
  kind: 'SecretSync',
  metadata: { name: 'app', namespace: 'team-a', uid: 'uid-1', generation: 3 },
  spec: {
    target: { name: 'app-secret' },
    sources: [{ refs: { password: '<<resolve:ssm:/app/dev/pw>>' } }],
    ...spec,
  },
});

const policy = (spec: SourcePolicy['spec']): SourcePolicy => ({
  apiVersion: API_VERSION,
  kind: 'SourcePolicy',
  metadata: { name: 'p' },
  spec,
});

describe('source policy (default deny)', () => {
  it('grants by namespace name or label selector, and nothing otherwise', () => {
    const ps = [
      policy({ namespaces: { names: ['team-a'] }, ssm: { paths: ['/app'] } }),
      policy({
        namespaces: { selector: { matchLabels: { team: 'b' } } },
        secretsManager: { names: ['b/*'] },
      }),
    ];
    expect(grantsFor('team-a', {}, ps).ssmPaths).toEqual(['/app']);
    expect(grantsFor('team-x', { team: 'b' }, ps).secretNames).toEqual(['b/*']);
    expect(grantsFor('team-z', {}, ps)).toEqual({ ssmPaths: [], secretNames: [], kmsKeys: [] });
  });

  it('matches SSM paths on segment boundaries and secrets by name, prefix or ARN', () => {
    expect(pathAllowed('/app/dev/pw', ['/app'])).toBe(true);
    expect(pathAllowed('/application/x', ['/app'])).toBe(false);
    expect(secretAllowed('arn:aws:secretsmanager:us-east-1:123456789012:secret:b/db-AbCdEf', ['b/*'])).toBe(
      true,
    );
    expect(secretAllowed('c/db', ['b/*'])).toBe(false);
  });

  it('lists every source the grants do not cover', () => {
    const s = sync({
      sources: [
        { hierarchy: { levels: ['/app', '/app/dev'] } },
        { refs: { a: '<<resolve:secretsmanager:other/db:SecretString:pw>>', b: '<<resolve:kms:AQID>>' } },
      ],
    });
    expect(deniedSources(s.spec, { ssmPaths: ['/app'], secretNames: [], kmsKeys: [] })).toEqual([
      'secret other/db',
      'kms decryption',
    ]);
    expect(deniedSources(s.spec, { ssmPaths: [], secretNames: [], kmsKeys: [] })).toContain('ssm path /app');
  });
});

describe('desired Secret and the write decision', () => {
  it('builds an owned Secret with the content hash', () => {
    const { secret, hash } = desiredSecret(sync(), { password: 'pw' });
    expect(secret.metadata.ownerReferences?.[0]).toMatchObject({
      kind: 'SecretSync',
      uid: 'uid-1',
      controller: true,
    });
    expect(secret.data).toEqual({ password: Buffer.from('pw').toString('base64') });
    expect(secret.metadata.annotations?.['strata.dev/content-hash']).toBe(hash);
    expect(hash).toBe(contentHash({ password: 'pw' }));
    expect(
      desiredSecret(sync({ deletionPolicy: 'Retain' }), {}).secret.metadata.ownerReferences,
    ).toBeUndefined();
  });

  it('creates, leaves alone, updates, repairs drift, and never takes over an unmanaged Secret', () => {
    const s = sync();
    const d = desiredSecret(s, { password: 'pw' });
    expect(decideWrite(s, d, undefined).action).toBe('create');
    const same = { metadata: d.secret.metadata, data: d.secret.data!, type: 'Opaque' };
    expect(decideWrite(s, d, same).action).toBe('none');
    const edited = { ...same, data: { password: Buffer.from('hacked').toString('base64') } };
    expect(decideWrite(s, d, edited).action).toBe('repair');
    const d2 = desiredSecret(s, { password: 'new' });
    expect(decideWrite(s, d2, same).action).toBe('update');
    const foreign = { metadata: { labels: {} }, data: {} };
    expect(decideWrite(s, d, foreign)).toMatchObject({ action: 'conflict' });
    expect(decideWrite(sync({ creationPolicy: 'Adopt' }), d, foreign).action).toBe('update');
    const other = { metadata: { labels: { 'strata.dev/secretsync': 'someone-else' } }, data: {} };
    expect(decideWrite(s, d, other)).toMatchObject({ action: 'conflict' });
  });
});

describe('rotation events', () => {
  it('parses Parameter Store changes and Secrets Manager CloudTrail events (names and ARNs)', () => {
    expect(
      parseEvent(
        JSON.stringify({
          source: 'aws.ssm',
          'detail-type': 'Parameter Store Change',
          detail: { operation: 'Update', name: '/a/b', type: 'String' },
        }),
      ),
    ).toMatchObject({ kind: 'ssm', name: '/a/b', operation: 'Update' });
    expect(
      parseEvent(
        JSON.stringify({
          source: 'aws.secretsmanager',
          'detail-type': 'AWS API Call via CloudTrail',
          detail: {
            eventName: 'PutSecretValue',
            requestParameters: { secretId: 'arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf' },
          },
        }),
      ),
    ).toMatchObject({ kind: 'secret', id: 'arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf' });
    expect(
      parseEvent(
        JSON.stringify({
          source: 'aws.secretsmanager',
          'detail-type': 'AWS Service Event via CloudTrail',
          detail: { eventName: 'RotationSucceeded', additionalEventData: { SecretId: 'db' } },
        }),
      ),
    ).toMatchObject({ kind: 'secret', id: 'db', operation: 'RotationSucceeded' });
    expect(
      parseEvent(
        JSON.stringify({
          source: 'aws.secretsmanager',
          'detail-type': 'x',
          detail: { eventName: 'GetSecretValue' },
        }),
      ),
    ).toBeUndefined();
    expect(() => parseEvent('not json')).toThrow(MalformedEvent);
    expect(() =>
      parseEvent(JSON.stringify({ source: 'aws.ssm', 'detail-type': 'Parameter Store Change', detail: {} })),
    ).toThrow(MalformedEvent);
  });

  it('requeues only resources that depend on the changed source', () => {
    const idx = new DependencyIndex();
    idx.set('a/one', sync({ sources: [{ hierarchy: { levels: ['/app', '/app/dev'] } }] }).spec);
    idx.set(
      'a/two',
      sync({ sources: [{ refs: { x: '<<resolve:secretsmanager:db:SecretString:pw>>' } }] }).spec,
    );
    idx.set('a/three', sync({ sources: [{ refs: { x: '<<resolve:ssm:/other/x>>' } }] }).spec);
    expect(idx.forParameter('/app/dev/db/url')).toEqual(['a/one']);
    expect(idx.forParameter('/app/x')).toEqual(['a/one']);
    expect(idx.forParameter('/app/prod/x')).toEqual([]); // /app is read non-recursively
    expect(idx.forSecret('arn:aws:secretsmanager:us-east-1:1:secret:db-AbCdEf')).toEqual(['a/two']);
    expect(idx.forParameter('/other/x')).toEqual(['a/three']);
  });
});

describe('status and durations', () => {
  it('keeps lastTransitionTime while the status holds', () => {
    const t1 = new Date('2026-01-01T00:00:00Z');
    const t2 = new Date('2026-01-01T01:00:00Z');
    const a = nextStatus(undefined, {
      ready: true,
      reason: 'Synced',
      message: 'ok',
      generation: 1,
      now: t1,
      synced: true,
    });
    const b = nextStatus(a, { ready: true, reason: 'Synced', message: 'ok', generation: 2, now: t2 });
    expect(b.conditions?.[0]?.lastTransitionTime).toBe(t1.toISOString());
    expect(b.observedGeneration).toBe(2);
    const c = nextStatus(b, { ready: false, reason: 'AccessDenied', message: 'no', now: t2 });
    expect(c.conditions?.[0]).toMatchObject({
      status: 'False',
      reason: 'AccessDenied',
      lastTransitionTime: t2.toISOString(),
    });
  });
  it('parses durations and MicroTime', () => {
    expect(parseDuration('1h30m', 1)).toBe(5_400_000);
    expect(parseDuration('bogus', 7)).toBe(7);
    expect(microTime(new Date('2026-01-01T00:00:00.123Z'))).toBe('2026-01-01T00:00:00.123000Z');
  });
});
