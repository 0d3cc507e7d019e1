/** Small helpers for the benchmarks: statistics, tables, machine facts, and RESULTS.md sections. */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { availableParallelism, cpus, totalmem } from 'node:os';
import { join } from 'node:path';

export function median(xs: number[]): number {
  if (xs.length === 0) return Number.NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

export const ms = (x: number) => (Number.isFinite(x) ? `${Math.round(x).toLocaleString('en-US')} ms` : '–');
export const ratio = (x: number) => (Number.isFinite(x) ? `${x.toFixed(2)}×` : '–');

/** `{ 'ssm:GetParameters': 20, … }` -> `GetParameters 20, …` (most first). */
export function opsText(calls: Record<string, number>): string {
  const entries = Object.entries(calls).sort((a, b) => b[1] - a[1]);
  if (entries.length === 0) return '–';
  return entries.map(([k, v]) => `${k.replace(/^[a-z]+:/, '')} ${v}`).join(', ');
}

export const total = (calls: Record<string, number>) => Object.values(calls).reduce((a, b) => a + b, 0);

export function table(header: string[], rows: Array<Array<string | number>>): string {
  const line = (cells: Array<string | number>) => `| ${cells.map((c) => String(c)).join(' | ')} |`;
  return [line(header), line(header.map(() => '---')), ...rows.map(line)].join('\n');
}

export function machine(
  motoPython?: string,
  motoPinned?: string,
): {
  nproc: number;
  cpu: string;
  memGiB: number;
  node: string;
  moto: string;
} {
  let moto = motoPinned ?? 'unknown';
  if (motoPython && existsSync(motoPython)) {
    try {
      moto = execFileSync(motoPython, ['-c', 'import moto; print(moto.__version__)'], {
        encoding: 'utf8',
      }).trim();
    } catch {
      /* keep the pinned version */
    }
  }
  return {
    nproc: availableParallelism(),
    cpu: cpus()[0]?.model?.trim() ?? 'unknown',
    memGiB: Math.round(totalmem() / 2 ** 30),
    node: process.version,
    moto,
  };
}

/**
 * Replaces the `## <heading>` section of RESULTS.md (up to the next `## ` heading) with `body`,
 * keeping every other section; appends the section when it is missing.
 */
export function writeSection(dir: string, heading: string, body: string): string {
  const file = join(dir, 'RESULTS.md');
  const section = `## ${heading}\n\n${body.trim()}\n`;
  let text = existsSync(file)
    ? readFileSync(file, 'utf8')
    : '# Benchmark results\n\nWritten by `npm run bench`; see [README.md](README.md) for what each benchmark measures.\n';
  const lines = text.split('\n');
  const start = lines.findIndex((l) => l.trim() === `## ${heading}`);
  if (start < 0) {
    text = `${text.trimEnd()}\n\n${section}`;
  } else {
    let end = lines.findIndex((l, i) => i > start && /^## /.test(l));
    if (end < 0) end = lines.length;
    const before = lines.slice(0, start).join('\n').trimEnd();
    const after = lines.slice(end).join('\n').trim();
    text = `${before}\n\n${section}${after ? `\n${after}\n` : ''}`;
  }
  writeFileSync(file, text);
  return file;
}
