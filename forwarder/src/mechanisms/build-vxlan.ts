/**
 * KERNEL over VXLAN: a VXLAN device is created in the node namespace, so its UDP socket lives
 * there and needs no extra hop, then moved into the pod under the requested name (keeping its
 * index, so the pod's configuration needs no lookup) and configured in one batch.
 */
import { closeSync } from 'node:fs';

import { Code, NsmError } from '@nsm-ts/sdk/core';
import { KernelError, explainCreateError } from '../kernel/netlink/errors.js';
import { createVxlanRequest, getLinkRequest, setLinkRequest } from '../kernel/netlink/link-requests.js';
import { type LinkInfo, parseLink } from '../kernel/netlink/link-info.js';
import type { Netlink } from '../kernel/netlink/netlink.js';
import { configureEnd, openEndNamespace } from './build-veth.js';
import { VniInUseError, atEnd, isTaken, temporaryName } from './build-errors.js';
import type { NetlinkCache } from './netlink-cache.js';
import { EMPTY_CONFIG } from './pod-config.js';
import {
  type EndTarget,
  type TunnelSpec,
  type WireEnd,
  type WirePlan,
  deleteOwned,
  findOwned,
  inNamespace,
} from './wire.js';

async function createDevice(
  node: Netlink,
  t: TunnelSpec,
  mtu: number | undefined,
  alias: string,
): Promise<LinkInfo> {
  const name = temporaryName();
  try {
    const [, , got] = await node.execute([
      createVxlanRequest({
        name,
        vni: t.vni,
        local: t.local,
        remote: t.remote,
        dstPort: t.port,
        ...(mtu ? { mtu } : {}),
        ...(t.df ? { df: true } : {}),
      }),
      setLinkRequest(name, { alias }),
      getLinkRequest(name),
    ]);
    const payload = got?.[0]?.payload;
    if (!payload) throw new NsmError(Code.INTERNAL, `createVxlan(${name}): the kernel sent no link back`);
    return parseLink(payload);
  } catch (err) {
    if (!(err instanceof KernelError)) throw err;
    // The temporary name is random, so "exists" is the kernel's one-device-per-VNI-and-port rule.
    if (err.errnoName === 'EEXIST' && (err.position?.index ?? 0) === 0) throw new VniInUseError(t.vni, err);
    throw explainCreateError(err, 'vxlan');
  }
}

/**
 * Moves the device into the pod under its temporary name (keeping its index when it is free there);
 * resolves with its index in the pod. The kernel moves a device before it renames it, so a move and
 * a rename in one message could leave a device in the pod under its temporary name: they are two.
 */
export async function moveIntoPod(
  netlinks: NetlinkCache,
  node: Netlink,
  dev: LinkInfo,
  pod: EndTarget,
  alias: string,
): Promise<number> {
  const fd = openEndNamespace(pod);
  try {
    try {
      await node.execute([setLinkRequest(dev.index, { nsFd: fd, newIndex: dev.index })]);
      return dev.index;
    } catch (err) {
      // The index is taken in the pod: let the kernel pick one there.
      if (!isTaken(err)) throw atEnd(pod, err);
    }
    await node.execute([setLinkRequest(dev.index, { nsFd: fd })]).catch((err: unknown) => {
      throw atEnd(pod, err);
    });
    const moved = await inNamespace(netlinks, pod.nsPath, pod.nsKey, (nl) => nl.findLink(dev.name));
    if (moved?.alias !== alias)
      throw new NsmError(Code.INTERNAL, `"${dev.name}" moved into ${pod.nsPath} but is not found there`);
    return moved.index;
  } finally {
    closeSync(fd);
  }
}

/** Builds a VXLAN wire from the node namespace `node`; on failure nothing of it is left. */
export async function buildVxlan(
  netlinks: NetlinkCache,
  node: Netlink,
  plan: WirePlan,
  alias: string,
): Promise<WireEnd[]> {
  const [pod] = plan.ends;
  const tunnel = plan.tunnel;
  if (!pod || !tunnel || plan.ends.length !== 1)
    throw new NsmError(Code.INTERNAL, 'a vxlan plan needs one end and a tunnel');
  const dev = await createDevice(node, tunnel, plan.mtu, alias);
  let index: number;
  try {
    index = await moveIntoPod(netlinks, node, dev, pod, alias);
  } catch (err) {
    if (await findOwned(node, dev.index, alias)) await node.deleteLink(dev.index).catch(() => undefined);
    throw err;
  }
  const end: WireEnd = { target: pod, index, applied: EMPTY_CONFIG, mtu: plan.mtu };
  try {
    await configureEnd(netlinks, end, alias);
  } catch (err) {
    await deleteOwned(netlinks, { ...pod, index }, alias).catch(() => false);
    throw err;
  }
  return [end];
}
