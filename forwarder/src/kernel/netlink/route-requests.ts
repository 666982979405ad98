import { invalidArgument } from '@nsm-ts/sdk/core';
import { type Attr, bytesAttr, u32Attr } from './attributes.js';
import {
  NLM_F,
  RTA,
  RT_SCOPE,
  RT_TABLE_MAIN,
  RTM,
  RTN_UNICAST,
  RTNH_F_ONLINK,
  RTPROT_STATIC,
} from './constants.js';
import { parseCidr, parseIp } from './inet.js';
import type { NetlinkRequest } from './message.js';
import { rtmsg } from './structs.js';
import { validateIfIndex } from './validate.js';

/** A route through one interface. */
export interface RouteOptions {
  /** Destination prefix; a bare address is a host route. */
  readonly dst: string;
  readonly ifindex: number;
  /** Next hop, same family as `dst`. Without one the route is on-link. */
  readonly gateway?: string;
  /** Defaults to `link` without a gateway and `universe` with one, as `ip route` does. */
  readonly scope?: 'link' | 'universe';
  /** Trust the gateway is reachable on the link even with no covering route (peer as next hop). */
  readonly onlink?: boolean;
}

function routeAttrs(o: RouteOptions): { header: (kind: 'add' | 'delete') => Buffer; attrs: Attr[] } {
  validateIfIndex(o.ifindex);
  const dst = parseCidr(o.dst);
  const attrs: Attr[] = [u32Attr(RTA.TABLE, RT_TABLE_MAIN), u32Attr(RTA.OIF, o.ifindex)];
  if (dst.prefixLen > 0) attrs.push(bytesAttr(RTA.DST, dst.bytes));
  if (o.gateway !== undefined) {
    const gw = parseIp(o.gateway);
    if (gw.family !== dst.family)
      throw invalidArgument(`gateway ${o.gateway} is not in the family of ${o.dst}`);
    attrs.push(bytesAttr(RTA.GATEWAY, gw.bytes));
  }
  const scope =
    (o.scope ?? (o.gateway === undefined ? 'link' : 'universe')) === 'link'
      ? RT_SCOPE.LINK
      : RT_SCOPE.UNIVERSE;
  const header = (kind: 'add' | 'delete'): Buffer =>
    rtmsg({
      family: dst.family,
      dstLen: dst.prefixLen,
      table: RT_TABLE_MAIN,
      // A delete leaves protocol, type and scope open so it matches however the route was added.
      protocol: kind === 'add' ? RTPROT_STATIC : 0,
      scope: kind === 'add' ? scope : RT_SCOPE.NOWHERE,
      type: kind === 'add' ? RTN_UNICAST : 0,
      flags: o.onlink ? RTNH_F_ONLINK : 0,
    });
  return { header, attrs };
}

/** Adds (or replaces) a route in the main table. */
export function addRouteRequest(o: RouteOptions): NetlinkRequest {
  const r = routeAttrs(o);
  return {
    operation: `addRoute(${o.dst}${o.gateway ? ` via ${o.gateway}` : ''} dev ${o.ifindex})`,
    type: RTM.NEWROUTE,
    flags: NLM_F.CREATE | NLM_F.REPLACE,
    header: r.header('add'),
    attrs: r.attrs,
  };
}

/** Deletes a route added with the same options. */
export function deleteRouteRequest(o: RouteOptions): NetlinkRequest {
  const r = routeAttrs(o);
  return {
    operation: `deleteRoute(${o.dst} dev ${o.ifindex})`,
    type: RTM.DELROUTE,
    flags: 0,
    header: r.header('delete'),
    attrs: r.attrs,
  };
}
