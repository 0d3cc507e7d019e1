/**
 * The `strata` CLI. Human output by default, `--json` for programs. Exit codes: see exit-codes.ts
 * and the loader README. Honours AWS_REGION, AWS_PROFILE, AWS_ENDPOINT_URL(_SSM|…) like the AWS CLI.
 *
 * Every AWS call is bounded: a per-attempt timeout, the retry budget, and `--timeout` (default
 * 30 s) for all of a command's AWS work together; after ~2 s of waiting, stderr says what for.
 */
import { readFileSync } from 'node:fs';
import {
  buildLevels,
  type CallProgress,
  createKmsCrypto,
  createResolver,
  formatReference,
  type HierarchyInput,
  isStrataError,
  kmsReference,
  type LoadHierarchyOptions,
  type ParameterType,
  parseLocalTree,
  parseTemplate,
  parseYamlText,
  type Reference,
  type Resolver,
  type ResolverOptions,
  StrataError,
} from '@strata/core';
import { Command, CommanderError } from 'commander';
import { collectEnv, resolveEnv } from '../env.js';
import { describeForeignError } from '../foreign-error.js';
import { buildIamPolicy } from '../iam.js';
import { MASK, maskedCopy } from '../mask.js';
import { runChild } from './exec.js';
import { EXIT, exitCodeFor } from './exit-codes.js';
import { readInputText, resetStdin } from './input.js';
import { registerKmsCommands } from './kms.js';

interface GlobalOpts {
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

const out = (s: string) => process.stdout.write(`${s}\n`);
const err = (s: string) => process.stderr.write(`${s}\n`);

const SERVICE_NAMES: Record<string, string> = { ssm: 'SSM', secretsmanager: 'Secrets Manager', kms: 'KMS' };
const REASONS: Record<string, string> = {
  THROTTLED: 'throttled',
  UNAVAILABLE: 'unavailable (no answer, a reset or a 5xx)',
};

/**
 * One run of the CLI: the overall deadline (`--timeout`) and the progress lines. The deadline is an
 * AbortSignal every AWS call listens to; `exec` stops it once the environment is resolved (the
 * child runs as long as it likes).
 */
class Run {
  readonly ctl = new AbortController();
  private timer: NodeJS.Timeout | undefined;
  private lastLine = 0;
  readonly timeoutMs: number;
  private readonly resolvers: Resolver[] = [];

  constructor(private readonly g: () => GlobalOpts) {
    this.timeoutMs = DEFAULT_TIMEOUT_S * 1000;
  }

