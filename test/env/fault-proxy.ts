/**
 * Strata's fault proxy: an HTTP proxy between AWS SDK clients and moto that injects the
 * failures real AWS produces (latency, ThrottlingException, 5xx, connection resets,
 * AccessDenied, a requests-per-second quota) and counts calls per operation.
 *
 * Operations are read from `X-Amz-Target` (JSON protocols: SSM, Secrets Manager, KMS, SQS,
 * EventBridge) or the `Action` form field (query protocol). Counts are keyed `service:Operation`,
 * e.g. `ssm:GetParameters`.
 *
 * Configure in-process (`proxy.configure(...)`) or over HTTP from another process:
 * `PUT /__fault/config` (JSON FaultConfig), `GET /__fault/counts`, `POST /__fault/reset`.
 *
 * AWS emulation (`awsPages: true`): moto 5.2.5 pages DescribeParameters at 10 whatever
 * `MaxResults` says (AWS: up to 50), and gives a NextToken whenever a page is full even when
 * nothing follows (AWS: only when more follows). With `awsPages` the proxy answers
 * DescribeParameters and GetParametersByPath as AWS pages them: it asks moto for as many of its
 * pages as one AWS page holds (DescribeParameters: `MaxResults`, default and at most 50;
 * GetParametersByPath: `MaxResults`, at most 10), merges them into one response, and leaves out a
 * NextToken that leads only to an empty page. The client sees one call (counted once, the
 * latency added once); the extra moto requests are the emulation's cost, inside that call.
 */
import {
  Agent,
  createServer,
  type IncomingMessage,
  request,
  type Server,
  type ServerResponse,
} from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';

/**
 * - `throttle`: 400 ThrottlingException. `error5xx`: a JSON AWS error with `status` (default 500).
 * - `reset`: the connection is destroyed without an answer. `deny`: 400 AccessDeniedException.
 * - `latency`: `latencyMs` more before the request goes on (every matching latency rule applies).
 * - `blackhole`: the connection is accepted and the request read, and nothing is ever answered
 *   (until the proxy stops): what a dropped route or a hung load balancer looks like.
 * - `html`: an HTML page with `status` (default 503), as a load balancer or an HTTP proxy in the
 *   way answers, instead of AWS's JSON.
 * - `respond`: answers `status` (default 200) with `body` verbatim (`contentType`, default AWS's
 *   JSON type): malformed or unexpected responses.
 */
export type FaultKind =
  | 'throttle'
  | 'error5xx'
  | 'reset'
  | 'deny'
  | 'latency'
  | 'blackhole'
  | 'html'
  | 'respond';

export interface FaultRule {
  /** Which fault. */
  fault: FaultKind;
  /** Only these operations (`GetParameters` or `ssm:GetParameters`); all when absent. */
  ops?: string[];
  /** Only requests whose body contains this string (e.g. a parameter name). */
  bodyIncludes?: string;
  /** Only requests signed for this region (from the SigV4 credential scope). */
  region?: string;
  /** Fraction of matching requests that get the fault (0..1); default 1. */
  rate?: number;
  /** Apply to at most this many requests, then stop. */
  times?: number;
  /** For error5xx: the status (default 500); for html: default 503; for respond: default 200. */
  status?: number;
  /** For latency: extra milliseconds. */
  latencyMs?: number;
  /** For respond: the body sent as is. */
  body?: string;
  /** For respond: the content type (default `application/x-amz-json-1.1`). */
  contentType?: string;
}

export interface FaultConfig {
  /** Latency added to every forwarded request, in milliseconds. */
  latencyMs?: number;
  /** Keep every request (operation, signing region, JSON body) for `requests()`: what a load asked AWS. */
  record?: boolean;
  /** Requests per second allowed through (token bucket, burst = one second); over it: ThrottlingException. */
  rps?: number;
  /**
   * AWS emulation: page DescribeParameters (up to 50) and GetParametersByPath (up to 10) as AWS
   * does, merging moto's 10-name pages, with no NextToken before an empty last page (see above).
   */
  awsPages?: boolean;
  rules?: FaultRule[];
}

