/**
 * Renders the CRDs as the chart's templates (pure): the chart installs them as templates, not from
 * Helm's `crds/` folder, so `helm upgrade` updates their schemas too; the header keeps the chart's
 * labels and its `crds.install` / `crds.keep` values.
 */
import { stringify } from 'yaml';
import { secretSyncCrd } from './secretsync.js';
import { sourcePolicyCrd } from './sourcepolicy.js';

/** Where each CRD lives, relative to the repository root. */
export const CRD_FILES = {
  'charts/strata-operator/templates/crds/secretsync.yaml': secretSyncCrd,
  'charts/strata-operator/templates/crds/sourcepolicy.yaml': sourcePolicyCrd,
} as const;

interface Crd {
  apiVersion: string;
  kind: string;
  metadata: { name: string };
  spec: object;
}

export function renderCrd(crd: Crd): string {
  const spec = stringify({ spec: crd.spec }, { lineWidth: 100, minContentWidth: 40 });
  return `{{- if .Values.crds.install }}
# Generated from packages/operator/src/crd/ by \`npm run crds:generate\`: edit the TypeScript, not this file.
apiVersion: ${crd.apiVersion}
kind: ${crd.kind}
metadata:
  name: ${crd.metadata.name}
  labels:
    {{- include "strata-operator.labels" . | nindent 4 }}
  {{- if .Values.crds.keep }}
  annotations:
    helm.sh/resource-policy: keep
  {{- end }}
${spec.trimEnd()}
{{- end }}
`;
}

/** Every CRD file's expected content, by path. */
export function renderCrds(): Record<string, string> {
  return Object.fromEntries(Object.entries(CRD_FILES).map(([path, crd]) => [path, renderCrd(crd)]));
}

/**
 * Where `actual` differs from `expected`: the lines between their common beginning and common end,
 * as `-` (expected, missing) and `+` (found, unexpected) lines, at most `max` of them.
 */
export function firstDifferences(expected: string, actual: string, max = 20): string[] {
  const a = expected.split('\n');
  const b = actual.split('\n');
  let head = 0;
  while (head < a.length && head < b.length && a[head] === b[head]) head++;
  let tail = 0;
  while (
    tail < a.length - head &&
    tail < b.length - head &&
    a[a.length - 1 - tail] === b[b.length - 1 - tail]
  )
    tail++;
  const out = [`at line ${head + 1}:`];
  for (const l of a.slice(head, a.length - tail)) out.push(`- ${l}`);
  for (const l of b.slice(head, b.length - tail)) out.push(`+ ${l}`);
  return out.length > max + 1 ? [...out.slice(0, max + 1), `… ${out.length - 1 - max} more line(s)`] : out;
}
