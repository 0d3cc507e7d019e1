/**
 * Discovery without values: DescribeParameters with a `Path` filter (50 a page on AWS, 10 on moto),
 * one sequential chain of pages per path. The resolver's freshness checks use it to learn versions
 * without reading values. Kept apart so another discovery strategy can be wired in beside it.
 */
import { DescribeParametersCommand } from '@aws-sdk/client-ssm';
import { regionOf } from './arn.js';
import type { AwsBackend } from './backend.js';
import { arrayField, checkNextToken, stringField } from './shape.js';

export interface DescribedParameter {
  name: string;
  version: number;
}

/** Every parameter under `path` (one level, or recursive) with its version, no value. */
export async function describeByPath(
  b: AwsBackend,
  path: string,
  opts: { recursive: boolean },
): Promise<DescribedParameter[]> {
  const region = regionOf(path, b.region);
  const out: DescribedParameter[] = [];
  const seen = new Set<string>();
  let next: string | undefined;
  do {
    const token = next;
    const page = await b.run('ssm', region, 'DescribeParameters', path, async (abortSignal) => {
      const res = await b.ssmClient(region).send(
        new DescribeParametersCommand({
          ParameterFilters: [
            { Key: 'Path', Option: opts.recursive ? 'Recursive' : 'OneLevel', Values: [path] },
          ],
          MaxResults: 50,
          ...(token ? { NextToken: token } : {}),
        }),
        { abortSignal },
      );
      arrayField(res, 'Parameters', 'ssm:DescribeParameters', path).forEach((p, i) => {
        stringField(p, 'Name', `Parameters[${i}]`, 'ssm:DescribeParameters', path);
      });
      return res;
    });
    for (const p of page.Parameters ?? []) out.push({ name: p.Name!, version: p.Version ?? 0 });
    next = checkNextToken(page, seen, 'ssm:DescribeParameters', path);
  } while (next);
  return out;
}
