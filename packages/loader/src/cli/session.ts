/**
 * One run of the CLI: the overall deadline (`--timeout`), the progress lines, and the Backend every
 * command works through. The deadline is an AbortSignal every AWS call listens to; `exec` stops it
 * once the environment is resolved (the child runs as long as it likes). The session builds the
 * Backend itself (AWS, or the local tree with `--local`) and hands it to what needs it: resolvers
 * for reads, KmsCrypto for the KMS commands, `put` for writes. It owns it and releases it.
 */
import {
  AwsBackend,
  type Backend,
  type CallProgress,
  createKmsCrypto,
  createResolver,
  type KmsCrypto,
  LocalBackend,
  type Resolver,
  StrataError,
} from '@strata/core';
import { err } from './output.js';

/** The global flags (main.ts). */
export interface GlobalOpts {
  region?: string;
  endpoint?: string;
  profile?: string;
  local?: string;
  json?: boolean;
  timeout: string;
}

/** `--timeout`'s default, seconds: all of one command's AWS work (retries included) ends by then. */
export const DEFAULT_TIMEOUT_S = 30;
/** Progress lines start once a call has been waiting this long. */
const QUIET_MS = 2000;

const SERVICE_NAMES: Record<string, string> = { ssm: 'SSM', secretsmanager: 'Secrets Manager', kms: 'KMS' };
const REASONS: Record<string, string> = {
  THROTTLED: 'throttled',
  UNAVAILABLE: 'unavailable (no answer, a reset or a 5xx)',
};

export class Session {
  readonly ctl = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastLine = 0;
  private timeoutMs = DEFAULT_TIMEOUT_S * 1000;
  private shared: Backend | undefined;
  private aws: AwsBackend | undefined;
  private readonly resolvers: Resolver[] = [];

  constructor(private readonly g: () => GlobalOpts) {}

  start(): void {
    const raw = this.g().timeout;
    const s = Number(raw);
    // setTimeout takes at most 2^31-1 ms (~24 days); more would fire at once
    if (!Number.isFinite(s) || s <= 0 || s * 1000 > 2 ** 31 - 1)
      throw new StrataError(
        'INVALID_INPUT',
        `--timeout ${raw}: expected a number of seconds, above 0 and below 2,000,000`,
      );
    this.timeoutMs = Math.round(s * 1000);
    this.timer = setTimeout(
      () =>
        this.ctl.abort(
          new StrataError('UNAVAILABLE', `gave up after ${s} s (--timeout ${s}): AWS did not answer in time`),
        ),
      this.timeoutMs,
    );
    this.timer.unref();
  }

  /** The command's AWS work is done (exec: before the child starts). */
  stop(): void {
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
  }

  /** Rejects with the deadline's error a moment after it passes, whatever is still stuck. */
  backstop(): Promise<never> {
    return new Promise((_, reject) => {
      const fire = () => {
        const t = setTimeout(() => reject(this.ctl.signal.reason), 1000);
        t.unref();
      };
      if (this.ctl.signal.aborted) fire();
      else this.ctl.signal.addEventListener('abort', fire, { once: true });
    });
  }

  private progress = (e: CallProgress): void => {
    // quiet while a call is young: a retry is told when its wait ends past QUIET_MS
    if (e.elapsedMs + (e.delayMs ?? 0) < QUIET_MS) return;
    const now = Date.now();
    if (now - this.lastLine < 1000) return; // at most a line a second
    this.lastLine = now;
    const svc = SERVICE_NAMES[e.service] ?? e.service;
    const secs = `${(e.elapsedMs / 1000).toFixed(1)} s`;
    if (this.g().json) {
      err(JSON.stringify({ progress: { ...e } }));
      return;
    }
    if (e.kind === 'slow') err(`strata: waiting for ${svc} (${e.operation} ${e.source}; ${secs} so far)`);
    else
      err(
        `strata: ${svc} ${REASONS[e.code ?? ''] ?? (e.code ?? 'error').toLowerCase()}, retry ${e.retry} of ${e.retries} in ${((e.delayMs ?? 0) / 1000).toFixed(1)} s (${e.operation} ${e.source}; ${secs} so far)`,
      );
  };

  /** The run's Backend (created on first use): the local tree with `--local`, else AWS. */
  backend(): Backend {
    if (this.shared) return this.shared;
    const g = this.g();
    if (g.local) {
      this.shared = new LocalBackend(g.local);
      return this.shared;
    }
    if (g.profile) process.env.AWS_PROFILE = g.profile;
    this.aws = new AwsBackend({
      ...(g.region ? { region: g.region } : {}),
      ...(g.endpoint ? { endpoint: g.endpoint } : {}),
      deadlineMs: this.timeoutMs,
      signal: this.ctl.signal,
      onProgress: this.progress,
    });
    this.shared = this.aws;
    return this.shared;
  }

  /** A resolver over the run's Backend. */
  resolver(): Resolver {
    const r = createResolver({ backend: this.backend() });
    this.resolvers.push(r);
    return r;
  }

  /** KMS operations over the run's Backend. */
  crypto(): KmsCrypto {
    return createKmsCrypto({ backend: this.backend() });
  }

  /** Releases SDK clients (and their sockets, a hung one included). */
  close(): void {
    this.stop();
    for (const r of this.resolvers.splice(0)) r.close();
    void this.aws?.close();
  }
}
