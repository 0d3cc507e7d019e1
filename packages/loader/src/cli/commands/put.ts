/**
 * `strata put` and `strata diff`: write a tree of parameters through the session's Backend (AWS
 * with Strata's rate limit and retries, or the local tree with `--local`), or show what would
 * change. Secret values are never printed.
 */
import {
  type Backend,
  createKmsCrypto,
  isStrataError,
  kmsReference,
  type ParameterType,
  parseLocalTree,
  parseYamlText,
  type Resolver,
  StrataError,
} from '@strata/core';
import type { Command } from 'commander';
import { MASK } from '../../mask.js';
import { EXIT } from '../exit-codes.js';
import { readInputText } from '../input.js';
import type { CliContext } from '../options.js';
import { err, out } from '../output.js';
import type { GlobalOpts } from '../session.js';

const STANDARD_MAX = 4096;
const ADVANCED_MAX = 8192;

interface PutFlags {
  from: string;
  path: string;
  keyId?: string;
}

export function registerPut(program: Command, c: CliContext): void {
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
  const run = (o: PutFlags, dryRun: boolean) =>
    putTree(c.globals(), c.session.backend(), c.session.resolver(), o, dryRun);
  putLike(
    'put',
    'write a tree of parameters (SecureString for secrets, Advanced tier only above 4 KB); with --local, to the local tree',
  )
    .option('--dry-run', 'show the diff, write nothing')
    .action(async (o: PutFlags & { dryRun?: boolean }) => run(o, o.dryRun === true));
  putLike('diff', 'show what `put` would change (secret values never printed)').action(async (o: PutFlags) =>
    run(o, true),
  );
}

/**
 * Reads `--from`, compares with what `backend` holds, and writes the difference (unless `dryRun`).
 * `resolver` (over the same backend) only reads back stored envelope references to compare them.
 */
async function putTree(
  g: GlobalOpts,
  backend: Backend,
  resolver: Resolver,
  o: PutFlags,
  dryRun: boolean,
): Promise<void> {
  const doc = parseYamlText(await readInputText(o.from, '--from'), `--from ${o.from}`);
  const tree = parseLocalTree({ parameters: { [o.path]: doc } }, o.from);
  const ssm = backend.ssm;
  if (!dryRun && !ssm.putParameter) {
    throw new StrataError(
      'INVALID_INPUT',
      `the ${backend.kind} backend cannot write parameters; nothing written`,
    );
  }
  // SecureStrings over the Standard tier's 4 KB, with --key-id: envelope-encrypted (gzip first when
  // smaller) and stored as a String holding <<resolve:kms:…>>, when that avoids the Advanced tier
  // or is the only way to fit 8 KB. See the loader README.
  const envelopes = await envelopeLargeSecrets(backend, [...tree.parameters], o.keyId);
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
  const current = await ssm.getParameters(items.map((i) => ({ name: i.name })));
  const plan = await Promise.all(
    items.map(async (i, n) => {
      const c = current[n]!;
      const tier = i.bytes > STANDARD_MAX ? 'Advanced' : 'Standard';
      let same = c.ok && c.value.value === i.stored && c.value.type === i.type;
      if (c.ok && i.envelope && c.value.type === 'String' && c.value.value.startsWith('<<resolve:kms:')) {
        // a fresh envelope never equals the stored one: compare the plaintexts
        same = await resolver.resolveTemplate(c.value.value).then(
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
  const where = backend.kind === 'local' ? `the local tree ${g.local}` : 'SSM Parameter Store';
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
  backend: Backend,
  params: Array<[string, { value: string; type: string }]>,
  keyId: string | undefined,
): Promise<Map<string, string>> {
  const refs = new Map<string, string>();
  const large = params.filter(
    ([, p]) => p.type === 'SecureString' && Buffer.byteLength(p.value, 'utf8') > STANDARD_MAX,
  );
  if (!keyId || large.length === 0) return refs;
  const crypto = createKmsCrypto({ backend });
  for (const [name, p] of large) {
    const context = { parameter: name };
    const enc = await crypto.encrypt(p.value, { keyId, mode: 'envelope', compress: true, context });
    const ref = kmsReference(enc.ciphertext, context);
    const refBytes = Buffer.byteLength(ref, 'utf8');
    const valueBytes = Buffer.byteLength(p.value, 'utf8');
    // Over 8 KB the envelope is the only chance (if it is still too big, put refuses and says so).
    if (refBytes <= STANDARD_MAX || valueBytes > ADVANCED_MAX) refs.set(name, ref);
  }
  return refs;
}
