/**
 * Secrets Manager for the AWS backend: BatchGetSecretValue (20 ids a call) for the current
 * version, GetSecretValue for a pinned stage or version id, DescribeSecret for the current version
 * id; each tried in the secret's own region, then in the replica regions for errors worth failing
 * over. `@aws-sdk/client-secrets-manager` is loaded with `import()` on the first Secrets Manager call,
 * not when Strata is imported: a process that reads only SSM parameters never loads it.
 */
import type { Outcome, SecretBackend, SecretQuery, SecretRecord } from '../backend.js';
import { StrataError } from '../errors.js';
import { lazyModule } from '../lazy.js';
import { parseArn, regionOf } from './arn.js';
import type { AwsBackend } from './backend.js';
import { chunk, groupBy, SM_BATCH, toSecretRecord } from './records.js';
import { arrayField, badResponse, checkSecretValue, stringField } from './shape.js';

export type SecretsSdk = typeof import('@aws-sdk/client-secrets-manager');

/** The Secrets Manager client module, imported on first use. */
const loadSecretsSdk = lazyModule(
  'secretsmanager',
  '@aws-sdk/client-secrets-manager',
  () => import('@aws-sdk/client-secrets-manager'),
);

export class SecretsApi implements SecretBackend {
  constructor(private readonly b: AwsBackend) {}
  get region(): string {
    return this.b.region;
  }

  /** Tries the secret's own region, then each replica region, for errors worth failing over. */
  private async withFailover<T>(id: string, fn: (region: string) => Promise<T>): Promise<T> {
    const primary = regionOf(id, this.b.region);
    const regions = [primary, ...this.b.replicaRegions.filter((r) => r !== primary)];
    let last: unknown;
    for (const region of regions) {
      try {
        return await fn(region);
      } catch (err) {
        last = err;
        if (!(err instanceof StrataError) || !err.retryable) throw err;
      }
    }
    throw last;
  }

  /** An ARN for the primary region, rewritten for a replica region (same account, same name). */
  private idIn(id: string, region: string): string {
    const arn = parseArn(id);
    if (!arn || arn.region === region) return id;
    return `arn:${arn.partition}:${arn.service}:${region}:${arn.account}:${arn.resource}`;
  }

