/**
 * The SQS consumer for rotation events: long polling; a message is deleted only after it was
 * handled; malformed messages are logged (never their body), counted and dropped without
 * crashing; errors from SQS itself back off and the loop keeps going.
 *
 * Stopping never aborts a long poll in flight: SQS may still hand a message to a poll the client
 * has given up on, and that message would then stay invisible for the queue's visibility timeout
 * (30 s by default) — an event lost for that long around every restart. Instead the poll is let
 * finish, and whatever it returns is handed back at once (ChangeMessageVisibility 0) for the next
 * leader. Stopping therefore takes up to `waitTimeSeconds`; the Operator releases its Lease first,
 * so the standby is already polling meanwhile.
 *
 * After a failed receive the consumer probes with short polls (no wait), 250 ms apart doubling to
 * at most 2 s, and goes back to long polls at the first success: it picks events up again within
 * about 2 s of SQS (or the network) coming back.
 */
import {
  ChangeMessageVisibilityBatchCommand,
  DeleteMessageBatchCommand,
  ReceiveMessageCommand,
  type SQSClient,
} from '@aws-sdk/client-sqs';
import type { Logger } from 'pino';
import { MalformedEvent, parseEvent, type SourceChange } from './events.js';
import type { Metrics } from './metrics.js';

export interface SqsConsumerOptions {
  client: SQSClient;
  queueUrl: string;
  /** Long-poll wait, seconds (0–20). Default 20. */
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

interface Message {
  Body?: string;
  ReceiptHandle?: string;
  MessageId?: string;
}

/** One run of the receive loop; `stop()` marks it stopping and wakes it from a backoff sleep. */
interface Run {
  stopping: boolean;
  wake?: () => void;
}

export class SqsConsumer {
  private current: Run | undefined;
  private loop: Promise<void> = Promise.resolve();

  constructor(private readonly o: SqsConsumerOptions) {}

  /** Starts receiving (after a previous run, if one is still finishing its last poll). */
  start(): void {
    if (this.current && !this.current.stopping) return;
    const run: Run = { stopping: false };
    this.current = run;
    this.loop = this.loop.then(() => this.run(run));
  }

  /**
   * Stops receiving: no new poll starts; the poll in flight is let finish and the messages it
   * brings are handed back to the queue at once; messages being handled are finished (and
   * deleted) first. Resolves when the loop has ended.
   */
  async stop(): Promise<void> {
    const run = this.current;
    if (run) {
      run.stopping = true;
      run.wake?.();
    }
    await this.loop;
  }

  private sleep(run: Run, ms: number): Promise<void> {
    return new Promise((resolve) => {
      const t = setTimeout(resolve, ms);
      t.unref();
      run.wake = () => {
        clearTimeout(t);
        resolve();
      };
    });
  }

  private async run(run: Run): Promise<void> {
    const base = this.o.backoff?.baseMs ?? 250;
    const max = this.o.backoff?.maxMs ?? 2000;
    const wait = this.o.waitTimeSeconds ?? 20;
    let backoff = base;
    let probing = false;
    while (!run.stopping) {
      let messages: Message[] = [];
      const waitSeconds = probing ? 0 : wait;
      try {
        const out = await this.o.client.send(
          new ReceiveMessageCommand({
            QueueUrl: this.o.queueUrl,
            MaxNumberOfMessages: 10,
            WaitTimeSeconds: waitSeconds,
          }),
          // never aborted by stop() (see above); only a receive that outlives its wait is given up
          { abortSignal: AbortSignal.timeout(waitSeconds * 1000 + (this.o.receiveGraceMs ?? 5000)) },
        );
        messages = out.Messages ?? [];
        if (probing) this.o.logger.info('sqs receive recovered');
        probing = false;
        backoff = base;
      } catch (err) {
        if (run.stopping) break;
        this.o.logger.warn({ error: (err as Error).name, retryInMs: backoff }, 'sqs receive failed');
        probing = true;
        await this.sleep(run, backoff);
        backoff = Math.min(backoff * 2, max);
        continue;
      }
      if (run.stopping) {
        await this.handBack(messages);
        break;
      }
      await this.handleAll(messages);
    }
  }

  /** Makes received-but-unhandled messages visible again at once, for whoever polls next. */
  private async handBack(messages: Message[]): Promise<void> {
    const entries = messages.flatMap((m, i) =>
      m.ReceiptHandle ? [{ Id: String(i), ReceiptHandle: m.ReceiptHandle, VisibilityTimeout: 0 }] : [],
    );
    if (entries.length === 0) return;
    try {
      await this.o.client.send(
        new ChangeMessageVisibilityBatchCommand({ QueueUrl: this.o.queueUrl, Entries: entries }),
      );
      this.o.metrics.events.inc({ result: 'handed_back' }, entries.length);
      this.o.logger.info({ messages: entries.length }, 'stopping: handed received events back to the queue');
    } catch (err) {
      this.o.logger.warn(
        { error: (err as Error).name, messages: entries.length },
        'stopping: could not hand events back; they reappear after the visibility timeout',
      );
    }
  }

  private async handleAll(messages: Message[]): Promise<void> {
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
        await this.o.client.send(new DeleteMessageBatchCommand({ QueueUrl: this.o.queueUrl, Entries: done }));
      } catch (err) {
        this.o.logger.warn({ error: (err as Error).name }, 'sqs delete failed; messages will be redelivered');
      }
    }
  }
}
