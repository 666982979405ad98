/**
 * Validation of custom resources against the CRDs of deploy/k8s/base/crds, strictly (unknown fields
 * are errors except where the schema keeps them), with ajv: what the tests use in place of an API
 * server's validation. Usage: `crProblems({ kind: 'NetworkService', ... })` → [] when valid.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { Ajv, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

const root = join(import.meta.dirname, '..', '..');
const crdDir = join(root, 'deploy', 'k8s', 'base', 'crds');

export type Schema = {
  type?: string;
  description?: string;
  properties?: Record<string, Schema>;
  items?: Schema;
  additionalProperties?: Schema | boolean;
  'x-kubernetes-preserve-unknown-fields'?: boolean;
  [key: string]: unknown;
};
interface Crd {
  spec: { names: { kind: string }; versions: { schema: { openAPIV3Schema: Schema } }[] };
}

export const crds: Record<string, Crd> = Object.fromEntries(
  readdirSync(crdDir).map((f) => {
    const crd = parseAllDocuments(readFileSync(join(crdDir, f), 'utf8'))[0]!.toJSON() as Crd;
    return [crd.spec.names.kind, crd];
  }),
);
export const schemaOf = (kind: string): Schema => crds[kind]!.spec.versions[0]!.schema.openAPIV3Schema;

/**
 * The schema as strict validation sees it: unknown fields are errors except where the schema keeps
 * them (x-kubernetes-preserve-unknown-fields), formats and Kubernetes extensions aside.
 */
function strict(schema: Schema): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(schema)) {
    if (k.startsWith('x-kubernetes-') || k === 'format' || k === 'description') continue;
    if (k === 'properties')
      out[k] = Object.fromEntries(
        Object.entries(v as Record<string, Schema>).map(([p, s]) => [p, strict(s)]),
      );
    else if (k === 'items' || (k === 'additionalProperties' && typeof v === 'object'))
      out[k] = strict(v as Schema);
    else out[k] = v;
  }
  if (
    schema.properties &&
    !schema['x-kubernetes-preserve-unknown-fields'] &&
    !('additionalProperties' in schema)
  )
    out['additionalProperties'] = false;
  return out;
}

const ajv = new Ajv({ allErrors: true });
const validators: Record<string, ValidateFunction> = {
  NetworkService: ajv.compile(strict(schemaOf('NetworkService'))),
  NetworkServiceEndpoint: ajv.compile(strict(schemaOf('NetworkServiceEndpoint'))),
};
/** What is wrong with custom resource `obj` (of a kind the CRDs define), by JSON path. */
export const crProblems = (obj: { kind: string }): string[] => {
  const validate = validators[obj.kind];
  if (!validate) return [`no CRD defines kind ${obj.kind}`];
  return validate(obj) ? [] : (validate.errors ?? []).map((e) => `${e.instancePath} ${e.message ?? ''}`);
};
