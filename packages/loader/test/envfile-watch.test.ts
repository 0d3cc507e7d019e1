/**
 * Env files read with Node's own dotenv parser, and watchConfig's error reporting: once per failed
 * refresh, with the attempt count.
 */
import {
  type Backend,
  LocalBackend,
  type ParameterRecord,
  parseLocalTree,
  Resolver,
  StrataError,
} from '@strata/core';
import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { parseEnvFile } from '../src/buildspec.js';
import { watchConfig } from '../src/index.js';

describe('env files (util.parseEnv)', () => {
  it('strips a trailing comment, as node --env-file does', () => {
    expect(parseEnvFile('X=x # comment\nY=y#no-space-needed\n')).toEqual({ X: 'x', Y: 'y' });
  });

  it('keeps # inside quotes, expands \\n in double quotes only', () => {
    expect(parseEnvFile(`A="a # b"\nB='x\\ny'\nC="x\\ny"\n`)).toEqual({ A: 'a # b', B: 'x\\ny', C: 'x\ny' });
  });

  it('accepts multi-line quoted values and export prefixes', () => {
    const text = 'export KEY="-----BEGIN KEY-----\nabc\n-----END KEY-----"\nNEXT=1\n';
    expect(parseEnvFile(text)).toEqual({ KEY: '-----BEGIN KEY-----\nabc\n-----END KEY-----', NEXT: '1' });
  });

  it('a line without = is an error naming the line, never its text', () => {
    const err = (() => {
      try {
        parseEnvFile('A=1\nPASSWORD hunter2-secret\nB=2\n', 'app.env');
      } catch (e) {
        return e as StrataError;
      }
    })();
    expect(err).toBeInstanceOf(StrataError);
    expect(err!.code).toBe('INVALID_INPUT');
    expect(err!.message).toContain('app.env:2');
    expect(err!.message).not.toContain('hunter2');
  });

  it('a value may contain = and references', () => {
    expect(parseEnvFile('URL=postgres://u:<<resolve:ssm:/a/pw>>@h/db?x=1\n')).toEqual({
      URL: 'postgres://u:<<resolve:ssm:/a/pw>>@h/db?x=1',
    });
  });
});

describe('watchConfig onError', () => {
  it('is called once per failed refresh, with the attempt count, however many ticks join it', async () => {
    const good = new LocalBackend(parseLocalTree({ parameters: { '/w/app/level': 'info' } }));
    let failing = false;
    let listings = 0;
    // A backend whose listing takes 60 ms and then fails: timer ticks every 5 ms join the refresh.
    const backend: Backend = {
      kind: 'local',
      ssm: {
        region: 'local',
        getParameters: (qs) => good.ssm.getParameters(qs),
        async getParametersByPath(path, o): Promise<ParameterRecord[]> {
          if (!failing) return good.ssm.getParametersByPath(path, o);
          listings++;
          await new Promise((r) => setTimeout(r, 60));
          throw new StrataError('UNAVAILABLE', 'ssm:GetParametersByPath /w/app: injected outage', {
            source: path,
          });
        },
      },
      secrets: good.secrets,
      kms: good.kms,
      stats: good.stats,
      close: () => good.close(),
    };
    const calls: Array<{ code: string; attempt: number }> = [];
    const h = await watchConfig({
      schema: z.object({ level: z.string() }),
      hierarchy: { levels: ['/w/app'] },
      fetchSchemaKeys: false,
      resolver: new Resolver({ backend }),
      intervalMs: 5,
      onError: (e, info) => calls.push({ code: e.code, attempt: info.attempt }),
    });
    failing = true;
    await new Promise((r) => setTimeout(r, 400));
    h.close();
    await new Promise((r) => setTimeout(r, 100)); // let the last refresh end
    expect(listings).toBeGreaterThan(1);
    expect(calls).toHaveLength(listings);
    expect(calls.map((c) => c.attempt)).toEqual(calls.map((_, i) => i + 1));
    expect(h.current.level).toBe('info');
  });

  it('a manual refresh that fails rejects and is reported once; a success resets the count', async () => {
    const t = parseLocalTree({ parameters: { '/m/app/level': 'info' } });
    const h = await watchConfig({
      schema: z.object({ level: z.enum(['info', 'debug']) }),
      hierarchy: { levels: ['/m/app'] },
      resolver: new Resolver({ backend: new LocalBackend(t) }),
      onError: (_e, info) => attempts.push(info.attempt),
    });
    const attempts: number[] = [];
    t.parameters.set('/m/app/level', { value: 'LOUD', type: 'String', version: 2, labels: [] });
    await expect(h.refresh()).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    await expect(h.refresh()).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    t.parameters.set('/m/app/level', { value: 'debug', type: 'String', version: 3, labels: [] });
    expect((await h.refresh())?.changed).toEqual(['level']);
    t.parameters.set('/m/app/level', { value: 'LOUD', type: 'String', version: 4, labels: [] });
    await expect(h.refresh()).rejects.toMatchObject({ code: 'LOAD_FAILED' });
    expect(attempts).toEqual([1, 2, 1]);
    h.close();
  });
});
