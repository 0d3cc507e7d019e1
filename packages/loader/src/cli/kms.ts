/**
 * KMS commands of the `strata` CLI: encrypt, decrypt, reencrypt, random, seal, unseal. They use
 * the same backend as every other command (`--region`, `--endpoint`, `--profile`, `--local`), so
 * KMS calls get Strata's rate limit and full-jitter retries. Plaintexts go to stdout only when
 * asked for (decrypt, unseal); stderr gets key paths and counts, never values.
 */
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  fsyncSync,
  lstatSync,
  openSync,
  renameSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { type EncryptMode, type KmsCrypto, kmsReference, parseTemplate, StrataError } from '@strata/core';
import type { Command } from 'commander';
import { sealText, unsealText } from '../seal.js';
import { readInputBytes, readInputText } from './input.js';

export interface KmsCliContext {
  /** A KmsCrypto over the CLI's backend, and how to release that backend. */
  session: () => { crypto: KmsCrypto; close(): void };
  json: () => boolean;
  out: (s: string) => void;
  err: (s: string) => void;
}

const collect = (v: string, prev: string[] = []) => [...prev, v];

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

function modeOf(o: { envelope?: boolean; raw?: boolean }, fallback: EncryptMode): EncryptMode {
  if (o.envelope && o.raw) throw new StrataError('INVALID_INPUT', 'give --envelope or --raw, not both');
  return o.envelope ? 'envelope' : o.raw ? 'raw' : fallback;
}

