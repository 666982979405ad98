/**
 * Checks of what lies outside the mesh, across documents: an external endpoint's services exist and
 * its name is its own; two declarations aimed at one VTEP do not share a VNI (the VTEP tells its
 * tunnels apart by VNI alone); fabric hosts' addresses are their own and lie on the fabric.
 */
import type { NetworkService } from '@nsm-ts/sdk/api';
import { parseCidr } from '@nsm-ts/sdk/tools';
import { FABRIC_PREFIX } from './placement.js';
import type { ExternalDraft } from './external.js';
import { formatPosition } from './report.js';
import type { PodDraft } from './workload.js';
import { endpointName } from './cross-check.js';

const FABRIC = parseCidr(`${FABRIC_PREFIX}.0/24`);

/** Addresses the lab gives itself on the fabric: the registry's (.1) and each node's (.11 ...). */
function reserved(nodes: number): Map<bigint, string> {
  const out = new Map<bigint, string>([[FABRIC.network + 1n, 'the registry']]);
  for (let i = 1; i <= nodes; i++) out.set(FABRIC.network + 10n + BigInt(i), `node-${i}`);
  return out;
}

function checkExternalNames(
  externals: readonly ExternalDraft[],
  pods: readonly PodDraft[],
  defined: ReadonlyMap<string, NetworkService>,
): void {
  const known = [...defined.keys()].join(', ') || 'none';
  for (const ext of externals) {
    for (const service of ext.serviceNames)
      if (defined.get(service)?.payload === 'IP')
        ext.doc.warn(
          ext.at.services,
          `network service "${service}" has payload IP, but VXLAN carries Ethernet frames: the VNF must answer ARP on its VNIs (payload ETHERNET says so)`,
        );
      else if (!defined.has(service))
        ext.doc.error(
          ext.at.services,
          `external endpoint provides network service "${service}", which no NetworkService defines; expected one of: ${known}`,
        );
    const clash = pods.find((p) => p.name === ext.name || endpointName(p) === ext.name);
    if (clash)
      ext.doc.error(
        ['metadata', 'name'],
        `endpoint name "${ext.name}" is also the pod or endpoint at ${formatPosition(clash.doc.at(['metadata', 'name']))}; expected unique endpoint names`,
      );
  }
}

function checkVnis(externals: readonly ExternalDraft[]): void {
  externals.forEach((ext, i) => {
    const v = ext.vxlan;
    const clash = externals
      .slice(0, i)
      .find(
        (o) =>
          o.vxlan.vtep === v.vtep &&
          o.vxlan.port === v.port &&
          o.vxlan.vnis.first <= v.vnis.last &&
          v.vnis.first <= o.vxlan.vnis.last,
      );
    if (!clash) return;
    ext.doc.error(
      ext.at.url,
      `VNIs ${v.vnis.first}-${v.vnis.last} at VTEP ${v.vtep}:${v.port} overlap VNIs ${clash.vxlan.vnis.first}-${clash.vxlan.vnis.last} of external endpoint "${clash.name}" (${formatPosition(clash.doc.at(clash.at.url))}); expected VNI ranges of their own: the VTEP tells tunnels apart by VNI`,
    );
  });
}

function checkHosts(pods: readonly PodDraft[], nodes: number): void {
  const taken = reserved(nodes);
  for (const pod of pods) {
    if (!pod.host) continue;
    const cidr = parseCidr(pod.host.address);
    if (cidr.network !== FABRIC.network || cidr.prefixLength !== 24) {
      pod.doc.error(
        pod.host.path,
        `fabric address ${pod.host.address} is not on the lab's fabric; expected an address of ${FABRIC_PREFIX}.0/24 written with /24`,
      );
      continue;
    }
    const owner = taken.get(cidr.address);
    if (cidr.address === FABRIC.network || cidr.address === FABRIC.last || owner) {
      pod.doc.error(
        pod.host.path,
        `fabric address ${pod.host.address} is ${owner ? `${owner}'s` : 'not a host address'}; expected a free one such as ${FABRIC_PREFIX}.50/24 (the lab uses .1 and .11-.${10 + nodes})`,
      );
      continue;
    }
    taken.set(cidr.address, `pod ${pod.name}`);
  }
}

/** Runs the checks; `nodes` is the lab's node count. */
export function checkOutside(
  externals: readonly ExternalDraft[],
  pods: readonly PodDraft[],
  defined: ReadonlyMap<string, NetworkService>,
  nodes: number,
): void {
  checkExternalNames(externals, pods, defined);
  checkVnis(externals);
  checkHosts(pods, nodes);
}
