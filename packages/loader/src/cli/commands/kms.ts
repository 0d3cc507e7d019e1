/**
 * KMS commands of the `strata` CLI: encrypt, decrypt, reencrypt, random (seal and unseal: seal.ts).
 * They use the session's Backend like every other command (`--region`, `--endpoint`, `--profile`,
 * `--local`), so KMS calls get Strata's rate limit and full-jitter retries. Plaintexts go to stdout
 * only when asked for (decrypt); stderr gets counts, never values.
 */
import { type EncryptMode, kmsReference, parseTemplate, StrataError } from '@strata/core';
import type { Command } from 'commander';
import { readInputBytes } from '../input.js';
import { type CliContext, collect } from '../options.js';
import { out } from '../output.js';

/** `k=v` pairs (repeatable, or comma-separated) into an encryption context. */
export function parseContext(list: string[] | undefined): Record<string, string> | undefined {
  if (!list || list.length === 0) return undefined;
  const ctx: Record<string, string> = {};
  for (const item of list.flatMap((s) => s.split(','))) {
    const i = item.indexOf('=');
    if (i <= 0) throw new StrataError('INVALID_INPUT', `--context ${item}: expected KEY=VALUE`);
    ctx[item.slice(0, i)] = item.slice(i + 1);
  }
  return ctx;
}

/** Reads --file (`-`: stdin), else stdin (which must not be a terminal). */
async function readInput(file: string | undefined): Promise<Buffer> {
  return readInputBytes(file ?? '-', '--file');
}

/** A base64 ciphertext or a whole `<<resolve:kms:…>>` reference (whose context is used). */
function ciphertextFrom(text: string): {
  ciphertext: string;
  context?: Record<string, string>;
  wasReference: boolean;
} {
  const t = text.trim();
  if (t.startsWith('<<resolve:')) {
    const parts = parseTemplate(t);
    const ref = parts.length === 1 && parts[0]?.kind === 'ref' ? parts[0].ref : undefined;
    if (ref?.service !== 'kms') {
      throw new StrataError(
        'INVALID_INPUT',
        'expected a base64 ciphertext or one <<resolve:kms:…>> reference',
      );
    }
    return {
      ciphertext: ref.ciphertext,
      ...(ref.context ? { context: ref.context } : {}),
      wasReference: true,
    };
  }
  if (t.length === 0) throw new StrataError('INVALID_INPUT', 'no ciphertext given (empty input)');
  return { ciphertext: t, wasReference: false };
}

export function modeOf(o: { envelope?: boolean; raw?: boolean }, fallback: EncryptMode): EncryptMode {
  if (o.envelope && o.raw) throw new StrataError('INVALID_INPUT', 'give --envelope or --raw, not both');
  return o.envelope ? 'envelope' : o.raw ? 'raw' : fallback;
}

export function registerKmsCommands(program: Command, c: CliContext): void {
  program
    .command('encrypt')
    .description(
      'encrypt stdin (or --file) with KMS; prints base64 (raw KMS Encrypt up to 4 KB, envelope above)',
    )
    .requiredOption('--key <key>', 'KMS key id, ARN or alias')
    .option('--context <k=v>', 'encryption context entry (repeatable)', collect)
    .option('--envelope', 'always an Encryption SDK message (envelope encryption)')
    .option('--raw', 'always raw KMS Encrypt (at most 4,096 bytes)')
    .option('--file <file>', 'read the plaintext from a file instead of stdin')
    .option('--reference', 'print a ready <<resolve:kms:…>> reference')
    .action(
      async (o: {
        key: string;
        context?: string[];
        envelope?: boolean;
        raw?: boolean;
        file?: string;
        reference?: boolean;
      }) => {
        const context = parseContext(o.context);
        const mode = modeOf(o, 'auto');
        const plaintext = await readInput(o.file);
        const crypto = c.session.crypto();
        try {
          const res = await crypto.encrypt(plaintext, {
            keyId: o.key,
            mode,
            ...(context ? { context } : {}),
          });
          const reference = kmsReference(res.ciphertext, context);
          if (c.globals().json)
            out(
              JSON.stringify({ ciphertext: res.ciphertext, format: res.format, keyId: res.keyId, reference }),
            );
          else out(o.reference ? reference : res.ciphertext);
        } finally {
          plaintext.fill(0);
          c.session.close();
        }
      },
    );

  program
    .command('decrypt')
    .description(
      'decrypt a base64 ciphertext or <<resolve:kms:…>> reference from stdin (or --file); prints the plaintext',
    )
    .option('--context <k=v>', "encryption context entry (repeatable); default: the reference's", collect)
    .option('--file <file>', 'read the ciphertext from a file instead of stdin')
    .action(async (o: { context?: string[]; file?: string }) => {
      const input = ciphertextFrom((await readInput(o.file)).toString('utf8'));
      const context = parseContext(o.context) ?? input.context;
      const crypto = c.session.crypto();
      try {
        const res = await crypto.decrypt(input.ciphertext, context ? { context } : {});
        if (c.globals().json) {
          out(
            JSON.stringify({
              plaintext: res.plaintext.toString('utf8'),
              format: res.format,
              ...(res.keyId ? { keyId: res.keyId } : {}),
              context: res.context,
            }),
          );
        } else process.stdout.write(res.plaintext);
        res.plaintext.fill(0);
      } finally {
        c.session.close();
      }
    });

  program
    .command('reencrypt')
    .description(
      're-encrypt a ciphertext or reference under another key (KMS ReEncrypt; envelopes are re-wrapped)',
    )
    .requiredOption('--to-key <key>', 'destination KMS key id, ARN or alias')
    .option(
      '--context <k=v>',
      "the current encryption context (repeatable); default: the reference's",
      collect,
    )
    .option('--to-context <k=v>', 'a new encryption context (repeatable); default: the current one', collect)
    .option('--file <file>', 'read the ciphertext from a file instead of stdin')
    .option('--reference', 'print a <<resolve:kms:…>> reference (the default when the input was one)')
    .action(
      async (o: {
        toKey: string;
        context?: string[];
        toContext?: string[];
        file?: string;
        reference?: boolean;
      }) => {
        const input = ciphertextFrom((await readInput(o.file)).toString('utf8'));
        const context = parseContext(o.context) ?? input.context;
        const toContext = parseContext(o.toContext);
        const crypto = c.session.crypto();
        try {
          const res = await crypto.reencrypt(input.ciphertext, {
            toKeyId: o.toKey,
            ...(context ? { context } : {}),
            ...(toContext ? { toContext } : {}),
          });
          const reference = kmsReference(res.ciphertext, toContext ?? context);
          if (c.globals().json)
            out(
              JSON.stringify({ ciphertext: res.ciphertext, format: res.format, keyId: res.keyId, reference }),
            );
          else out(o.reference || input.wasReference ? reference : res.ciphertext);
        } finally {
          c.session.close();
        }
      },
    );

  program
    .command('random')
    .description('print N random bytes from KMS GenerateRandom, base64 (for new secrets)')
    .requiredOption('--bytes <n>', 'how many bytes (1 to 1,024)')
    .action(async (o: { bytes: string }) => {
      const n = Number(o.bytes);
      const crypto = c.session.crypto();
      try {
        const bytes = Buffer.from(await crypto.random(n));
        const b64 = bytes.toString('base64');
        bytes.fill(0);
        out(c.globals().json ? JSON.stringify({ random: b64, bytes: n }) : b64);
      } finally {
        c.session.close();
      }
    });
}