export function registerKmsCommands(program: Command, c: KmsCliContext): void {
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
        const session = c.session();
        const crypto = session.crypto;
        try {
          const res = await crypto.encrypt(plaintext, {
            keyId: o.key,
            mode,
            ...(context ? { context } : {}),
          });
          const reference = kmsReference(res.ciphertext, context);
          if (c.json())
            c.out(
              JSON.stringify({ ciphertext: res.ciphertext, format: res.format, keyId: res.keyId, reference }),
            );
          else c.out(o.reference ? reference : res.ciphertext);
        } finally {
          plaintext.fill(0);
          session.close();
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
      const session = c.session();
      const crypto = session.crypto;
      try {
        const res = await crypto.decrypt(input.ciphertext, context ? { context } : {});
        if (c.json()) {
          c.out(
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
        session.close();
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
        const session = c.session();
        const crypto = session.crypto;
        try {
          const res = await crypto.reencrypt(input.ciphertext, {
            toKeyId: o.toKey,
            ...(context ? { context } : {}),
            ...(toContext ? { toContext } : {}),
          });
          const reference = kmsReference(res.ciphertext, toContext ?? context);
          if (c.json())
            c.out(
              JSON.stringify({ ciphertext: res.ciphertext, format: res.format, keyId: res.keyId, reference }),
            );
          else c.out(o.reference || input.wasReference ? reference : res.ciphertext);
        } finally {
          session.close();
        }
      },
    );

  program
    .command('random')
    .description('print N random bytes from KMS GenerateRandom, base64 (for new secrets)')
    .requiredOption('--bytes <n>', 'how many bytes (1 to 1,024)')
    .action(async (o: { bytes: string }) => {
      const n = Number(o.bytes);
      const session = c.session();
      const crypto = session.crypto;
      try {
        const bytes = Buffer.from(await crypto.random(n));
        const b64 = bytes.toString('base64');
        bytes.fill(0);
        c.out(c.json() ? JSON.stringify({ random: b64, bytes: n }) : b64);
      } finally {
        session.close();
      }
    });

  program
    .command('seal')
    .description(
      'replace each secret value of a YAML/JSON config with a kms reference (see the loader README)',
    )
    .argument('<file>')
    .requiredOption('--key <key>', 'KMS key id, ARN or alias')
    .option('--context <k=v>', 'encryption context for every value (repeatable)', collect)
    .option('--pattern <regex>', 'secret keys: a key path segment matching this (case-insensitive)')
    .option('--no-pattern', 'seal only values tagged !secret')
    .option('--raw', 'raw KMS Encrypt per value (shorter; one KMS Decrypt per value on load)')
    .option(
      '--envelope',
      'Encryption SDK messages sharing one data key (default; one KMS Decrypt per file on load)',
    )
    .option('--out <file>', 'write here instead of stdout')
    .action(
      async (
        file: string,
        o: {
          key: string;
          context?: string[];
          pattern?: string | boolean;
          raw?: boolean;
          envelope?: boolean;
          out?: string;
        },
      ) => {
        const text = await readInputText(file, 'file');
        const context = parseContext(o.context);
        let pattern: RegExp | false | undefined;
        if (o.pattern === false) pattern = false;
        else if (typeof o.pattern === 'string') {
          try {
            pattern = new RegExp(o.pattern, 'i');
          } catch {
            throw new StrataError('INVALID_INPUT', `--pattern ${o.pattern}: not a valid regular expression`);
          }
        }
        const session = c.session();
        const crypto = session.crypto;
        try {
          const res = await sealText(
            text,
            crypto,
            {
              keyId: o.key,
              mode: modeOf(o, 'envelope'),
              ...(context ? { context } : {}),
              ...(pattern !== undefined ? { pattern } : {}),
            },
            file,
          );
          if (o.out) writeFileSync(o.out, res.text);
          else process.stdout.write(res.text);
          if (c.json()) c.err(JSON.stringify({ sealed: res.paths }));
          else
            c.err(
              `strata: sealed ${res.paths.length} value(s)${res.paths.length ? `: ${res.paths.join(', ')}` : ''}`,
            );
        } finally {
          session.close();
        }
      },
    );

  program
    .command('unseal')
    .description('replace each kms reference of a sealed YAML/JSON config with its plaintext')
    .argument('<file>')
    .option('--out <file>', 'write here (mode 0600) instead of stdout')
    .action(async (file: string, o: { out?: string }) => {
      const session = c.session();
      const crypto = session.crypto;
      try {
        const res = await unsealText(await readInputText(file, 'file'), crypto, file);
        if (o.out) writePrivateFile(o.out, res.text);
        else process.stdout.write(res.text);
        if (c.json()) c.err(JSON.stringify({ unsealed: res.paths }));
        else
          c.err(
            `strata: unsealed ${res.paths.length} value(s)${res.paths.length ? `: ${res.paths.join(', ')}` : ''}`,
          );
      } finally {
        session.close();
      }
    });
}

/**
 * Writes plaintext to `path` as a new 0600 file: written beside it under a random name (created
 * exclusively, so nothing else's file or link is reused) and renamed into place, so an existing
 * file's looser mode is never kept. A symbolic link, or anything but a regular file, at `path` is
 * refused (exit 2): following it could put the plaintext somewhere else.
 */
export function writePrivateFile(path: string, text: string): void {
  let st: ReturnType<typeof lstatSync> | undefined;
  try {
    st = lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') {
      throw new StrataError('INVALID_INPUT', `--out ${path}: cannot be checked`, { source: path });
    }
  }
  if (st?.isSymbolicLink()) {
    throw new StrataError(
      'INVALID_INPUT',
      `--out ${path} is a symbolic link: refusing to write plaintext through it`,
      {
        source: path,
      },
    );
  }
  if (st && !st.isFile()) {
    throw new StrataError('INVALID_INPUT', `--out ${path} is not a regular file`, { source: path });
  }
  const tmp = join(dirname(path), `.${basename(path)}.${randomBytes(6).toString('hex')}.tmp`);
  let fd: number | undefined;
  try {
    fd = openSync(tmp, 'wx', 0o600);
    writeSync(fd, text);
    fsyncSync(fd);
    closeSync(fd);
    fd = undefined;
    renameSync(tmp, path);
  } catch (err) {
    if (fd !== undefined) closeSync(fd);
    try {
      unlinkSync(tmp);
    } catch {
      /* not created */
    }
    if (err instanceof StrataError) throw err;
    throw new StrataError(
      'INVALID_INPUT',
      `--out ${path}: cannot write (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
      {
        source: path,
      },
    );
  }
}