/** One request as the proxy saw it (with `record: true`). */
export interface RecordedRequest {
  /** `service:Operation`, e.g. `ssm:GetParameters`. */
  operation: string;
  /** The region the request was signed for. */
  region: string | undefined;
  /** The JSON body (AWS JSON protocols), or undefined. */
  body: unknown;
}

export interface ProxyStats {
  /** Calls that reached the proxy, per `service:Operation` (faulted ones included). */
  calls: Record<string, number>;
  /** Faults injected, per kind. */
  faults: Record<string, number>;
  total: number;
  /**
   * The AWS phase as the proxy saw it since the last reset: when the first request arrived and the
   * last response was sent (`performance.now()` of the proxy's process, ms); undefined before any.
   */
  firstRequestAt?: number;
  lastResponseAt?: number;
}

const SERVICE_BY_TARGET_PREFIX: Record<string, string> = {
  AmazonSSM: 'ssm',
  secretsmanager: 'secretsmanager',
  TrentService: 'kms',
  AmazonSQS: 'sqs',
  AWSEvents: 'events',
};

export function operationOf(req: IncomingMessage, body: Buffer): string {
  const target = req.headers['x-amz-target'];
  if (typeof target === 'string' && target.includes('.')) {
    const [prefix, op] = target.split('.', 2) as [string, string];
    const svc = SERVICE_BY_TARGET_PREFIX[prefix] ?? prefix.toLowerCase();
    return `${svc}:${op}`;
  }
  const ctype = req.headers['content-type'] ?? '';
  if (ctype.includes('x-www-form-urlencoded')) {
    const action = new URLSearchParams(body.toString('utf8')).get('Action');
    if (action) return `query:${action}`;
  }
  return `http:${req.method ?? 'GET'} ${(req.url ?? '/').split('?')[0]}`;
}

function awsError(res: ServerResponse, status: number, type: string, message: string): void {
  const payload = JSON.stringify({ __type: type, message });
  res.writeHead(status, {
    'content-type': 'application/x-amz-json-1.1',
    'x-amzn-errortype': type,
    'x-amzn-requestid': `fault-${Date.now()}`,
    'content-length': Buffer.byteLength(payload),
  });
  res.end(payload);
}

export class FaultProxy {
  private server: Server | undefined;
  private config: FaultConfig = {};
  private ruleUses = new Map<FaultRule, number>();
  private stats: ProxyStats = { calls: {}, faults: {}, total: 0 };
  private recorded: RecordedRequest[] = [];
  /** When each answered request arrived and was answered (since the last reset). */
  private intervals: Array<[number, number]> = [];
  /** AWS emulation: moto pages fetched to look ahead, kept for the request that asks for them next. */
  private lookahead = new Map<
    string,
    { at: number; params: unknown[]; next?: string; raw: { headers: Record<string, unknown> } }
  >();
  private tokens = 0;
  private lastRefill = Date.now();
  private readonly agent = new Agent({ keepAlive: true, maxSockets: 256 });
  private readonly random: () => number;
  endpoint = '';

  constructor(
    private readonly target: string,
    opts: { random?: () => number } = {},
  ) {
    this.random = opts.random ?? Math.random;
  }

  async start(port = 0): Promise<this> {
    this.server = createServer((req, res) => {
      this.handle(req, res).catch(() => {
        if (!res.headersSent) awsError(res, 502, 'ProxyError', 'fault proxy could not reach the target');
        else res.destroy();
      });
    });
    this.server.keepAliveTimeout = 5000;
    await new Promise<void>((resolve) => this.server!.listen(port, '127.0.0.1', resolve));
    this.endpoint = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  async stop(): Promise<void> {
    this.agent.destroy();
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server!.close(() => resolve()));
    this.server = undefined;
  }

  /** Replaces the fault configuration (counts are kept). */
  configure(config: FaultConfig): void {
    this.config = structuredClone(config);
    this.ruleUses.clear();
    this.lookahead.clear();
    this.tokens = config.rps ?? 0;
    this.lastRefill = Date.now();
  }

