/**
 * What every backend offers besides its three services: `stats` (the calls it made) and `close()`
 * (releasing what it created, never what it was given). No network: clients are only constructed.
 */
import { SSMClient } from '@aws-sdk/client-ssm';
import { describe, expect, it } from 'vitest';
import { AwsBackend } from '../src/aws/backend.js';
import type { Backend } from '../src/backend.js';
import { LocalBackend, parseLocalTree } from '../src/local/backend.js';
import { Resolver } from '../src/resolver.js';

describe('Backend.stats and Backend.close', () => {
  it('the local backend counts its calls in stats, which a resolver over it shares', async () => {
    const backend: Backend = new LocalBackend(parseLocalTree({ parameters: { '/a/b': 'x' } }));
    const r = new Resolver({ backend });
    expect((await r.resolveTemplate('<<resolve:ssm:/a/b>>')).value).toBe('x');
    expect(backend.stats.snapshot().calls).toEqual({ 'local:GetParameters': 1 });
    expect(r.statsSnapshot().calls).toEqual({ 'local:GetParameters': 1 });
    await backend.close();
    // nothing to release: the local backend keeps answering
    expect(await backend.ssm.getParameters([{ name: '/a/b' }])).toMatchObject([{ ok: true }]);
  });

  it('the AWS backend destroys the clients it created and leaves the ones it was given open', async () => {
    const given = new SSMClient({ region: 'eu-west-1' });
    const destroyed: string[] = [];
    given.destroy = () => destroyed.push('given');
    const backend = new AwsBackend({ region: 'eu-west-1', clients: { ssm: given } });
    expect(backend.ssmClient('eu-west-1')).toBe(given);
    const made = backend.ssmClient('us-east-2'); // another region: a client made like the given one
    expect(made).not.toBe(given);
    expect(backend.ssmClient('us-east-2')).toBe(made); // one per region
    made.destroy = () => destroyed.push('made');
    await backend.close();
    expect(destroyed).toEqual(['made']);
    // a call after close gets a fresh client
    expect(backend.ssmClient('us-east-2')).not.toBe(made);
    await backend.close();
    given.destroy = SSMClient.prototype.destroy;
    given.destroy();
  });
});
