/**
 * The local backend: the same hierarchy and secret semantics as AWS, from a YAML/JSON file or a
 * directory. For the embedded default (no AWS account) and for users' own tests.
 *
 * File format (YAML or JSON):
 *
 * ```yaml
 * parameters:
 *   /acme/log-level: info                       # a String
 *   /acme/shop:                                 # a mapping below a path: keys are path segments
 *     feature-x: "true"
 *   /acme/shop/dev/db/password:
 *     value: s3cret
 *     type: SecureString                        # String | StringList | SecureString
 *     version: 3                                # optional, default 1
 *     labels: [stable]                          # optional
 * secrets:
 *   prod/db: { username: app, password: pw }    # an object is stored as its JSON string
 *   api-token: abc123
 * ```
 *
 * Directory format: every regular file under `DIR/parameters/` is a parameter named by its
 * path (`DIR/parameters/acme/shop/dev/db/url` is `/acme/shop/dev/db/url`; a `.secure` suffix
 * makes it a SecureString); every file under `DIR/secrets/` is a secret named by its path.
 *
 * Writes (`ssm.putParameter`, what `strata --local F put` uses) change the file or directory
 * atomically (`./write.ts`). A parameter's version goes up in memory; in the file only where the
 * entry states a `version`. Parsing and reading: `./tree.ts`, `./yaml.ts`.
 *
 * Local KMS: a `<<resolve:kms:…>>` ciphertext is base64 of `strata-local:` + the plaintext.
 * It is NOT encryption; it exists so examples and tests run offline. The local backend also
 * answers Encrypt, GenerateDataKey (a random data key "wrapped" the same way), ReEncrypt and
 * GenerateRandom (`./kms.ts`), so `createKmsCrypto` and `strata encrypt`/`seal` work offline:
 * Encryption SDK messages made against it are real AES-GCM, but their data key is readable by anyone.
 */
import { parameterName } from '../aws/arn.js';
import type {
  Backend,
  KmsBackend,
  Outcome,
  ParameterBackend,
  ParameterQuery,
  ParameterRecord,
  PutParameterInput,
  PutParameterResult,
  SecretBackend,
  SecretQuery,
  SecretRecord,
} from '../backend.js';
import { StrataError } from '../errors.js';
import { Stats } from '../stats.js';
import { localKms } from './kms.js';
import { type LocalParameter, type LocalTree, normPath, readLocalTree } from './tree.js';
import { writableName, writeLocalParameter } from './write.js';

export { localKmsCiphertext } from './kms.js';
export { type LocalTree, parseLocalTree, readLocalTree } from './tree.js';
export { parseYamlText } from './yaml.js';

function notFound(what: string): Outcome<never> {
  return { ok: false, error: new StrataError('NOT_FOUND', `${what} not found`, { source: what }) };
}

export class LocalBackend implements Backend {
  readonly kind = 'local' as const;
  readonly stats: Stats;
  readonly ssm: ParameterBackend;
  readonly secrets: SecretBackend;
  readonly kms: KmsBackend;
  private tree: LocalTree;
  /** The file or directory the tree was read from; writes go there. */
  private path: string | undefined;

  constructor(source: string | LocalTree, opts: { stats?: Stats; region?: string } = {}) {
    this.stats = opts.stats ?? new Stats();
    this.tree = typeof source === 'string' ? readLocalTree(source) : source;
    this.path = typeof source === 'string' ? source : undefined;
    const path = () => this.path;
    const region = opts.region ?? 'local';
    const tree = () => this.tree;
    const stats = this.stats;
    this.ssm = {
      region,
      async getParameters(queries: ParameterQuery[]) {
        stats.call('local:GetParameters');
        return queries.map((q) => {
          const name = parameterName(q.name);
          if (name.startsWith('/aws/reference/secretsmanager/')) {
            const id = name.slice('/aws/reference/secretsmanager/'.length);
            const s = tree().secrets.get(id);
            return s === undefined
              ? notFound(`parameter ${name}`)
              : {
                  ok: true as const,
                  value: {
                    name,
                    value: s,
                    type: 'SecureString' as const,
                    version: 1,
                    fromSecretsManager: true,
                  },
                };
          }
          const p = tree().parameters.get(name);
          if (!p) return notFound(`parameter ${name}`);
          if (q.version !== undefined && q.version !== p.version)
            return notFound(`parameter ${name}:${q.version}`);
          if (q.label !== undefined && !p.labels.includes(q.label))
            return notFound(`parameter ${name}:${q.label}`);
          return { ok: true as const, value: { name, value: p.value, type: p.type, version: p.version } };
        });
      },
      async getParametersByPath(path: string, o: { recursive: boolean }) {
        stats.call('local:GetParametersByPath');
        const base = normPath(path);
        const out: ParameterRecord[] = [];
        for (const [name, p] of tree().parameters) {
          if (!name.startsWith(`${base}/`)) continue;
          const rest = name.slice(base.length + 1);
          if (!o.recursive && rest.includes('/')) continue;
          out.push({ name, value: p.value, type: p.type, version: p.version });
        }
        return out.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      },
      async putParameter(input: PutParameterInput): Promise<PutParameterResult> {
        stats.call('local:PutParameter');
        const name = writableName(input.name);
        if (!['String', 'StringList', 'SecureString'].includes(input.type))
          throw new StrataError('VALIDATION', `${name}: type must be String, StringList or SecureString`, {
            source: name,
          });
        const existing = tree().parameters.get(name);
        if (existing && input.overwrite === false)
          throw new StrataError('VALIDATION', `parameter ${name} already exists (overwrite is off)`, {
            source: name,
          });
        const next: LocalParameter = {
          value: input.value,
          type: input.type,
          version: (existing?.version ?? 0) + 1,
          labels: existing?.labels ?? [],
        };
        const file = path();
        if (file !== undefined) writeLocalParameter(file, name, next);
        tree().parameters.set(name, next);
        return { name, version: next.version, ...(input.tier ? { tier: input.tier } : {}) };
      },
    };
    this.secrets = {
      region,
      async getSecrets(queries: SecretQuery[]): Promise<Outcome<SecretRecord>[]> {
        stats.call('local:GetSecrets');
        return queries.map((q) => {
          const s = tree().secrets.get(q.secretId);
          if (s === undefined) return notFound(`secret ${q.secretId}`);
          if (q.versionStage && q.versionStage !== 'AWSCURRENT')
            return notFound(`secret ${q.secretId} stage ${q.versionStage}`);
          return {
            ok: true as const,
            value: {
              id: q.secretId,
              name: q.secretId,
              arn: `arn:local:secretsmanager:${region}:000000000000:secret:${q.secretId}`,
              versionId: 'local-1',
              stages: ['AWSCURRENT'],
              secretString: s,
            },
          };
        });
      },
      async currentVersionId(id: string) {
        return tree().secrets.has(id) ? 'local-1' : undefined;
      },
    };
    this.kms = localKms(region, stats);
  }

  /** Nothing to release (no sockets, no open files); here so every backend closes the same way. */
  async close(): Promise<void> {}

  /** Re-reads the source (a file or directory) — e.g. after it changed on disk. */
  reload(source: string | LocalTree): void {
    this.tree = typeof source === 'string' ? readLocalTree(source) : source;
    this.path = typeof source === 'string' ? source : undefined;
  }
}