  /** A copy of the counters. */
  counts(): ProxyStats {
    return structuredClone(this.stats);
  }

  /** Sum of calls whose key matches (e.g. `ssm:` or `GetParameters`). */
  callsTo(match: string): number {
    return Object.entries(this.stats.calls)
      .filter(([k]) => k === match || k.startsWith(match) || k.endsWith(`:${match}`))
      .reduce((n, [, v]) => n + v, 0);
  }

  resetCounts(): void {
    this.stats = { calls: {}, faults: {}, total: 0 };
    this.recorded = [];
    this.intervals = [];
  }

  /**
   * The longest chain of answered requests one after another (each arriving after the previous
   * one's answer was sent), since the last reset: the sequential round trips a load made. Calls
   * that could have overlapped but did not (a client-side rate limit, a busy server) lengthen it,
   * so it bounds the dependent chain from above.
   */
  longestChain(): number {
    const byEnd = [...this.intervals].sort((a, b) => a[1] - b[1]);
    const chain: number[] = [];
    for (let i = 0; i < byEnd.length; i++) {
      let best = 0;
      for (let j = 0; j < i; j++) if (byEnd[j]![1] <= byEnd[i]![0]) best = Math.max(best, chain[j]!);
      chain.push(best + 1);
    }
    return Math.max(0, ...chain);
  }

  /** The requests kept since the last reset (configure with `record: true`). */
  requests(): RecordedRequest[] {
    return structuredClone(this.recorded);
  }

  /** Clears faults and counters. */
  reset(): void {
    this.configure({});
    this.resetCounts();
  }

