/**
 * The SQS consumer for rotation events: long polling; a message is deleted only after it was
 * handled; malformed messages are logged (never their body), counted and dropped without
 * crashing; errors from SQS itself back off and the loop keeps going.
 *
 * After a failed receive the consumer probes with short polls (no wait), 250 ms apart doubling to
 * at most 2 s, and goes back to long polls at the first success: it picks events up again within
 * about 2 s of SQS (or the network) coming back.
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
  /** Delay between receives after a failure: from `baseMs` doubling to `maxMs`. Default 250 ms → 2 s. */
  backoff?: { baseMs?: number; maxMs?: number };
  /**
   * How long a receive may take beyond its wait before it is given up (a black-holed
   * connection). Default 5 s.
   */
  receiveGraceMs?: number;
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
    const base = this.o.backoff?.baseMs ?? 250;
    const max = this.o.backoff?.maxMs ?? 2000;
    const wait = this.o.waitTimeSeconds ?? 20;
    let backoff = base;
    let probing = false;
    while (!signal.aborted) {
      let messages: Array<{ Body?: string; ReceiptHandle?: string; MessageId?: string }> = [];
      const waitSeconds = probing ? 0 : wait;
      try {
        const out = await this.o.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.o.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: waitSeconds,
          }),
          {
            abortSignal: AbortSignal.any([
              signal,
              // a receive that outlives its wait is given up (a black-holed connection)
              AbortSignal.timeout(waitSeconds * 1000 + (this.o.receiveGraceMs ?? 5000)),
            ]),
          },
        );
        messages = out.Messages ?? [];
        if (probing) this.o.logger.info('sqs receive recovered');
        probing = false;
        backoff = base;
      } catch (err) {
        if (signal.aborted) break;
        this.o.logger.warn({ error: (err as Error).name, retryInMs: backoff }, 'sqs receive failed');
        probing = true;
        await new Promise((r) => setTimeout(r, backoff).unref());
        backoff = Math.min(backoff * 2, max);
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
