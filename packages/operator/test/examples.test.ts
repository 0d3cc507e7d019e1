import { readFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { deniedSources, grantsFor } from '../src/policy.js';
import type { SecretSync, SourcePolicy } from '../src/types.js';

const read = (rel: string) => readFileSync(new URL(rel, import.meta.url), 'utf8');

function readmeExamples(): { sync: SecretSync; policy: SourcePolicy } {
  const objs = [...read('../README.md').matchAll(/```yaml\n([\s\S]*?)```/g)].map((m) =>
    k8s.loadYaml<{ kind?: string }>(m[1]!),
  );
  return {
    sync: objs.find((o) => o?.kind === 'SecretSync') as SecretSync,
    policy: objs.find((o) => o?.kind === 'SourcePolicy') as SourcePolicy,
  };
}

describe('documented examples are working pairs (every level needs a grant)', () => {
  it('the README SecretSync is allowed by the README SourcePolicy', () => {
    const { sync, policy } = readmeExamples();
    const grants = grantsFor(sync.metadata.namespace!, {}, [policy]);
    expect(deniedSources(sync.spec, grants)).toEqual([]);
  });

  it('the chart example SecretSync is allowed by the chart example SourcePolicy', () => {
    const sync = k8s.loadYaml<SecretSync>(read('../../../charts/strata-operator/examples/secretsync.yaml'));
    const policy = k8s.loadYaml<SourcePolicy>(
      read('../../../charts/strata-operator/examples/sourcepolicy.yaml'),
    );
    const grants = grantsFor(sync.metadata.namespace!, {}, [policy]);
    expect(deniedSources(sync.spec, grants)).toEqual([]);
  });

  it('a template reads its top level too: a grant below it alone denies the SecretSync', () => {
    const { sync, policy } = readmeExamples();
    const spec = {
      ...sync.spec,
      sources: [{ hierarchy: { template: '/acme/shop/{env}', vars: { env: 'prod' } } }],
    };
    const grants = grantsFor(sync.metadata.namespace!, {}, [policy]);
    expect(deniedSources(spec, grants)).toEqual(['ssm path /acme']);
  });
});
