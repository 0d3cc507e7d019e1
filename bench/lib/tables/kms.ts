/** Tables of the KMS benchmark (results/kms.json). */
import type { KmsData, KmsRow } from '../../kms.js';
import type { Blocks } from '../render.js';
import { table } from '../report.js';
import type { ResultFile } from '../scenario.js';
import { metaBlock } from './meta.js';

const n = (x: number) => x.toLocaleString('en-US');
const gdk = (r: KmsRow) => r.calls['kms:GenerateDataKey'] ?? 0;
const row = (d: KmsData, letter: string) => d.rows.find((r) => r.name.startsWith(`${letter}.`))!;

function callsText(r: KmsRow): string {
  const entries = Object.entries(r.calls).filter(([, v]) => v > 0);
  const text = entries.map(([k, v]) => `${k.replace(/^kms:/, '')} ${n(v)}`).join(', ') || '0';
  return r.extrapolatedTo
    ? `${text} → ${n(Math.round((gdk(r) / r.messages) * r.extrapolatedTo))} GenerateDataKey for ${n(r.extrapolatedTo)} (extrapolated: 1 per message)`
    : text;
}

export function kmsTables(result: ResultFile<KmsData>): Blocks {
  const d = result.data;
  const a = row(d, 'a');
  const b = row(d, 'b');
  const c = row(d, 'c');
  const dd = row(d, 'd');
  const e = row(d, 'e');
  const g = row(d, 'g');
  const perMsg = (r: KmsRow) => r.wallMs / r.messages;
  const rows = table(
    [
      'row',
      'messages',
      'at a time',
      'data-key cache',
      'KMS calls (counted by the proxy)',
      'wall',
      'per message',
    ],
    d.rows.map((r) => [
      r.name,
      n(r.messages),
      r.concurrency,
      r.cache,
      callsText(r),
      `${n(Math.round(r.wallMs))} ms`,
      `${perMsg(r).toFixed(2)} ms${r.note ? ` (${r.note})` : ''}`,
    ]),
  );
  const met = gdk(a) <= 100 && gdk(b) <= 100;
  const derived = table(
    ['figure', 'value'],
    [
      [
        'GenerateDataKey with the cache, 1 / 16 at a time (target ≤ 100)',
        `${gdk(a)} / ${gdk(b)}: ${met ? 'met' : '**missed**'}`,
      ],
      ['GenerateDataKey without the cache (row e)', n(gdk(e))],
      ['calls cut by the cache (1 − a / e)', `${((1 - gdk(a) / (gdk(e) || 1)) * 100).toFixed(1)}%`],
      [
        'data keys needed at the default `maxMessagesEncrypted`',
        String(Math.ceil(d.messages / d.defaultCache.maxMessagesEncrypted)),
      ],
      ['GenerateDataKey with `maxMessagesEncrypted: 100` (row c)', String(gdk(c))],
      ['row g (unsigned suite) time / row a time', `${((g.wallMs / a.wallMs) * 100).toFixed(0)}%`],
      [
        `one moto GenerateDataKey round trip, local cost (row d − row a − ${d.latencyMs} ms added), per message`,
        `${Math.max(0, perMsg(dd) - perMsg(a) - d.latencyMs).toFixed(1)} ms`,
      ],
    ],
  );
  return { ...metaBlock('kms', result), 'kms:rows': rows, 'kms:derived': derived };
}
