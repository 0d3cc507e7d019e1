/**
 * KMS benchmark (issue 6): envelope encryption of many 1 KB messages under one KMS key, with the
 * Encryption SDK's caching materials manager (Strata's defaults) and without it. Starts its own
 * moto, puts the fault proxy in front of it (which counts KMS calls and adds latency). Writes
 * `results/kms.json`; `lib/tables/kms.ts` renders it into RESULTS.md. No timing assertions.
 *
 *   npx tsx --conditions=strata-source bench/kms.ts      (from the repository root)
 *
 * Environment: BENCH_KMS_MESSAGES (default 10000), BENCH_KMS_UNCACHED_SEQ (messages for the
 * sequential uncached row, default 10000; lower it to extrapolate), BENCH_KMS_LATENCY_MS (added
 * to every KMS call by the proxy, default 5), BENCH_NO_WRITE=1 (print the JSON only).
 */
import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { CreateKeyCommand } from '@aws-sdk/client-kms';
import { AwsBackend, createKmsCrypto, type KmsCacheOptions, type KmsCrypto } from '@strata/core';
// an internal measured by the bench, not part of @strata/core's API
import { DEFAULT_KMS_CACHE } from '../packages/core/src/kms/index.js';
import { kms as kmsClient } from '../test/env/aws.js';
import { type FaultProxy, startFaultProxy } from '../test/env/fault-proxy.js';
import { type EnvState, startEnv, stopEnv } from '../test/env/index.js';
import { MOTO_VERSION, motoVenv } from '../test/env/moto.js';
import { isMain, runScenario, type Scenario } from './lib/scenario.js';

process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

const N = Number(process.env.BENCH_KMS_MESSAGES ?? 10_000);
const N_UNCACHED_SEQ = Number(process.env.BENCH_KMS_UNCACHED_SEQ ?? N);
const LATENCY_MS = Number(process.env.BENCH_KMS_LATENCY_MS ?? 5);
const CONCURRENCY = 16;
const MESSAGE_BYTES = 1024;
const CONTEXT = { app: 'bench', purpose: 'kms-issue-6' };

export interface KmsRow {
  name: string;
  messages: number;
  concurrency: number;
  cache: string;
  calls: Record<string, number>;
  wallMs: number;
  /** Set when the row's calls are extrapolated to N messages. */
  extrapolatedTo?: number;
  note?: string;
}

export interface KmsData {
  messages: number;
  messageBytes: number;
  latencyMs: number;
  concurrency: number;
  defaultCache: { maxAgeMs: number; maxMessagesEncrypted: number; maxBytesEncrypted: number };
  rows: KmsRow[];
}

async function runPool<T>(count: number, concurrency: number, fn: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(count);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (let i = next++; i < count; i = next++) out[i] = await fn(i);
    }),
  );
  return out;
}

