/**
 * The SecretSync CRD as data: one declaration (its schema is long because every field carries its
 * description and validation; splitting it would scatter one document).
 */
import { GROUP, VERSION } from '../types.js';
import { conditionSchema } from './condition.js';

const secretSyncNames = {
  kind: 'SecretSync',
  listKind: 'SecretSyncList',
  plural: 'secretsyncs',
  singular: 'secretsync',
  shortNames: ['ssync'],
  categories: ['strata'],
} as const;

/** The OpenAPI v3 schema of a SecretSync; the types in ../types.ts derive from it. */
export const secretSyncSchema = {
  description:
    'SecretSync keeps one Kubernetes Secret in sync with values read from AWS Systems Manager Parameter Store, Secrets Manager and KMS. Every path, secret id and KMS key it reads must be granted to its namespace by a SourcePolicy.',
  type: 'object',
  required: ['spec'],
  properties: {
    apiVersion: {
      type: 'string',
    },
    kind: {
      type: 'string',
    },
    metadata: {
      type: 'object',
    },
    spec: {
      description: 'Desired state: where the values come from and which Secret receives them.',
      type: 'object',
      required: ['target', 'sources'],
      properties: {
        target: {
          description: "The Secret to write, in the SecretSync's namespace.",
          type: 'object',
          required: ['name'],
          properties: {
            name: {
              description: 'Name of the Secret (a DNS-1123 subdomain).',
              type: 'string',
              maxLength: 253,
              'x-kubernetes-validations': [
                {
                  rule: "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
                  message:
                    "target.name must be a DNS-1123 subdomain: lowercase letters, digits, '-' and '.', starting and ending with a letter or digit",
                },
              ],
            },
            type: {
              description: "Secret type. A Secret's type cannot change once it exists.",
              type: 'string',
              default: 'Opaque',
              minLength: 1,
              maxLength: 253,
            },
            labels: {
              description: 'Labels set on the Secret (in addition to the ones Strata manages).',
              type: 'object',
              maxProperties: 64,
              additionalProperties: {
                type: 'string',
                maxLength: 63,
              },
            },
            annotations: {
              description: 'Annotations set on the Secret (in addition to the ones Strata manages).',
              type: 'object',
              maxProperties: 64,
              additionalProperties: {
                type: 'string',
                maxLength: 65536,
              },
            },
          },
        },
        sources: {
          description:
            "Where the Secret's keys come from. Sources are applied in order; when two sources produce the same key, the later one wins.",
          type: 'array',
          minItems: 1,
          maxItems: 50,
          items: {
            description: 'One source. Exactly one of hierarchy, refs and secretJSON is set.',
            type: 'object',
            properties: {
              hierarchy: {
                description:
                  "A Parameter Store hierarchy, most general level first. A key's value comes from the most specific level that has it; path segments below a level become dotted keys (/app/dev/db/url -> db.url). Set exactly one of levels and template.",
                type: 'object',
                properties: {
                  levels: {
                    description:
                      'Parameter paths, most general first, e.g. [/acme, /acme/shop, /acme/shop/dev].',
                    type: 'array',
                    minItems: 1,
                    maxItems: 10,
                    items: {
                      type: 'string',
                      minLength: 1,
                      maxLength: 1011,
                    },
                    'x-kubernetes-validations': [
                      {
                        rule: "self.all(l, l.startsWith('/'))",
                        message: "hierarchy.levels must be Parameter Store paths starting with '/'",
                      },
                    ],
                  },
                  template: {
                    description:
                      'A path template such as /{dept}/{app}/{env}; each path segment adds one level (/my-dept, /my-dept/my-app, /my-dept/my-app/dev).',
                    type: 'string',
                    minLength: 1,
                    maxLength: 1011,
                    'x-kubernetes-validations': [
                      {
                        rule: "self.startsWith('/')",
                        message: "hierarchy.template must start with '/'",
                      },
                    ],
                  },
                  vars: {
                    description: 'Values for the {placeholders} in template.',
                    type: 'object',
                    maxProperties: 20,
                    additionalProperties: {
                      type: 'string',
                      minLength: 1,
                      maxLength: 256,
                    },
                  },
                  keys: {
                    description:
                      'Only these keys (in their dotted form, e.g. db.url) are written; empty or unset means every key the hierarchy yields.',
                    type: 'array',
                    maxItems: 200,
                    items: {
                      type: 'string',
                      minLength: 1,
                      maxLength: 253,
                    },
                  },
                  prefix: {
                    description: 'String prepended to each key in the Secret.',
                    type: 'string',
                    maxLength: 253,
                    pattern: '^[-._a-zA-Z0-9]*$',
                  },
                  allowReferences: {
                    description:
                      "References inside the hierarchy's values may not name a sibling branch of it (a dev value cannot reference /app/prod/...). These shared sources are allowed anyway; each must also be granted to the namespace by a SourcePolicy.",
                    type: 'object',
                    properties: {
                      ssm: {
                        description: 'SSM paths; each covers itself and everything below it.',
                        type: 'array',
                        maxItems: 50,
                        items: {
                          type: 'string',
                          minLength: 1,
                          maxLength: 1011,
                        },
                      },
                      secretsManager: {
                        description: "Secret names, name prefixes ending in '*', or ARNs.",
                        type: 'array',
                        maxItems: 50,
                        items: {
                          type: 'string',
                          minLength: 1,
                          maxLength: 2048,
                        },
                      },
                    },
                  },
                },
                'x-kubernetes-validations': [
                  {
                    rule: 'has(self.levels) != has(self.template)',
                    message: 'hierarchy must set exactly one of levels and template',
                  },
                  {
                    rule: '!has(self.vars) || has(self.template)',
                    message: 'hierarchy.vars is only allowed together with hierarchy.template',
                  },
                  {
                    rule: "!has(self.template) || self.template.findAll('\\\\{[^{}/]*\\\\}').all(p, has(self.vars) && p.substring(1, size(p) - 1) in self.vars)",
                    message: 'every {placeholder} in hierarchy.template must have a value in hierarchy.vars',
                  },
                ],
              },
              refs: {
                description:
                  'Secret key -> string containing one or more <<resolve:...>> references (ssm, ssm-secure, secretsmanager, kms), e.g. postgres://app:<<resolve:secretsmanager:prod/db:SecretString:password>>@db/app.',
                type: 'object',
                minProperties: 1,
                maxProperties: 100,
                additionalProperties: {
                  type: 'string',
                  maxLength: 4096,
                },
                'x-kubernetes-validations': [
                  {
                    rule: "self.all(k, k.matches('^[-._a-zA-Z0-9]+$'))",
                    message: 'refs keys must be valid Secret keys (^[-._a-zA-Z0-9]+$)',
                  },
                  {
                    rule: "self.all(k, self[k].contains('<<resolve:'))",
                    message: 'every refs value must contain a <<resolve:...>> reference',
                  },
                ],
              },
              secretJSON: {
                description:
                  'A Secrets Manager secret whose SecretString is a JSON object; every top-level key becomes a Secret key (non-string values are written as JSON).',
                type: 'object',
                required: ['secretId'],
                properties: {
                  secretId: {
                    description: 'Secret name or ARN.',
                    type: 'string',
                    minLength: 1,
                    maxLength: 2048,
                  },
                  versionStage: {
                    description: 'Version stage to read (AWSCURRENT when unset).',
                    type: 'string',
                    minLength: 1,
                    maxLength: 256,
                  },
                  prefix: {
                    description: 'String prepended to each key in the Secret.',
                    type: 'string',
                    maxLength: 253,
                    pattern: '^[-._a-zA-Z0-9]*$',
                  },
                },
              },
            },
            'x-kubernetes-validations': [
              {
                rule: '(has(self.hierarchy) ? 1 : 0) + (has(self.refs) ? 1 : 0) + (has(self.secretJSON) ? 1 : 0) == 1',
                message: 'each source must set exactly one of hierarchy, refs and secretJSON',
              },
            ],
          },
        },
        refreshInterval: {
          description:
            'How often values are re-read from AWS even without a rotation event, as a duration of s/m/h units (e.g. 30m, 1h30m); at least 10s.',
          type: 'string',
          default: '1h',
          maxLength: 32,
          pattern: '^([0-9]+(s|m|h))+$',
          'x-kubernetes-validations': [
            {
              rule: "!self.matches('^([0-9]+(s|m|h))+$') || duration(self) >= duration('10s')",
              message: 'refreshInterval must be at least 10s',
            },
          ],
        },
        creationPolicy: {
          description:
            "Owner: create the Secret and own it (ownerReference); refuse an existing Secret that Strata does not manage. Merge: write only this SecretSync's keys into an existing Secret with server-side apply, leaving other keys alone. Adopt: take over an existing unmanaged Secret and own it from then on.",
          type: 'string',
          default: 'Owner',
          enum: ['Owner', 'Merge', 'Adopt'],
        },
        deletionPolicy: {
          description:
            "Delete: the Secret is garbage-collected with the SecretSync (through its ownerReference; with creationPolicy Merge, only this SecretSync's keys are removed). Retain: the Secret and its keys stay when the SecretSync is deleted.",
          type: 'string',
          default: 'Delete',
          enum: ['Delete', 'Retain'],
        },
        rollout: {
          description:
            "Workloads in the same namespace to restart (rolling, through a pod-template annotation) when the Secret's content changes.",
          type: 'array',
          maxItems: 20,
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['kind', 'name'],
          items: {
            type: 'object',
            required: ['kind', 'name'],
            properties: {
              kind: {
                type: 'string',
                enum: ['Deployment', 'StatefulSet', 'DaemonSet'],
              },
              name: {
                type: 'string',
                maxLength: 253,
                'x-kubernetes-validations': [
                  {
                    rule: "self.matches('^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$')",
                    message: 'rollout[].name must be a non-empty workload name (DNS-1123 subdomain)',
                  },
                ],
              },
            },
          },
        },
      },
    },
    status: {
      description: 'Observed state, written by the operator.',
      type: 'object',
      properties: {
        observedGeneration: {
          description: 'The metadata.generation the status describes.',
          type: 'integer',
          format: 'int64',
          minimum: 0,
        },
        conditions: {
          description: 'Ready (True when the Secret holds the current values), with reason and message.',
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['type'],
          items: conditionSchema,
        },
        lastSyncTime: {
          description: 'When the Secret was last confirmed up to date.',
          type: 'string',
          format: 'date-time',
        },
        contentHash: {
          description: "Hash of the Secret's desired content (never the content itself).",
          type: 'string',
        },
        sourceVersions: {
          description: 'Version of each source last read (parameter version, secret version id).',
          type: 'array',
          items: {
            type: 'object',
            required: ['source', 'version'],
            properties: {
              source: {
                type: 'string',
              },
              version: {
                type: 'string',
              },
            },
          },
        },
        syncedKeys: {
          description: 'Number of keys written to the Secret.',
          type: 'integer',
          format: 'int32',
          minimum: 0,
        },
      },
    },
  },
} as const;

/** The CustomResourceDefinition the chart installs (`npm run crds:generate` writes it there). */
export const secretSyncCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: `${secretSyncNames.plural}.${GROUP}`,
  },
  spec: {
    group: GROUP,
    names: secretSyncNames,
    scope: 'Namespaced',
    versions: [
      {
        name: VERSION,
        served: true,
        storage: true,
        subresources: {
          status: {},
        },
        additionalPrinterColumns: [
          {
            name: 'Target',
            type: 'string',
            jsonPath: '.spec.target.name',
          },
          {
            name: 'Ready',
            type: 'string',
            jsonPath: '.status.conditions[?(@.type=="Ready")].status',
          },
          {
            name: 'Reason',
            type: 'string',
            jsonPath: '.status.conditions[?(@.type=="Ready")].reason',
          },
          {
            name: 'Keys',
            type: 'integer',
            jsonPath: '.status.syncedKeys',
          },
          {
            name: 'Last Sync',
            type: 'date',
            jsonPath: '.status.lastSyncTime',
          },
          {
            name: 'Age',
            type: 'date',
            jsonPath: '.metadata.creationTimestamp',
          },
        ],
        schema: {
          openAPIV3Schema: secretSyncSchema,
        },
      },
    ],
  },
} as const;
