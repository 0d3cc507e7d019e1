import { type ParameterType, PutParameterCommand } from '@aws-sdk/client-ssm';
import * as aws from '@strata/test-env/aws';
import { type FaultProxy, startFaultProxy } from '@strata/test-env/fault-proxy';
import { Resolver, type ResolverOptions } from '../src/index.js';

export { aws };

/** A resolver pointed at `endpoint` (moto or a fault proxy) with fast retries for tests. */
export function resolverFor(endpoint: string, extra: ResolverOptions = {}): Resolver {
  return new Resolver({
    ...extra,
    aws: {
      endpoint,
      region: 'us-east-1',
      credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
      retry: { retries: 8, baseMs: 5, capMs: 50 },
      ...extra.aws,
    },
  });
}

export async function putParams(
  params: Record<string, string | { value: string; type: ParameterType }>,
  endpoint?: string,
): Promise<void> {
  const ssm = aws.ssm(endpoint ? { endpoint } : {});
  await Promise.all(
    Object.entries(params).map(([Name, v]) =>
      ssm.send(
        new PutParameterCommand({
          Name,
          Value: typeof v === 'string' ? v : v.value,
          Type: typeof v === 'string' ? 'String' : v.type,
          Overwrite: true,
        }),
      ),
    ),
  );
}

export async function proxy(): Promise<FaultProxy> {
  return startFaultProxy(aws.motoEndpoint());
}
