/**
 * Test harness for the mechanism elements: a forwarder chain cut down to what the elements rely on
 * (mechanism dispatch, the next-hop mechanism swap) and a test-double endpoint that answers like an
 * NSE would (its KERNEL mechanism and a point-to-point IP context).
 */
import { clone, ensureIpContext, newMechanism, newRequest } from '@nsm-ts/sdk/api';
import type { Connection, Mechanism, NetworkServiceRequest } from '@nsm-ts/sdk/api';
import { type NetworkServiceElement, type NetworkServiceHandler, toHandler } from '@nsm-ts/sdk/core';
import { createContext } from '@nsm-ts/sdk/core';
import { metadata } from '@nsm-ts/sdk/core';
import { begin } from '@nsm-ts/sdk/elements';
import { mechanisms } from '@nsm-ts/sdk/elements';
import { type OfferFn, exposeNextHopMechanism, nextHopMechanism } from '@nsm-ts/sdk/elements';
import type { KernelDeps } from '../deps.js';
import { kernelMechanism } from '../kernel.js';
import { noopMechanism } from '../noop.js';
import { vxlanMechanism } from '../vxlan.js';

/** Addresses the test-double endpoint hands out: the client gets .2, the endpoint .1. */
export const NSC_IP = '172.16.9.2';
export const NSE_IP = '172.16.9.1';

/** A test-double endpoint; counts calls and can be told to fail. */
export interface EndpointDouble extends NetworkServiceElement {
  requests: number;
  closes: number;
  /** Thrown by the next request. */
  fail: Error | undefined;
  /** The last connection it answered. */
  last: Connection | undefined;
}

/** Options of {@link endpointDouble}. */
export interface EndpointOptions {
  /** The endpoint pod's namespace file (its KERNEL mechanism's inodeURL). */
  readonly nsPath: string;
  /** Interface name in the endpoint pod; omitted: the endpoint gives none. */
  readonly name?: string;
  /** Answer NOOP even when KERNEL is offered. */
  readonly noop?: boolean;
  /** Answer MEMIF with this abstract socket (one the test serves in `nsPath`). */
  readonly memifSocket?: string;
  /** Extra routes for the client side. */
  readonly srcRoutes?: string[];
  /** Changes the answer last (e.g. to return a bad context or another mechanism). */
  readonly mutate?: (conn: Connection) => void;
}

/** An endpoint double: KERNEL (MEMIF, NOOP) mechanism and a /32 point-to-point IP context. */
export function endpointDouble(options: EndpointOptions): EndpointDouble {
  const self: EndpointDouble = {
    requests: 0,
    closes: 0,
    fail: undefined,
    last: undefined,
    request(_ctx, req) {
      self.requests++;
      if (self.fail) return Promise.reject(self.fail);
      const conn = clone(req.connection as Connection);
      const offered = req.mechanism_preferences.map((m) => m.type);
      const useKernel = !options.noop && (conn.mechanism?.type === 'KERNEL' || offered.includes('KERNEL'));
      conn.mechanism ??= options.memifSocket
        ? newMechanism('MEMIF', 'LOCAL', {
            inodeURL: `file://${options.nsPath}`,
            socketfile: options.memifSocket,
          })
        : useKernel
          ? newMechanism('KERNEL', 'LOCAL', {
              inodeURL: `file://${options.nsPath}`,
              ...(options.name ? { name: options.name } : {}),
            })
          : newMechanism('NOOP', 'LOCAL');
      const ip = ensureIpContext(conn);
      if (ip.src_ip_addrs.length === 0) {
        ip.src_ip_addrs.push(`${NSC_IP}/32`);
        ip.dst_ip_addrs.push(`${NSE_IP}/32`);
        ip.src_routes.push(
          { prefix: `${NSE_IP}/32`, nextHop: '' },
          ...(options.srcRoutes ?? []).map((prefix) => ({ prefix, nextHop: '' })),
        );
        ip.dst_routes.push({ prefix: `${NSC_IP}/32`, nextHop: '' });
      }
      options.mutate?.(conn);
      self.last = conn;
      return Promise.resolve(conn);
    },
    close() {
      self.closes++;
      return Promise.resolve();
    },
  };
  return self;
}

/**
 * A forwarder chain around the real mechanism elements, continuing to `next` through the mechanism
 * swap. It starts with begin, as the forwarder's does (a close of a connection it never saw then
 * goes nowhere); `{ begin: false }` hands every close straight to the elements.
 */
export function forwarderChain(
  deps: KernelDeps,
  offer: OfferFn,
  next: NetworkServiceElement,
  options: { begin?: boolean } = {},
): NetworkServiceHandler {
  return toHandler([
    ...(options.begin === false ? [] : [begin()]),
    metadata('server'),
    exposeNextHopMechanism(),
    mechanisms({ KERNEL: kernelMechanism(deps), VXLAN: vxlanMechanism(deps), NOOP: noopMechanism() }),
    metadata('client'),
    nextHopMechanism(offer),
    next,
  ]);
}

/**
 * The hop to another node's forwarder, as the network would make it: a fresh context there, and
 * that hop's own connection id (`<id>@remote`).
 */
export function remoteHop(remote: NetworkServiceHandler): NetworkServiceElement {
  const there = (conn: Connection): Connection => ({ ...conn, id: `${conn.id}@remote` });
  const back = (conn: Connection, id: string): Connection => ({ ...conn, id });
  return {
    async request(ctx, req) {
      const id = req.connection?.id ?? '';
      const out = { ...req, connection: req.connection ? there(req.connection) : null };
      return back(await remote.request(createContext({ log: ctx.log, clock: ctx.clock }), out), id);
    },
    close: (ctx, conn) => remote.close(createContext({ log: ctx.log, clock: ctx.clock }), there(conn)),
  };
}

/** Offers the endpoint the client's own local mechanism type (KERNEL), or KERNEL and NOOP after a tunnel. */
export const localOffer: OfferFn = (_ctx, req) => {
  const incoming = req.connection?.mechanism;
  return incoming?.cls === 'LOCAL'
    ? [newMechanism(incoming.type, 'LOCAL')]
    : [newMechanism('KERNEL', 'LOCAL'), newMechanism('NOOP', 'LOCAL')];
};

/** Offers a VXLAN tunnel from `tunnelIp`. */
export function tunnelOffer(tunnelIp: string, port = 4789): OfferFn {
  return () => [newMechanism('VXLAN', 'REMOTE', { src_ip: tunnelIp, src_port: String(port) })];
}

/** A client's first request: a KERNEL mechanism for its pod, and a context MTU when given. */
export function clientRequest(
  connId: string,
  nsPath: string,
  opts: { name?: string; mtu?: number; mechanism?: Mechanism } = {},
): NetworkServiceRequest {
  const mech =
    opts.mechanism ??
    newMechanism('KERNEL', 'LOCAL', {
      inodeURL: `file://${nsPath}`,
      ...(opts.name ? { name: opts.name } : {}),
    });
  const req = newRequest({ id: connId, network_service: 'icmp-responder' }, [mech]);
  if (opts.mtu !== undefined && req.connection)
    req.connection.context = {
      ip_context: null,
      dns_context: null,
      ethernet_context: null,
      extra_context: {},
      MTU: opts.mtu,
    };
  return req;
}

/** The refresh of an answered request: the connection as answered, no preferences. */
export function refreshOf(conn: Connection): NetworkServiceRequest {
  return { connection: clone(conn), mechanism_preferences: [] };
}

/** Resolves with the NsmError a promise rejects with (fails the test when it resolves). */
export { rejectionOf } from '@nsm-ts/sdk/testing';
