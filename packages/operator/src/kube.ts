/**
 * A small JSON client over the KubeConfig's connection (auth, TLS), for requests where we want
 * full control of the content type and body: server-side apply, merge patches of the status
 * subresource, Leases (MicroTime fields) and Events.
 */
import { Agent, type AgentOptions, request } from 'node:https';
import type { KubeConfig } from '@kubernetes/client-node';
import { API_VERSION } from './types.js';

export class KubeError extends Error {
  override name = 'KubeError';
  constructor(
    readonly status: number,
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
}

export interface KubeClient {
  /** Closes the keep-alive connections. */
  close(): void;
  get<T>(path: string): Promise<T | undefined>;
  request<T>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
  apply<T>(path: string, body: unknown, opts: { fieldManager: string; force?: boolean }): Promise<T>;
  mergePatch<T>(path: string, body: unknown): Promise<T>;
  /** A LIST of objects' metadata only (`PartialObjectMetadataList`): names and labels, never data. */
  listMetadata(path: string): Promise<MetadataList>;
}

export interface MetadataList {
  metadata?: { continue?: string };
  /** `null` when empty (as the API server sends it). */
  items: Array<{ metadata: { name: string; labels?: Record<string, string> } }> | null;
}

const METADATA_LIST = 'application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json';

export function kubeClient(kc: KubeConfig): KubeClient {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('kubeconfig has no current cluster');
  const base = new URL(server);
  // One keep-alive agent for every request: client-node builds a fresh Agent per call, which
  // costs a TCP + TLS handshake each time on both ends (the operator bench measured ~7x the CPU).
  let agent: Agent | undefined;

  const send = async <T>(
    method: string,
    path: string,
    body?: unknown,
    contentType = 'application/json',
    accept = 'application/json',
  ): Promise<T> => {
    const opts: Parameters<typeof request>[1] = {
      method,
      hostname: base.hostname,
      port: base.port || 443,
      path: `${base.pathname.replace(/\/$/, '')}${path}`,
      headers: { accept, ...(body !== undefined ? { 'content-type': contentType } : {}) },
      timeout: 30_000,
    };
    await kc.applyToHTTPSOptions(opts);
    if (!agent) {
      const o = opts as AgentOptions;
      agent = new Agent({
        keepAlive: true,
        maxSockets: 64,
        ...(o.ca ? { ca: o.ca } : {}),
        ...(o.cert ? { cert: o.cert } : {}),
        ...(o.key ? { key: o.key } : {}),
        ...(o.pfx ? { pfx: o.pfx } : {}),
        ...(o.passphrase ? { passphrase: o.passphrase } : {}),
        ...(o.rejectUnauthorized !== undefined ? { rejectUnauthorized: o.rejectUnauthorized } : {}),
      });
    }
    opts.agent = agent;
    const payload = body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body);
    return new Promise<T>((resolve, reject) => {
      const req = request(opts, (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => {
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300) {
            resolve((text ? JSON.parse(text) : undefined) as T);
            return;
          }
          let reason = 'Unknown';
          let message = `HTTP ${status}`;
          try {
            const st = JSON.parse(text) as { reason?: string; message?: string };
            reason = st.reason ?? reason;
            message = st.message ?? message;
          } catch {
            /* not a Status */
          }
          reject(new KubeError(status, reason, `${method} ${path}: ${message}`));
        });
      });
      req.on('timeout', () => req.destroy(new Error(`${method} ${path}: timeout`)));
      req.on('error', reject);
      if (payload !== undefined) req.write(payload);
      req.end();
    });
  };

  return {
    close: () => agent?.destroy(),
    async get<T>(path: string) {
      try {
        return await send<T>('GET', path);
      } catch (err) {
        if (err instanceof KubeError && err.status === 404) return undefined;
        throw err;
      }
    },
    request: send,
    apply: (path, body, o) =>
      send(
        'PATCH',
        `${path}?fieldManager=${encodeURIComponent(o.fieldManager)}${o.force ? '&force=true' : ''}`,
        body,
        'application/apply-patch+yaml',
      ),
    mergePatch: (path, body) => send('PATCH', path, body, 'application/merge-patch+json'),
    listMetadata: (path) => send<MetadataList>('GET', path, undefined, undefined, METADATA_LIST),
  };
}

export const paths = {
  secret: (ns: string, name: string) => `/api/v1/namespaces/${ns}/secrets/${name}`,
  secrets: (ns: string) => `/api/v1/namespaces/${ns}/secrets`,
  secretSync: (ns: string, name: string) => `/apis/${API_VERSION}/namespaces/${ns}/secretsyncs/${name}`,
  secretSyncStatus: (ns: string, name: string) =>
    `/apis/${API_VERSION}/namespaces/${ns}/secretsyncs/${name}/status`,
  namespace: (name: string) => `/api/v1/namespaces/${name}`,
  workload: (ns: string, kind: string, name: string) =>
    `/apis/apps/v1/namespaces/${ns}/${kind.toLowerCase()}s/${name}`,
  lease: (ns: string, name: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases/${name}`,
  leases: (ns: string) => `/apis/coordination.k8s.io/v1/namespaces/${ns}/leases`,
  events: (ns: string) => `/api/v1/namespaces/${ns}/events`,
};
