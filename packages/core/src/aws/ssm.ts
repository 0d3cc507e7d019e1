/**
 * SSM Parameter Store for the AWS backend: GetParameters (10 names a call, per region,
 * concurrently), GetParametersByPath (paged), DescribeParameters (`./describe.ts`) and PutParameter.
 */
import { GetParametersByPathCommand, GetParametersCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import type {
  Outcome,
  ParameterBackend,
  ParameterQuery,
  ParameterRecord,
  PutParameterInput,
  PutParameterResult,
} from '../backend.js';
import { StrataError } from '../errors.js';
import { lazyModule } from '../lazy.js';
import { parseArn, regionOf } from './arn.js';
import type { AwsBackend } from './backend.js';
import type { DescribedParameter } from './describe.js';
import type { DiscoveryIo } from './discovery.js';
import { chunk, groupBy, matchesQuery, queryString, SSM_BATCH, toRecord } from './records.js';
import { badResponse, checkNextToken, checkParameters } from './shape.js';

type DiscoveryModule = typeof import('./discovery.js');
type DescribeModule = typeof import('./describe.js');

/**
 * Listing by path (`./discovery.ts`) and DescribeParameters (`./describe.ts`) are imported on first
 * use, not with Strata: reading parameters by name (a schema's keys) never loads them.
 */
const loadDiscovery = lazyModule<DiscoveryModule>(
  'ssm',
  '@strata/core aws/discovery',
  () => import('./discovery.js'),
);
const loadDescribe = lazyModule<DescribeModule>(
  'ssm',
  '@strata/core aws/describe',
  () => import('./describe.js'),
);

export class SsmApi implements ParameterBackend {
  /** Sharded discovery's calls (and whether DescribeParameters was refused), made on first use. */
  private discoveryIo: DiscoveryIo | undefined;

  constructor(private readonly b: AwsBackend) {}
  get region(): string {
    return this.b.region;
  }

  async getParameters(queries: ParameterQuery[]): Promise<Outcome<ParameterRecord>[]> {
    const results = new Map<ParameterQuery, Outcome<ParameterRecord>>();
    const byRegion = groupBy(queries, (q) => regionOf(q.name, this.b.region));
    const jobs: Promise<void>[] = [];
    for (const [region, qs] of byRegion) {
      for (const batch of chunk(qs, SSM_BATCH)) {
        const names = batch.map(queryString);
        jobs.push(
          this.b
            .run('ssm', region, 'GetParameters', names.join(','), async (abortSignal) => {
              const out = await this.b
                .ssmClient(region)
                .send(new GetParametersCommand({ Names: names, WithDecryption: true }), { abortSignal });
              checkParameters(out, 'ssm:GetParameters', names.join(','));
              return out;
            })
            .then(
              (out) => {
                const returned = [...(out.Parameters ?? [])];
                for (const q of batch) {
                  const i = returned.findIndex((p) => matchesQuery(p, q));
                  const p = i >= 0 ? returned.splice(i, 1)[0] : undefined;
                  results.set(
                    q,
                    p
                      ? { ok: true, value: { ...toRecord(p), name: parseArn(q.name) ? p.Name! : q.name } }
                      : {
                          ok: false,
                          error: new StrataError(
                            'NOT_FOUND',
                            `parameter ${queryString(q)} not found${q.version !== undefined ? ' (no such version)' : q.label !== undefined ? ' (no such label)' : ''}`,
                            { source: queryString(q) },
                          ),
                        },
                  );
                }
              },
              (error: StrataError) => {
                for (const q of batch) results.set(q, { ok: false, error });
              },
            ),
        );
      }
    }
    await Promise.all(jobs);
    return queries.map((q) => results.get(q)!);
  }

  async getParametersByPath(path: string, opts: { recursive: boolean }): Promise<ParameterRecord[]> {
    if (this.b.discovery !== 'paged') {
      const { awsDiscoveryIo, discoverLevel } = await loadDiscovery();
      // one per backend: it remembers whether DescribeParameters was refused
      this.discoveryIo ??= awsDiscoveryIo(this.b);
      return discoverLevel(this.discoveryIo, path, opts);
    }
    const region = regionOf(path, this.b.region);
    const out: ParameterRecord[] = [];
    const seen = new Set<string>();
    let next: string | undefined;
    do {
      const token = next;
      const page = await this.b.run('ssm', region, 'GetParametersByPath', path, async (abortSignal) => {
        const res = await this.b.ssmClient(region).send(
          new GetParametersByPathCommand({
            Path: path,
            Recursive: opts.recursive,
            WithDecryption: true,
            MaxResults: 10,
            ...(token ? { NextToken: token } : {}),
          }),
          { abortSignal },
        );
        checkParameters(res, 'ssm:GetParametersByPath', path);
        return res;
      });
      for (const p of page.Parameters ?? []) out.push(toRecord(p));
      next = checkNextToken(page, seen, 'ssm:GetParametersByPath', path);
    } while (next);
    return out;
  }

  async describeByPath(path: string, opts: { recursive: boolean }): Promise<DescribedParameter[]> {
    return (await loadDescribe()).describeByPath(this.b, path, opts);
  }

  /**
   * PutParameter (Overwrite unless `overwrite: false`), with the same timeouts and retries as
   * reads, but its own rate-limit bucket (`ssm-write`). Retrying is safe: the same value written
   * twice only adds a version.
   */
  async putParameter(input: PutParameterInput): Promise<PutParameterResult> {
    const region = regionOf(input.name, this.b.region);
    const op = 'ssm:PutParameter';
    const out = await this.b.run(
      'ssm',
      region,
      'PutParameter',
      input.name,
      async (abortSignal) => {
        const res = await this.b.ssmClient(region).send(
          new PutParameterCommand({
            Name: input.name,
            Value: input.value,
            Type: input.type,
            Overwrite: input.overwrite ?? true,
            ...(input.tier ? { Tier: input.tier } : {}),
            ...(input.type === 'SecureString' && input.keyId ? { KeyId: input.keyId } : {}),
          }),
          { abortSignal },
        );
        if (typeof res?.Version !== 'number') throw badResponse(op, input.name, 'Version is missing');
        return res;
      },
      { bucket: 'ssm-write' },
    );
    return { name: input.name, version: out.Version!, ...(out.Tier ? { tier: out.Tier } : {}) };
  }
}
