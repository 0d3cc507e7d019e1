/** AWS SDK clients for tests, pointed at moto (or at a fault proxy in front of it). */
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { KMSClient } from '@aws-sdk/client-kms';
import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { SQSClient } from '@aws-sdk/client-sqs';
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
