/** AWS SDK clients for tests, pointed at moto (or at a fault proxy in front of it). */
import { EventBridgeClient, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, SQSClient } from '@aws-sdk/client-sqs';
import { SSMClient } from '@aws-sdk/client-ssm';
import { TEST_REGION } from './index.js';

export function motoEndpoint(): string {
  const ep = process.env.STRATA_TEST_AWS_ENDPOINT;
  if (!ep) {
    throw new Error(
      'STRATA_TEST_AWS_ENDPOINT is not set: integration tests run under vitest with the test environment ' +
        '(npm test, or npm run env:up first). See test/README.md.',
    );
  }
  return ep;
}

export interface ClientOptions {
  endpoint?: string;
  region?: string;
  /** SDK attempts; tests of Strata's own retry logic use 1. */
  maxAttempts?: number;
}

export function clientConfig(opts: ClientOptions = {}) {
  return {
    endpoint: opts.endpoint ?? motoEndpoint(),
    region: opts.region ?? TEST_REGION,
    credentials: { accessKeyId: 'testing', secretAccessKey: 'testing' },
    maxAttempts: opts.maxAttempts ?? 3,
  };
}

export const ssm = (o?: ClientOptions) => new SSMClient(clientConfig(o));
export const secrets = (o?: ClientOptions) => new SecretsManagerClient(clientConfig(o));
export const kms = (o?: ClientOptions) => new KMSClient(clientConfig(o));
export const sqs = (o?: ClientOptions) => new SQSClient(clientConfig(o));
export const events = (o?: ClientOptions) => new EventBridgeClient(clientConfig(o));

/**
 * The rotation plumbing the operator consumes, as an AWS account would have it: an SQS queue and
 * EventBridge rules delivering Parameter Store changes and Secrets Manager events to it.
 */
export async function rotationQueue(opts: ClientOptions & { name?: string } = {}): Promise<string> {
  const q = await sqs(opts).send(new CreateQueueCommand({ QueueName: opts.name ?? 'strata-rotation' }));
  const queueUrl = q.QueueUrl!;
  const arn = (
    await sqs(opts).send(new GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['QueueArn'] }))
  ).Attributes!.QueueArn!;
  const eb = events(opts);
  const rules = {
    ssm: { source: ['aws.ssm'], 'detail-type': ['Parameter Store Change'] },
    sm: { source: ['aws.secretsmanager'] },
  };
  for (const [Name, pattern] of Object.entries(rules)) {
    await eb.send(new PutRuleCommand({ Name, EventPattern: JSON.stringify(pattern) }));
    await eb.send(new PutTargetsCommand({ Rule: Name, Targets: [{ Id: 'q', Arn: arn }] }));
  }
  return queueUrl;
}
