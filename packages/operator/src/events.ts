/**
 * Rotation events from EventBridge (through SQS), parsed into the sources they change (pure).
 * - `aws.ssm` "Parameter Store Change": detail.operation Create|Update|Delete|LabelParameterVersion, detail.name
 * - Secrets Manager through CloudTrail: "AWS API Call via CloudTrail" with detail.eventName
 *   PutSecretValue | UpdateSecretVersionStage | UpdateSecret | RotateSecret (detail.requestParameters.secretId,
 *   a name or an ARN), and "AWS Service Event via CloudTrail" RotationSucceeded
 *   (detail.additionalEventData.SecretId).
 * The body may be the event itself or an SNS envelope (`Message` holding the event).
 */
export type SourceChange =
  | { kind: 'ssm'; name: string; operation: string; time?: string }
  | { kind: 'secret'; id: string; operation: string; time?: string };

export class MalformedEvent extends Error {
  override name = 'MalformedEvent';
}

const SECRET_EVENTS = new Set([
  'PutSecretValue',
  'UpdateSecretVersionStage',
  'UpdateSecret',
  'RotateSecret',
  'RotationSucceeded',
  'RestoreSecret',
]);

export function parseEvent(body: string): SourceChange | undefined {
  let doc: unknown;
  try {
    doc = JSON.parse(body);
  } catch {
    throw new MalformedEvent('not JSON');
  }
  if (
    doc &&
    typeof doc === 'object' &&
    'Message' in doc &&
    typeof (doc as { Message: unknown }).Message === 'string'
  ) {
    return parseEvent((doc as { Message: string }).Message);
  }
  const e = doc as {
    source?: string;
    'detail-type'?: string;
    detail?: Record<string, unknown>;
    time?: string;
  };
  if (!e || typeof e !== 'object' || typeof e.source !== 'string' || typeof e['detail-type'] !== 'string') {
    throw new MalformedEvent('not an EventBridge event (no source / detail-type)');
  }
  const d = e.detail ?? {};
  const time = typeof e.time === 'string' ? e.time : undefined;
  if (
    e.source === 'aws.ssm' &&
    (e['detail-type'] === 'Parameter Store Change' || e['detail-type'] === 'Parameter Store Policy Action')
  ) {
    const name = d.name;
    if (typeof name !== 'string' || name === '')
      throw new MalformedEvent('Parameter Store event without detail.name');
    return {
      kind: 'ssm',
      name,
      operation: String(d.operation ?? d['policy-type'] ?? 'Change'),
      ...(time ? { time } : {}),
    };
  }
  if (e.source === 'aws.secretsmanager') {
    const eventName = String(d.eventName ?? '');
    if (!SECRET_EVENTS.has(eventName)) return undefined;
    const rp = (d.requestParameters ?? {}) as Record<string, unknown>;
    const ad = (d.additionalEventData ?? {}) as Record<string, unknown>;
    const id = rp.secretId ?? ad.SecretId ?? rp.SecretId;
    if (typeof id !== 'string' || id === '')
      throw new MalformedEvent(`Secrets Manager ${eventName} event without a secret id`);
    return { kind: 'secret', id, operation: eventName, ...(time ? { time } : {}) };
  }
  return undefined;
}