  async getSecrets(queries: SecretQuery[]): Promise<Outcome<SecretRecord>[]> {
    if (queries.length === 0) return [];
    let sdk: SecretsSdk;
    try {
      sdk = await loadSecretsSdk();
    } catch (err) {
      return queries.map(() => ({ ok: false, error: err as StrataError }));
    }
    const { BatchGetSecretValueCommand, GetSecretValueCommand } = sdk;
    const results = new Map<SecretQuery, Outcome<SecretRecord>>();
    const latest = queries.filter(
      (q) => !q.versionId && (!q.versionStage || q.versionStage === 'AWSCURRENT'),
    );
    const pinned = queries.filter((q) => !latest.includes(q));
    const jobs: Promise<void>[] = [];
    const byRegion = groupBy(latest, (q) => regionOf(q.secretId, this.b.region));
    for (const [, qs] of byRegion) {
      for (const batch of chunk(qs, SM_BATCH)) {
        const ids = [...new Set(batch.map((q) => q.secretId))];
        jobs.push(
          this.withFailover(ids[0]!, (region) =>
            this.b.run(
              'secretsmanager',
              region,
              'BatchGetSecretValue',
              ids.join(','),
              async (abortSignal) => {
                const res = await this.b
                  .secretsClient(sdk, region)
                  .send(
                    new BatchGetSecretValueCommand({ SecretIdList: ids.map((id) => this.idIn(id, region)) }),
                    {
                      abortSignal,
                    },
                  );
                const op = 'secretsmanager:BatchGetSecretValue';
                arrayField(res, 'SecretValues', op, ids.join(',')).forEach((sv, i) => {
                  checkSecretValue(sv, `SecretValues[${i}]`, op, ids.join(','));
                });
                arrayField(res, 'Errors', op, ids.join(','), false).forEach((e, i) => {
                  stringField(e, 'SecretId', `Errors[${i}]`, op, ids.join(','), true);
                  stringField(e, 'ErrorCode', `Errors[${i}]`, op, ids.join(','), true);
                });
                return res;
              },
            ),
          ).then(
            (out) => {
              for (const q of batch) {
                const sv = (out.SecretValues ?? []).find(
                  (s) =>
                    s.Name === q.secretId ||
                    s.ARN === q.secretId ||
                    (q.secretId.startsWith('arn:') && s.ARN?.startsWith(q.secretId)) ||
                    (s.ARN && parseArn(s.ARN)?.resource === parseArn(q.secretId)?.resource),
                );
                if (sv) {
                  results.set(q, { ok: true, value: toSecretRecord(q.secretId, sv) });
                  continue;
                }
                const e = (out.Errors ?? []).find(
                  (x) => x.SecretId === q.secretId || q.secretId.endsWith(`:${x.SecretId}`),
                );
                const code = e?.ErrorCode ?? 'ResourceNotFoundException';
                results.set(q, {
                  ok: false,
                  error: new StrataError(
                    code.includes('NotFound')
                      ? 'NOT_FOUND'
                      : code.includes('AccessDenied')
                        ? 'ACCESS_DENIED'
                        : code.includes('Decryption')
                          ? 'DECRYPT_FAILED'
                          : 'AWS_ERROR',
                    `secretsmanager:BatchGetSecretValue ${q.secretId}: ${code}`,
                    { source: q.secretId },
                  ),
                });
              }
            },
            (error: StrataError) => {
              for (const q of batch) results.set(q, { ok: false, error });
            },
          ),
        );
      }
    }
    for (const q of pinned) {
      jobs.push(
        this.withFailover(q.secretId, (region) =>
          this.b.run('secretsmanager', region, 'GetSecretValue', q.secretId, async (abortSignal) => {
            const res = await this.b.secretsClient(sdk, region).send(
              new GetSecretValueCommand({
                SecretId: this.idIn(q.secretId, region),
                ...(q.versionId ? { VersionId: q.versionId } : {}),
                ...(q.versionStage ? { VersionStage: q.versionStage } : {}),
              }),
              { abortSignal },
            );
            if (res === null || typeof res !== 'object')
              throw badResponse('secretsmanager:GetSecretValue', q.secretId, 'no response body');
            checkSecretValue(
              res as unknown as Record<string, unknown>,
              'response',
              'secretsmanager:GetSecretValue',
              q.secretId,
            );
            return res;
          }),
        ).then(
          (sv) => {
            results.set(q, { ok: true, value: toSecretRecord(q.secretId, sv) });
          },
          (error: StrataError) => {
            results.set(q, { ok: false, error });
          },
        ),
      );
    }
    await Promise.all(jobs);
    return queries.map((q) => results.get(q)!);
  }

  async currentVersionId(secretId: string): Promise<string | undefined> {
    const sdk = await loadSecretsSdk();
    const out = await this.withFailover(secretId, (region) =>
      this.b.run('secretsmanager', region, 'DescribeSecret', secretId, async (abortSignal) => {
        const res = await this.b
          .secretsClient(sdk, region)
          .send(new sdk.DescribeSecretCommand({ SecretId: this.idIn(secretId, region) }), { abortSignal });
        const stages = (res as { VersionIdsToStages?: unknown } | undefined)?.VersionIdsToStages;
        if (
          stages !== undefined &&
          (stages === null ||
            typeof stages !== 'object' ||
            !Object.values(stages).every((v) => Array.isArray(v) && v.every((x) => typeof x === 'string')))
        )
          throw badResponse(
            'secretsmanager:DescribeSecret',
            secretId,
            'VersionIdsToStages is not a map of stage lists',
          );
        return res;
      }),
    );
    for (const [id, stages] of Object.entries(out.VersionIdsToStages ?? {})) {
      if (stages.includes('AWSCURRENT')) return id;
    }
    return undefined;
  }
}
