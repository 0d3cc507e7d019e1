import { PutEventsCommand, PutRuleCommand, PutTargetsCommand } from '@aws-sdk/client-eventbridge';
import { CreateKeyCommand, DecryptCommand, EncryptCommand } from '@aws-sdk/client-kms';
import { BatchGetSecretValueCommand, CreateSecretCommand } from '@aws-sdk/client-secrets-manager';
import { CreateQueueCommand, GetQueueAttributesCommand, ReceiveMessageCommand } from '@aws-sdk/client-sqs';
import { GetParameterCommand, GetParametersByPathCommand, PutParameterCommand } from '@aws-sdk/client-ssm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as aws from '../env/aws.js';
import { type FaultProxy, startFaultProxy } from '../env/fault-proxy.js';
import { resetMoto } from '../env/moto.js';

beforeAll(async () => {
  await resetMoto(aws.motoEndpoint());
});

describe('moto is a real AWS wire-protocol peer', () => {
  it('SSM: PutParameter then GetParametersByPath returns the tree, recursively and not', async () => {
    const ssm = aws.ssm();
    await ssm.send(new PutParameterCommand({ Name: '/smoke/app/a', Value: '1', Type: 'String' }));
    await ssm.send(new PutParameterCommand({ Name: '/smoke/app/db/url', Value: 'pg://x', Type: 'String' }));
    await ssm.send(new PutParameterCommand({ Name: '/smoke/app/pw', Value: 's3cret', Type: 'SecureString' }));
    const flat = await ssm.send(new GetParametersByPathCommand({ Path: '/smoke/app', WithDecryption: true }));
    expect(flat.Parameters?.map((p) => p.Name).sort()).toEqual(['/smoke/app/a', '/smoke/app/pw']);
    const deep = await ssm.send(
      new GetParametersByPathCommand({ Path: '/smoke/app', Recursive: true, WithDecryption: true }),
    );
    const byName = Object.fromEntries((deep.Parameters ?? []).map((p) => [p.Name, p]));
    expect(Object.keys(byName).sort()).toEqual(['/smoke/app/a', '/smoke/app/db/url', '/smoke/app/pw']);
    expect(byName['/smoke/app/pw']?.Type).toBe('SecureString');
    expect(byName['/smoke/app/pw']?.Value).toBe('s3cret');
  });

  it('Secrets Manager: BatchGetSecretValue returns values and per-secret errors', async () => {
    const sm = aws.secrets();
    await sm.send(new CreateSecretCommand({ Name: 'smoke/db', SecretString: '{"password":"pw1"}' }));
    await sm.send(new CreateSecretCommand({ Name: 'smoke/api', SecretString: 'token-2' }));
    const out = await sm.send(new BatchGetSecretValueCommand({ SecretIdList: ['smoke/db', 'smoke/api'] }));
    const values = Object.fromEntries((out.SecretValues ?? []).map((s) => [s.Name, s.SecretString]));
    expect(values).toEqual({ 'smoke/db': '{"password":"pw1"}', 'smoke/api': 'token-2' });
  });

  it('KMS: Encrypt/Decrypt round-trips with an encryption context, and a wrong context fails', async () => {
    const kms = aws.kms();
    const key = await kms.send(new CreateKeyCommand({ Description: 'smoke' }));
    const KeyId = key.KeyMetadata!.KeyId!;
    const ctx = { app: 'strata', env: 'test' };
    const enc = await kms.send(
      new EncryptCommand({ KeyId, Plaintext: Buffer.from('hello kms'), EncryptionContext: ctx }),
    );
    const dec = await kms.send(
      new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: ctx }),
    );
    expect(Buffer.from(dec.Plaintext!).toString()).toBe('hello kms');
    await expect(
      kms.send(
        new DecryptCommand({ CiphertextBlob: enc.CiphertextBlob, EncryptionContext: { app: 'other' } }),
      ),
    ).rejects.toMatchObject({ name: 'InvalidCiphertextException' });
  });

  it('EventBridge: a rule delivers a Parameter Store Change event to SQS', async () => {
    const sqs = aws.sqs();
    const eb = aws.events();
    const q = await sqs.send(new CreateQueueCommand({ QueueName: 'smoke-rotation' }));
    const attrs = await sqs.send(
      new GetQueueAttributesCommand({ QueueUrl: q.QueueUrl, AttributeNames: ['QueueArn'] }),
    );
    await eb.send(
      new PutRuleCommand({
        Name: 'smoke-ssm-changes',
        EventPattern: JSON.stringify({ source: ['aws.ssm'], 'detail-type': ['Parameter Store Change'] }),
      }),
    );
    await eb.send(
      new PutTargetsCommand({
        Rule: 'smoke-ssm-changes',
        Targets: [{ Id: 'q', Arn: attrs.Attributes!.QueueArn }],
      }),
    );
    const detail = { operation: 'Update', name: '/smoke/app/a', type: 'String' };
    const put = await eb.send(
      new PutEventsCommand({
        Entries: [
          { Source: 'aws.ssm', DetailType: 'Parameter Store Change', Detail: JSON.stringify(detail) },
        ],
      }),
    );
    expect(put.FailedEntryCount).toBe(0);
    const msgs = await sqs.send(
      new ReceiveMessageCommand({ QueueUrl: q.QueueUrl, WaitTimeSeconds: 5, MaxNumberOfMessages: 10 }),
    );
    expect(msgs.Messages).toHaveLength(1);
    const event = JSON.parse(msgs.Messages![0]!.Body!);
    expect(event).toMatchObject({ source: 'aws.ssm', 'detail-type': 'Parameter Store Change', detail });
  });
});

