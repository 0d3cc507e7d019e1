/**
 * The TypeScript type an OpenAPI v3 schema (the subset CRDs use) describes, so the CRD schema is
 * the one source of truth for the resource types. Written here rather than taken from
 * json-schema-to-ts because Kubernetes' structural schemas cannot say `additionalProperties:
 * false`, and that library then gives every object an `[key: string]: unknown` index signature.
 * CEL rules (`x-kubernetes-validations`) are not reflected in the types.
 */
type Simplify<T> = { [K in keyof T]: T[K] } & {};

type Required<S> = S extends { required: readonly (infer R)[] } ? R : never;

type ObjectOf<P, R> = Simplify<
  { -readonly [K in keyof P as K extends R ? K : never]: FromSchema<P[K]> } & {
    -readonly [K in keyof P as K extends R ? never : K]?: FromSchema<P[K]>;
  }
>;

export type FromSchema<S> = S extends { enum: readonly (infer E)[] }
  ? E
  : S extends { type: 'string' }
    ? string
    : S extends { type: 'integer' | 'number' }
      ? number
      : S extends { type: 'boolean' }
        ? boolean
        : S extends { type: 'array'; items: infer I }
          ? FromSchema<I>[]
          : S extends { type: 'object'; properties: infer P }
            ? ObjectOf<P, Required<S>>
            : S extends { type: 'object'; additionalProperties: infer A }
              ? Record<string, FromSchema<A>>
              : S extends { type: 'object' }
                ? Record<string, unknown>
                : unknown;