async function measureAll(log: (msg: string) => void): Promise<KmsData> {
  let env: EnvState | undefined;
  let proxy: FaultProxy | undefined;
  try {
    env = await startEnv({ components: ['aws'], log: (m) => log(`  ${m}`) });
    const moto = env.aws!.endpoint;
    proxy = await startFaultProxy(moto);
    proxy.configure({ latencyMs: LATENCY_MS });
    const keyArn = (await kmsClient({ endpoint: moto }).send(new CreateKeyCommand({ Description: 'bench' })))
      .KeyMetadata!.Arn!;
    const messages = Array.from({ length: N }, (_, i) => {
      const m = randomBytes(MESSAGE_BYTES);
      m.write(`msg-${i}`);
      return m;
    });
    const backendFor = () =>
      new AwsBackend({
        endpoint: proxy!.endpoint,
        region: 'us-east-1',
        credentials: { accessKeyId: 'bench', secretAccessKey: 'bench' },
      });

    const rows: KmsRow[] = [];
    let cachedCiphertexts: string[] = [];
    const measure = async (
      name: string,
      opts: {
        count: number;
        concurrency: number;
        cache: KmsCacheOptions | false;
        mode?: 'envelope' | 'raw';
        keep?: boolean;
        signing?: boolean;
      },
    ) => {
      const backend = backendFor();
      const crypto: KmsCrypto = createKmsCrypto({
        backend,
        cache: opts.cache,
        signing: opts.signing !== false,
      });
      // warm-up (not counted): the Encryption SDK's lazy import and the HTTP connection, under another context
      await crypto.encrypt('warm-up', {
        keyId: keyArn,
        mode: opts.mode ?? 'envelope',
        context: { warm: 'up' },
      });
      proxy!.reset();
      log(`${name}: ${opts.count.toLocaleString('en-US')} messages, ${opts.concurrency} at a time`);
      const t0 = performance.now();
      const out = await runPool(opts.count, opts.concurrency, (i) =>
        crypto.encrypt(messages[i]!, { keyId: keyArn, mode: opts.mode ?? 'envelope', context: CONTEXT }),
      );
      const wallMs = performance.now() - t0;
      const calls = { ...proxy!.counts().calls };
      if (opts.keep) cachedCiphertexts = out.map((o) => o.ciphertext);
      await backend.close();
      const cache =
        opts.cache === false
          ? 'off'
          : `maxAge ${(opts.cache.maxAgeMs ?? DEFAULT_KMS_CACHE.maxAgeMs) / 1000} s, ${(opts.cache.maxMessagesEncrypted ?? DEFAULT_KMS_CACHE.maxMessagesEncrypted).toLocaleString('en-US')} msgs, ${Math.round((opts.cache.maxBytesEncrypted ?? DEFAULT_KMS_CACHE.maxBytesEncrypted) / 2 ** 20)} MiB`;
      const row: KmsRow = { name, messages: opts.count, concurrency: opts.concurrency, cache, calls, wallMs };
      log(`  ${JSON.stringify(calls)} in ${Math.round(wallMs)} ms`);
      return row;
    };

    rows.push(
      await measure('a. envelope, cache (Strata defaults)', {
        count: N,
        concurrency: 1,
        cache: {},
        keep: true,
      }),
    );
    rows.push(
      await measure('b. envelope, cache (Strata defaults)', {
        count: N,
        concurrency: CONCURRENCY,
        cache: {},
      }),
    );
    rows.push(
      await measure('c. envelope, cache with maxMessagesEncrypted 100', {
        count: N,
        concurrency: CONCURRENCY,
        cache: { maxMessagesEncrypted: 100 },
      }),
    );
    const seq = await measure('d. envelope, no cache', {
      count: N_UNCACHED_SEQ,
      concurrency: 1,
      cache: false,
    });
    if (N_UNCACHED_SEQ < N) seq.extrapolatedTo = N;
    rows.push(seq);
    rows.push(await measure('e. envelope, no cache', { count: N, concurrency: CONCURRENCY, cache: false }));
    rows.push(
      await measure('f. raw KMS Encrypt (no envelope; 1 KB fits its 4 KB limit)', {
        count: N,
        concurrency: CONCURRENCY,
        cache: false,
        mode: 'raw',
      }),
    );

    rows.push(
      await measure('g. envelope, cache (Strata defaults), unsigned suite (`signing: false`)', {
        count: N,
        concurrency: 1,
        cache: {},
        signing: false,
      }),
    );

    // decrypting what row a. produced, with a fresh reader: one Decrypt per data key
    {
      const backend = backendFor();
      const reader = createKmsCrypto({ backend });
      await reader.encrypt('warm-up', { keyId: keyArn, mode: 'envelope', context: { warm: 'up' } });
      proxy.reset();
      log(
        `h. decrypt row a.'s ${cachedCiphertexts.length.toLocaleString('en-US')} messages, ${CONCURRENCY} at a time`,
      );
      const t0 = performance.now();
      const plain = await runPool(cachedCiphertexts.length, CONCURRENCY, (i) =>
        reader.decrypt(cachedCiphertexts[i]!, { context: CONTEXT }),
      );
      const wallMs = performance.now() - t0;
      const wrong = plain.filter((p, i) => !p.plaintext.equals(messages[i]!)).length;
      if (wrong > 0) throw new Error(`${wrong} messages decrypted wrong`);
      rows.push({
        name: "h. decrypt row a.'s messages (fresh reader, cache on)",
        messages: cachedCiphertexts.length,
        concurrency: CONCURRENCY,
        cache: 'Strata defaults',
        calls: { ...proxy.counts().calls },
        wallMs,
        note: 'all plaintexts verified',
      });
      await backend.close();
    }

    return {
      messages: N,
      messageBytes: MESSAGE_BYTES,
      latencyMs: LATENCY_MS,
      concurrency: CONCURRENCY,
      defaultCache: { ...DEFAULT_KMS_CACHE },
      rows,
    };
  } finally {
    await proxy?.stop();
    if (env) await stopEnv(env);
  }
}

export const kms: Scenario<KmsData> = {
  name: 'kms',
  params: {
    messages: N,
    uncachedSequentialMessages: N_UNCACHED_SEQ,
    latencyMs: LATENCY_MS,
    concurrency: CONCURRENCY,
    messageBytes: MESSAGE_BYTES,
    encryptionSdk: '@aws-crypto/client-node 5.0.2',
  },
  motoPython: join(motoVenv(), 'bin', 'python'),
  motoPinned: MOTO_VERSION,
  run: measureAll,
};

if (isMain(import.meta.url)) await runScenario(kms);
