/**
 * Wires the operator: shared resolver, controller, leader election, SQS consumer, HTTP
 * endpoints (/healthz, /readyz, /metrics) and graceful shutdown.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SQSClient } from '@aws-sdk/client-sqs';
import type { KubeConfig } from '@kubernetes/client-node';
import { createResolver, type Resolver, type ResolverOptions } from '@strata/core';
import pino, { type Logger } from 'pino';
import { Controller } from './controller.js';
import { kubeClient } from './kube.js';
import { LeaderElector } from './leader.js';
import { createMetrics, type Metrics } from './metrics.js';
import { SqsConsumer } from './sqs.js';

export interface OperatorOptions {
  kubeConfig: KubeConfig;
  /** A resolver to share, or options for one (staleWhileRevalidate is forced off). */
  resolver?: Resolver | ResolverOptions;
  logger?: Logger;
  namespaces?: string[];
  concurrency?: number;
  /** Refresh interval of a SecretSync whose spec gives none. Default 1h. */
  defaultRefreshMs?: number;
  /** ± jitter on each periodic refresh, as a fraction. Default 0.1. */
  jitter?: number;
  sqs?: {
    queueUrl: string;
    client?: SQSClient;
    region?: string;
    endpoint?: string;
    waitTimeSeconds?: number;
  };
  leaderElection?: {
    namespace: string;
    name: string;
    identity: string;
    leaseDurationMs?: number;
    renewDeadlineMs?: number;
    retryPeriodMs?: number;
  };
  /** Port for /healthz, /readyz and /metrics (0 = any free port; undefined = no server). */
  httpPort?: number;
  /** Address that listener binds (an IP or host name). Default: every interface (IPv6 and IPv4). */
  httpHost?: string;
  /** A second port serving /metrics (the chart's metrics Service), when it differs. */
  metricsPort?: number;
  /** Address the metrics listener binds. Default: every interface. */
  metricsHost?: string;
}

export class Operator {
  readonly controller: Controller;
  readonly resolver: Resolver;
  readonly metrics: Metrics;
  readonly logger: Logger;
  private readonly leader: LeaderElector | undefined;
  private readonly sqs: SqsConsumer | undefined;
  /** The SQS consumer's last poll, finishing after leadership ended (its messages go back). */
  private sqsDraining: Promise<void> | undefined;
  private servers: Server[] = [];
  private leading = false;
  private stopping = false;
  httpPort = 0;

  constructor(private readonly o: OperatorOptions) {
    this.logger = o.logger ?? pino({ name: 'strata-operator' });
    // read at scrape time; the arrows see the resolver and controller assigned below
    this.metrics = createMetrics({
      stats: () => this.resolver.statsSnapshot(),
      queueDepth: () => this.controller.queue.depth,
    });
    this.resolver =
      o.resolver && 'loadHierarchy' in o.resolver
        ? (o.resolver as Resolver)
        : createResolver({
            ...(o.resolver as ResolverOptions | undefined),
            staleWhileRevalidate: false,
            // reconciles of many resources arrive a few ms apart: collect their reads into one batch
            batchWindowMs: 10,
            onRefreshError: (e, source) =>
              this.logger.warn({ source, code: e.code }, 'refresh failed; serving last good value'),
          });
    this.controller = new Controller({
      kubeConfig: o.kubeConfig,
      resolver: this.resolver,
      logger: this.logger,
      metrics: this.metrics,
      ...(o.namespaces ? { namespaces: o.namespaces } : {}),
      ...(o.concurrency ? { concurrency: o.concurrency } : {}),
      ...(o.defaultRefreshMs ? { defaultRefreshMs: o.defaultRefreshMs } : {}),
      ...(o.jitter !== undefined ? { jitter: o.jitter } : {}),
      onRefreshError: (err) =>
        this.logger.warn(
          { error: (err as Error).message },
          'periodic refresh failed; retrying at its next turn',
        ),
    });
    if (o.sqs) {
      const client =
        o.sqs.client ??
        new SQSClient({
          ...(o.sqs.region ? { region: o.sqs.region } : {}),
          ...(o.sqs.endpoint ? { endpoint: o.sqs.endpoint } : {}),
        });
      this.sqs = new SqsConsumer({
        client,
        queueUrl: o.sqs.queueUrl,
        ...(o.sqs.waitTimeSeconds !== undefined ? { waitTimeSeconds: o.sqs.waitTimeSeconds } : {}),
        handle: (change, at) => {
          this.controller.onSourceChanged(
            change.kind === 'ssm' ? { kind: 'ssm', name: change.name } : { kind: 'secret', id: change.id },
            at,
          );
        },
        logger: this.logger,
        metrics: this.metrics,
      });
    }
    if (o.leaderElection) {
      this.leader = new LeaderElector({
        client: kubeClient(o.kubeConfig),
        ...o.leaderElection,
        onStartedLeading: () => this.startLeading(),
        onStoppedLeading: () => void this.stopLeading(),
        log: (msg, extra) => this.logger.info(extra ?? {}, msg),
      });
    }
  }