  start(): void {
    const raw = this.g().timeout;
    const s = Number(raw);
    // setTimeout takes at most 2^31-1 ms (~24 days); more would fire at once
    if (!Number.isFinite(s) || s <= 0 || s * 1000 > 2 ** 31 - 1)
      throw new StrataError(
        'INVALID_INPUT',
        `--timeout ${raw}: expected a number of seconds, above 0 and below 2,000,000`,
      );
    (this as { timeoutMs: number }).timeoutMs = Math.round(s * 1000);
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

  progress = (e: CallProgress): void => {
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

  resolver(): Resolver {
    const g = this.g();
    if (g.profile) process.env.AWS_PROFILE = g.profile;
    const opts: ResolverOptions = g.local
      ? { local: g.local }
      : {
          aws: {
            ...(g.region ? { region: g.region } : {}),
            ...(g.endpoint ? { endpoint: g.endpoint } : {}),
            deadlineMs: this.timeoutMs,
            signal: this.ctl.signal,
            onProgress: this.progress,
          },
        };
    const r = createResolver(opts);
    this.resolvers.push(r);
    return r;
  }

  /** Releases SDK clients (and their sockets, a hung one included). */
  close(): void {
    this.stop();
    for (const r of this.resolvers.splice(0)) r.close();
  }
}

function parseVars(list: string[] = []): Record<string, string> {
  const vars: Record<string, string> = Object.create(null);
  for (const kv of list) {
    const i = kv.indexOf('=');
    if (i <= 0) throw new StrataError('INVALID_INPUT', `--var ${kv}: expected NAME=VALUE`);
    vars[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return vars;
}

function hierarchyFrom(o: { hierarchy?: string; var?: string[]; level?: string[] }): HierarchyInput {
  if (o.level && o.level.length > 0) return { levels: o.level };
  if (o.hierarchy) return { template: o.hierarchy, vars: parseVars(o.var) };
  throw new StrataError(
    'INVALID_INPUT',
    'give --hierarchy TEMPLATE (with --var NAME=VALUE) or --level PATH (repeatable)',
  );
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

function hierarchyOptions(cmd: Command): Command {
  return cmd
    .option('--hierarchy <template>', 'hierarchy template, e.g. /{dept}/{app}/{env}')
    .option('--var <name=value>', 'template variable (repeatable)', collect)
    .option('--level <path>', 'explicit level, most general first (repeatable)', collect);
}

/** `--allow-ref PATH` / `--allow-secret NAME`: shared sources references in values may name. */
function allowOptions(cmd: Command): Command {
  return cmd
    .option(
      '--allow-ref <path>',
      'an SSM path (and everything below it) that references inside values may name although it is in a sibling branch (repeatable)',
      collect,
    )
    .option(
      '--allow-secret <name>',
      'a secret (name, name prefix ending in *, or ARN) that references inside values may name although it is in a sibling branch (repeatable)',
      collect,
    );
}

function allowFrom(o: { allowRef?: string[]; allowSecret?: string[] }): LoadHierarchyOptions {
  if (!o.allowRef && !o.allowSecret) return {};
  return {
    allowReferences: {
      ...(o.allowRef ? { ssm: o.allowRef } : {}),
      ...(o.allowSecret ? { secretsManager: o.allowSecret } : {}),
    },
  };
}

function packageVersion(): string {
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
      version?: string;
    };
    return pkg.version ?? 'unknown';
  } catch {
    return 'unknown';
  }
}

export function buildProgram(run?: Run): Command {
  const program = new Command('strata')
    .description('Configuration and secrets from AWS SSM Parameter Store, Secrets Manager and KMS')
    .version(packageVersion(), '-V, --version', 'print the version')
    .option('--region <region>', 'AWS region (default: AWS_REGION / profile)')
    .option('--endpoint <url>', 'AWS endpoint override (default: AWS_ENDPOINT_URL)')
    .option('--profile <name>', 'AWS profile')
    .option(
      '--local <file>',
      'read from (and write to) a local tree (YAML/JSON file or directory) instead of AWS',
    )
    .option(
      '--timeout <seconds>',
      'give up on AWS after this long, retries included (exit 4)',
      String(DEFAULT_TIMEOUT_S),
    )
    .option('--json', 'machine-readable JSON output')
    .enablePositionalOptions()
    .showHelpAfterError()
    .exitOverride();
  const g = () => program.opts<GlobalOpts>();
  const session = run ?? new Run(g);
  program.hook('preAction', () => session.start());
  const resolverFrom = (_g: GlobalOpts) => session.resolver();

  program
    .command('get')
    .description('print one parameter value (decrypted); NAME may be NAME:VERSION or NAME:LABEL')
    .argument('<name>')
    .action(async (name: string) => {
      const m = /^(.*?)(?::(\d+)|:([A-Za-z][\w.-]*))?$/.exec(name)!;
      const query = {
        name: name.startsWith('arn:') ? name : m[1]!,
        ...(m[2] && !name.startsWith('arn:') ? { version: Number(m[2]) } : {}),
        ...(m[3] && !name.startsWith('arn:') ? { label: m[3] } : {}),
      };
      // validated as AWS validates names before any call (and never echoed past what is valid)
      if (/[<>\s]/.test(name)) throw new StrataError('INVALID_INPUT', 'not a valid parameter name');
      formatReference({ service: 'ssm', secure: false, ...query });
      const r = resolverFrom(g());
      const rec = await r.getParameter(query);
      if (g().json)
        out(JSON.stringify({ name: rec.name, value: rec.value, type: rec.type, version: rec.version }));
      else out(rec.value);
    });

  program
    .command('resolve')
    .description(
      'resolve every <<resolve:…>> reference in a string or a file (`-` or --file -: stdin) and print the result',
    )
    .argument('[string]')
    .option('--file <file>', 'read the text from a file (- for stdin)')
    .action(async (input: string | undefined, o: { file?: string }) => {
      if (input === undefined && !o.file)
        throw new StrataError('INVALID_INPUT', 'give a STRING, - (stdin) or --file FILE');
      if (input !== undefined && o.file)
        throw new StrataError('INVALID_INPUT', 'give a STRING or --file FILE, not both');
      const file = o.file ?? (input === '-' ? '-' : undefined);
      const text = file ? await readInputText(file, '--file') : (input ?? '');
      const res = await resolverFrom(g()).resolveTemplate(text);
      if (g().json) out(JSON.stringify({ value: res.value, secret: res.secret, sources: res.sources }));
      else process.stdout.write(file ? res.value : `${res.value}\n`);
    });

  allowOptions(
    hierarchyOptions(
      program
        .command('load')
        .description('load a hierarchy and print the merged tree (secrets masked unless --reveal)')
        .option('--reveal', 'print secret values'),
    ),
  ).action(
    async (o: {
      hierarchy?: string;
      var?: string[];
      level?: string[];
      reveal?: boolean;
      allowRef?: string[];
      allowSecret?: string[];
    }) => {
      const r = resolverFrom(g());
      const h = await r.loadHierarchy(hierarchyFrom(o), allowFrom(o));
      const secrets = new Set([...h.entries.values()].filter((e) => e.secret).map((e) => e.key));
      const tree = h.tree();
      const shown = o.reveal ? tree : maskedCopy(tree, secrets);
      if (g().json) out(JSON.stringify(shown, null, 2));
      else {
        // entries come sorted by key (mergeLevels); localeCompare would cost seconds at 100k keys
        for (const e of h.entries.values()) {
          out(
            `${e.key} = ${e.secret && !o.reveal ? MASK : e.value}    (${e.origin.parameter} v${e.origin.version})`,
          );
        }
        err(
          `${h.entries.size} keys from ${h.levels.length} levels (${h.levels.map((l) => l.path).join(', ')})`,
        );
      }
    },
  );

  allowOptions(
    hierarchyOptions(
      program
        .command('explain')
        .description('say which level, parameter and version a key comes from, and what it overrides')
        .argument('<key>'),
    ),
  ).action(
    async (
      key: string,
      o: {
        hierarchy?: string;
        var?: string[];
        level?: string[];
        allowRef?: string[];
        allowSecret?: string[];
      },
    ) => {
      const r = resolverFrom(g());
      const h = await r.loadHierarchy(hierarchyFrom(o), allowFrom(o));
      const e = h.entries.get(key);
      if (!e) {
        throw new StrataError(
          'NOT_FOUND',
          `key ${key} is not set at any level (${h.levels.map((l) => l.path).join(', ')})`,
          { key },
        );
      }
      const o2 = e.origin;
      if (g().json) {
        out(JSON.stringify({ key, secret: e.secret, origin: o2, references: e.references ?? [] }, null, 2));
        return;
      }
      out(`${key} = ${e.secret ? MASK : e.value}`);
      out(`  from       ${o2.parameter} (version ${o2.version}, ${o2.type})`);
      out(`  level      ${o2.level}: ${o2.levelPath}`);
      for (const ov of o2.overrides)
        out(`  overrides  ${ov.parameter} (version ${ov.version}, level ${ov.level})`);
      if (o2.overrides.length === 0) out('  overrides  nothing (no other level sets this key)');
      for (const ref of e.references ?? [])
        out(`  resolves   ${ref.reference ?? ref.id}${ref.version ? ` (version ${ref.version})` : ''}`);
    },
  );

  program
    .command('exec')
    .description('run a command with the resolved environment (references, buildspec env block, env file)')
    .option(
      '--buildspec <file>',
      'CodeBuild buildspec.yml (or Strata file) whose env block to add (- for stdin)',
    )
    .option(
      '--env-file <file>',
      'dotenv file to add (node --env-file syntax; values may contain references; - for stdin)',
    )
    .argument('<command>')
    .argument('[args...]')
    .passThroughOptions()
    .action(async (cmd: string, args: string[], o: { buildspec?: string; envFile?: string }) => {
      const stdin = new Map<string, string>();
      if (o.envFile === '-') stdin.set('env file', await readInputText('-', '--env-file'));
      if (o.buildspec === '-') stdin.set('buildspec', await readInputText('-', '--buildspec'));
      const env = collectEnv({
        ...(o.buildspec ? { buildspec: o.buildspec } : {}),
        ...(o.envFile ? { envFile: o.envFile } : {}),
        read: (path, what) => (path === '-' ? stdin.get(what) : undefined),
      });
      const r = resolverFrom(g());
      const { env: resolved, resolved: names } = await resolveEnv(env, r);
      session.close(); // the deadline covers resolving; the child runs as long as it likes
      if (names.length > 0)
        err(`strata: resolved ${names.length} variable${names.length === 1 ? '' : 's'}: ${names.join(', ')}`);
      process.exitCode = await runChild(cmd, args, resolved);
    });

  const putLike = (name: string, desc: string) =>
    program
      .command(name)
      .description(desc)
      .requiredOption(
        '--from <file>',
        'YAML/JSON tree (- for stdin): nested keys, {value, type: SecureString} for secrets',
      )
      .requiredOption('--path <prefix>', 'parameter path prefix, e.g. /acme/shop/dev')
      .option(
        '--key-id <kms-key>',
        'KMS key for SecureStrings (default: aws/ssm); with it, SecureStrings over 4 KB are envelope-encrypted',
      );
  putLike(
    'put',
    'write a tree of parameters (SecureString for secrets, Advanced tier only above 4 KB); with --local, to the local tree',
  )
    .option('--dry-run', 'show the diff, write nothing')
    .action(async (o: { from: string; path: string; dryRun?: boolean; keyId?: string }) => {
      await putTree(g(), session.resolver(), o, o.dryRun === true);
    });
  putLike('diff', 'show what `put` would change (secret values never printed)').action(
    async (o: { from: string; path: string; keyId?: string }) => {
      await putTree(g(), session.resolver(), o, true);
    },
  );

  registerKmsCommands(program, {
    session: () => {
      const r = resolverFrom(g());
      return { crypto: createKmsCrypto({ backend: r.backend }), close: () => session.close() };
    },
    json: () => g().json === true,
    out,
    err,
  });

  hierarchyOptions(
    program
      .command('iam-policy')
      .description('print the least-privilege IAM policy for what a config reads')
      .option('--ref <reference>', 'a <<resolve:…>> reference the config also reads (repeatable)', collect)
      .option('--file <file>', 'a file whose references are read (e.g. a config template; - for stdin)')
      .option('--buildspec <file>', 'a buildspec whose env block is read (- for stdin)')
      .option('--account <id>', 'AWS account id', '123456789012')
      .option('--kms-key <arn>', 'KMS key ARN protecting the values (repeatable)', collect)
      .option(
        '--key <key>',
        'a config key read by name at every level (loadConfig with a schema; repeatable)',
        collect,
      )
      .option('--parameter <name>', 'a parameter read by name (repeatable)', collect)
      .option('--describe', 'levels are listed with DescribeParameters (discovery: describe)')
      .option('--check-for-changes', 'checkForChanges() is used (DescribeParameters, DescribeSecret)')
      .option(
        '--replica-region <region>',
        'Secrets Manager replica region read on failover (repeatable)',
        collect,
      ),
  ).action(
    async (o: {
      hierarchy?: string;
      var?: string[];
      level?: string[];
      ref?: string[];
      file?: string;
      buildspec?: string;
      account: string;
      kmsKey?: string[];
      key?: string[];
      parameter?: string[];
      describe?: boolean;
      checkForChanges?: boolean;
      replicaRegion?: string[];
    }) => {
      const texts = [...(o.ref ?? [])];
      if (o.file) texts.push(await readInputText(o.file, '--file'));
      if (o.buildspec) {
        const text = o.buildspec === '-' ? await readInputText('-', '--buildspec') : undefined;
        texts.push(
          ...Object.values(
            collectEnv({ base: {}, buildspec: o.buildspec, read: (p) => (p === '-' ? text : undefined) }),
          ),
        );
      }
      const references: Reference[] = texts.flatMap((t) =>
        parseTemplate(t).flatMap((p) => (p.kind === 'ref' ? [p.ref] : [])),
      );
      const levels = o.hierarchy || o.level ? buildLevels(hierarchyFrom(o)) : [];
      const policy = buildIamPolicy({
        region: g().region ?? process.env.AWS_REGION ?? 'us-east-1',
        account: o.account,
        levels,
        parameterNames: o.parameter ?? [],
        references,
        ...(o.key ? { keys: o.key } : {}),
        ...(o.kmsKey ? { kmsKeyArns: o.kmsKey } : {}),
        ...(o.describe ? { discovery: 'describe' as const } : {}),
        ...(o.checkForChanges ? { checkForChanges: true } : {}),
        ...(o.replicaRegion ? { replicaRegions: o.replicaRegion } : {}),
      });
      out(JSON.stringify(policy, null, 2));
    },
  );
  return program;
}

const STANDARD_MAX = 4096;
const ADVANCED_MAX = 8192;

async function putTree(
  g: GlobalOpts,
  r: Resolver,
  o: { from: string; path: string; keyId?: string },
  dryRun: boolean,
): Promise<void> {
  const doc = parseYamlText(await readInputText(o.from, '--from'), `--from ${o.from}`);
  const tree = parseLocalTree({ parameters: { [o.path]: doc } }, o.from);
  const ssm = r.backend.ssm;
  if (!dryRun && !ssm.putParameter) {
    throw new StrataError(
      'INVALID_INPUT',
      `the ${r.backend.kind} backend cannot write parameters; nothing written`,
    );
  }
  // SecureStrings over the Standard tier's 4 KB, with --key-id: envelope-encrypted (gzip first when
  // smaller) and stored as a String holding <<resolve:kms:…>>, when that avoids the Advanced tier
  // or is the only way to fit 8 KB. See the loader README.
  const envelopes = await envelopeLargeSecrets(r, [...tree.parameters], o.keyId);
  const items = [...tree.parameters].map(([name, p]) => {
    const env = envelopes.get(name);
    return env
      ? {
          name,
          ...p,
          type: 'String' as const,
          stored: env,
          envelope: true,
          bytes: Buffer.byteLength(env, 'utf8'),
        }
      : { name, ...p, stored: p.value, envelope: false, bytes: Buffer.byteLength(p.value, 'utf8') };
  });
  const tooBig = items.filter((i) => i.bytes > ADVANCED_MAX);
  if (tooBig.length > 0) {
    const secretHint =
      !o.keyId && tooBig.some((i) => i.type === 'SecureString')
        ? ' Give --key-id KEY (a customer managed KMS key) to store large SecureStrings envelope-encrypted and compressed.'
        : '';
    const e = new StrataError(
      'VALIDATION',
      `${tooBig.length} value(s) exceed Parameter Store's 8 KB limit: ${tooBig.map((i) => `${i.name} (${i.bytes} bytes${i.envelope ? ' even envelope-encrypted' : ''})`).join(', ')}. Nothing was written.${secretHint}`,
    );
    (e as { exitCode?: number }).exitCode = EXIT.TOO_LARGE;
    throw e;
  }
  const current = await r.backend.ssm.getParameters(items.map((i) => ({ name: i.name })));
  const plan = await Promise.all(
    items.map(async (i, n) => {
      const c = current[n]!;
      const tier = i.bytes > STANDARD_MAX ? 'Advanced' : 'Standard';
      let same = c.ok && c.value.value === i.stored && c.value.type === i.type;
      if (c.ok && i.envelope && c.value.type === 'String' && c.value.value.startsWith('<<resolve:kms:')) {
        // a fresh envelope never equals the stored one: compare the plaintexts
        same = await r.resolveTemplate(c.value.value).then(
          (cur) => cur.value === i.value,
          () => false,
        );
      }
      const action = !c.ok ? 'create' : same ? 'unchanged' : 'update';
      return { ...i, tier, action, currentVersion: c.ok ? c.value.version : undefined };
    }),
  );
  const secret = (i: { type: string; envelope: boolean }) => i.type === 'SecureString' || i.envelope;
  if (g.json && dryRun) {
    out(
      JSON.stringify(
        plan.map((p) => ({
          name: p.name,
          action: p.action,
          type: p.type,
          tier: p.tier,
          bytes: p.bytes,
          ...(p.envelope ? { envelope: true } : {}),
        })),
        null,
        2,
      ),
    );
    return;
  }
  if (dryRun) {
    for (const p of plan) {
      const sign = p.action === 'create' ? '+' : p.action === 'update' ? '~' : '=';
      const shown = secret(p) ? MASK : JSON.stringify(p.value);
      out(
        `${sign} ${p.name} ${p.type}${p.envelope ? ' (envelope-encrypted SecureString)' : ''}${p.tier === 'Advanced' ? ' (Advanced tier)' : ''}${p.action === 'unchanged' ? '' : ` = ${shown}`}`,
      );
    }
    const n = (a: string) => plan.filter((p) => p.action === a).length;
    err(
      `${n('create')} to create, ${n('update')} to update, ${n('unchanged')} unchanged (dry run: nothing written)`,
    );
    return;
  }
  const todo = plan.filter((p) => p.action !== 'unchanged');
  const where = r.backend.kind === 'local' ? `the local tree ${g.local}` : 'SSM Parameter Store';
  const bar = new PutProgress(todo.length, process.stderr.isTTY === true && !g.json);
  if (todo.length > 0) err(`strata: writing ${todo.length} parameter(s) to ${where}`);
  let done = 0;
  try {
    for (const p of todo) {
      await ssm.putParameter!({
        name: p.name,
        value: p.stored,
        type: p.type as ParameterType,
        tier: p.tier as 'Standard' | 'Advanced',
        overwrite: true,
        ...(p.type === 'SecureString' && o.keyId ? { keyId: o.keyId } : {}),
      });
      done++;
      bar.update(done, p.name);
    }
  } catch (e) {
    bar.end();
    const se = isStrataError(e) ? e : new StrataError('AWS_ERROR', String(e), { cause: e });
    const rest = todo.length - done;
    throw Object.assign(
      new StrataError(
        se.code,
        `${se.message}\nwrote ${done} of ${todo.length} parameter(s); ${rest} not written${done > 0 ? ' (put again to finish: unchanged parameters are skipped)' : ''}`,
        { ...(se.source ? { source: se.source } : {}), cause: se, issues: se.issues },
      ),
      { exitCode: (se as { exitCode?: number }).exitCode },
    );
  }
  bar.end();
  const summary = {
    written: todo.length,
    unchanged: plan.length - todo.length,
    advanced: todo.filter((p) => p.tier === 'Advanced').length,
    envelope: todo.filter((p) => p.envelope).length,
  };
  if (g.json) out(JSON.stringify(summary));
  else
    out(
      `wrote ${summary.written} parameter(s) under ${o.path} (${summary.unchanged} unchanged, ${summary.advanced} Advanced tier${summary.envelope ? `, ${summary.envelope} envelope-encrypted` : ''})`,
    );
}

/**
 * put's progress on stderr: a bar redrawn with `\r` on a terminal; on anything else (a CI log, a
 * file) plain lines, at most one every 2 s plus the last. Every line ends with a newline, on
 * success and on failure.
 */
class PutProgress {
  private lastLine = 0;
  private drawn = false;
  constructor(
    private readonly total: number,
    private readonly tty: boolean,
  ) {}

  update(done: number, name: string): void {
    if (this.total === 0) return;
    if (this.tty) {
      const width = 30;
      const filled = Math.round((done / this.total) * width);
      process.stderr.write(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${done}/${this.total}`);
      this.drawn = true;
      return;
    }
    const now = Date.now();
    if (done < this.total && now - this.lastLine < 2000) return;
    this.lastLine = now;
    err(`strata: put ${done}/${this.total} (${name})`);
  }

  /** Ends the bar's line (a terminal), so what follows starts on its own line. */
  end(): void {
    if (this.drawn) process.stderr.write('\n');
    this.drawn = false;
  }
}

/**
 * For SecureStrings over 4 KB when a KMS key is given: the `<<resolve:kms:…>>` reference to store
 * instead (a String parameter), when it fits the Standard tier, or when the value is over 8 KB and
 * the reference fits the Advanced tier. Otherwise the value stays a SecureString (Advanced tier).
 * The encryption context names the parameter (`parameter=NAME`: visible in CloudTrail on Decrypt).
 */
async function envelopeLargeSecrets(
  r: Resolver,
  params: Array<[string, { value: string; type: string }]>,
  keyId: string | undefined,
): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  const large = params.filter(
    ([, p]) => p.type === 'SecureString' && Buffer.byteLength(p.value, 'utf8') > STANDARD_MAX,
  );
  if (!keyId || large.length === 0) return out;
  const crypto = createKmsCrypto({ backend: r.backend });
  for (const [name, p] of large) {
    const context = { parameter: name };
    const enc = await crypto.encrypt(p.value, { keyId, mode: 'envelope', compress: true, context });
    const ref = kmsReference(enc.ciphertext, context);
    const refBytes = Buffer.byteLength(ref, 'utf8');
    const valueBytes = Buffer.byteLength(p.value, 'utf8');
    // Over 8 KB the envelope is the only chance (if it is still too big, put refuses and says so).
    if (refBytes <= STANDARD_MAX || valueBytes > ADVANCED_MAX) out.set(name, ref);
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  resetStdin();
  let program: Command | undefined;
  const run = new Run(() => program!.opts<GlobalOpts>());
  program = buildProgram(run);
  try {
    await Promise.race([program.parseAsync(argv), run.backstop()]);
    return typeof process.exitCode === 'number' ? process.exitCode : EXIT.OK;
  } catch (e) {
    if (e instanceof CommanderError) return e.exitCode === 0 ? EXIT.OK : EXIT.USAGE;
    const json = program.opts<GlobalOpts>().json;
    if (isStrataError(e)) {
      if (json) err(JSON.stringify(e));
      else err(`strata: ${e.message}`);
      return (e as { exitCode?: number }).exitCode ?? exitCodeFor(e.code, e.issues);
    }
    err(`strata: ${describeForeignError(e)}`);
    return EXIT.FAILED;
  } finally {
    run.close();
  }
}
