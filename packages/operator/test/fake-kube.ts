import { type KubeClient, KubeError, type MetadataList } from '../src/kube.js';

type Obj = { metadata?: { name?: string; resourceVersion?: string } } & Record<string, unknown>;

const clone = <T>(v: T): T => (v === undefined ? v : (JSON.parse(JSON.stringify(v)) as T));

function merge(into: Record<string, unknown>, patch: Record<string, unknown>): Record<string, unknown> {
  for (const [k, v] of Object.entries(patch)) {
    const cur = into[k];
    if (v === null) delete into[k];
    else if (
      v &&
      typeof v === 'object' &&
      !Array.isArray(v) &&
      cur &&
      typeof cur === 'object' &&
      !Array.isArray(cur)
    )
      merge(cur as Record<string, unknown>, v as Record<string, unknown>);
    else into[k] = clone(v);
  }
  return into;
}

/**
 * An in-memory stand-in for the API server paths the unit tier exercises (objects by path, a
 * resourceVersion checked on PUT, a log of every request). Integration tests use the real one.
 */
export class FakeKube implements KubeClient {
  readonly objects = new Map<string, Obj>();
  readonly log: Array<{ method: string; path: string; body?: unknown }> = [];
  /** Makes the next matching requests fail (e.g. an API server outage). */
  failWith: ((method: string, path: string) => Error | undefined) | undefined;
  private rv = 1;

  close(): void {}

  private check(method: string, path: string, body?: unknown): void {
    this.log.push({ method, path, ...(body !== undefined ? { body: clone(body) } : {}) });
    const err = this.failWith?.(method, path);
    if (err) throw err;
  }

  private store(path: string, obj: Obj): Obj {
    const o = clone(obj);
    o.metadata = { ...o.metadata, resourceVersion: String(this.rv++) };
    this.objects.set(path, o);
    return clone(o);
  }

  async get<T>(path: string): Promise<T | undefined> {
    this.check('GET', path);
    return clone(this.objects.get(path)) as T | undefined;
  }

  async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    this.check(method, path, body);
    const b = body as Obj;
    if (method === 'POST') {
      const at = `${path}/${b.metadata?.name}`;
      if (this.objects.has(at)) throw new KubeError(409, 'AlreadyExists', `POST ${path}: exists`);
      return this.store(at, b) as T;
    }
    if (method === 'PUT') {
      const cur = this.objects.get(path);
      if (!cur) throw new KubeError(404, 'NotFound', `PUT ${path}: not found`);
      if (b.metadata?.resourceVersion !== cur.metadata?.resourceVersion)
        throw new KubeError(409, 'Conflict', `PUT ${path}: the object has been modified`);
      return this.store(path, b) as T;
    }
    throw new Error(`FakeKube: ${method} not supported`);
  }

  async apply<T>(path: string, body: unknown): Promise<T> {
    this.check('APPLY', path, body);
    return this.store(path, merge(clone(this.objects.get(path)) ?? {}, body as Obj) as Obj) as T;
  }

  async mergePatch<T>(path: string, body: unknown): Promise<T> {
    this.check('PATCH', path, body);
    // the status subresource patches the object's status
    const at = path.endsWith('/status') ? path.slice(0, -'/status'.length) : path;
    const cur = this.objects.get(at);
    if (!cur) throw new KubeError(404, 'NotFound', `PATCH ${path}: not found`);
    return this.store(at, merge(clone(cur), body as Obj) as Obj) as T;
  }

  async listMetadata(path: string): Promise<MetadataList> {
    this.check('LIST', path);
    const prefix = `${path.split('?')[0]}/`;
    const items = [...this.objects]
      .filter(([p]) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
      .map(([p, o]) => ({
        metadata: {
          name: p.slice(prefix.length),
          ...(o.metadata && 'labels' in o.metadata
            ? { labels: clone(o.metadata.labels as Record<string, string>) }
            : {}),
        },
      }));
    return { items: items.length > 0 ? items : null }; // as the API server answers an empty list
  }

  /** Requests to paths containing `part`, by method. */
  requests(part: string, method?: string) {
    return this.log.filter((r) => r.path.includes(part) && (method === undefined || r.method === method));
  }

  /** Stored objects under a path prefix. */
  list<T = Obj>(prefix: string): T[] {
    return [...this.objects].filter(([p]) => p.startsWith(prefix)).map(([, o]) => clone(o) as T);
  }
}
