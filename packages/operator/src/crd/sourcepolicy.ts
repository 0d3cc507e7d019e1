/** The SourcePolicy CRD as data. */
import { GROUP, VERSION } from '../types.js';
import { conditionSchema } from './condition.js';

const sourcePolicyNames = {
  kind: 'SourcePolicy',
  listKind: 'SourcePolicyList',
  plural: 'sourcepolicies',
  singular: 'sourcepolicy',
  shortNames: ['spol'],
  categories: ['strata'],
} as const;

/** The OpenAPI v3 schema of a SourcePolicy; the types in ../types.ts derive from it. */
export const sourcePolicySchema = {
  description:
    'SourcePolicy grants namespaces the Parameter Store paths, Secrets Manager secrets and KMS keys their SecretSyncs may read. Nothing is readable by a namespace unless a SourcePolicy grants it; grants from several SourcePolicies add up.',
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
      type: 'object',
      required: ['namespaces'],
      properties: {
        namespaces: {
          description:
            'The namespaces this policy grants to: those listed in names plus those matching selector (a union). An empty selector ({}) matches every namespace.',
          type: 'object',
          properties: {
            names: {
              type: 'array',
              maxItems: 1000,
              items: {
                type: 'string',
                minLength: 1,
                maxLength: 63,
                pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$',
              },
            },
            selector: {
              description: 'A label selector over Namespace objects.',
              type: 'object',
              'x-kubernetes-map-type': 'atomic',
              properties: {
                matchLabels: {
                  type: 'object',
                  additionalProperties: {
                    type: 'string',
                  },
                },
                matchExpressions: {
                  type: 'array',
                  items: {
                    type: 'object',
                    required: ['key', 'operator'],
                    properties: {
                      key: {
                        type: 'string',
                      },
                      operator: {
                        type: 'string',
                        enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'],
                      },
                      values: {
                        type: 'array',
                        items: {
                          type: 'string',
                        },
                        'x-kubernetes-list-type': 'atomic',
                      },
                    },
                    'x-kubernetes-map-type': 'atomic',
                  },
                  'x-kubernetes-list-type': 'atomic',
                },
              },
            },
          },
          'x-kubernetes-validations': [
            {
              rule: '(has(self.names) && size(self.names) > 0) || has(self.selector)',
              message: 'namespaces must set names (non-empty) or selector',
            },
          ],
        },
        ssm: {
          description: 'Parameter Store grants.',
          type: 'object',
          required: ['paths'],
          properties: {
            paths: {
              description:
                "Path prefixes, matched on path-segment boundaries: /acme/shop grants /acme/shop and everything under /acme/shop/, but not /acme/shop-admin. A trailing '/' is ignored; '/' alone grants every parameter. A reference through /aws/reference/secretsmanager/ID is checked against the secretsManager grant for ID, not against these paths.",
              type: 'array',
              minItems: 1,
              maxItems: 500,
              items: {
                type: 'string',
                minLength: 1,
                maxLength: 2048,
              },
              'x-kubernetes-validations': [
                {
                  rule: "self.all(p, p.startsWith('/'))",
                  message: "ssm.paths must start with '/'",
                },
              ],
            },
          },
        },
        secretsManager: {
          description: 'Secrets Manager grants.',
          type: 'object',
          required: ['names'],
          properties: {
            names: {
              description:
                "Secret names (exact), name prefixes ending with '*' (prod/shop/* grants every secret whose name starts with prod/shop/), or secret ARNs (exact, or ending with '*'). '*' is allowed only as the last character; '*' alone grants every secret.",
              type: 'array',
              minItems: 1,
              maxItems: 500,
              items: {
                type: 'string',
                minLength: 1,
                maxLength: 2048,
                pattern: '^[^*]+\\*?$|^\\*$',
              },
            },
          },
        },
        kms: {
          description:
            'KMS grants for <<resolve:kms:...>> references: the key that the ciphertext names (as returned by Decrypt) must be listed. SecureString parameters need no KMS grant; Parameter Store decrypts them.',
          type: 'object',
          required: ['keyIds'],
          properties: {
            keyIds: {
              description: 'Key ids, key ARNs, alias names (alias/...) or alias ARNs.',
              type: 'array',
              minItems: 1,
              maxItems: 500,
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
          rule: 'has(self.ssm) || has(self.secretsManager) || has(self.kms)',
          message: 'a SourcePolicy must grant at least one of ssm, secretsManager and kms',
        },
      ],
    },
    status: {
      description: 'Observed state, written by the operator.',
      type: 'object',
      properties: {
        conditions: {
          type: 'array',
          'x-kubernetes-list-type': 'map',
          'x-kubernetes-list-map-keys': ['type'],
          items: conditionSchema,
        },
      },
    },
  },
} as const;

/** The CustomResourceDefinition the chart installs (`npm run crds:generate` writes it there). */
export const sourcePolicyCrd = {
  apiVersion: 'apiextensions.k8s.io/v1',
  kind: 'CustomResourceDefinition',
  metadata: {
    name: `${sourcePolicyNames.plural}.${GROUP}`,
  },
  spec: {
    group: GROUP,
    names: sourcePolicyNames,
    scope: 'Cluster',
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
            name: 'Age',
            type: 'date',
            jsonPath: '.metadata.creationTimestamp',
          },
        ],
        schema: {
          openAPIV3Schema: sourcePolicySchema,
        },
      },
    ],
  },
} as const;