describe('fault proxy in front of moto', () => {
  let proxy: FaultProxy;
  beforeAll(async () => {
    proxy = await startFaultProxy(aws.motoEndpoint());
    await aws.ssm().send(new PutParameterCommand({ Name: '/smoke/proxy', Value: 'v', Type: 'String' }));
  });
  afterAll(async () => proxy.stop());

  it('forwards calls and counts them per operation', async () => {
    proxy.reset();
    const ssm = aws.ssm({ endpoint: proxy.endpoint });
    const got = await ssm.send(new GetParameterCommand({ Name: '/smoke/proxy' }));
    expect(got.Parameter?.Value).toBe('v');
    expect(proxy.counts().calls).toEqual({ 'ssm:GetParameter': 1 });
  });

  it('throttling reaches the SDK as a ThrottlingException', async () => {
    proxy.reset();
    proxy.configure({ rules: [{ fault: 'throttle', ops: ['GetParameter'] }] });
    const ssm = aws.ssm({ endpoint: proxy.endpoint, maxAttempts: 1 });
    const err = await ssm.send(new GetParameterCommand({ Name: '/smoke/proxy' })).catch((e: unknown) => e);
    expect(err).toMatchObject({ name: 'ThrottlingException', $metadata: { httpStatusCode: 400 } });
  });

  it('5xx, resets and AccessDenied reach the SDK as the errors AWS would give', async () => {
    const ssm = aws.ssm({ endpoint: proxy.endpoint, maxAttempts: 1 });
    const call = () => ssm.send(new GetParameterCommand({ Name: '/smoke/proxy' })).catch((e: unknown) => e);
    proxy.configure({ rules: [{ fault: 'error5xx', status: 503 }] });
    expect(await call()).toMatchObject({ $metadata: { httpStatusCode: 503 } });
    proxy.configure({ rules: [{ fault: 'deny', bodyIncludes: '/smoke/proxy' }] });
    expect(await call()).toMatchObject({ name: 'AccessDeniedException' });
    proxy.configure({ rules: [{ fault: 'reset' }] });
    expect(await call()).toMatchObject({ code: expect.stringMatching(/ECONNRESET|EPIPE|socket hang up/) });
    proxy.configure({ rules: [{ fault: 'throttle', times: 1 }] });
    expect(await call()).toMatchObject({ name: 'ThrottlingException' });
    expect(await call()).toMatchObject({ Parameter: { Value: 'v' } });
  });

  it('a requests-per-second quota throttles the excess of a burst', async () => {
    proxy.reset();
    proxy.configure({ rps: 5 });
    const ssm = aws.ssm({ endpoint: proxy.endpoint, maxAttempts: 1 });
    const results = await Promise.all(
      Array.from({ length: 12 }, () =>
        ssm.send(new GetParameterCommand({ Name: '/smoke/proxy' })).then(
          () => 'ok',
          (e: { name: string }) => e.name,
        ),
      ),
    );
    expect(results.filter((r) => r === 'ok').length).toBe(5);
    expect(results.filter((r) => r === 'ThrottlingException').length).toBe(7);
    expect(proxy.counts().faults.quota).toBe(7);
  });
});
