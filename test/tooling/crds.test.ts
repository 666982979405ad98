/**
 * The custom resource definitions of deploy/k8s/base/crds: each is a valid CustomResourceDefinition
 * (checked against the Kubernetes OpenAPI schema by kubernetes-models), its schema is structural and
 * describes every field of the registry API's messages, and the NetworkServices of deploy/examples plus
 * upstream-style NetworkServiceEndpoints validate against it, while resources with wrong types do not.
 */
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { CustomResourceDefinition } from 'kubernetes-models/apiextensions.k8s.io/v1';
import { describe, expect, it } from 'vitest';
import { parseAllDocuments } from 'yaml';
import { protos } from '@nsm-ts/proto';
import { crProblems, crds, schemaOf, type Schema } from '../harness/crd-schema.js';

const root = join(import.meta.dirname, '..', '..');

/** Every node below `schema` has a type, except what x-kubernetes-preserve-unknown-fields keeps (structural). */
function untyped(schema: Schema, at = ''): string[] {
  const out: string[] = schema.type ? [] : [at || '/'];
  for (const [p, s] of Object.entries(schema.properties ?? {})) out.push(...untyped(s, `${at}/${p}`));
  if (schema.items) out.push(...untyped(schema.items, `${at}[]`));
  if (typeof schema.additionalProperties === 'object')
    out.push(...untyped(schema.additionalProperties, `${at}/*`));
  return out;
}

function undescribed(schema: Schema, at = ''): string[] {
  const out: string[] = [];
  for (const [p, s] of Object.entries(schema.properties ?? {})) {
    if (!s.description && !['apiVersion', 'kind', 'metadata'].includes(p)) out.push(`${at}/${p}`);
    out.push(...undescribed(s, `${at}/${p}`));
  }
  if (schema.items) out.push(...undescribed(schema.items, `${at}[]`));
  return out;
}

const registry = protos().registry as unknown as Record<string, { type: { field: { name: string }[] } }>;
const fieldsOf = (message: string): string[] => registry[message]!.type.field.map((f) => f.name).sort();
const propsOf = (schema: Schema | undefined): string[] => Object.keys(schema?.properties ?? {}).sort();

describe('custom resource definitions', () => {
  it.each(Object.keys(crds))('%s is a valid CustomResourceDefinition, structural and described', (kind) => {
    expect(() => new CustomResourceDefinition(crds[kind] as never).validate()).not.toThrow();
    expect(untyped(schemaOf(kind))).toEqual([]);
    expect(undescribed(schemaOf(kind).properties!['spec']!)).toEqual([]);
  });

  it("describes every field of the registry API's messages", () => {
    const nse = schemaOf('NetworkServiceEndpoint').properties!['spec']!;
    expect(propsOf(nse)).toEqual(fieldsOf('NetworkServiceEndpoint'));
    const labels = nse.properties!['network_service_labels']!.additionalProperties as Schema;
    expect(propsOf(labels)).toEqual(fieldsOf('NetworkServiceLabels'));
    expect(propsOf(nse.properties!['expiration_time'])).toEqual(['nanos', 'seconds']);
    const ns = schemaOf('NetworkService').properties!['spec']!;
    expect(propsOf(ns)).toEqual(fieldsOf('NetworkService'));
    const match = ns.properties!['matches']!.items!;
    expect(propsOf(match)).toEqual(fieldsOf('Match'));
    expect(propsOf(match.properties!['routes']!.items)).toEqual(fieldsOf('Destination'));
    expect(propsOf(match.properties!['metadata'])).toEqual(fieldsOf('Metadata'));
  });

  it('accepts the NetworkServices of deploy/examples', () => {
    const examples = join(root, 'deploy', 'examples');
    const services = readdirSync(examples, { recursive: true, encoding: 'utf8' })
      .filter((f) => f.endsWith('.yaml'))
      .flatMap((f) =>
        parseAllDocuments(readFileSync(join(examples, f), 'utf8')).map((d) => d.toJSON() as { kind: string }),
      )
      .filter((d) => d?.kind === 'NetworkService');
    expect(services.length).toBeGreaterThanOrEqual(4);
    for (const ns of services) expect(crProblems(ns)).toEqual([]);
  });

  it('accepts upstream-style resources with every field, and keeps fields a later API adds', () => {
    const nse = {
      apiVersion: 'networkservicemesh.io/v1',
      kind: 'NetworkServiceEndpoint',
      metadata: { name: 'nse-kernel-abc', namespace: 'nsm-system' },
      spec: {
        name: 'nse-kernel-abc',
        network_service_names: ['icmp-responder'],
        network_service_labels: {
          'icmp-responder': { labels: { app: 'nse-kernel', nodeName: 'kind-worker' } },
        },
        url: 'tcp://10.244.1.5:5001',
        expiration_time: { seconds: 1796130000, nanos: 120000000 },
        initial_registration_time: { seconds: 1796120000, nanos: 0 },
        path_ids: ['spiffe://example.org/ns/default/pod/nse', 'spiffe://example.org/nsmgr/node-1'],
        a_field_of_a_later_api: { anything: true },
      },
    };
    const ns = {
      apiVersion: 'networkservicemesh.io/v1',
      kind: 'NetworkService',
      metadata: { name: 'secure-intranet' },
      spec: {
        name: 'secure-intranet',
        payload: 'ETHERNET',
        matches: [
          {
            source_selector: { app: 'firewall' },
            routes: [{ destination_selector: { app: 'vpn-gateway' }, weight: 1 }],
            fallthrough: true,
            metadata: { labels: { chain: 'secure' } },
          },
          { routes: [{ destination_selector: { app: 'firewall' } }] },
        ],
      },
    };
    expect(crProblems(nse)).toEqual([]);
    expect(crProblems(ns)).toEqual([]);
  });

  it('refuses wrong types and unknown fields inside known objects, naming them', () => {
    const bad = {
      apiVersion: 'networkservicemesh.io/v1',
      kind: 'NetworkService',
      metadata: { name: 'x' },
      spec: {
        payload: 7,
        matches: [{ source_selector: { app: 1 }, routes: [{ weight: 'heavy', destination: {} }] }],
      },
    };
    expect(crProblems(bad)).toEqual(
      expect.arrayContaining([
        '/spec/payload must be string',
        '/spec/matches/0/source_selector/app must be string',
        '/spec/matches/0/routes/0/weight must be integer',
        '/spec/matches/0/routes/0 must NOT have additional properties',
      ]),
    );
    const nse = {
      apiVersion: 'networkservicemesh.io/v1',
      kind: 'NetworkServiceEndpoint',
      metadata: { name: 'x' },
      spec: { network_service_names: 'icmp', expiration_time: { seconds: '17', nanos: 2e9 } },
    };
    expect(crProblems(nse)).toEqual(
      expect.arrayContaining([
        '/spec/network_service_names must be array',
        '/spec/expiration_time/seconds must be integer',
        '/spec/expiration_time/nanos must be <= 999999999',
      ]),
    );
  });
});
