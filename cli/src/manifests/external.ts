/**
 * Outside the mesh: NetworkServiceEndpoint documents that declare an external VNF reached over VXLAN
 * (`spec.url: vxlan://...`, served in the lab by a gateway endpoint on the fabric), and the
 * annotation that makes a Pod a fabric host — a namespace on the lab's physical network, outside
 * every node, where an operator's script stands in for a VM or appliance.
 */
import { parseExternalVxlan, type ExternalVxlan } from '@nsm-ts/sdk';
import { parseCidr, tryParseIp } from '@nsm-ts/sdk/tools';
import { checkKeys, listAt, mapAt, stringAt, stringMapAt } from './fields.js';
import { labelProblems } from './names.js';
import { formatPath, type FieldPath, type ManifestDoc } from './report.js';

/** The annotation that makes a Pod a fabric host: its address on the fabric, e.g. `198.18.0.50/24`. */
export const FABRIC_HOST_ANNOTATION = 'nsm-ts.io/fabric-address';
/**
 * What `nsm check` tries through an external endpoint besides its own address: addresses to ping
 * and http:// URLs to fetch from each client (hosts the VNF routes to), comma separated.
 */
export const CHECK_TARGETS_ANNOTATION = 'nsm-ts.io/check-targets';
/** Its optional MTU on the fabric (a path with a smaller MTU than the nodes' 1500). */
export const FABRIC_MTU_ANNOTATION = 'nsm-ts.io/fabric-mtu';

/** An external endpoint as declared. */
export interface ExternalDraft {
  name: string;
  doc: ManifestDoc;
  source: { file: string; line: number };
  serviceNames: string[];
  /** Its labels (the same for every service it provides). */
  labels: Record<string, string>;
  url: string;
  vxlan: ExternalVxlan;
  /** CHECK_TARGETS_ANNOTATION, split. */
  checks: string[];
  at: { services: FieldPath; url: FieldPath };
}

/** A fabric host's place on the fabric. */
export interface FabricHost {
  /** Address with prefix length. */
  address: string;
  mtu?: number;
  path: FieldPath;
}

/** Reads a `networkservicemesh.io/v1` NetworkServiceEndpoint named `name` (an external VNF). */
export function readExternalEndpoint(doc: ManifestDoc, name: string): ExternalDraft | undefined {
  if (!mapAt(doc, ['spec'], true)) return undefined;
  checkKeys(doc, ['spec'], ['network_service_names', 'network_service_labels', 'url']);
  const urlPath = ['spec', 'url'];
  const url = stringAt(doc, urlPath, true, 'vxlan://<vtep>?vni=..&ip=.. (an external VNF)');
  const servicesPath = ['spec', 'network_service_names'];
  const services = listAt(doc, servicesPath, 'a list of network service names');
  const serviceNames = services.filter((s): s is string => typeof s === 'string');
  if (serviceNames.length !== services.length || serviceNames.length === 0)
    doc.error(
      servicesPath,
      `${formatPath(servicesPath)} must list the network services it provides, as strings`,
    );
  let labels: Record<string, string> | undefined;
  const labelsPath = ['spec', 'network_service_labels'];
  for (const service of Object.keys(mapAt(doc, labelsPath) ?? {})) {
    checkKeys(doc, [...labelsPath, service], ['labels']);
    const path = [...labelsPath, service, 'labels'];
    const these = stringMapAt(doc, path);
    for (const problem of labelProblems(these, formatPath(path))) doc.error(path, problem);
    if (!serviceNames.includes(service))
      doc.error(
        [...labelsPath, service],
        `labels for "${service}", which spec.network_service_names does not list`,
      );
    if (labels && JSON.stringify(labels) !== JSON.stringify(these))
      doc.error(
        path,
        'the lab gives an external endpoint one set of labels; expected the same labels for every service',
      );
    labels ??= these;
  }
  const checks = readChecks(doc);
  if (url === undefined) return undefined;
  if (!url.startsWith('vxlan://')) {
    doc.error(
      urlPath,
      `spec.url is "${url}"; the lab runs the endpoints of its Pods and Deployments itself, so a NetworkServiceEndpoint here declares an external VNF: expected vxlan://<vtep>?vni=..&ip=..`,
    );
    return undefined;
  }
  let vxlan: ExternalVxlan;
  try {
    vxlan = parseExternalVxlan(url);
  } catch (err) {
    doc.error(urlPath, (err as Error).message);
    return undefined;
  }
  return {
    name,
    doc,
    source: { file: doc.file, line: doc.at([]).line },
    serviceNames,
    labels: labels ?? {},
    url,
    vxlan,
    checks,
    at: { services: servicesPath, url: urlPath },
  };
}

function readChecks(doc: ManifestDoc): string[] {
  const path = ['metadata', 'annotations', CHECK_TARGETS_ANNOTATION];
  const text = stringAt(doc, path, false, 'addresses and http:// URLs, comma separated');
  const out: string[] = [];
  for (const target of (text ?? '')
    .split(',')
    .map((t) => t.trim())
    .filter(Boolean)) {
    let ok = tryParseIp(target) !== undefined;
    if (!ok && /^https?:\/\//.test(target)) {
      try {
        ok = new URL(target).hostname !== '';
      } catch {
        ok = false;
      }
    }
    if (ok) out.push(target);
    else
      doc.error(
        path,
        `annotation ${CHECK_TARGETS_ANNOTATION}: "${target}" is neither an IP address nor an http(s):// URL; expected e.g. 10.70.0.10, http://10.70.0.10:8080/`,
      );
  }
  return out;
}

/** The fabric host annotations of the pod template at `meta`; undefined when it is no fabric host. */
export function readFabricHost(doc: ManifestDoc, meta: FieldPath): FabricHost | undefined {
  const path = [...meta, 'annotations', FABRIC_HOST_ANNOTATION];
  const text = stringAt(
    doc,
    path,
    false,
    'an address on the fabric with its prefix length, e.g. 198.18.0.50/24',
  );
  if (text === undefined) return undefined;
  try {
    const cidr = parseCidr(text);
    if (cidr.family !== 4) throw new Error(`"${text}" is not IPv4`);
  } catch (err) {
    doc.error(
      path,
      `annotation ${FABRIC_HOST_ANNOTATION}: ${(err as Error).message}; expected an IPv4 address with prefix length, e.g. 198.18.0.50/24`,
    );
    return undefined;
  }
  const mtuPath = [...meta, 'annotations', FABRIC_MTU_ANNOTATION];
  const mtuText = stringAt(doc, mtuPath, false, 'an MTU in bytes, 576..9000, quoted');
  const mtu = mtuText === undefined ? undefined : Number(mtuText);
  if (mtu !== undefined && !(Number.isInteger(mtu) && mtu >= 576 && mtu <= 9000)) {
    doc.error(
      mtuPath,
      `annotation ${FABRIC_MTU_ANNOTATION} is "${mtuText ?? ''}"; expected an MTU 576..9000`,
    );
    return { address: text, path };
  }
  return { address: text, path, ...(mtu !== undefined ? { mtu } : {}) };
}
