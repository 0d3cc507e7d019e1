/**
 * The operator process. Configuration from the environment (set by the Helm chart):
 * KUBECONFIG or in-cluster credentials; STRATA_AWS_REGION, STRATA_AWS_ENDPOINT,
 * STRATA_AWS_REPLICA_REGIONS; STRATA_SQS_QUEUE_URL, STRATA_SQS_WAIT_TIME_SECONDS;
 * STRATA_REFRESH_INTERVAL, STRATA_REFRESH_JITTER_PERCENT; STRATA_LEADER_ELECTION,
 * STRATA_LEADER_ELECTION_ID, STRATA_LEADER_ELECTION_NAMESPACE (or POD_NAMESPACE),
 * STRATA_LEASE_DURATION, STRATA_RENEW_DEADLINE, STRATA_RETRY_PERIOD, POD_NAME;
 * STRATA_WATCH_NAMESPACES; STRATA_LOG_LEVEL; STRATA_HEALTH_PORT, STRATA_HEALTH_HOST;
 * STRATA_METRICS_PORT, STRATA_METRICS_HOST; STRATA_CONCURRENCY.
 * /healthz, /readyz and /metrics are served on STRATA_HEALTH_PORT (default 8081) and, when
 * STRATA_METRICS_PORT differs, /metrics there too. The *_HOST settings choose the address each
 * listener binds (default: every interface).
 */
import { hostname } from 'node:os';
import { KubeConfig } from '@kubernetes/client-node';
import pino from 'pino';
import { Operator } from './operator.js';
import { parseDuration } from './status.js';

export function operatorFromEnv(env: NodeJS.ProcessEnv = process.env): Operator {
  const kc = new KubeConfig();
  kc.loadFromDefault();
  const logger = pino({ name: 'strata-operator', level: env.STRATA_LOG_LEVEL ?? 'info' });
  const list = (v: string | undefined) =>
    (v ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const region = env.STRATA_AWS_REGION ?? env.AWS_REGION;
  const endpoint = env.STRATA_AWS_ENDPOINT;
  const leaderOn = (env.STRATA_LEADER_ELECTION ?? 'true') !== 'false';
  const namespaces = list(env.STRATA_WATCH_NAMESPACES);
  return new Operator({
    kubeConfig: kc,
    logger,
    resolver: {
      aws: {
        ...(region ? { region } : {}),
        ...(endpoint ? { endpoint } : {}),
        replicaRegions: list(env.STRATA_AWS_REPLICA_REGIONS),
      },
    },
    ...(namespaces.length > 0 ? { namespaces } : {}),
    defaultRefreshMs: parseDuration(env.STRATA_REFRESH_INTERVAL, 3_600_000),
    jitter: Number(env.STRATA_REFRESH_JITTER_PERCENT ?? '10') / 100,
    ...(env.STRATA_CONCURRENCY ? { concurrency: Number(env.STRATA_CONCURRENCY) } : {}),
    ...(env.STRATA_SQS_QUEUE_URL
      ? {
          sqs: {
            queueUrl: env.STRATA_SQS_QUEUE_URL,
            ...(region ? { region } : {}),
            ...(endpoint ? { endpoint } : {}),
            waitTimeSeconds: Number(env.STRATA_SQS_WAIT_TIME_SECONDS ?? '20'),
          },
        }
      : {}),
    ...(leaderOn
      ? {
          leaderElection: {
            namespace: env.STRATA_LEADER_ELECTION_NAMESPACE ?? env.POD_NAMESPACE ?? 'default',
            name: env.STRATA_LEADER_ELECTION_ID ?? 'strata-operator-leader',
            identity: env.POD_NAME ?? `${hostname()}-${process.pid}`,
            leaseDurationMs: parseDuration(env.STRATA_LEASE_DURATION, 15_000),
            renewDeadlineMs: parseDuration(env.STRATA_RENEW_DEADLINE, 10_000),
            retryPeriodMs: parseDuration(env.STRATA_RETRY_PERIOD, 2_000),
          },
        }
      : {}),
    httpPort: Number(env.STRATA_HEALTH_PORT ?? '8081'),
    ...(env.STRATA_HEALTH_HOST ? { httpHost: env.STRATA_HEALTH_HOST } : {}),
    ...(env.STRATA_METRICS_ENABLED !== 'false' && env.STRATA_METRICS_PORT
      ? {
          metricsPort: Number(env.STRATA_METRICS_PORT),
          ...(env.STRATA_METRICS_HOST ? { metricsHost: env.STRATA_METRICS_HOST } : {}),
        }
      : {}),
  });
}
