/**
 * KERNEL ↔ KERNEL on one node: one veth pair straight between the two pods. The pair is created
 * from the client's namespace with the peer born in the endpoint's (no move), under temporary
 * names and already carrying the alias, then each end is renamed, brought up and configured in one
 * batch per namespace; both namespaces are configured at the same time.
 */
import { closeSync, fstatSync } from 'node:fs';

import { Code, NsmError } from '@nsm-ts/sdk/core';
import { createVethRequest, getLinkRequest, setLinkRequest } from '../kernel/netlink/link-requests.js';
import { parseLink } from '../kernel/netlink/link-info.js';
import { openNamespaceFd } from '../kernel/netns.js';
import { atEnd, failedAt, isTaken, nameTaken, temporaryName } from './build-errors.js';
import type { NetlinkCache } from './netlink-cache.js';
import { EMPTY_CONFIG, configRequests } from './pod-config.js';
import { type EndTarget, type WireEnd, type WirePlan, deleteOwned, inNamespace } from './wire.js';

/** Opens the namespace of `end` for IFLA_NET_NS_FD, checking it is still the namespace planned for. */
export function openEndNamespace(end: EndTarget): number {
  const fd = openNamespaceFd(end.nsPath);
  const st = fstatSync(fd);
  if (`${st.dev}:${st.ino}` !== end.nsKey) {
    closeSync(fd);
    throw new NsmError(Code.ABORTED, `${end.nsPath} changed while the wire was being built; retry`);
  }
  return fd;
}

async function createPair(
  netlinks: NetlinkCache,
  nsc: EndTarget,
  nse: EndTarget,
  mtu: number | undefined,
  alias: string,
) {
  const fd = openEndNamespace(nse);
  try {
    const tmp = temporaryName();
    const created = await inNamespace(netlinks, nsc.nsPath, nsc.nsKey, async (nl) => {
      const [, , got] = await nl.execute([
        createVethRequest(tmp, temporaryName(), fd, mtu),
        setLinkRequest(tmp, { alias }),
        getLinkRequest(tmp),
      ]);
      const payload = got?.[0]?.payload;
      if (!payload) throw new NsmError(Code.INTERNAL, `createVeth(${tmp}): the kernel sent no link back`);
      return parseLink(payload);
    });
    if (!created) throw new NsmError(Code.NOT_FOUND, `the client pod's namespace ${nsc.nsPath} is gone`);
    if (created.link === undefined) throw new NsmError(Code.INTERNAL, `veth ${tmp} reports no peer index`);
    return { index: created.index, peer: created.link };
  } finally {
    closeSync(fd);
  }
}

/**
 * Names, marks, brings up and configures one end in its namespace in one batch; a taken name is
 * ALREADY_EXISTS. Shared by veth ends and moved VXLAN devices.
 */
export async function configureEnd(netlinks: NetlinkCache, end: WireEnd, alias: string): Promise<void> {
  const t = end.target;
  const done = await inNamespace(netlinks, t.nsPath, t.nsKey, async (nl) => {
    try {
      // One batch: rename, mark, bring up, address, route. The rename goes first; should the name
      // be taken, the rest still lands on our own (temporarily named) link, removed right after.
      await nl.execute([
        setLinkRequest(end.index, { name: t.name, alias, up: true }),
        ...configRequests(end.index, t.config, EMPTY_CONFIG),
      ]);
    } catch (err) {
      throw isTaken(err) && failedAt(err) === 0 ? nameTaken(t, err) : atEnd(t, err);
    }
    return true;
  });
  if (!done) throw new NsmError(Code.NOT_FOUND, `${t.nsPath} is gone`);
  end.applied = t.config;
}

/** Builds a veth wire; on failure nothing of it is left and the first error is thrown. */
export async function buildVeth(netlinks: NetlinkCache, plan: WirePlan, alias: string): Promise<WireEnd[]> {
  const [nsc, nse] = plan.ends;
  if (!nsc || !nse || plan.ends.length !== 2) throw new NsmError(Code.INTERNAL, 'a veth plan needs two ends');
  const pair = await createPair(netlinks, nsc, nse, plan.mtu, alias);
  const ends: WireEnd[] = [
    { target: nsc, index: pair.index, applied: EMPTY_CONFIG, mtu: plan.mtu },
    { target: nse, index: pair.peer, applied: EMPTY_CONFIG, mtu: plan.mtu },
  ];
  const results = await Promise.allSettled(ends.map((end) => configureEnd(netlinks, end, alias)));
  const failed = results.find((r) => r.status === 'rejected');
  if (failed) {
    // Deleting either end deletes the pair; try both in case one namespace is gone.
    for (const end of ends)
      await deleteOwned(netlinks, { ...end.target, index: end.index }, alias).catch(() => false);
    throw failed.reason;
  }
  return ends;
}