  private takeToken(): boolean {
    const rps = this.config.rps;
    if (!rps) return true;
    const now = Date.now();
    this.tokens = Math.min(rps, this.tokens + ((now - this.lastRefill) / 1000) * rps);
    this.lastRefill = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return true;
    }
    return false;
  }

  private matching(op: string, body: Buffer, region: string | undefined): FaultRule[] {
    const shortOp = op.includes(':') ? op.slice(op.indexOf(':') + 1) : op;
    // Every matching latency rule applies; of the failing faults, only the first that fires.
    const fired: FaultRule[] = [];
    for (const r of this.config.rules ?? []) {
      if (r.ops && !r.ops.some((o) => o === op || o === shortOp)) continue;
      if (r.bodyIncludes !== undefined && !body.includes(r.bodyIncludes)) continue;
      if (r.region !== undefined && r.region !== region) continue;
      const used = this.ruleUses.get(r) ?? 0;
      if (r.times !== undefined && used >= r.times) continue;
      if (this.random() >= (r.rate ?? 1)) continue;
      this.ruleUses.set(r, used + 1);
      fired.push(r);
      if (r.fault !== 'latency') break;
    }
    return fired;
  }

  private bump(kind: string): void {
    this.stats.faults[kind] = (this.stats.faults[kind] ?? 0) + 1;
  }

  private async control(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const url = req.url ?? '';
    const json = (status: number, value: unknown) => {
      res.writeHead(status, { 'content-type': 'application/json' });
      res.end(JSON.stringify(value));
    };
    if (url.startsWith('/__fault/config') && req.method === 'PUT') {
      this.configure(JSON.parse(body.toString('utf8') || '{}') as FaultConfig);
      json(200, this.config);
    } else if (url.startsWith('/__fault/config')) json(200, this.config);
    else if (url.startsWith('/__fault/counts')) json(200, this.stats);
    else if (url.startsWith('/__fault/reset')) {
      this.reset();
      json(200, {});
    } else json(404, { error: 'unknown control path' });
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks);
    if ((req.url ?? '').startsWith('/__fault/')) return this.control(req, res, body);

    const op = operationOf(req, body);
    const startedAt = performance.now();
    this.stats.firstRequestAt ??= startedAt;
    res.once('finish', () => {
      this.stats.lastResponseAt = performance.now();
      this.intervals.push([startedAt, this.stats.lastResponseAt]);
    });
    this.stats.total++;
    this.stats.calls[op] = (this.stats.calls[op] ?? 0) + 1;
    const scope = /Credential=[^/]+\/\d{8}\/([a-z0-9-]+)\//.exec(String(req.headers.authorization ?? ''));
    if (this.config.record) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(body.toString('utf8'));
      } catch {
        parsed = undefined;
      }
      this.recorded.push({ operation: op, region: scope?.[1], body: parsed });
    }

    if (this.config.latencyMs) await sleep(this.config.latencyMs);
    if (!this.takeToken()) {
      this.bump('quota');
      return awsError(res, 400, 'ThrottlingException', 'Rate exceeded');
    }
    for (const rule of this.matching(op, body, scope?.[1])) {
      this.bump(rule.fault);
      switch (rule.fault) {
        case 'latency':
          await sleep(rule.latencyMs ?? 0);
          break;
        case 'throttle':
          return awsError(res, 400, 'ThrottlingException', 'Rate exceeded');
        case 'error5xx': {
          const status = rule.status ?? 500;
          return awsError(
            res,
            status,
            status === 503 ? 'ServiceUnavailable' : 'InternalServerError',
            'injected server error',
          );
        }
        case 'deny':
          return awsError(
            res,
            400,
            'AccessDeniedException',
            `User: arn:aws:iam::123456789012:user/strata-test is not authorized to perform: ${op} because no identity-based policy allows the ${op} action`,
          );
        case 'reset':
          req.socket.destroy();
          return;
        case 'blackhole':
          // never answered; the socket is closed when the client gives up or the proxy stops
          return;
        case 'html': {
          const page =
            '<html>\r\n<head><title>503 Service Temporarily Unavailable</title></head>\r\n<body>\r\n<center><h1>503 Service Temporarily Unavailable</h1></center>\r\n</body>\r\n</html>\r\n';
          res.writeHead(rule.status ?? 503, {
            'content-type': 'text/html',
            'content-length': Buffer.byteLength(page),
          });
          res.end(page);
          return;
        }
        case 'respond': {
          const payload = rule.body ?? '';
          res.writeHead(rule.status ?? 200, {
            'content-type': rule.contentType ?? 'application/x-amz-json-1.1',
            'x-amzn-requestid': `fault-${Date.now()}`,
            'content-length': Buffer.byteLength(payload),
          });
          res.end(payload);
          return;
        }
      }
    }
    if (this.config.awsPages && (op === 'ssm:DescribeParameters' || op === 'ssm:GetParametersByPath')) {
      return this.awsPage(req, res, body, op === 'ssm:DescribeParameters' ? 50 : 10);
    }
    await this.forward(req, res, body);
  }

  /** One request to the target with `body`, answered in full (for the AWS emulation). */
  private exchange(
    req: IncomingMessage,
    body: Buffer,
  ): Promise<{ status: number; headers: Record<string, unknown>; body: Buffer }> {
    const target = new URL(this.target);
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host, 'content-length': String(body.length) };
      const up = request(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent: this.agent,
        },
        (upRes) => {
          const chunks: Buffer[] = [];
          upRes.on('data', (c: Buffer) => chunks.push(c));
          upRes.on('end', () =>
            resolve({ status: upRes.statusCode ?? 502, headers: upRes.headers, body: Buffer.concat(chunks) }),
          );
          upRes.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });
  }

  /**
   * AWS emulation of one DescribeParameters / GetParametersByPath page: moto's pages (10 names)
   * merged up to `MaxResults` (at most `limit`), and no NextToken when only an empty page follows.
   * The token given to the client is moto's token plus how many of that moto page were already
   * handed out (`awsemu:<skip>:<motoToken>`), so a page can end inside a moto page.
   */
  private async awsPage(
    req: IncomingMessage,
    res: ServerResponse,
    body: Buffer,
    limit: number,
  ): Promise<void> {
    let input: Record<string, unknown>;
    try {
      input = JSON.parse(body.toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return this.forward(req, res, body);
    }
    const want = Math.min(limit, typeof input.MaxResults === 'number' ? input.MaxResults : limit);
    let skip = 0;
    let motoToken: string | undefined;
    if (typeof input.NextToken === 'string') {
      const m = /^awsemu:(\d+):(.*)$/s.exec(input.NextToken);
      if (!m) return this.forward(req, res, body);
      skip = Number(m[1]);
      motoToken = m[2] === '' ? undefined : m[2];
    }
    const { NextToken: _t, MaxResults: _m, ...rest } = input;
    const query = `${req.headers['x-amz-target']}|${JSON.stringify(rest)}`;
    const ask = async (token: string | undefined, peek = false) => {
      // a page fetched to look ahead is served once from memory, so moto pages each page once
      // (kept one second at most: a listing abandoned half-way must not answer a later one)
      const kept = this.lookahead.get(`${query}|${token ?? ''}`);
      if (kept) this.lookahead.delete(`${query}|${token ?? ''}`);
      if (kept && performance.now() - kept.at < 1000) return kept;
      const b = Buffer.from(JSON.stringify({ ...rest, ...(token ? { NextToken: token } : {}) }));
      const out = await this.exchange(req, b);
      if (out.status !== 200) return { error: out };
      const parsed = JSON.parse(out.body.toString('utf8')) as { Parameters?: unknown[]; NextToken?: string };
      const page = {
        at: performance.now(),
        params: parsed.Parameters ?? [],
        next: parsed.NextToken || undefined,
        raw: out,
      };
      if (peek) {
        if (this.lookahead.size > 10_000) this.lookahead.clear();
        this.lookahead.set(`${query}|${token ?? ''}`, page);
      }
      return page;
    };
    const merged: unknown[] = [];
    let next: string | undefined;
    let current = motoToken;
    let lastHeaders: Record<string, unknown> = {};
    for (;;) {
      const page = await ask(current);
      if ('error' in page && page.error) {
        res.writeHead(page.error.status, page.error.headers as Record<string, string>);
        res.end(page.error.body);
        return;
      }
      const {
        params,
        next: after,
        raw,
      } = page as { params: unknown[]; next?: string; raw: { headers: Record<string, unknown> } };
      lastHeaders = raw.headers;
      const usable = params.slice(skip);
      const room = want - merged.length;
      merged.push(...usable.slice(0, room));
      if (usable.length > room) {
        // the AWS page ends inside this moto page: resume at the same moto page, further in
        next = `awsemu:${skip + room}:${current ?? ''}`;
        break;
      }
      skip = 0;
      if (!after) break;
      if (merged.length >= want) {
        // AWS gives a NextToken only when more follows: look at the next moto page first
        const peek = await ask(after, true);
        if ('params' in peek && peek.params && peek.params.length === 0 && !peek.next) {
          this.lookahead.delete(`${query}|${after}`);
          break;
        }
        next = `awsemu:0:${after}`;
        break;
      }
      current = after;
    }
    const payload = JSON.stringify({ Parameters: merged, ...(next ? { NextToken: next } : {}) });
    const { 'content-length': _len, 'transfer-encoding': _te, ...headers } = lastHeaders;
    res.writeHead(200, {
      ...(headers as Record<string, string>),
      'content-length': Buffer.byteLength(payload),
    });
    res.end(payload);
  }

  private forward(req: IncomingMessage, res: ServerResponse, body: Buffer): Promise<void> {
    const target = new URL(this.target);
    return new Promise((resolve, reject) => {
      const headers = { ...req.headers, host: target.host };
      const up = request(
        {
          protocol: target.protocol,
          hostname: target.hostname,
          port: target.port,
          method: req.method,
          path: req.url,
          headers,
          agent: this.agent,
        },
        (upRes) => {
          res.writeHead(upRes.statusCode ?? 502, upRes.headers);
          upRes.pipe(res);
          upRes.on('end', resolve);
          upRes.on('error', reject);
        },
      );
      up.on('error', reject);
      up.end(body);
    });
  }
}

/** Starts a fault proxy in front of `target` (usually moto's endpoint). */
export async function startFaultProxy(target: string, opts: { port?: number; random?: () => number } = {}) {
  return new FaultProxy(target, opts).start(opts.port ?? 0);
}
