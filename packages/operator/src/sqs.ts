/**
 * The SQS consumer for rotation events: long polling; a message is deleted only after it was
 * handled; malformed messages are logged (never their body), counted and dropped without
 * crashing; errors from SQS itself back off and the loop keeps going.
 */
import { DeleteMessageBatchCommand, ReceiveMessageCommand, type SQSClient } from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { MalformedEvent, parseEvent, type SourceChange } from './events.js';
import type { Metrics } from './metrics.js';

export interface SqsConsumerOptions {
  client: SQSClient;
  queueUrl: string;
  waitTimeSeconds?: number;
  handle: (change: SourceChange, receivedAt: number) => void | Promise<void>;
  logger: Logger;
  metrics: Metrics;
}

export class SqsConsumer {
  private abort: AbortController | undefined;
  private loop: Promise<void> | undefined;

  constructor(private readonly o: SqsConsumerOptions) {}

  start(): void {
    if (this.loop) return;
    this.abort = new AbortController();
    this.loop = this.run(this.abort.signal);
  }

  /** Stops receiving; messages in flight are finished (and deleted) first. */
  async stop(): Promise<void> {
    this.abort?.abort();
    await this.loop;
    this.loop = undefined;
  }

  private async run(signal: AbortSignal): Promise<void> {
    let backoff = 500;
    while (!signal.aborted) {
      let messages: Array<{ Body?: string; ReceiptHandle?: string; MessageId?: string }> = [];
      try {
        const out = await this.o.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.o.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: this.o.waitTimeSeconds ?? 20,
          }),
          { abortSignal: signal },
        );
        messages = out.Messages ?? [];
        backoff = 500;
      } catch (err) {
        if (signal.aborted) break;
        this.o.logger.warn({ error: (err as Error).name, retryInMs: backoff }, 'sqs receive failed');
        await new Promise((r) => setTimeout(r, backoff).unref());
        backoff = Math.min(backoff * 2, 30_000);
        continue;
      }
      const done: Array<{ Id: string; ReceiptHandle: string }> = [];
      const receivedAt = Date.now();
      for (const [i, m] of messages.entries()) {
        try {
          const change = parseEvent(m.Body ?? '');
          if (change) {
            await this.o.handle(change, receivedAt);
            this.o.metrics.events.inc({ result: 'handled' });
            this.o.logger.info(
              {
                kind: change.kind,
                source: change.kind === 'ssm' ? change.name : change.id,
                operation: change.operation,
              },
              'rotation event',
            );
          } else {
            this.o.metrics.events.inc({ result: 'ignored' });
          }
          if (m.ReceiptHandle) done.push({ Id: String(i), ReceiptHandle: m.ReceiptHandle });
        } catch (err) {
          if (err instanceof MalformedEvent) {
            this.o.metrics.events.inc({ result: 'malformed' });
            this.o.logger.warn({ messageId: m.MessageId, reason: err.message }, 'dropping malformed event');
            if (m.ReceiptHandle) done.push({ Id: String(i), ReceiptHandle: m.ReceiptHandle });
          } else {
            // not deleted: SQS redelivers it after the visibility timeout
            this.o.metrics.events.inc({ result: 'failed' });
            this.o.logger.error(
              { messageId: m.MessageId, error: (err as Error).message },
              'event handling failed',
            );
          }
        }
      }
      if (done.length > 0) {
        try {
          await this.o.client.send(
            new DeleteMessageBatchCommand({ QueueUrl: this.o.queueUrl, Entries: done }),
          );
        } catch (err) {
          this.o.logger.warn(
            { error: (err as Error).name },
            'sqs delete failed; messages will be redelivered',
          );
        }
      }
    }
  }
}
