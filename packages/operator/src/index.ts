export { Controller, type ControllerOptions } from './controller.js';
export { contentHash, decideWrite, desiredSecret, type SecretObject, type WriteDecision } from './desired.js';
export { MalformedEvent, parseEvent, type SourceChange } from './events.js';
export { type KubeClient, KubeError, kubeClient } from './kube.js';
export {
  LeaderElector,
  type LeaderOptions,
  type Lease,
  type LeaseObservation,
  leaseHeldByOther,
  microTime,
} from './leader.js';
export { operatorFromEnv } from './main.js';
export { createMetrics, type Metrics } from './metrics.js';
export { Operator, type OperatorOptions } from './operator.js';
export {
  deniedSources,
  grantsFor,
  matchesSelector,
  pathAllowed,
  secretAllowed,
  sourcesOf,
} from './policy.js';
export { type QueueResult, WorkQueue } from './queue.js';
export { RefreshScheduler, type RefreshSchedulerOptions } from './refresh.js';
export { DependencyIndex, resolveSources } from './sources.js';
export { SqsConsumer } from './sqs.js';
export { nextStatus, parseDuration, readyCondition } from './status.js';
export * from './types.js';
