/** The chart's listener host values reach the operator, and bad ones are refused by the schema. */
import * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { CHART, helm } from './helpers.js';

describe('chart: listener hosts', () => {
  const env = async (...set: string[]) => {
    const out = await helm(['template', 'x', CHART, ...set.flatMap((s) => ['--set', s])]);
    const deployment = k8s
      .loadAllYaml(out)
      .find((o: k8s.KubernetesObject) => o?.kind === 'Deployment') as k8s.V1Deployment;
    return Object.fromEntries(
      (deployment.spec?.template.spec?.containers[0]?.env ?? []).map((e) => [e.name, e.value]),
    );
  };

  it('health.host and metrics.host reach the operator as STRATA_HEALTH_HOST / STRATA_METRICS_HOST', async () => {
    const byDefault = await env();
    expect(byDefault.STRATA_HEALTH_HOST).toBeUndefined();
    expect(byDefault.STRATA_METRICS_HOST).toBeUndefined();
    const set = await env('health.host=0.0.0.0', 'metrics.host=127.0.0.1');
    expect(set).toMatchObject({ STRATA_HEALTH_HOST: '0.0.0.0', STRATA_METRICS_HOST: '127.0.0.1' });
    expect((await env('health.host=::')).STRATA_HEALTH_HOST).toBe('::');
  });

  it('refuses a loopback health host (the kubelet could not probe it) and a malformed host', async () => {
    await expect(env('health.host=127.0.0.1')).rejects.toThrow(/health/);
    await expect(env('metrics.host=not a host')).rejects.toThrow(/metrics/);
  });
});