  get isLeader(): boolean {
    return this.leading;
  }

  /** The leader consumes events, reconciles, and runs the periodic (batched) refresh. */
  private startLeading(): void {
    if (this.stopping || this.leading) return;
    this.leading = true;
    this.metrics.leader.set(1);
    this.sqs?.start();
    this.controller
      .startWorkers()
      .catch((err: unknown) =>
        this.logger.error({ error: (err as Error).message }, 'could not start workers'),
      );
  }

  /**
   * Stops the periodic refresh and the workers (in-flight reconciles finish). The SQS consumer
   * starts no new poll; its poll in flight finishes in the background and hands what it brings
   * back to the queue (`sqsDraining`), so leadership can pass on without waiting for it.
   */
  private async stopLeading(): Promise<void> {
    if (!this.leading) return;
    this.leading = false;
    this.metrics.leader.set(0);
    if (this.sqs) this.sqsDraining = this.sqs.stop();
    await this.controller.stopWorkers();
  }

  async start(): Promise<void> {
    if (this.o.httpPort !== undefined) this.httpPort = await this.listen(this.o.httpPort, this.o.httpHost);
    if (this.o.metricsPort !== undefined && this.o.metricsPort !== this.o.httpPort)
      await this.listen(this.o.metricsPort, this.o.metricsHost);
    await this.controller.start();
    if (this.leader) this.leader.start();
    else this.startLeading();
    this.logger.info(
      { leaderElection: Boolean(this.leader), sqs: Boolean(this.sqs) },
      'strata operator started',
    );
  }

  private async listen(port: number, host: string | undefined): Promise<number> {
    const server = createServer(async (req, res) => {
      const url = req.url ?? '/';
      if (url.startsWith('/healthz')) {
        res.writeHead(this.stopping ? 503 : 200).end(this.stopping ? 'stopping' : 'ok');
      } else if (url.startsWith('/readyz')) {
        const ok = !this.stopping && this.controller.ready;
        res.writeHead(ok ? 200 : 503).end(ok ? 'ready' : 'not ready');
      } else if (url.startsWith('/metrics')) {
        res
          .writeHead(200, { 'content-type': this.metrics.registry.contentType })
          .end(await this.metrics.registry.metrics());
      } else res.writeHead(404).end();
    });
    this.servers.push(server);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      if (host) server.listen(port, host, resolve);
      else server.listen(port, resolve);
    });
    return (server.address() as AddressInfo).port;
  }

  /**
   * Graceful: stop consuming events, finish in-flight reconciles, release the Lease (a standby
   * takes over at once), then wait for the last SQS poll to end and hand its messages back.
   */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.logger.info('shutting down');
    await this.stopLeading();
    await this.leader?.release();
    await this.sqsDraining;
    await this.controller.stop();
    this.resolver.close();
    await Promise.all(this.servers.map((srv) => new Promise<void>((resolve) => srv.close(() => resolve()))));
    this.logger.info('stopped');
  }
}
